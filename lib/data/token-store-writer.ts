/**
 * Writes a whole token store (lib/data/token-store.ts) once, in order: ids stream to a temporary `.bin`, sizes
 * grow in a typed array (4 bytes a sentence while building), and `finish()` writes the index and renames both
 * files into place, the index last: a killed build leaves either the old store or none, never half of one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeHeader, indexBytes, offsetsStart, storeFiles, TOKEN_STORE_FORMAT, type TokenStoreMeta } from './token-store';

/** Sentences' ids written through {@link TokenStoreWriter.add}. */
export interface IdRows {
  /** Every sentence's ids one after another. */
  ids: Int32Array;
  /** Each sentence's count. */
  sizes: Int32Array;
}

const FLUSH_BYTES = 1 << 22;

/**
 * Writes a whole token store once, in order; the store appears only when {@link TokenStoreWriter.finish} renames it
 * into place.
 */
export class TokenStoreWriter {
  private readonly files: { idx: string; bin: string };
  private readonly tmp: { idx: string; bin: string };
  private readonly fd: number;
  private sizes = new Uint32Array(1 << 16);
  private count = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private done = false;

  /** @param base - the store's path without `.idx`/`.bin`; @param tokenBytes - 2 (uint16 ids) or 4. */
  constructor(
    readonly base: string,
    private readonly tokenBytes: 2 | 4,
    private readonly meta: TokenStoreMeta
  ) {
    this.files = storeFiles(base);
    fs.mkdirSync(path.dirname(base), { recursive: true });
    const tag = `.tmp-${process.pid}`;
    this.tmp = { idx: this.files.idx + tag, bin: this.files.bin + tag };
    this.fd = fs.openSync(this.tmp.bin, 'w');
  }

  /** Sentences written so far. */
  get written(): number {
    return this.count;
  }

  /** Appends sentences. @throws RangeError when an id does not fit the store's id width. */
  add(rows: IdRows): void {
    const { ids, sizes } = rows;
    const limit = this.tokenBytes === 2 ? 0xffff : 0xffffffff;
    for (let k = 0; k < ids.length; k++) {
      if (ids[k] < 0 || ids[k] > limit) throw new RangeError(`TokenStoreWriter ${this.base}: id ${ids[k]} does not fit a ${this.tokenBytes}-byte id`);
    }
    const out = this.tokenBytes === 2 ? Uint16Array.from(ids) : Uint32Array.from(ids);
    this.pending.push(Buffer.from(out.buffer, out.byteOffset, out.byteLength));
    this.pendingBytes += out.byteLength;
    if (this.count + sizes.length > this.sizes.length) {
      const grown = new Uint32Array(Math.max(this.sizes.length * 2, this.count + sizes.length));
      grown.set(this.sizes.subarray(0, this.count));
      this.sizes = grown;
    }
    this.sizes.set(sizes, this.count);
    this.count += sizes.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    fs.writeSync(this.fd, Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Writes the index, syncs both files and moves them into place. */
  finish(): void {
    if (this.done) throw new Error(`TokenStoreWriter ${this.base}: finish() was called already`);
    this.done = true;
    this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    const n = this.count;
    const index = Buffer.alloc(indexBytes(n));
    encodeHeader(this.tokenBytes, n, this.meta).copy(index, 0);
    new Uint32Array(index.buffer, index.byteOffset + TOKEN_STORE_FORMAT.headerBytes, n).set(this.sizes.subarray(0, n));
    const offsets = new Uint32Array(index.buffer, index.byteOffset + offsetsStart(n), 2 * n);
    let at = 0;
    for (let i = 0; i < n; i++) {
      offsets[2 * i] = at % 2 ** 32;
      offsets[2 * i + 1] = Math.floor(at / 2 ** 32);
      at += this.sizes[i];
    }
    const fd = fs.openSync(this.tmp.idx, 'w');
    try {
      fs.writeSync(fd, index);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // The old index first and the new one last: an index never sits beside a .bin it does not describe.
    fs.rmSync(this.files.idx, { force: true });
    fs.renameSync(this.tmp.bin, this.files.bin);
    fs.renameSync(this.tmp.idx, this.files.idx);
  }

  /** Gives up: closes and removes the temporary files. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    for (const f of [this.tmp.bin, this.tmp.idx]) fs.rmSync(f, { force: true });
  }
}
