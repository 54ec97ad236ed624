/**
 * Offline distillation's teacher cache: the teacher's top-k log-probabilities for every target token of the
 * training pairs, computed once and streamed back in batch order into the sparse fused loss.
 *
 * File layout: the 8 magic bytes `XKTKDC01`, a 4-byte little-endian header length, a JSON header (space
 * padded; see {@link TeacherCacheHeader}), then one block per pair in pair order: its `rows × k` token ids
 * (int32) followed by the `rows × k` log-probabilities (float16), where rows = target length + 1 (`</s>`).
 * The header names the format version, k, the vocabulary and hashes of the pairs, the teacher's weights and
 * (when given) the tokenizer, and, once complete, a SHA-256 of the body. Building appends pair blocks in
 * order and records its progress beside the file after each fsynced chunk, so a killed build resumes; a
 * cache whose data, teacher, tokenizer or k differ from the run's is refused with the reason.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import { ArrayPairSource, isPairSource, type PairSource, type TokenPair } from '../data/pair-source';
import { Batch } from '../data/batch';
import { tensorToRaw } from '../io/tensor-io';
import { writeFileAtomicSync } from '../io/atomic-write';
import type { SparseTeacher } from '../loss/distill';
import type { Seq2Seq } from '../models/seq2seq';
import { type Device, noGrad, tensor } from '../tensor';

const MAGIC = Buffer.from('XKTKDC01', 'ascii');
const FORMAT = 1;
const HEADER_BYTES = 4096; // fixed, so the header can be completed in place

/** The cache file's header. */
export interface TeacherCacheHeader {
  /** Version of the file format. */
  format: number;
  /** Entries kept per target token. */
  k: number;
  /** The teacher's vocabulary size. */
  vocabSize: number;
  /** Pairs cached. */
  pairs: number;
  /** Target tokens in all (sum of target length + 1). */
  rows: number;
  /** SHA-256 of the pairs' ids. */
  dataHash: string;
  /** SHA-256 of the teacher's weights. */
  teacherHash: string;
  /** SHA-256 of the tokenizer model (null when none was given). */
  tokenizerHash: string | null;
  /** SHA-256 of the body, once the cache is complete ('' before). */
  checksum: string;
}

/** What a cache is built from (and checked against when it is opened). */
export interface TeacherCacheSource {
  /** The teacher whose top-k is cached. */
  teacher: Seq2Seq;
  /** The pairs in memory, or a PairSource such as a Batcher's `source` over a token store. */
  pairs: readonly TokenPair[] | PairSource;
  /** Entries kept per token (default 8). */
  k?: number;
  /** Bytes of the tokenizer model (e.g. `SentencePiece.serializedModel()`), hashed into the header. */
  tokenizer?: Uint8Array;
}

/** What {@link buildTeacherCache} takes: the source and the file to (re)build. */
export interface BuildTeacherCacheOptions extends TeacherCacheSource {
  /**
   * The cache file: an incomplete one is finished, a complete one of the same source kept, one of another source an
   * error.
   */
  file: string;
  /** Pairs per teacher forward (default 32). */
  batchSize?: number;
  /** Called as batches finish, with pairs done and total. */
  onProgress?: (done: number, total: number) => void;
}

const sha = (update: (h: crypto.Hash) => void): string => {
  const h = crypto.createHash('sha256');
  update(h);
  return h.digest('hex');
};

