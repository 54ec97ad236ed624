/**
 * Text files read line by line as a stream: memory stays at one read chunk whatever the file's size, so a
 * corpus of millions of lines can be counted or sampled without holding it. Lines are found in the bytes and
 * decoded only when asked for: counting 1.3 GB of text this way takes about a second, while decoding all of
 * it to strings first took 8 s for its German half. (corpus.ts has its own strict reader for parallel files,
 * which reports invalid UTF-8 by line; this one is lenient, for plain text such as tokenizer input, where a
 * stray byte only costs a U+FFFD.)
 */
import * as fs from 'node:fs';

/** Options for {@link readLines}. */
export interface ReadLinesOptions {
  /** Skip lines that are empty or hold only ASCII whitespace (spaces, tabs, CR, VT, FF) (default true). */
  skipEmpty?: boolean;
}

/**
 * One read chunk's lines as byte ranges of `bytes`, line endings and a leading byte-order mark excluded:
 * line i is `bytes.toString('utf8', starts[i], ends[i])`, which {@link LineSpans.at} does.
 */
export interface LineSpans {
  /** The chunk's bytes. */
  readonly bytes: Buffer;
  /** Byte offset in `bytes` where each line starts. */
  readonly starts: number[];
  /** Byte offset in `bytes` where each line ends (exclusive). */
  readonly ends: number[];
  /** Lines in this chunk. */
  readonly length: number;
  /** Line `i` of this chunk, decoded. */
  at(i: number): string;
}

const isSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0b || b === 0x0c;

function blank(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isSpace(bytes[i])) return false;
  return true;
}

function spans(bytes: Buffer): LineSpans {
  const starts: number[] = [];
  const ends: number[] = [];
  return {
    bytes,
    starts,
    ends,
    get length() {
      return starts.length;
    },
    at: (i) => bytes.toString('utf8', starts[i], ends[i]),
  };
}

/**
 * The lines of `file` a read chunk at a time, as byte ranges (decoded on demand): what counting and sampling
 * millions of lines use, with one await per chunk and no string for a line nobody reads.
 * @throws Error naming the file when it cannot be read.
 */
export async function* readLineSpans(file: string, opts: ReadLinesOptions = {}): AsyncGenerator<LineSpans, void, undefined> {
  const skipEmpty = opts.skipEmpty ?? true;
  const add = (s: LineSpans, start: number, end: number): void => {
    if (end > start && s.bytes[end - 1] === 0x0d) end--;
    if (skipEmpty && blank(s.bytes, start, end)) return;
    s.starts.push(start);
    s.ends.push(end);
  };
  let carry: Buffer | undefined;
  let first = true;
  try {
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      const bytes = carry ? Buffer.concat([carry, chunk]) : chunk;
      let start = 0;
      if (first) {
        first = false;
        if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
      }
      const s = spans(bytes);
      for (let nl = bytes.indexOf(0x0a, start); nl >= 0; nl = bytes.indexOf(0x0a, start)) {
        add(s, start, nl);
        start = nl + 1;
      }
      // The unfinished last line waits for the next chunk (copied then, so this chunk can go).
      carry = start < bytes.length ? bytes.subarray(start) : undefined;
      if (s.length > 0) yield s;
    }
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { cause: e });
  }
  if (carry !== undefined) {
    const s = spans(carry);
    add(s, 0, carry.length);
    if (s.length > 0) yield s;
  }
}

/**
 * The lines of `file` a read chunk at a time, decoded (one array per chunk).
 * @throws Error naming the file when it cannot be read.
 */
export async function* readLineBatches(file: string, opts: ReadLinesOptions = {}): AsyncGenerator<string[], void, undefined> {
  for await (const s of readLineSpans(file, opts)) yield Array.from({ length: s.length }, (_, i) => s.at(i));
}

/**
 * Yields the lines of `file` in order (LF or CRLF endings removed, a leading byte-order mark dropped).
 * @throws Error naming the file when it cannot be read.
 */
export async function* readLines(file: string, opts: ReadLinesOptions = {}): AsyncGenerator<string, void, undefined> {
  for await (const lines of readLineBatches(file, opts)) yield* lines;
}

/** How many lines {@link readLines} yields for `files` together (non-empty ones by default), in one streaming pass. */
export async function countLines(files: readonly string[], opts: ReadLinesOptions = {}): Promise<number> {
  let n = 0;
  for (const file of files) for await (const s of readLineSpans(file, opts)) n += s.length;
  return n;
}
