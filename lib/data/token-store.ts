/**
 * The token store: one side of a corpus tokenized once, as fairseq binarizes it. `NAME.bin` holds every
 * sentence's token ids one after another (uint16 while the vocabulary fits, else uint32); `NAME.idx` holds a
 * 4 KiB header (magic, format version, id width, count, JSON metadata naming the tokenizer and the text it was
 * made from), then each sentence's size (uint32) and offset into the ids (int64, in ids): 12 bytes a sentence.
 * The index is read through a shared memory map (planning reads every size; ranks on one machine share its
 * pages); the ids by positioned reads of each sentence, which go through the same page cache but, unlike a map,
 * leave nothing of the `.bin` in the process's resident memory however much of it an epoch reads. A size of
 * 0xffffffff marks a sentence not written yet (the sparse stores that sequence-level KD appends to,
 * lib/data/token-store-append.ts).
 */
import * as fs from 'node:fs';
import { native } from '../native';

/** What a store's header says about where its ids came from. */
export interface TokenStoreMeta {
  /** SHA-256 of the tokenizer's model bytes. */
  tokenizer: string;
  /** SHA-256 of the text file the ids were made from (absent for stores not made from a text file). */
  text?: string;
  /** That text file's size and modification time when it was hashed (a quick check before hashing again). */
  textBytes?: number;
  /** That text file's modification time (ms since the epoch) when it was hashed. */
  textMtimeMs?: number;
  /** The tokenizer's vocabulary size. */
  vocabSize: number;
  /** Free-form: what wrote the store (e.g. 'xlm-kd data', 'sequence-level KD'). */
  madeBy?: string;
}

/** A store file that cannot be used as it is. */
export class TokenStoreError extends Error {
  /** @param file - the store file at fault. */
  constructor(
    readonly file: string,
    message: string
  ) {
    super(`token store ${file}: ${message}`);
    this.name = 'TokenStoreError';
  }
}

/**
 * Layout constants (format version 1): the header's `magic` bytes and `version`, its size in bytes (`headerBytes`), and
 * the size an index entry holds for a sentence not written yet (`missing`, in sparse stores).
 */
export const TOKEN_STORE_FORMAT = Object.freeze({ magic: 'XKTTOKS\0', version: 1, headerBytes: 4096, missing: 0xffffffff });

const H = TOKEN_STORE_FORMAT;

/** The byte offset of the offsets table in an index of `count` sentences (8-aligned after the sizes). */
export function offsetsStart(count: number): number {
  const end = H.headerBytes + 4 * count;
  return end + (end % 8);
}

/** Total bytes of an index of `count` sentences. */
export function indexBytes(count: number): number {
  return offsetsStart(count) + 8 * count;
}

/** The 4 KiB header of an index file. */
export function encodeHeader(tokenBytes: 2 | 4, count: number, meta: TokenStoreMeta): Buffer {
  const head = Buffer.alloc(H.headerBytes);
  head.write(H.magic, 0, 'latin1');
  head.writeUInt32LE(H.version, 8);
  head.writeUInt32LE(tokenBytes, 12);
  head.writeUInt32LE(count % 2 ** 32, 16);
  head.writeUInt32LE(Math.floor(count / 2 ** 32), 20);
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  if (json.length > H.headerBytes - 28) throw new RangeError(`token store: metadata of ${json.length} bytes does not fit the header`);
  head.writeUInt32LE(json.length, 24);
  json.copy(head, 28);
  return head;
}

/** The id width a vocabulary needs. */
export function tokenBytesFor(vocabSize: number): 2 | 4 {
  return vocabSize <= 65536 ? 2 : 4;
}

/** The `.idx` and `.bin` paths of a store named `base`. */
export function storeFiles(base: string): { idx: string; bin: string } {
  return { idx: `${base}.idx`, bin: `${base}.bin` };
}

