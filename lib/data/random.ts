/**
 * A small seeded PRNG for the data pipeline (shuffles, splits, subsampling). Math.random cannot be seeded,
 * and LibTorch's generator would tie data order to the model's random state; this one depends only on
 * the seed, so a run's data order is reproducible on any machine.
 */

/** Mixes 32-bit words into one seed (e.g. a run seed and an epoch number). */
export function mixSeed(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const w of words) {
    h = Math.imul(h ^ (w >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** mulberry32: 32 bits of state, fast, and plenty for shuffling data. */
export class SeededRandom {
  private state: number;

  /** @param seed - Any integer; equal seeds give equal sequences. */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new TypeError(`SeededRandom: seed must be an integer, got ${String(seed)}`);
    this.state = mixSeed(seed, Math.floor(seed / 2 ** 32)) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Shuffles `items` (an array or a typed array) in place (Fisher–Yates) and returns it. */
  shuffle<A extends { length: number; [i: number]: unknown }>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }
}
