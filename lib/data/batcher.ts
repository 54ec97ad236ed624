/**
 * Token-id pairs -> training Batches: pairs of similar length are batched together (little padding),
 * each batch capped by padded tokens and by sentences, and the batch order reshuffled every epoch from a
 * seed, so an epoch's batches depend only on (pairs, options, epoch). The pairs are in memory or in a token
 * store (any PairSource): plans come from their lengths alone, in typed arrays (4 bytes a pair per epoch),
 * and a batch's ids are copied only when it is built.
 */
import { OptionReader } from '../common/options';
import { resolveDevice } from '../tensor/device';
import type { Device } from '../tensor/dtype';
import { Batch, type FramingOptions } from './batch';
import { ArrayPairSource, isPairSource, type PairSource, SubsetPairSource, type TokenPair } from './pair-source';
import { mixSeed, SeededRandom } from './random';

export type { TokenPair } from './pair-source';

/** Options of {@link Batcher}; all have defaults. */
export interface BatcherOptions {
  /**
   * Most padded tokens in a batch (default 4096, at least 3): sentences × the wider of the framed source
   * (`len + 2`) and target (`len + 1`) rows. Must be at least `maxLength + 2`.
   */
  maxTokens?: number;
  /** Most sentences in a batch (default 256). */
  maxSentences?: number;
  /**
   * Pairs with a source or target longer than this (in tokens, framing excluded) are dropped
   * (default 250, or maxTokens - 2 when that is smaller).
   */
  maxLength?: number;
  /** Seed of the per-epoch shuffles (default 0). */
  seed?: number;
  /** Shuffle ties in length and the batch order each epoch (default true); false = shortest batches first. */
  shuffle?: boolean;
  /** Language ids given to every Batch (models with language embeddings). */
  srcLang?: number;
  /** Target language id given to every Batch. */
  tgtLang?: number;
  /** Special ids for {@link Batch.from} (default XLM's `</s>`=1, `<pad>`=2). */
  framing?: FramingOptions;
  /** Where the batches are built (default framing.device, else cpu); the trainer builds them on its model's device. */
  device?: Device;
}

/** One planned batch: the pair indices (into the kept pairs) and its padded size. */
export interface BatchPlan {
  /** A fresh array on each read (plans keep their indices in one typed array per epoch). */
  readonly indices: number[];
  /** sentences × padded row width. */
  readonly paddedTokens: number;
  /** Sentences in the batch. */
  readonly size: number;
  /** The indices without a copy. */
  readonly view: Int32Array;
}

class PlannedBatch implements BatchPlan {
  constructor(
    private readonly order: Int32Array,
    private readonly start: number,
    private readonly end: number,
    readonly paddedTokens: number
  ) {}
  get indices(): number[] {
    return Array.from(this.view);
  }
  get view(): Int32Array {
    return this.order.subarray(this.start, this.end);
  }
  get size(): number {
    return this.end - this.start;
  }
}

/**
 * The defaults of {@link BatcherOptions}: 4096 padded tokens (fairseq's and XLM's usual tokens per batch on one
 * device), at most 256 sentences, pairs up to 250 tokens a side (XLM keeps 256 positions, framing included).
 */
export const BATCHING_DEFAULTS = Object.freeze({ maxTokens: 4096, maxSentences: 256, maxLength: 250, seed: 0, shuffle: true });

const BATCHER_KEYS = ['maxTokens', 'maxSentences', 'maxLength', 'seed', 'shuffle', 'srcLang', 'tgtLang', 'framing', 'device'];

/** Groups token pairs into length-bucketed, size-capped batches, reshuffled per epoch. */
export class Batcher {
  /** The pairs kept (not longer than maxLength); plans index into this. */
  readonly source: PairSource;
  /** Input pairs dropped for exceeding maxLength. */
  readonly dropped: number;
  private readonly maxTokens: number;
  private readonly maxSentences: number;
  private readonly maxLength: number;
  private readonly seed: number;
  private readonly shuffle: boolean;
  /** Where {@link toBatch} builds batches unless told otherwise. */
  readonly device: Device | undefined;
  /** Each kept pair's padded width and source length, read once: every epoch's plan sorts by them (4 bytes a pair). */
  private readonly widths: Uint16Array | Int32Array;
  private readonly srcLens: Uint16Array | Int32Array;