/** Whether both files of the store `base` exist. */
export function storeExists(base: string): boolean {
  const f = storeFiles(base);
  return fs.existsSync(f.idx) && fs.existsSync(f.bin);
}

/** Closes a store's `.bin` descriptor when the store is collected without {@link TokenStore.close}. */
const descriptors = new FinalizationRegistry<number>((fd) => {
  try {
    fs.closeSync(fd);
  } catch {
    // closed already
  }
});

/** One side of a corpus as token ids: the index memory-mapped, the ids read where they are needed. */
export class TokenStore {
  /** Sentences (written or not, for a sparse store). */
  readonly count: number;
  /** 2 (uint16 ids) or 4 (uint32). */
  readonly tokenBytes: 2 | 4;
  /** Where the ids came from, as the header says. */
  readonly meta: TokenStoreMeta;
  /** Ids in the `.bin` file. */
  readonly totalTokens: number;
  private readonly sizes: Uint32Array;
  /** Offsets as (low, high) uint32 pairs: int64 on disk, read without BigInt. */
  private readonly offsets: Uint32Array;
  private fd: number | undefined;
  private scratch = Buffer.alloc(1024);

  /** @param base - the store's path without `.idx`/`.bin`; @param fd - its `.bin`, open for reading. */
  private constructor(
    readonly base: string,
    idx: ArrayBuffer,
    fd: number,
    partialTail: boolean
  ) {
    const { idx: idxFile, bin: binFile } = storeFiles(base);
    const fail = (file: string, why: string): never => {
      throw new TokenStoreError(file, why);
    };
    if (idx.byteLength < H.headerBytes) fail(idxFile, `is truncated: ${idx.byteLength} bytes, shorter than its ${H.headerBytes}-byte header`);
    const head = Buffer.from(idx, 0, H.headerBytes);
    if (head.toString('latin1', 0, 8) !== H.magic) fail(idxFile, 'is not a token store index (wrong magic bytes)');
    const version = head.readUInt32LE(8);
    if (version !== H.version) fail(idxFile, `has format version ${version}; this version reads ${H.version}`);
    const tokenBytes = head.readUInt32LE(12);
    if (tokenBytes !== 2 && tokenBytes !== 4) fail(idxFile, `has an id width of ${tokenBytes} bytes (expected 2 or 4)`);
    this.tokenBytes = tokenBytes as 2 | 4;
    this.count = head.readUInt32LE(16) + head.readUInt32LE(20) * 2 ** 32;
    const metaLength = head.readUInt32LE(24);
    let meta: TokenStoreMeta | undefined;
    try {
      meta = JSON.parse(head.toString('utf8', 28, 28 + metaLength)) as TokenStoreMeta;
    } catch {
      fail(idxFile, 'has a corrupt header (its metadata is not JSON)');
    }
    this.meta = meta!;
    if (idx.byteLength !== indexBytes(this.count)) {
      fail(idxFile, `is ${idx.byteLength} bytes but ${this.count} sentences need ${indexBytes(this.count)}: truncated or corrupt`);
    }
    const binBytes = fs.fstatSync(fd).size;
    if (binBytes % this.tokenBytes !== 0 && !partialTail)
      fail(binFile, `is ${binBytes} bytes, not a whole number of ${this.tokenBytes}-byte ids: truncated`);
    this.sizes = new Uint32Array(idx, H.headerBytes, this.count);
    this.offsets = new Uint32Array(idx, offsetsStart(this.count), 2 * this.count);
    this.totalTokens = Math.floor(binBytes / this.tokenBytes);
    // Written in order (no sentence missing), the sizes must add up to the ids and the last must end there: a
    // check that reads only the sizes, which batch planning reads anyway. A sparse store (sentences missing) is
    // checked entry by entry, offsets included.
    let total = 0;
    let dense = true;
    for (let i = 0; i < this.count; i++) {
      const n = this.sizes[i];
      if (n === H.missing) dense = false;
      else total += n;
    }
    if (dense && !partialTail) {
      const last = this.count - 1;
      if (total !== this.totalTokens || (this.count > 0 && this.offsetOf(last) + this.sizes[last] !== total)) {
        fail(binFile, `holds ${this.totalTokens} ids but the index of ${idxFile} describes ${total}: truncated, or not the .bin of that index`);
      }
    } else {
      for (let i = 0; i < this.count; i++) {
        const n = this.sizes[i];
        if (n !== H.missing && this.offsetOf(i) + n > this.totalTokens) {
          fail(
            binFile,
            `holds ${this.totalTokens} ids but sentence ${i} ends at id ${this.offsetOf(i) + n}: truncated, or not the .bin of ${idxFile}`
          );
        }
      }
    }
  }

