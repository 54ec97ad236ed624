/**
 * Exact-duplicate detection for corpora too big to keep as strings: each sentence pair is reduced to a 64-bit
 * hash kept in an open-addressing table of 32-bit words (8 bytes a slot, at most 3/4 full, doubling as it
 * fills: 11 to 21 bytes a pair), not a Set of strings (a hundred bytes and more a pair). Two different pairs
 * share a 64-bit hash with odds of about n² / 2⁶⁵ — under one in a million for five million pairs — and the
 * cost of that is one pair wrongly dropped as a duplicate.
 */

// The hash of the last pair, in two 32-bit halves (module state so that hashing allocates nothing).
let hashA = 0;
let hashB = 0;

/** murmur3's finaliser: every input bit reaches every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** Mixes the UTF-16 code units of `s` into hashA (murmur3's block step) and hashB (a multiply-xorshift). */
function mixString(s: string): void {
  let a = hashA;
  let b = hashB;
  const n = s.length;
  let i = 0;
  // Two code units a 32-bit block: half the steps of one unit at a time.
  for (; i + 1 < n; i += 2) {
    const k0 = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    let k = Math.imul(k0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    a ^= Math.imul(k, 0x1b873593);
    a = (a << 13) | (a >>> 19);
    a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    b = Math.imul(b ^ k0, 0x2545f491);
    b ^= b >>> 15;
  }
  if (i < n) {
    const k0 = s.charCodeAt(i);
    let k = Math.imul(k0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    a ^= Math.imul(k, 0x1b873593);
    b = Math.imul(b ^ k0, 0x2545f491);
    b ^= b >>> 15;
  }
  hashA = a;
  hashB = b;
}

/** Sets hashA/hashB to the 64-bit hash of the pair; the lengths go in first, so (ab, c) and (a, bc) differ. */
function hashPair(src: string, tgt: string): void {
  hashA = 0x9747b28c ^ src.length;
  hashB = Math.imul(0x811c9dc5 ^ tgt.length, 0x01000193);
  mixString(src);
  mixString(tgt);
  const a = fmix(hashA ^ hashB);
  const b = fmix(hashB + Math.imul(hashA, 0x27d4eb2f));
  hashA = a;
  // (0, 0) marks an empty slot, so no hash may be (0, 0).
  hashB = a === 0 && b === 0 ? 1 : b;
}

/** Options of {@link PairHashSet}. */
export interface PairHashSetOptions {
  /** Slots to start with, rounded up to a power of two (default 65536); the table doubles as it fills. */
  initialCapacity?: number;
}

/** A set of sentence pairs by their 64-bit hash: {@link PairHashSet.add} says whether a pair is new. */
export class PairHashSet {
  private slots: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(opts: PairHashSetOptions = {}) {
    const want = opts.initialCapacity ?? 1 << 16;
    if (!Number.isInteger(want) || want < 1 || want > 2 ** 30) {
      throw new RangeError(`PairHashSet: option 'initialCapacity' must be an integer in [1, 2^30], got ${String(opts.initialCapacity)}`);
    }
    let cap = 16;
    while (cap < want) cap *= 2;
    this.slots = new Uint32Array(2 * cap);
    this.mask = cap - 1;
  }

  /** Pairs held. */
  get size(): number {
    return this.count;
  }

  /** Bytes of the table. */
  get byteLength(): number {
    return this.slots.byteLength;
  }

  /** Adds the pair; true when it is new, false when an equal pair (by 64-bit hash) was added before. */
  add(src: string, tgt: string): boolean {
    hashPair(src, tgt);
    if (this.insert(hashA, hashB)) {
      // Grow past 3/4 full: linear probing slows down sharply beyond that.
      if (++this.count * 4 > (this.mask + 1) * 3) this.grow();
      return true;
    }
    return false;
  }

  /** Puts (a, b) in the table unless it is there; true when it was not. */
  private insert(a: number, b: number): boolean {
    const slots = this.slots;
    const mask = this.mask;
    for (let i = a & mask; ; i = (i + 1) & mask) {
      const sa = slots[2 * i];
      const sb = slots[2 * i + 1];
      if (sa === 0 && sb === 0) {
        slots[2 * i] = a;
        slots[2 * i + 1] = b;
        return true;
      }
      if (sa === a >>> 0 && sb === b >>> 0) return false;
    }
  }

  private grow(): void {
    const old = this.slots;
    if (old.length >= 2 ** 31) throw new RangeError(`PairHashSet: more than ${this.count} distinct pairs; the table cannot grow further`);
    this.slots = new Uint32Array(old.length * 2);
    this.mask = old.length - 1;
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0 || old[i + 1] !== 0) this.insert(old[i] | 0, old[i + 1] | 0);
  }
}
