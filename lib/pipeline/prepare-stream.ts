/**
 * prepareData for corpora on disk (two parallel files or a TSV), in one streaming pass whose memory does not
 * grow with the corpus: each pair is cleaned (too long, length ratio), checked against the 64-bit hashes of
 * the pairs kept so far (exact duplicates), and offered to a seeded reservoir of valid + test pairs; what
 * leaves the reservoir, or never enters it, is written to train at once. At the end the reservoir is shuffled
 * by the seed and cut into valid, then test, so both have their exact size. Memory: the hash table (about
 * 16 bytes a kept pair), the reservoir, and a few blocks of text.
 */
import { BadLine, SentencePair } from '../data/corpus';
import { PairHashSet } from '../data/pair-hash-set';
import { ReservoirSample } from '../data/reservoir';
import { commitDataFolder, DataInfo, flattenLine, openSplitWriters } from './data-folder';

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

/** Reads, cleans, deduplicates and splits the input in one pass; writes the data folder and returns its data.json. */
export async function prepareStreamed(o: StreamedDataOptions): Promise<DataInfo> {
  const started = Date.now();
  let nextReport = started + PROGRESS_EVERY_MS;
  const dropped = { badLines: 0, tooLong: 0, ratio: 0, duplicates: 0 };
  let read = 0;
  let kept = 0;
  const ratio = o.maxRatio === 0 ? Infinity : o.maxRatio;
  const seen = o.dedupe ? new PairHashSet() : undefined;
  const held = new ReservoirSample<SentencePair>({ size: o.valid + o.test, seed: o.seed, copy: detachPair });
  const writers = await openSplitWriters(o.out);
  try {
    const onSkip = (): void => {
      dropped.badLines++;
      read++;
    };
    blocks: for await (const block of o.read(onSkip)) {
      for (const pair of block) {
        read++;
        const src = flattenLine(pair.src);
        const tgt = flattenLine(pair.tgt);
        const ls = src.length;
        const lt = tgt.length;
        if (ls > o.maxChars || lt > o.maxChars) {
          dropped.tooLong++;
          continue;
        }
        // Sides are never empty here (the reader drops empty sides as bad lines), so the ratio is defined.
        if (ls > lt ? ls > ratio * lt : lt > ratio * ls) {
          dropped.ratio++;
          continue;
        }
        if (seen !== undefined && !seen.add(src, tgt)) {
          dropped.duplicates++;
          continue;
        }
        kept++;
        const out = held.offer(src === pair.src && tgt === pair.tgt ? pair : { src, tgt });
        if (out !== undefined) {
          const flushed = writers.train.write(out);
          if (flushed) await flushed;
        }
        if (o.maxPairs !== undefined && kept >= o.maxPairs) break blocks;
      }
      if (o.onProgress !== undefined && Date.now() >= nextReport) {
        o.onProgress({ read, kept, seconds: (Date.now() - started) / 1000 });
        nextReport = Date.now() + PROGRESS_EVERY_MS;
      }
    }
    if (kept < o.valid + o.test + 1) {
      throw new Error(`only ${kept} pairs kept of ${read} read: too few for ${o.valid} valid + ${o.test} test pairs and a training set (fewer valid/test pairs)`);
    }
    const sample = held.take();
    for (const [split, pairs] of [['valid', sample.slice(0, o.valid)], ['test', sample.slice(o.valid)]] as const) {
      for (const pair of pairs) {
        const flushed = writers[split].write(pair);
        if (flushed) await flushed;
      }
    }
  } catch (e) {
    await Promise.all([writers.train.abort(), writers.valid.abort(), writers.test.abort()]);
    throw e;
  }
  return commitDataFolder(o.out, writers, { source: o.source, srcLang: o.srcLang, tgtLang: o.tgtLang, dropped });
}
