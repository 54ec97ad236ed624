/**
 * Parallel text corpora: two line-aligned files or one TSV file (each plain or gzip) read as sentence pairs,
 * streamed in blocks so that memory does not grow with the corpus ({@link streamParallelFiles},
 * {@link streamTsv}), or collected into an array ({@link readParallelFiles}, {@link readTsv}: the same readers,
 * for tests, notebooks and small files). Bad lines are reported by file and line number, or skipped and
 * counted. Also the deterministic in-memory train/valid/test split.
 */
import { type BadLine, CorpusError } from './corpus-error';
import { SeededRandom } from './random';
import { INVALID_UTF8, readTextLines, type TextLine } from './text-lines';

export { CorpusError } from './corpus-error';
export type { BadLine } from './corpus-error';

/** One source/target sentence pair. */
export interface SentencePair {
  /** Source sentence. */
  src: string;
  /** Target sentence. */
  tgt: string;
}

/** Options of the streaming readers {@link streamParallelFiles} and {@link streamTsv}. */
export interface StreamCorpusOptions {
  /** An empty or malformed line: throw a {@link CorpusError} naming file and line (default), or skip it. */
  onBadLine?: 'error' | 'skip';
  /** Trim spaces and tabs at both ends of each side (default true). */
  trim?: boolean;
  /** Stop after this many pairs (default all). */
  maxPairs?: number;
  /** Told of every line skipped with `onBadLine: 'skip'`, in file order. */
  onSkip?: (bad: BadLine) => void;
}

/** Options of {@link readParallelFiles} and {@link readTsv}. */
export type ReadCorpusOptions = Omit<StreamCorpusOptions, 'onSkip'>;

/** Pairs read, and the lines skipped with `onBadLine: 'skip'`. */
export interface ParallelCorpus {
  /** The pairs, in file order. */
  pairs: SentencePair[];
  /** Lines skipped (0 with `onBadLine: 'error'`). */
  skipped: number;
  /** The first 100 skipped lines, for a report. */
  badLines: BadLine[];
}

const MAX_REPORTED = 100;

const EDGE = /^[ \t]+|[ \t]+$/g;
const isBlank = (c: number): boolean => c === 0x20 || c === 0x09;
/** Trims spaces and tabs; the regex only runs when an end needs it (most lines are clean). */
const trimEdges = (s: string): string =>
  s.length > 0 && (isBlank(s.charCodeAt(0)) || isBlank(s.charCodeAt(s.length - 1))) ? s.replace(EDGE, '') : s;

/** The checks both readers share: options, bad lines (thrown, or skipped and told), trimming, the pair limit. */
class PairCleaner {
  private readonly skip: boolean;
  private readonly trim: boolean;
  private readonly limit: number;
  /** Pairs given out so far. */
  count = 0;
  /** The first bad line with `onBadLine: 'error'`: thrown once the pairs before it are given out. */
  error: CorpusError | undefined;

  constructor(private readonly opts: StreamCorpusOptions) {
    const o = opts.onBadLine ?? 'error';
    if (o !== 'error' && o !== 'skip') throw new RangeError(`corpus: option 'onBadLine' must be 'error' or 'skip', got ${String(o)}`);
    if (opts.maxPairs !== undefined && !(Number.isInteger(opts.maxPairs) && opts.maxPairs >= 0)) {
      throw new RangeError(`corpus: option 'maxPairs' must be an integer >= 0, got ${String(opts.maxPairs)}`);
    }
    if (opts.onSkip !== undefined && typeof opts.onSkip !== 'function')
      throw new TypeError(`corpus: option 'onSkip' must be a function, got ${typeof opts.onSkip}`);
    this.skip = o === 'skip';
    this.trim = opts.trim ?? true;
    this.limit = opts.maxPairs ?? Infinity;
  }

  /** True once no more pairs may be given (the limit reached, or a bad line to throw). */
  get stopped(): boolean {
    return this.count >= this.limit || this.error !== undefined;
  }

  bad(file: string, line: number, reason: string): void {
    if (!this.skip) this.error = new CorpusError(reason, file, line);
    else this.opts.onSkip?.({ file, line, reason });
  }

  /** Adds the pair at `line` to `out` when both sides are usable. */
  add(out: SentencePair[], srcFile: string, tgtFile: string, line: number, src: string, tgt: string): void {
    if (this.trim) {
      src = trimEdges(src);
      tgt = trimEdges(tgt);
    }
    if (src === '' && tgt === '') this.bad(srcFile, line, 'empty line on both sides');
    else if (src === '') this.bad(srcFile, line, 'empty source sentence');
    else if (tgt === '') this.bad(tgtFile, line, 'empty target sentence');
    else {
      out.push({ src, tgt });
      this.count++;
    }
  }
}

/** One file's blocks of lines, taken a line at a time. */
class LineCursor {
  private block: TextLine[] = [];
  private at = 0;
  private done = false;
  constructor(private readonly lines: AsyncGenerator<TextLine[], void, undefined>) {}

