/**
 * Parallel text corpora: two line-aligned files or one TSV file read into sentence pairs (streamed, so
 * big files are fine), bad lines reported by file and line number or skipped and counted, and a
 * deterministic train/valid/test split.
 */
import * as fs from 'node:fs';
import { SeededRandom } from './random';

/** One source/target sentence pair. */
export interface SentencePair {
  src: string;
  tgt: string;
}

/** A line that could not be used. */
export interface BadLine {
  file: string;
  /** 1-based. */
  line: number;
  reason: string;
}

/** Options for {@link readParallelFiles} and {@link readTsv}. */
export interface ReadCorpusOptions {
  /** An empty or malformed line: throw a {@link CorpusError} naming file and line (default), or skip it. */
  onBadLine?: 'error' | 'skip';
  /** Trim spaces and tabs at both ends of each side (default true). */
  trim?: boolean;
  /** Stop after this many pairs (default all). */
  maxPairs?: number;
}

/** Pairs read, and the lines skipped with `onBadLine: 'skip'`. */
export interface ParallelCorpus {
  pairs: SentencePair[];
  /** Lines skipped (0 with `onBadLine: 'error'`). */
  skipped: number;
  /** The first 100 skipped lines, for a report. */
  badLines: BadLine[];
}

/** A corpus file that cannot be used as it is. */
export class CorpusError extends Error {
  constructor(message: string, readonly file: string, readonly line?: number) {
    super(line === undefined ? `corpus: ${file}: ${message}` : `corpus: ${file}:${line}: ${message}`);
    this.name = 'CorpusError';
  }
}

const MAX_REPORTED = 100;

const stripBom = (s: string): string => (s.charCodeAt(0) === 0xfeff ? s.slice(1) : s);

/** What `lines` yields for a line whose bytes are not valid UTF-8 (it is never decoded with U+FFFD). */
const INVALID_UTF8 = Symbol('invalid UTF-8');
type Line = string | typeof INVALID_UTF8;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A file's lines (LF or CRLF), each decoded strictly as UTF-8; errors name the file. */
async function* lines(file: string): AsyncGenerator<Line, void, undefined> {
  const decode = (bytes: Buffer): Line => {
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    try {
      return utf8.decode(bytes.subarray(0, end));
    } catch {
      return INVALID_UTF8;
    }
  };
  let rest: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of fs.createReadStream(file)) {
      let buf = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
      let nl: number;
      while ((nl = buf.indexOf(0x0a)) >= 0) {
        yield decode(buf.subarray(0, nl));
        buf = buf.subarray(nl + 1);
      }
      rest = Buffer.from(buf);
    }
  } catch (e) {
    throw e instanceof CorpusError ? e : new CorpusError((e as Error).message, file);
  }
  if (rest.length > 0) yield decode(rest);
}

class Collector {
  readonly result: ParallelCorpus = { pairs: [], skipped: 0, badLines: [] };
  constructor(private readonly opts: ReadCorpusOptions) {
    const o = opts.onBadLine ?? 'error';
    if (o !== 'error' && o !== 'skip') throw new RangeError(`corpus: option 'onBadLine' must be 'error' or 'skip', got ${String(o)}`);
    if (opts.maxPairs !== undefined && !(Number.isInteger(opts.maxPairs) && opts.maxPairs >= 0)) {
      throw new RangeError(`corpus: option 'maxPairs' must be an integer >= 0, got ${String(opts.maxPairs)}`);
    }
  }
  get full(): boolean {
    return this.opts.maxPairs !== undefined && this.result.pairs.length >= this.opts.maxPairs;
  }
  clean(s: string, first: boolean): string {
    if (first) s = stripBom(s);
    return this.opts.trim ?? true ? s.replace(/^[ \t]+|[ \t]+$/g, '') : s;
  }
  bad(file: string, line: number, reason: string): void {
    if ((this.opts.onBadLine ?? 'error') === 'error') throw new CorpusError(reason, file, line);
    this.result.skipped++;
    if (this.result.badLines.length < MAX_REPORTED) this.result.badLines.push({ file, line, reason });
  }
  add(srcFile: string, tgtFile: string, line: number, src: string, tgt: string): void {
    if (src === '' && tgt === '') this.bad(srcFile, line, 'empty line on both sides');
    else if (src === '') this.bad(srcFile, line, 'empty source sentence');
    else if (tgt === '') this.bad(tgtFile, line, 'empty target sentence');
    else this.result.pairs.push({ src, tgt });
  }
}