function expectedHeader(src: TeacherCacheSource): Omit<TeacherCacheHeader, 'checksum'> {
  const k = src.k ?? 8;
  if (!Number.isInteger(k) || k < 1 || k > src.teacher.vocabSize) {
    throw new RangeError(`teacher cache: 'k' must be an integer in [1, ${src.teacher.vocabSize}], got ${String(src.k)}`);
  }
  const pairs = sourceOf(src);
  if (pairs.size === 0) throw new Error('teacher cache: no pairs to cache');
  const teacherHash = sha((h) => {
    for (const [name, t] of [...src.teacher.stateDict()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      h.update(name);
      h.update(tensorToRaw(t).data);
    }
  });
  return {
    format: FORMAT,
    k,
    vocabSize: src.teacher.vocabSize,
    pairs: pairs.size,
    rows: rowsOf(pairs),
    dataHash: dataHashOf(pairs),
    teacherHash,
    tokenizerHash: src.tokenizer ? sha((h) => h.update(src.tokenizer!)) : null,
  };
}

function encodeHeader(h: TeacherCacheHeader): Buffer {
  const json = Buffer.from(JSON.stringify({ ...h, checksum: h.checksum.padEnd(64, ' ') }), 'utf8');
  if (json.length > HEADER_BYTES - 12) throw new Error('teacher cache: header too large');
  const out = Buffer.alloc(HEADER_BYTES, 0x20);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  return out;
}

function readHeader(fd: number, file: string): TeacherCacheHeader {
  const buf = Buffer.alloc(HEADER_BYTES);
  const n = fs.readSync(fd, buf, 0, HEADER_BYTES, 0);
  if (n < 12 || !buf.subarray(0, 8).equals(MAGIC)) throw new Error(`teacher cache ${file}: not a teacher cache (bad magic bytes)`);
  const len = buf.readUInt32LE(8);
  if (len > HEADER_BYTES - 12 || n < 12 + len) throw new Error(`teacher cache ${file}: truncated header`);
  try {
    const h = JSON.parse(buf.subarray(12, 12 + len).toString('utf8')) as TeacherCacheHeader;
    return { ...h, checksum: h.checksum.trim() };
  } catch {
    throw new Error(`teacher cache ${file}: corrupt header`);
  }
}

/** Byte offset of each pair's block, and the body's end (8 bytes a pair, not a JS array of millions). */
function layout(pairs: PairSource, k: number): Float64Array {
  const offsets = new Float64Array(pairs.size + 1);
  offsets[0] = HEADER_BYTES;
  for (let i = 0; i < pairs.size; i++) offsets[i + 1] = offsets[i] + (pairs.tgtLength(i) + 1) * k * 6;
  return offsets;
}

function sourceOf(src: TeacherCacheSource): PairSource {
  return isPairSource(src.pairs) ? src.pairs : new ArrayPairSource(src.pairs, 'teacher cache: pairs');
}

function rowsOf(pairs: PairSource): number {
  let rows = 0;
  for (let i = 0; i < pairs.size; i++) rows += pairs.tgtLength(i) + 1;
  return rows;
}

/**
 * SHA-256 of the pairs as `JSON.stringify(pairs.map((p) => [p.src, p.tgt]))` reads, fed a pair at a time, so
 * millions of pairs never become one string (and caches built before stay valid).
 */
function dataHashOf(pairs: PairSource): string {
  return sha((h) => {
    let text = '[';
    for (let i = 0; i < pairs.size; i++) {
      const p = pairs.pair(i);
      text += `${i > 0 ? ',' : ''}[[${p.src.join(',')}],[${p.tgt.join(',')}]]`;
      if (text.length >= 1 << 16) {
        h.update(text);
        text = '';
      }
    }
    h.update(text + ']');
  });
}

function checksumOf(fd: number, start: number, end: number): string {
  return sha((h) => {
    const buf = Buffer.alloc(1 << 20);
    for (let pos = start; pos < end;) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
      if (n === 0) throw new Error('teacher cache: the file ends before its last block (truncated)');
      h.update(buf.subarray(0, n));
      pos += n;
    }
  });
}

/**
 * Builds (or finishes) the cache at `file` and returns its header. An existing complete cache of the same
 * source is kept as it is; one of another source is an error (delete it to rebuild).
 */
export async function buildTeacherCache(opts: BuildTeacherCacheOptions): Promise<TeacherCacheHeader & { bytes: number }> {
  const want = expectedHeader(opts);
  const progressFile = `${opts.file}.progress`;
  let done = 0;
  if (fs.existsSync(opts.file)) {
    const fd = fs.openSync(opts.file, 'r');
    try {
      const h = readHeader(fd, opts.file);
      checkSource(h, want, opts.file);
      if (h.checksum) return { ...h, bytes: fs.fstatSync(fd).size };
    } finally {
      fs.closeSync(fd);
    }
    done = fs.existsSync(progressFile) ? (JSON.parse(fs.readFileSync(progressFile, 'utf8')) as { done: number }).done : 0;
  } else {
    fs.writeFileSync(opts.file, encodeHeader({ ...want, checksum: '' }));
  }
  const pairs = sourceOf(opts);
  const offsets = layout(pairs, want.k);
  const batchSize = opts.batchSize ?? 32;
  const fd = fs.openSync(opts.file, 'r+');
  const wasTraining = opts.teacher.training;
  opts.teacher.eval();
  try {
    fs.ftruncateSync(fd, offsets[done]); // drop a block half-written by a killed build
    for (let start = done; start < pairs.size; start += batchSize) {
      const chunk = Int32Array.from({ length: Math.min(batchSize, pairs.size - start) }, (_, j) => start + j);
      const blocks = await teacherTopK(opts.teacher, pairs, chunk, want.k);
      fs.writeSync(fd, Buffer.concat(blocks), 0, undefined, offsets[start]);
      fs.fsyncSync(fd);
      done = start + chunk.length;
      writeFileAtomicSync(progressFile, JSON.stringify({ done }));
      opts.onProgress?.(done, pairs.size);
    }
    const header = { ...want, checksum: checksumOf(fd, HEADER_BYTES, offsets[pairs.size]) };
    fs.writeSync(fd, encodeHeader(header), 0, HEADER_BYTES, 0);
    fs.fsyncSync(fd);
    fs.rmSync(progressFile, { force: true });
    return { ...header, bytes: offsets[pairs.size] };
  } finally {
    fs.closeSync(fd);
    if (wasTraining) opts.teacher.train();
  }
}

