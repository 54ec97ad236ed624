/**
 * Text files read line by line as a stream: memory stays at one read chunk whatever the file's size, so a
 * corpus of millions of lines can be counted or sampled without holding it. (corpus.ts has its own strict
 * reader for parallel files, which reports invalid UTF-8 by line; this one is lenient, for plain text such as
 * tokenizer input, where a stray byte only costs a U+FFFD.)
 */
import * as fs from 'node:fs';

/** Options for {@link readLines}. */
export interface ReadLinesOptions {
  /** Skip lines that are empty or only whitespace (default true). */
  skipEmpty?: boolean;
}

const isBlank = (s: string): boolean => s.trim() === '';

/**
 * The lines of `file` a read chunk at a time (one array per chunk): callers that go through millions of lines
 * (counting, sampling) pay one await per chunk rather than one per line.
 * @throws Error naming the file when it cannot be read.
 */
export async function* readLineBatches(file: string, opts: ReadLinesOptions = {}): AsyncGenerator<string[], void, undefined> {
  const skipEmpty = opts.skipEmpty ?? true;
  const keep = (lines: string[]): string[] => {
    for (let i = 0; i < lines.length; i++) if (lines[i].endsWith('\r')) lines[i] = lines[i].slice(0, -1);
    return skipEmpty ? lines.filter((l) => !isBlank(l)) : lines;
  };
  let rest = '';
  let first = true;
  const stripBom = (text: string): string => {
    if (!first) return text;
    first = false;
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  };
  try {
    // 1 MiB chunks: fewer, larger splits; the 'utf8' decoder keeps a character cut between chunks whole.
    for await (const chunk of fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }) as AsyncIterable<string>) {
      const parts = (rest + stripBom(chunk)).split('\n');
      rest = parts.pop()!;
      const lines = keep(parts);
      if (lines.length > 0) yield lines;
    }
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const last = keep(rest === '' ? [] : [rest]);
  if (last.length > 0) yield last;
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
  for (const file of files) for await (const lines of readLineBatches(file, opts)) n += lines.length;
  return n;
}
