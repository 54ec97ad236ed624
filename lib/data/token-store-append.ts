/**
 * A sparse token store filled in any order and over several runs: the index is laid out for all `count`
 * sentences at creation, each marked not written; `put` appends ids to `.bin`, syncs it, then fills the
 * sentences' index entries and syncs those, so an entry never points at ids that are not on disk. Reopening
 * drops ids appended by a killed run that no entry points at, in one pass over the index: time linear in the
 * store, whatever was already written. Sequence-level KD writes the teacher's translations this way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  encodeHeader,
  indexBytes,
  offsetsStart,
  storeFiles,
  TOKEN_STORE_FORMAT,
  TokenStore,
  TokenStoreError,
  type TokenStoreMeta,
} from './token-store';

/** One sentence to write. */
export interface StoreEntry {
  /** The sentence's index in the store (0-based). */
  index: number;
  /** Its token ids. */
  ids: ArrayLike<number>;
  /** A number kept beside the sentence (e.g. a translation's score), in `base.values` as float32. */
  value?: number;
}

/** The per-sentence float32 values of the store `base` (NaN where none was given), or undefined without a file. */
export function readStoreValues(base: string, count: number): Float32Array | undefined {
  const file = `${base}.values`;
  if (!fs.existsSync(file)) return undefined;
  const buf = fs.readFileSync(file);
  if (buf.length !== 4 * count)
    throw new TokenStoreError(file, `is ${buf.length} bytes, not the ${4 * count} of ${count} sentences: truncated or corrupt`);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
}

/** A sparse token store written in any order, over one or more runs (see the file's notes). */
export class AppendableTokenStore {
  private constructor(
    /** The store's path without `.idx`/`.bin`. */
    readonly base: string,
    /** Sentences the store has room for, written or not. */
    readonly count: number,
    private readonly tokenBytes: 2 | 4,
    private readonly written: Uint8Array,
    private writtenCount: number,
    private binTokens: number,
    private readonly idxFd: number,
    private readonly binFd: number,
    private readonly valuesFd: number
  ) {}

  /**
   * Opens the store `base` to add sentences, creating it (all `count` sentences unwritten) when absent.
   * @throws TokenStoreError when the existing store has another count, id width or tokenizer, or is corrupt.
   */
  static open(base: string, count: number, tokenBytes: 2 | 4, meta: TokenStoreMeta): AppendableTokenStore {
    const files = storeFiles(base);
    if (!fs.existsSync(files.idx)) {
      fs.mkdirSync(path.dirname(base), { recursive: true });
      const tmp = `${files.idx}.tmp-${process.pid}`;
      const fd = fs.openSync(tmp, 'w');
      try {
        fs.writeSync(fd, encodeHeader(tokenBytes, count, meta));
        // Every size 0xffffffff (not written), every offset 0.
        const sizes = Buffer.alloc(offsetsStart(count) - TOKEN_STORE_FORMAT.headerBytes, 0xff);
        fs.writeSync(fd, sizes, 0, sizes.length, TOKEN_STORE_FORMAT.headerBytes);
        fs.ftruncateSync(fd, indexBytes(count));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.writeFileSync(files.bin, Buffer.alloc(0));
      fs.writeFileSync(`${base}.values`, Buffer.from(new Float32Array(count).fill(NaN).buffer));
      fs.renameSync(tmp, files.idx);
    }
    const store = TokenStore.open(base, { partialTail: true });
    if (store.count !== count)
      throw new TokenStoreError(files.idx, `holds ${store.count} sentences, not the ${count} of this run: delete it to start again`);
    if (store.tokenBytes !== tokenBytes)
      throw new TokenStoreError(files.idx, `holds ${store.tokenBytes}-byte ids, not ${tokenBytes}-byte: delete it to start again`);
    if (store.meta.tokenizer !== meta.tokenizer) throw new TokenStoreError(files.idx, 'was written with another tokenizer: delete it to start again');
    const written = new Uint8Array(count);
    let writtenCount = 0;
    let end = 0;
    for (let i = 0; i < count; i++) {
      if (!store.has(i)) continue;
      written[i] = 1;
      writtenCount++;
      end = Math.max(end, store.endOf(i));
    }
    store.close();
    // Ids past the last entry were appended by a run killed before it wrote their entries.
    if (fs.statSync(files.bin).size > end * tokenBytes) fs.truncateSync(files.bin, end * tokenBytes);
    readStoreValues(base, count);
    const values = fs.openSync(`${base}.values`, 'r+');
    return new AppendableTokenStore(
      base,
      count,
      tokenBytes,
      written,
      writtenCount,
      end,
      fs.openSync(files.idx, 'r+'),
      fs.openSync(files.bin, 'a'),
      values
    );
  }

  /** Whether sentence `i` is written. */
  has(i: number): boolean {
    return this.written[i] === 1;
  }

  /** Sentences written. */
  get size(): number {
    return this.writtenCount;
  }

  /** Writes sentences (each index once) durably: their ids, then their index entries. */
  put(entries: readonly StoreEntry[]): void {
    const total = entries.reduce((n, e) => n + e.ids.length, 0);
    const limit = this.tokenBytes === 2 ? 0xffff : 0xffffffff;
    const ids = this.tokenBytes === 2 ? new Uint16Array(total) : new Uint32Array(total);
    let at = 0;
    for (const e of entries) {
      if (!Number.isInteger(e.index) || e.index < 0 || e.index >= this.count)
        throw new RangeError(`AppendableTokenStore ${this.base}: index ${e.index} is outside [0, ${this.count})`);
      if (this.written[e.index]) throw new RangeError(`AppendableTokenStore ${this.base}: sentence ${e.index} is written already`);
      for (let k = 0; k < e.ids.length; k++) {
        const x = e.ids[k];
        if (!Number.isInteger(x) || x < 0 || x > limit)
          throw new RangeError(`AppendableTokenStore ${this.base}: id ${x} of sentence ${e.index} does not fit a ${this.tokenBytes}-byte id`);
        ids[at + k] = x;
      }
      at += e.ids.length;
    }
    fs.writeSync(this.binFd, Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength));
    fs.fsyncSync(this.binFd);
    // Offsets first, synced, then sizes: a size is what marks a sentence written, so it must never reach the disk
    // before its offset does.
    const offset = Buffer.alloc(8);
    let start = this.binTokens;
    for (const e of entries) {
      offset.writeUInt32LE(start % 2 ** 32, 0);
      offset.writeUInt32LE(Math.floor(start / 2 ** 32), 4);
      fs.writeSync(this.idxFd, offset, 0, 8, offsetsStart(this.count) + 8 * e.index);
      start += e.ids.length;
      if (e.value !== undefined) fs.writeSync(this.valuesFd, Buffer.from(new Float32Array([e.value]).buffer), 0, 4, 4 * e.index);
    }
    fs.fsyncSync(this.valuesFd);
    fs.fsyncSync(this.idxFd);
    const size = Buffer.alloc(4);
    for (const e of entries) {
      size.writeUInt32LE(e.ids.length, 0);
      fs.writeSync(this.idxFd, size, 0, 4, TOKEN_STORE_FORMAT.headerBytes + 4 * e.index);
      this.written[e.index] = 1;
    }
    fs.fsyncSync(this.idxFd);
    this.binTokens = start;
    this.writtenCount += entries.length;
  }

  /** Closes the store's files; everything `put` wrote is already on disk. */
  close(): void {
    fs.closeSync(this.valuesFd);
    fs.closeSync(this.idxFd);
    fs.closeSync(this.binFd);
  }
}
