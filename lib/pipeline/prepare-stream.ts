/**
 * prepareData for corpora on disk (two parallel files or a TSV), in one streaming pass whose memory does not
 * grow with the corpus: each pair is cleaned (too long, length ratio), checked against the 64-bit hashes of
 * the pairs kept so far (exact duplicates), and offered to a seeded reservoir of valid + test pairs; what
 * leaves the reservoir, or never enters it, is written to train at once. At the end the reservoir is shuffled
 * by the seed and cut into valid, then test, so both have their exact size. Memory: the hash table (about
 * 16 bytes a kept pair), the reservoir, and a few blocks of text.
 */
import type { BadLine, SentencePair } from '../data/corpus';
import { PairHashSet } from '../data/pair-hash-set';
import { ReservoirSample } from '../data/reservoir';
import { commitDataFolder, type DataInfo, flattenLine, openSplitWriters } from './data-folder';

/** How far a streaming preparation has got, told every few seconds. */
export interface PrepareProgress {
  /** Lines read (pairs, bad lines included). */
  read: number;
  /** Pairs kept so far (train, valid and test together). */
  kept: number;
  /** Seconds since the start. */
  seconds: number;
}

/** What {@link prepareStreamed} takes (prepareData's options, resolved, and the reader of the input). */
export interface StreamedDataOptions {
  out: string;
  /** What data.json names as the source. */
  source: string;
  /** The input as blocks of pairs; `onSkip` is told of each bad line it skips. */
  read: (onSkip: (bad: BadLine) => void) => AsyncIterable<SentencePair[]>;
  srcLang: string;
  tgtLang: string;
  valid: number;
  test: number;
  maxChars: number;
  /** 0 or Infinity: no ratio filter. */
  maxRatio: number;
  dedupe: boolean;
  maxPairs?: number;
  seed: number;
  onProgress?: (p: PrepareProgress) => void;
}

/** How often onProgress is told: often enough to show a long run is alive, rarely enough to stay readable. */
const PROGRESS_EVERY_MS = 5000;

/**
 * A copy of a string that shares no memory with the block it was sliced from (V8 keeps a whole 1 MiB block
 * alive for a substring of it); exact for text decoded from UTF-8, which has no lone surrogates.
 */
const detach = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');
const detachPair = (p: SentencePair): SentencePair => ({ src: detach(p.src), tgt: detach(p.tgt) });

/** The checks each pair of the pass goes through, with the counts of what they dropped. */
class PairFilter {
  readonly dropped = { badLines: 0, tooLong: 0, ratio: 0, duplicates: 0 };
  /** Lines read (pairs, bad lines included). */
  read = 0;
  kept = 0;
  private readonly ratio: number;
  private readonly seen: PairHashSet | undefined;

  constructor(
    private readonly maxChars: number,
    maxRatio: number,
    dedupe: boolean
  ) {
    this.ratio = maxRatio === 0 ? Infinity : maxRatio;
    this.seen = dedupe ? new PairHashSet() : undefined;
  }

  /** Counts a bad line the reader skipped. */
  readonly skipped = (): void => {
    this.dropped.badLines++;
    this.read++;
  };

  /** The pair as it will be written when kept (line breaks inside a side flattened), else undefined (counted). */
  keep(pair: SentencePair): SentencePair | undefined {
    this.read++;
    const src = flattenLine(pair.src);
    const tgt = flattenLine(pair.tgt);
    const ls = src.length;
    const lt = tgt.length;
    if (ls > this.maxChars || lt > this.maxChars) {
      this.dropped.tooLong++;
      return undefined;
    }
    // Sides are never empty here (the reader drops empty sides as bad lines), so the ratio is defined.
    if (ls > lt ? ls > this.ratio * lt : lt > this.ratio * ls) {
      this.dropped.ratio++;
      return undefined;
    }
    if (this.seen !== undefined && !this.seen.add(src, tgt)) {
      this.dropped.duplicates++;
      return undefined;
    }
    this.kept++;
    return src === pair.src && tgt === pair.tgt ? pair : { src, tgt };
  }
}

/** Reads, cleans, deduplicates and splits the input in one pass; writes the data folder and returns its data.json. */
export async function prepareStreamed(o: StreamedDataOptions): Promise<DataInfo> {
  const started = Date.now();
  let nextReport = started + PROGRESS_EVERY_MS;
  const filter = new PairFilter(o.maxChars, o.maxRatio, o.dedupe);
  const held = new ReservoirSample<SentencePair>({ size: o.valid + o.test, seed: o.seed, copy: detachPair });
  const writers = await openSplitWriters(o.out);
  const write = async (split: 'train' | 'valid' | 'test', pair: SentencePair): Promise<void> => {
    const flushed = writers[split].write(pair);
    if (flushed) await flushed;
  };
  try {
    blocks: for await (const block of o.read(filter.skipped)) {
      for (const pair of block) {
        const kept = filter.keep(pair);
        if (kept === undefined) continue;
        const out = held.offer(kept);
        if (out !== undefined) {
          // Inline rather than write(): most pairs flush nothing, and need no promise.
          const flushed = writers.train.write(out);
          if (flushed) await flushed;
        }
        if (o.maxPairs !== undefined && filter.kept >= o.maxPairs) break blocks;
      }
      if (o.onProgress !== undefined && Date.now() >= nextReport) {
        o.onProgress({ read: filter.read, kept: filter.kept, seconds: (Date.now() - started) / 1000 });
        nextReport = Date.now() + PROGRESS_EVERY_MS;
      }
    }
    if (filter.kept < o.valid + o.test + 1) {
      throw new Error(
        `only ${filter.kept} pairs kept of ${filter.read} read: too few for ${o.valid} valid + ${o.test} test pairs and a training set (fewer valid/test pairs)`
      );
    }
    const sample = held.take();
    for (let i = 0; i < sample.length; i++) await write(i < o.valid ? 'valid' : 'test', sample[i]);
  } catch (e) {
    await Promise.all([writers.train.abort(), writers.valid.abort(), writers.test.abort()]);
    throw e;
  }
  return commitDataFolder(o.out, writers, { source: o.source, srcLang: o.srcLang, tgtLang: o.tgtLang, dropped: filter.dropped });
}