/**
 * Reads two line-aligned files (line i of `srcFile` translates to line i of `tgtFile`).
 * @throws CorpusError when the files differ in line count, or on an empty line or invalid UTF-8 with `onBadLine: 'error'`.
 */
export async function readParallelFiles(srcFile: string, tgtFile: string, opts: ReadCorpusOptions = {}): Promise<ParallelCorpus> {
  const c = new Collector(opts);
  const a = lines(srcFile);
  const b = lines(tgtFile);
  try {
    for (let line = 1; !c.full; line++) {
      const [x, y] = await Promise.all([a.next(), b.next()]);
      if (x.done && y.done) break;
      if (x.done || y.done) {
        const [shortFile, longFile] = x.done ? [srcFile, tgtFile] : [tgtFile, srcFile];
        throw new CorpusError(`has ${line - 1} lines but ${longFile} has more: the files are not aligned`, shortFile);
      }
      if (x.value === INVALID_UTF8 || y.value === INVALID_UTF8) {
        c.bad(x.value === INVALID_UTF8 ? srcFile : tgtFile, line, 'invalid UTF-8');
        continue;
      }
      c.add(srcFile, tgtFile, line, c.clean(x.value, line === 1), c.clean(y.value, line === 1));
    }
  } finally {
    await a.return();
    await b.return();
  }
  return c.result;
}

/**
 * Reads a TSV file of `source<TAB>target` lines. A line without exactly one tab is malformed.
 * @throws CorpusError on a malformed or empty line or invalid UTF-8 with `onBadLine: 'error'`.
 */
export async function readTsv(file: string, opts: ReadCorpusOptions = {}): Promise<ParallelCorpus> {
  const c = new Collector(opts);
  const it = lines(file);
  try {
    let line = 0;
    for (let r = await it.next(); !r.done && !c.full; r = await it.next()) {
      line++;
      if (r.value === INVALID_UTF8) {
        c.bad(file, line, 'invalid UTF-8');
        continue;
      }
      const text = line === 1 ? stripBom(r.value) : r.value;
      const cols = text.split('\t');
      if (cols.length !== 2) {
        if (text.trim() === '') c.bad(file, line, 'empty line');
        else c.bad(file, line, `expected 2 tab-separated columns, found ${cols.length}`);
        continue;
      }
      c.add(file, file, line, c.clean(cols[0], false), c.clean(cols[1], false));
    }
  } finally {
    await it.return();
  }
  return c.result;
}

/** Sizes of the held-out parts: a count (>= 1) or a fraction of the whole (< 1). */
export interface SplitOptions {
  /** Validation part (default 0). */
  valid?: number;
  /** Test part (default 0). */
  test?: number;
  /** Which items go where depends only on this (default 0). */
  seed?: number;
}

/** The three parts of {@link splitCorpus}, each in the input's order. */
export interface CorpusSplit<T> {
  train: T[];
  valid: T[];
  test: T[];
}

/**
 * Splits items into train/valid/test at random but deterministically: the same items and seed always
 * give the same parts. Every item lands in exactly one part; each part keeps the input order.
 */
export function splitCorpus<T>(items: readonly T[], opts: SplitOptions = {}): CorpusSplit<T> {
  const n = items.length;
  const size = (v: number | undefined, name: string): number => {
    if (v === undefined) return 0;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (v >= 1 && !Number.isInteger(v))) {
      throw new RangeError(`splitCorpus: option '${name}' must be a fraction in [0, 1) or a whole count, got ${String(v)}`);
    }
    return v < 1 ? Math.round(v * n) : v;
  };
  const nValid = size(opts.valid, 'valid');
  const nTest = size(opts.test, 'test');
  if (nValid + nTest > n) throw new RangeError(`splitCorpus: valid (${nValid}) + test (${nTest}) exceed the ${n} items`);
  const order = new SeededRandom(opts.seed ?? 0).shuffle(Array.from({ length: n }, (_, i) => i));
  const part = new Uint8Array(n); // 0 train, 1 valid, 2 test
  for (let k = 0; k < nValid; k++) part[order[k]] = 1;
  for (let k = nValid; k < nValid + nTest; k++) part[order[k]] = 2;
  const out: CorpusSplit<T> = { train: [], valid: [], test: [] };
  items.forEach((item, i) => (part[i] === 0 ? out.train : part[i] === 1 ? out.valid : out.test).push(item));
  return out;
}