  /** Lines left in the current block, after reading the next block when it is used up (0 at the end). */
  async available(): Promise<number> {
    if (this.at === this.block.length && !this.done) {
      const r = await this.lines.next();
      if (r.done) this.done = true;
      else [this.block, this.at] = [r.value, 0];
    }
    return this.block.length - this.at;
  }
  take(): TextLine {
    return this.block[this.at++];
  }
  async close(): Promise<void> {
    await this.lines.return();
  }
}

/**
 * Streams two line-aligned files (line i of `srcFile` translates to line i of `tgtFile`), plain or gzip, as
 * blocks of pairs in file order. Stopping early (a `break` in `for await`) closes the files.
 * @throws CorpusError when the files differ in line count, cannot be read (a truncated gzip file included),
 *   or, with `onBadLine: 'error'`, on an empty side or invalid UTF-8 (after giving out the pairs before it).
 */
export async function* streamParallelFiles(
  srcFile: string,
  tgtFile: string,
  opts: StreamCorpusOptions = {}
): AsyncGenerator<SentencePair[], void, undefined> {
  const c = new PairCleaner(opts);
  const a = new LineCursor(readTextLines(srcFile));
  const b = new LineCursor(readTextLines(tgtFile));
  try {
    let line = 0;
    while (!c.stopped) {
      const [na, nb] = await Promise.all([a.available(), b.available()]);
      if (na === 0 || nb === 0) {
        if (na === nb) return;
        const [shortFile, longFile] = na === 0 ? [srcFile, tgtFile] : [tgtFile, srcFile];
        throw new CorpusError(`has ${line} lines but ${longFile} has more: the files are not aligned`, shortFile);
      }
      const out: SentencePair[] = [];
      for (let k = Math.min(na, nb); k > 0 && !c.stopped; k--) {
        line++;
        const x = a.take();
        const y = b.take();
        if (x === INVALID_UTF8 || y === INVALID_UTF8) c.bad(x === INVALID_UTF8 ? srcFile : tgtFile, line, 'invalid UTF-8');
        else c.add(out, srcFile, tgtFile, line, x, y);
      }
      if (out.length > 0) yield out;
    }
    if (c.error) throw c.error;
  } finally {
    await a.close();
    await b.close();
  }
}

/**
 * Streams a TSV file of `source<TAB>target` lines (plain or gzip) as blocks of pairs in file order. A line
 * without exactly one tab is malformed. Stopping early (a `break` in `for await`) closes the file.
 * @throws CorpusError when the file cannot be read (a truncated gzip file included), or, with
 *   `onBadLine: 'error'`, on a malformed or empty line or invalid UTF-8 (after giving out the pairs before it).
 */
export async function* streamTsv(file: string, opts: StreamCorpusOptions = {}): AsyncGenerator<SentencePair[], void, undefined> {
  const c = new PairCleaner(opts);
  const lines = readTextLines(file);
  try {
    let line = 0;
    for await (const block of lines) {
      const out: SentencePair[] = [];
      for (let k = 0; k < block.length && !c.stopped; k++) {
        line++;
        const text = block[k];
        if (text === INVALID_UTF8) {
          c.bad(file, line, 'invalid UTF-8');
          continue;
        }
        const tab = text.indexOf('\t');
        if (tab < 0 || text.indexOf('\t', tab + 1) >= 0) {
          if (text.trim() === '') c.bad(file, line, 'empty line');
          else c.bad(file, line, `expected 2 tab-separated columns, found ${text.split('\t').length}`);
          continue;
        }
        c.add(out, file, file, line, text.slice(0, tab), text.slice(tab + 1));
      }
      if (out.length > 0) yield out;
      if (c.stopped) break;
    }
    if (c.error) throw c.error;
  } finally {
    await lines.return();
  }
}

/** Collects a stream into a {@link ParallelCorpus}. */
async function collect(read: (onSkip: (bad: BadLine) => void) => AsyncGenerator<SentencePair[], void, undefined>): Promise<ParallelCorpus> {
  const result: ParallelCorpus = { pairs: [], skipped: 0, badLines: [] };
  const onSkip = (bad: BadLine): void => {
    result.skipped++;
    if (result.badLines.length < MAX_REPORTED) result.badLines.push(bad);
  };
  for await (const block of read(onSkip)) for (const p of block) result.pairs.push(p);
  return result;
}

/**
 * Reads two line-aligned files (line i of `srcFile` translates to line i of `tgtFile`) into memory:
 * {@link streamParallelFiles}, collected.
 * @throws CorpusError when the files differ in line count, or on an empty line or invalid UTF-8 with `onBadLine: 'error'`.
 */
export async function readParallelFiles(srcFile: string, tgtFile: string, opts: ReadCorpusOptions = {}): Promise<ParallelCorpus> {
  return collect((onSkip) => streamParallelFiles(srcFile, tgtFile, { ...opts, onSkip }));
}

/**
 * Reads a TSV file of `source<TAB>target` lines into memory: {@link streamTsv}, collected.
 * @throws CorpusError on a malformed or empty line or invalid UTF-8 with `onBadLine: 'error'`.
 */
export async function readTsv(file: string, opts: ReadCorpusOptions = {}): Promise<ParallelCorpus> {
  return collect((onSkip) => streamTsv(file, { ...opts, onSkip }));
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
  /** The items that are not held out. */
  train: T[];
  /** The validation items. */
  valid: T[];
  /** The test items. */
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