  /** @param pairs - token pairs in memory, or any {@link PairSource} such as a token store's. */
  constructor(
    pairs: readonly TokenPair[] | PairSource,
    private readonly opts: BatcherOptions = {}
  ) {
    if (!Array.isArray(pairs) && !isPairSource(pairs))
      throw new TypeError("Batcher: argument 'pairs' must be an array of { src, tgt } id arrays or a PairSource (a token store)");
    const r = new OptionReader('Batcher', opts, BATCHER_KEYS);
    const D = BATCHING_DEFAULTS;
    // At least one framed token (</s> w </s>) per batch.
    this.maxTokens = r.integer('maxTokens', D.maxTokens, 3);
    this.maxSentences = r.integer('maxSentences', D.maxSentences, 1);
    const maxLength = r.integer('maxLength', Math.min(D.maxLength, this.maxTokens - 2), 1);
    if (this.maxTokens < maxLength + 2) {
      throw new RangeError(
        `Batcher: maxTokens (${this.maxTokens}) must be at least maxLength + 2 (${maxLength + 2}) so every kept pair fits a batch`
      );
    }
    this.maxLength = maxLength;
    this.seed = r.number('seed', D.seed, { integer: true });
    this.shuffle = r.boolean('shuffle', D.shuffle);
    this.device = opts.device === undefined ? opts.framing?.device : resolveDevice('Batcher', opts.device);
    if (Array.isArray(pairs)) {
      const all = new ArrayPairSource(pairs as readonly TokenPair[], 'Batcher: pairs');
      const kept = all.pairs.filter((p) => p.src.length <= maxLength && p.tgt.length <= maxLength);
      this.source = kept.length === all.size ? all : new ArrayPairSource(kept);
      this.dropped = all.size - kept.length;
    } else {
      const source = pairs;
      let keep = 0;
      for (let i = 0; i < source.size; i++) if (this.fits(source, i)) keep++;
      if (keep === source.size) this.source = source;
      else {
        const indices = new Int32Array(keep);
        for (let i = 0, k = 0; i < source.size; i++) if (this.fits(source, i)) indices[k++] = i;
        this.source = new SubsetPairSource(source, indices);
      }
      this.dropped = source.size - keep;
    }
    const n = this.source.size;
    const narrow = maxLength + 2 < 65536;
    this.widths = narrow ? new Uint16Array(n) : new Int32Array(n);
    this.srcLens = narrow ? new Uint16Array(n) : new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const s = this.source.srcLength(i);
      this.srcLens[i] = s;
      this.widths[i] = Math.max(s + 2, this.source.tgtLength(i) + 1);
    }
  }

  private fits(source: PairSource, i: number): boolean {
    return source.srcLength(i) <= this.maxLength && source.tgtLength(i) <= this.maxLength;
  }

  /**
   * The kept pairs as an array, for a Batcher over in-memory pairs.
   * @throws Error for a Batcher over a token store (millions of pairs): use {@link pair} or {@link source}.
   */
  get pairs(): readonly TokenPair[] {
    if (this.source instanceof ArrayPairSource) return this.source.pairs;
    throw new Error('Batcher.pairs: this Batcher reads a token store, whose pairs are not held in memory; use pair(i) or source');
  }

  /** Kept pair `i` as JS arrays. */
  pair(i: number): TokenPair {
    return this.source.pair(i);
  }

  /** Pairs kept. */
  get size(): number {
    return this.source.size;
  }

  /** Target tokens of pair `i` that count in the loss (its ids and the closing `</s>`). */
  targetTokens(i: number): number {
    return this.source.tgtLength(i) + 1;
  }

  /**
   * The batches of `epoch` (0-based) as pair indices. Every kept pair appears in exactly one batch; no
   * batch exceeds maxTokens padded tokens or maxSentences sentences.
   */
  plan(epoch = 0): BatchPlan[] {
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`Batcher.plan: 'epoch' must be an integer >= 0, got ${String(epoch)}`);
    const rng = new SeededRandom(mixSeed(this.seed, epoch));
    const n = this.source.size;
    let order: Int32Array = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    if (this.shuffle) rng.shuffle(order);
    // A stable counting sort by (width, source length): after the shuffle, pairs of equal length land in a new
    // order each epoch. Linear in the pairs, where a comparison sort of millions takes seconds.
    order = this.sortByLength(order);

    const plans: BatchPlan[] = [];
    let start = 0;
    let width = 0;
    for (let k = 0; k < n; k++) {
      const wi = this.widths[order[k]];
      const w = Math.max(width, wi);
      const count = k - start;
      if (count > 0 && ((count + 1) * w > this.maxTokens || count + 1 > this.maxSentences)) {
        plans.push(new PlannedBatch(order, start, k, count * width));
        start = k;
        width = 0;
      }
      width = Math.max(width, wi);
    }
    if (n > start) plans.push(new PlannedBatch(order, start, n, (n - start) * width));
    if (this.shuffle) rng.shuffle(plans);
    return plans;
  }

  private sortByLength(order: Int32Array): Int32Array {
    // Two stable counting passes (least significant key first): memory follows maxLength, not its square.
    const bySrc = countingSort(order, this.srcLens, this.maxLength + 1);
    return countingSort(bySrc, this.widths, this.maxLength + 3);
  }

  /** Number of batches in `epoch`. */
  numBatches(epoch = 0): number {
    return this.plan(epoch).length;
  }

  /** Builds the Batch of one plan on `device` (default the Batcher's); the caller disposes it. */
  toBatch(plan: BatchPlan, device?: Device): Batch {
    return Batch.fromSource(this.source, plan.view, {
      ...this.opts.framing,
      device: device ?? this.device,
      srcLang: this.opts.srcLang,
      tgtLang: this.opts.tgtLang,
    });
  }

  /** The epoch's Batches, built one at a time as iterated; dispose each when done with it. */
  *batches(epoch = 0): Generator<Batch> {
    for (const plan of this.plan(epoch)) yield this.toBatch(plan);
  }
}

/** `items` stably sorted by `key[item]` (an integer in [0, keys)), in linear time. */
function countingSort(items: Int32Array, key: Uint16Array | Int32Array, keys: number): Int32Array {
  const starts = new Int32Array(keys + 1);
  for (let k = 0; k < items.length; k++) starts[key[items[k]] + 1]++;
  for (let b = 1; b <= keys; b++) starts[b] += starts[b - 1];
  const out = new Int32Array(items.length);
  for (let k = 0; k < items.length; k++) out[starts[key[items[k]]]++] = items[k];
  return out;
}
