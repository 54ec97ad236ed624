/**
 * Token-id pairs -> training Batches: pairs of similar length are batched together (little padding),
 * each batch capped by padded tokens and by sentences, and the batch order reshuffled every epoch from a
 * seed, so an epoch's batches depend only on (pairs, options, epoch).
 */
import { OptionReader } from '../common/options';
import { resolveDevice } from '../tensor/device';
import { Device } from '../tensor/dtype';
import { Batch, FramingOptions } from './batch';
import { mixSeed, SeededRandom } from './random';

/** One tokenized pair, without framing (Batch.from adds `</s>`). */
export interface TokenPair {
  src: number[];
  tgt: number[];
}

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
  tgtLang?: number;
  /** Special ids for {@link Batch.from} (default XLM's `</s>`=1, `<pad>`=2). */
  framing?: FramingOptions;
  /** Where the batches are built (default framing.device, else cpu); the trainer builds them on its model's device. */
  device?: Device;
}

/** One planned batch: the pair indices (into the kept pairs) and its padded size. */
export interface BatchPlan {
  indices: number[];
  /** sentences × padded row width. */
  paddedTokens: number;
}

/**
 * The defaults of {@link BatcherOptions}: 4096 padded tokens (fairseq's and XLM's usual tokens per batch on one
 * device), at most 256 sentences, pairs up to 250 tokens a side (XLM keeps 256 positions, framing included).
 */
export const BATCHING_DEFAULTS = Object.freeze({ maxTokens: 4096, maxSentences: 256, maxLength: 250, seed: 0, shuffle: true });

const BATCHER_KEYS = ['maxTokens', 'maxSentences', 'maxLength', 'seed', 'shuffle', 'srcLang', 'tgtLang', 'framing', 'device'];

/** Groups token pairs into length-bucketed, size-capped batches, reshuffled per epoch. */
export class Batcher {
  /** The pairs kept (not longer than maxLength), in input order; plans index into this. */
  readonly pairs: readonly TokenPair[];
  /** Input pairs dropped for exceeding maxLength. */
  readonly dropped: number;
  private readonly maxTokens: number;
  private readonly maxSentences: number;
  private readonly seed: number;
  private readonly shuffle: boolean;
  /** Where {@link toBatch} builds batches unless told otherwise. */
  readonly device: Device | undefined;
  private readonly widths: Int32Array;

  constructor(pairs: readonly TokenPair[], private readonly opts: BatcherOptions = {}) {
    if (!Array.isArray(pairs)) throw new TypeError("Batcher: argument 'pairs' must be an array of { src, tgt } id arrays");
    const r = new OptionReader('Batcher', opts, BATCHER_KEYS);
    const D = BATCHING_DEFAULTS;
    // At least one framed token (</s> w </s>) per batch.
    this.maxTokens = r.integer('maxTokens', D.maxTokens, 3);
    this.maxSentences = r.integer('maxSentences', D.maxSentences, 1);
    const maxLength = r.integer('maxLength', Math.min(D.maxLength, this.maxTokens - 2), 1);
    if (this.maxTokens < maxLength + 2) {
      throw new RangeError(`Batcher: maxTokens (${this.maxTokens}) must be at least maxLength + 2 (${maxLength + 2}) so every kept pair fits a batch`);
    }
    this.seed = r.number('seed', D.seed, { integer: true });
    this.shuffle = r.boolean('shuffle', D.shuffle);
    this.device = opts.device === undefined ? opts.framing?.device : resolveDevice('Batcher', opts.device);
    const kept: TokenPair[] = [];
    pairs.forEach((p, i) => {
      if (!p || !Array.isArray(p.src) || !Array.isArray(p.tgt)) throw new TypeError(`Batcher: pairs[${i}] must be { src: number[], tgt: number[] }`);
      if (p.src.length <= maxLength && p.tgt.length <= maxLength) kept.push(p);
    });
    this.pairs = kept;
    this.dropped = pairs.length - kept.length;
    this.widths = Int32Array.from(kept, (p) => Math.max(p.src.length + 2, p.tgt.length + 1));
  }

  /** Pairs kept. */
  get size(): number {
    return this.pairs.length;
  }

  /**
   * The batches of `epoch` (0-based) as pair indices. Every kept pair appears in exactly one batch; no
   * batch exceeds maxTokens padded tokens or maxSentences sentences.
   */
  plan(epoch = 0): BatchPlan[] {
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`Batcher.plan: 'epoch' must be an integer >= 0, got ${String(epoch)}`);
    const rng = new SeededRandom(mixSeed(this.seed, epoch));
    const order = Array.from({ length: this.pairs.length }, (_, i) => i);
    if (this.shuffle) rng.shuffle(order);
    // Stable sort: after the shuffle, pairs of equal length land in a new order each epoch.
    const srcLen = (i: number) => this.pairs[i].src.length;
    order.sort((a, b) => this.widths[a] - this.widths[b] || srcLen(a) - srcLen(b));

    const plans: BatchPlan[] = [];
    let cur: number[] = [];
    let width = 0;
    for (const i of order) {
      const w = Math.max(width, this.widths[i]);
      if (cur.length > 0 && ((cur.length + 1) * w > this.maxTokens || cur.length + 1 > this.maxSentences)) {
        plans.push({ indices: cur, paddedTokens: cur.length * width });
        cur = [];
        width = 0;
      }
      cur.push(i);
      width = Math.max(width, this.widths[i]);
    }
    if (cur.length > 0) plans.push({ indices: cur, paddedTokens: cur.length * width });
    if (this.shuffle) rng.shuffle(plans);
    return plans;
  }

  /** Number of batches in `epoch`. */
  numBatches(epoch = 0): number {
    return this.plan(epoch).length;
  }

  /** Builds the Batch of one plan on `device` (default the Batcher's); the caller disposes it. */
  toBatch(plan: BatchPlan, device?: Device): Batch {
    const ps = plan.indices.map((i) => this.pairs[i]);
    return Batch.from(
      { src: ps.map((p) => p.src), tgt: ps.map((p) => p.tgt), srcLang: this.opts.srcLang, tgtLang: this.opts.tgtLang },
      { ...this.opts.framing, device: device ?? this.device }
    );
  }

  /** The epoch's Batches, built one at a time as iterated; dispose each when done with it. */
  *batches(epoch = 0): Generator<Batch> {
    for (const plan of this.plan(epoch)) yield this.toBatch(plan);
  }
}
