/**
 * A text file's lines, streamed in blocks: plain or gzip (recognised by its magic bytes 1f 8b, whatever the
 * name), LF or CRLF, decoded strictly as UTF-8 (a line that is not valid UTF-8 is marked, never decoded to
 * U+FFFD), a byte-order mark at the start dropped. Memory stays at a block or two however big the file is.
 *
 * Fast because the common case is done in bulk: each block's complete lines are validated and decoded in one
 * native call and split in one more; only a block holding an invalid line is decoded line by line, and only
 * the bytes of a line that spans two blocks are copied.
 */
import * as fs from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CorpusError } from './corpus-error';

/** What {@link readTextLines} yields for a line whose bytes are not valid UTF-8. */
export const INVALID_UTF8: unique symbol = Symbol('invalid UTF-8');

/** A decoded line (no line break), or {@link INVALID_UTF8}. */
export type TextLine = string | typeof INVALID_UTF8;

/** Options of {@link readTextLines}. */
export interface TextLinesOptions {
  /** Bytes read at a time (default 1 MiB): bigger blocks mean fewer, larger native calls. */
  blockBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;

/** True when the file starts with gzip's magic bytes. */
async function isGzip(file: string): Promise<boolean> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

const dropCr = (s: string): string => (s.length > 0 && s.charCodeAt(s.length - 1) === CR ? s.slice(0, -1) : s);

function decodeLine(bytes: Buffer): TextLine {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
  const line = bytes.subarray(0, end);
  return isUtf8(line) ? line.toString('utf8') : INVALID_UTF8;
}

/** Appends the lines of `bytes` (complete lines joined by LF, no final LF) to `out`. */
function decodeLines(bytes: Buffer, out: TextLine[]): void {
  if (isUtf8(bytes)) {
    for (const s of bytes.toString('utf8').split('\n')) out.push(dropCr(s));
    return;
  }
  // Some line in the block is invalid: find which, line by line.
  let start = 0;
  for (let nl = bytes.indexOf(LF, start); nl >= 0; nl = bytes.indexOf(LF, start)) {
    out.push(decodeLine(bytes.subarray(start, nl)));
    start = nl + 1;
  }
  out.push(decodeLine(bytes.subarray(start)));
}

/** Why a read failed, in the user's terms (a gzip stream that ends early is a truncated file). */
function readError(file: string, gzip: boolean, e: unknown): CorpusError {
  if (e instanceof CorpusError) return e;
  const err = e as NodeJS.ErrnoException;
  if (gzip && err.code === 'Z_BUF_ERROR') return new CorpusError('the gzip file is truncated (it ends before its last block)', file);
  if (gzip && typeof err.code === 'string' && err.code.startsWith('Z_')) return new CorpusError(`is not a valid gzip file: ${err.message}`, file);
  return new CorpusError(err.message ?? String(e), file);
}

/** Cuts a byte stream into decoded lines, block by block: the half of {@link readTextLines} that is not I/O. */
class LineSplitter {
  /** The start of a line that continues in the next block. */
  private carry: Buffer[] = [];
  private first = true;

  /** The lines that end in `block` (none when it holds no line break). */
  push(block: Buffer): TextLine[] {
    const firstNl = block.indexOf(LF);
    if (firstNl < 0) {
      this.carry.push(block);
      return [];
    }
    const out: TextLine[] = [];
    let start = 0;
    if (this.carry.length > 0) {
      this.carry.push(block.subarray(0, firstNl));
      out.push(decodeLine(Buffer.concat(this.carry)));
      this.carry = [];
      start = firstNl + 1;
    }
    const lastNl = block.lastIndexOf(LF);
    if (start <= lastNl) decodeLines(block.subarray(start, lastNl), out);
    if (lastNl + 1 < block.length) this.carry.push(block.subarray(lastNl + 1));
    return this.started(out);
  }

  /** The last line when the input does not end with a line break. */
  end(): TextLine[] {
    return this.carry.length > 0 ? this.started([decodeLine(Buffer.concat(this.carry))]) : [];
  }

  /** Drops a byte-order mark at the very start of the file. */
  private started(out: TextLine[]): TextLine[] {
    if (this.first) {
      const s = out[0];
      if (typeof s === 'string' && s.charCodeAt(0) === 0xfeff) out[0] = s.slice(1);
      this.first = false;
    }
    return out;
  }
}

/**
 * Yields the lines of `file` in order, a block (some thousands of lines) at a time; never an empty block.
 * A last line without a final line break is a line; an empty file has none.
 * @throws CorpusError naming the file when it cannot be read or its gzip stream is truncated or corrupt.
 */
export async function* readTextLines(file: string, opts: TextLinesOptions = {}): AsyncGenerator<TextLine[], void, undefined> {
  const blockBytes = opts.blockBytes ?? 1 << 20;
  if (!Number.isInteger(blockBytes) || blockBytes < 1) {
    throw new RangeError(`readTextLines: option 'blockBytes' must be an integer >= 1, got ${String(opts.blockBytes)}`);
  }
  let gzip = false;
  let raw: fs.ReadStream | undefined;
  let stream: Readable | undefined;
  try {
    gzip = await isGzip(file);
    raw = fs.createReadStream(file, { highWaterMark: blockBytes });
    // pipeline carries a read error of the file into the gunzip stream, which the loop below then throws.
    stream = gzip ? pipeline(raw, createGunzip({ chunkSize: Math.min(blockBytes, 1 << 18) }), () => undefined) : raw;
    const lines = new LineSplitter();
    for await (const block of stream as AsyncIterable<Buffer>) {
      const out = lines.push(block);
      if (out.length > 0) yield out;
    }
    const last = lines.end();
    if (last.length > 0) yield last;
  } catch (e) {
    throw readError(file, gzip, e);
  } finally {
    // An early return (the reader stopped) must close the file.
    stream?.destroy();
    raw?.destroy();
  }
}
