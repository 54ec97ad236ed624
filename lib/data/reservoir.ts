/**
 * A uniform random sample of exact size from a stream of unknown length, in one pass (Vitter's algorithm R),
 * seeded: the same stream and seed give the same sample. The streaming data preparation draws its valid and
 * test pairs with it, and writes every item that leaves (or never enters) the sample to train as it goes,
 * so that memory holds the sample only.
 */
import { SeededRandom } from './random';

/** Options of {@link ReservoirSample}. */
export interface ReservoirOptions<T> {
  /** Items kept (an integer >= 0). */
  size: number;
  /** Which items are kept, and the final order, depend only on this (default 0). */
  seed?: number;
  /**
   * Applied to an item as it enters the sample (default: none), e.g. to copy strings sliced from a big
   * block out of it, so that the few items kept do not keep every block alive.
   */
  copy?: (item: T) => T;
}

/** The reservoir; {@link ReservoirSample.offer} each item in turn, then {@link ReservoirSample.take} the sample. */
export class ReservoirSample<T> {
  private readonly items: T[] = [];
  private readonly random: SeededRandom;
  private readonly copy: (item: T) => T;
  private offered = 0;
  /** Items in the sample when the stream has at least that many. */
  readonly size: number;

  constructor(opts: ReservoirOptions<T>) {
    if (!Number.isInteger(opts.size) || opts.size < 0)
      throw new RangeError(`ReservoirSample: option 'size' must be an integer >= 0, got ${String(opts.size)}`);
    if (opts.copy !== undefined && typeof opts.copy !== 'function')
      throw new TypeError(`ReservoirSample: option 'copy' must be a function, got ${typeof opts.copy}`);
    this.size = opts.size;
    this.random = new SeededRandom(opts.seed ?? 0);
    this.copy = opts.copy ?? ((item) => item);
  }

  /** Items offered so far. */
  get seen(): number {
    return this.offered;
  }

  /**
   * Offers the next item. Returns the item that is out of the sample for good — the offered one, or the one it
   * replaced — or undefined while the sample is still filling.
   */
  offer(item: T): T | undefined {
    const i = this.offered++;
    if (i < this.size) {
      this.items.push(this.copy(item));
      return undefined;
    }
    // Item i is kept with probability size / (i + 1), replacing a uniformly chosen one.
    const j = this.random.int(i + 1);
    if (j >= this.size) return item;
    const out = this.items[j];
    this.items[j] = this.copy(item);
    return out;
  }

  /** The sample, shuffled by the seed (min(size, seen) items). Call once, at the end of the stream. */
  take(): T[] {
    return this.random.shuffle(this.items.slice());
  }
}
