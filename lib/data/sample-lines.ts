/**
 * A seeded uniform sample of a stream whose length is known, drawn in one pass with memory independent of
 * the stream (Knuth's Algorithm S, selection sampling: keep each item with probability needed / remaining),
 * and its use on text files: a sample of their non-empty lines, in file order. The tokenizer trains on such a
 * sample so that a corpus of millions of lines never sits in memory.
 */
import { OptionReader } from '../common/options';
import { countLines, type LineSpans, readLineSpans } from './line-reader';
import { SeededRandom } from './random';

/** Options for {@link selectionSample}. */
export interface SelectionSampleOptions {
  /** Items to keep, an integer >= 0; every item when the input has no more than this. */
  size: number;
  /** How many items the input yields (Algorithm S needs it before the first); another count is an error. */
  total: number;
  /** The draw depends only on this and `total` (default 0). */
  seed?: number;
}

/** A batch of items read only where kept: an array, or a chunk's lines decoded on demand. */
interface Batch<T> {
  readonly length: number;
  at(i: number): T | undefined;
}

/**
 * Algorithm S over batches of items. `t` items seen and `m` kept so far, item t+1 is kept when
 * U·(N − t) < n − m: every n-subset is equally likely, exactly n are kept when the input has N items, and the
 * kept ones keep their order. Batches (a file's read chunk of lines) save an await per item, and a line
 * that is not kept is never decoded.
 */
async function* algorithmS<T>(
  batches: AsyncIterable<Batch<T>>,
  size: number,
  total: number,
  seed: number,
  mismatch: (seen: number) => Error
): AsyncGenerator<T, void, undefined> {
  const rng = new SeededRandom(seed);
  const n = Math.min(size, total);
  let seen = 0;
  let kept = 0;
  for await (const batch of batches) {
    for (let i = 0; i < batch.length; i++) {
      // Past `total` the count is wrong: keep counting for the error, keep nothing.
      if (seen < total && kept < n && rng.next() * (total - seen) < n - kept) {
        kept++;
        yield batch.at(i) as T;
      }
      seen++;
    }
  }
  if (seen !== total) throw mismatch(seen);
}

async function* single<T>(items: Iterable<T> | AsyncIterable<T>): AsyncGenerator<readonly T[], void, undefined> {
  for await (const item of items as AsyncIterable<T>) yield [item];
}

function checked<O extends object>(where: string, opts: O, known: readonly string[]): { size: number; seed: number; total?: number } {
  const r = new OptionReader(where, opts, known);
  return {
    size: r.integer('size', undefined, 0) ?? r.fail('size', 'an integer >= 0'),
    seed: r.number('seed', 0, { integer: true }),
    total: r.integer('total', undefined, 0),
  };
}

/**
 * Yields a seeded uniform sample of `min(size, total)` items of `items`, in their order, reading the input once.
 * @throws Error after the pass when the input yielded another number of items than `total`.
 */
export function selectionSample<T>(items: Iterable<T> | AsyncIterable<T>, opts: SelectionSampleOptions): AsyncGenerator<T, void, undefined> {
  const o = checked('selectionSample', opts, ['size', 'total', 'seed']);
  if (o.total === undefined) throw new TypeError("selectionSample: option 'total' must be an integer >= 0, got undefined");
  const total = o.total;
  return algorithmS(
    single(items),
    o.size,
    total,
    o.seed,
    (seen) => new Error(`selectionSample: the input yielded ${seen} items, expected 'total' ${total}`)
  );
}

/** Options for {@link sampleLines}. */
export interface SampleLinesOptions {
  /** Lines to keep, an integer >= 0; all of them when the files have no more. */
  size: number;
  /** The draw depends only on this and the line count (default 0). */
  seed?: number;
  /**
   * The files' non-empty lines together, when known (e.g. from a data folder's data.json): saves the counting
   * pass; files holding another count are an error at the end of the sampling pass. Default: counted first.
   */
  total?: number;
  /** Where `total` came from, for that error (e.g. 'data.json: 2 × 650 training pairs'). */
  totalFrom?: string;
}

/** What {@link sampleLines} returns. */
export interface LineSample {
  /** The chosen lines in file order (files in the order given); iterate once. */
  lines: AsyncIterable<string>;
  /** Non-empty lines in the files. */
  total: number;
  /** Lines that `lines` yields: min(size, total). */
  size: number;
}

async function* concatLines(files: readonly string[]): AsyncGenerator<LineSpans, void, undefined> {
  for (const file of files) yield* readLineSpans(file);
}

/**
 * A seeded uniform sample of the non-empty lines of `files` taken together, streamed: one counting pass
 * (unless `total` is given) and one sampling pass as `lines` is iterated; memory does not grow with the files.
 * @throws Error naming a file that cannot be read (when counting, or while iterating `lines`).
 */
export async function sampleLines(files: readonly string[], opts: SampleLinesOptions): Promise<LineSample> {
  const o = checked('sampleLines', opts, ['size', 'seed', 'total', 'totalFrom']);
  if (!Array.isArray(files) || files.length === 0 || files.some((f) => typeof f !== 'string')) {
    throw new TypeError("sampleLines: argument 'files' must be a non-empty array of paths");
  }
  if (opts.totalFrom !== undefined && typeof opts.totalFrom !== 'string') throw new TypeError("sampleLines: option 'totalFrom' must be a string");
  const total = o.total ?? (await countLines(files));
  const from = opts.totalFrom !== undefined ? ` (${opts.totalFrom})` : '';
  const mismatch = (seen: number) => new Error(`sampleLines: ${files.join(' + ')} hold ${seen} non-empty lines, expected ${total}${from}`);
  return { lines: algorithmS(concatLines(files), o.size, total, o.seed, mismatch), total, size: Math.min(o.size, total) };
}