  /**
   * Opens the store `base` (`base.idx` + `base.bin`). `partialTail` accepts a `.bin` that goes on past what its
   * entries point at, even into part of an id (an appendable store whose writer was killed mid-write; its
   * reopening cuts the tail off).
   * @throws TokenStoreError naming the file when either is missing, truncated or not a token store.
   */
  static open(base: string, opts: { partialTail?: boolean } = {}): TokenStore {
    const files = storeFiles(base);
    for (const f of [files.idx, files.bin]) if (!fs.existsSync(f)) throw new TokenStoreError(f, 'does not exist');
    const fd = fs.openSync(files.bin, 'r');
    try {
      const store = new TokenStore(base, native().mapFile(files.idx), fd, opts.partialTail === true);
      store.fd = fd;
      descriptors.register(store, fd, store);
      return store;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** Closes the `.bin` (the store cannot read ids after this; a collected store closes it by itself). */
  close(): void {
    if (this.fd === undefined) return;
    descriptors.unregister(this);
    fs.closeSync(this.fd);
    this.fd = undefined;
  }

  /** Whether sentence `i` has been written (always, except in a sparse store being appended to). */
  has(i: number): boolean {
    return this.sizes[i] !== H.missing;
  }

  /** Ids of sentence `i` (framing excluded). */
  length(i: number): number {
    const n = this.sizes[i];
    if (n === H.missing || n === undefined)
      throw new RangeError(`token store ${this.base}: sentence ${i} ${n === undefined ? `is outside [0, ${this.count})` : 'has not been written'}`);
    return n;
  }

  /** Copies sentence `i`'s ids into `dst` from position `at`. */
  copy(i: number, dst: Int32Array, at: number): void {
    dst.set(this.read(i), at);
  }

  /** Sentence `i`'s ids as a JS array. */
  sentence(i: number): number[] {
    return Array.from(this.read(i));
  }

  /** Sentence `i`'s ids, in a view of the scratch buffer valid until the next read. */
  private read(i: number): Uint16Array | Uint32Array {
    if (this.fd === undefined) throw new Error(`token store ${this.base}: closed`);
    const n = this.length(i);
    const bytes = n * this.tokenBytes;
    if (this.scratch.length < bytes) this.scratch = Buffer.alloc(Math.max(bytes, 2 * this.scratch.length));
    const got = bytes === 0 ? 0 : fs.readSync(this.fd, this.scratch, 0, bytes, this.offsetOf(i) * this.tokenBytes);
    if (got !== bytes) throw new TokenStoreError(storeFiles(this.base).bin, `ended while reading sentence ${i} (truncated after it was opened)`);
    const buf = this.scratch.buffer;
    const off = this.scratch.byteOffset;
    return this.tokenBytes === 2 ? new Uint16Array(buf, off, n) : new Uint32Array(buf, off, n);
  }

  /** Where sentence `i`'s ids end in the `.bin` (in ids). */
  endOf(i: number): number {
    return this.offsetOf(i) + this.length(i);
  }

  private offsetOf(i: number): number {
    return this.offsets[2 * i] + this.offsets[2 * i + 1] * 2 ** 32;
  }
}