/** One block per pair: ids (int32) then log-probs (float16) of its target rows. */
async function teacherTopK(teacher: Seq2Seq, pairs: PairSource, indices: Int32Array, k: number): Promise<Buffer[]> {
  const batch = Batch.fromSource(pairs, indices, { eosIndex: teacher.eosIndex, padIndex: teacher.padIndex, device: teacher.device });
  try {
    const [ids, logProbs] = noGrad(() => {
      const logits = teacher.forward(batch);
      const logp = logits.logSoftmax(-1);
      const top = logp.topk(k, { dim: -1 });
      const out = [top.indices.to('int32'), top.values.to('float16')];
      for (const t of [logits, logp, top.indices, top.values]) t.dispose();
      return out;
    });
    const T = ids.shape[1];
    const idBytes = Buffer.from(tensorToRaw(ids).data);
    const lpBytes = Buffer.from(tensorToRaw(logProbs).data);
    ids.dispose();
    logProbs.dispose();
    return Array.from(indices, (i, b) => {
      const rows = pairs.tgtLength(i) + 1;
      const base = b * T * k;
      return Buffer.concat([idBytes.subarray(base * 4, (base + rows * k) * 4), lpBytes.subarray(base * 2, (base + rows * k) * 2)]);
    });
  } finally {
    batch.dispose();
  }
}

function checkSource(h: TeacherCacheHeader, want: Omit<TeacherCacheHeader, 'checksum'>, file: string): void {
  const why = (field: string, what: string) =>
    new Error(`teacher cache ${file} is stale: it was built for ${what}; delete it to rebuild (${field} differs)`);
  if (h.format !== FORMAT) throw new Error(`teacher cache ${file}: format ${h.format}, this version reads ${FORMAT}`);
  if (h.k !== want.k) throw why('k', `k = ${h.k}, not ${want.k}`);
  if (h.vocabSize !== want.vocabSize) throw why('vocabSize', `a vocabulary of ${h.vocabSize}, not ${want.vocabSize}`);
  if (h.dataHash !== want.dataHash || h.pairs !== want.pairs || h.rows !== want.rows) throw why('dataHash', 'other training data');
  if (h.teacherHash !== want.teacherHash) throw why('teacherHash', 'another teacher (its weights differ)');
  if (h.tokenizerHash !== want.tokenizerHash) throw why('tokenizerHash', 'another tokenizer');
}

/** A complete cache opened for training: sparse teachers for batches of its pairs. */
export class TeacherCache {
  /**
   * @param header - the file's header.
   * @param file - the cache file.
   */
  private constructor(
    private fd: number | undefined,
    readonly header: TeacherCacheHeader,
    private readonly offsets: Float64Array,
    readonly file: string
  ) {}

  /** Opens `file`, checks it against the run's source (and its checksum), and keeps it open for reading. */
  static open(file: string, source: TeacherCacheSource): TeacherCache {
    const fd = fs.openSync(file, 'r');
    try {
      const h = readHeader(fd, file);
      checkSource(h, expectedHeader(source), file);
      if (!h.checksum) throw new Error(`teacher cache ${file} is incomplete: build it first (buildTeacherCache resumes it)`);
      const offsets = layout(sourceOf(source), h.k);
      const size = fs.fstatSync(fd).size;
      if (size !== offsets[offsets.length - 1])
        throw new Error(`teacher cache ${file}: ${size} bytes, expected ${offsets[offsets.length - 1]} (truncated or corrupt)`);
      if (checksumOf(fd, HEADER_BYTES, size) !== h.checksum) throw new Error(`teacher cache ${file}: checksum mismatch (corrupt)`);
      return new TeacherCache(fd, h, offsets, file);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /**
   * The top-k teacher of the pairs `indices` as a Batch frames them: [B, T, k] ids and log-probs (pad rows
   * uniform), on `device` (the student's).
   */
  sparseTeacher(indices: ArrayLike<number>, width: number, device: Device = 'cpu'): SparseTeacher {
    if (this.fd === undefined) throw new Error('TeacherCache: closed');
    const k = this.header.k;
    const ids = new Int32Array(indices.length * width * k);
    const half = new Uint16Array(indices.length * width * k); // 0 = +0.0 in float16: pad rows are uniform, and ignored
    Array.prototype.forEach.call(indices, (i: number, b: number) => {
      const start = this.offsets[i];
      const n = (this.offsets[i + 1] - start) / 6; // rows * k
      if (n / k > width) throw new RangeError(`TeacherCache: pair ${i} has ${n / k} target rows, more than the batch width ${width}`);
      const buf = Buffer.alloc(n * 6);
      fs.readSync(this.fd!, buf, 0, buf.length, start);
      ids.set(new Int32Array(buf.buffer, buf.byteOffset, n), b * width * k);
      half.set(new Uint16Array(buf.buffer, buf.byteOffset + n * 4, n), b * width * k);
    });
    const shape = [indices.length, width, k];
    const lp16 = tensor(Buffer.from(half.buffer), { dtype: 'float16', shape, device });
    const logProbs = lp16.to('float32');
    lp16.dispose();
    return { indices: tensor(ids, { shape, device }), logProbs };
  }

  /** Closes the file; later reads throw. */
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
