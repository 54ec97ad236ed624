/**
 * PairSource: what the Batcher, the teacher cache and sequence-level KD read token pairs through, so one
 * Batcher serves in-memory pairs (tests, notebooks) and a token store on disk (millions of pairs) alike. The
 * Batcher plans from the lengths alone and copies ids straight into a batch's typed arrays.
 */

/** One tokenized pair, without framing (Batch.from adds `</s>`). */
export interface TokenPair {
  /** Source ids. */
  src: number[];
  /** Target ids. */
  tgt: number[];
}

/** Indexed token pairs: their lengths, and their ids copied where a batch needs them. */
export interface PairSource {
  /** Pairs. */
  readonly size: number;
  /** Ids of pair `i`'s source / target (framing excluded). */
  srcLength(i: number): number;
  /** Ids of pair `i`'s target (framing excluded). */
  tgtLength(i: number): number;
  /** Copies pair `i`'s source / target ids into `dst` from position `at`. */
  copySrc(i: number, dst: Int32Array, at: number): void;
  /** Copies pair `i`'s target ids into `dst` from position `at`. */
  copyTgt(i: number, dst: Int32Array, at: number): void;
  /** Pair `i` as JS arrays. */
  pair(i: number): TokenPair;
}

/** Whether `x` is a {@link PairSource} (not an array of pairs). */
export function isPairSource(x: unknown): x is PairSource {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && typeof (x as PairSource).copySrc === 'function';
}

function copyIds(ids: number[], dst: Int32Array, at: number, what: () => string): void {
  for (let k = 0; k < ids.length; k++) {
    const x = ids[k];
    // A typed array would store 1.5 as 1 and -1 as -1 silently: refuse what is not a token id.
    if (!Number.isInteger(x) || x < 0 || x > 0x7fffffff)
      throw new TypeError(`${what()}[${k}] must be a non-negative integer token id, got ${String(x)}`);
    dst[at + k] = x;
  }
}

/** In-memory pairs as a source (each checked for the `{ src, tgt }` id-array shape). */
export class ArrayPairSource implements PairSource {
  /**
   * @param pairs - the pairs, used as they are (not copied).
   * @param where - how errors name them (default 'pairs').
   */
  constructor(
    readonly pairs: readonly TokenPair[],
    private readonly where = 'pairs'
  ) {
    pairs.forEach((p, i) => {
      if (!p || !Array.isArray(p.src) || !Array.isArray(p.tgt)) throw new TypeError(`${where}[${i}] must be { src: number[], tgt: number[] }`);
    });
  }
  get size(): number {
    return this.pairs.length;
  }
  srcLength(i: number): number {
    return this.pairs[i].src.length;
  }
  tgtLength(i: number): number {
    return this.pairs[i].tgt.length;
  }
  copySrc(i: number, dst: Int32Array, at: number): void {
    copyIds(this.pairs[i].src, dst, at, () => `${this.where}[${i}].src`);
  }
  copyTgt(i: number, dst: Int32Array, at: number): void {
    copyIds(this.pairs[i].tgt, dst, at, () => `${this.where}[${i}].tgt`);
  }
  pair(i: number): TokenPair {
    return this.pairs[i];
  }
}

/** One side of a corpus, indexed by sentence: what a token store is, and what pairs are made of. */
export interface SentenceSource {
  /** Sentences. */
  readonly count: number;
  /** Ids of sentence `i` (framing excluded). */
  length(i: number): number;
  /** Copies sentence `i`'s ids into `dst` from position `at`. */
  copy(i: number, dst: Int32Array, at: number): void;
  /** Sentence `i` as a JS array. */
  sentence(i: number): number[];
}

/** Two line-aligned sides (e.g. two token stores, or training sources and the teacher's translations) as pairs. */
export class SidesPairSource implements PairSource {
  /**
   * @param src - the source side.
   * @param tgt - the target side, as many sentences as `src`.
   * @param names - how the line-alignment error names the two sides.
   */
  constructor(
    readonly src: SentenceSource,
    readonly tgt: SentenceSource,
    names: { src: string; tgt: string } = { src: 'source side', tgt: 'target side' }
  ) {
    if (src.count !== tgt.count) {
      throw new RangeError(`${names.src} (${src.count} sentences) and ${names.tgt} (${tgt.count}) are not line-aligned`);
    }
  }
  get size(): number {
    return this.src.count;
  }
  srcLength(i: number): number {
    return this.src.length(i);
  }
  tgtLength(i: number): number {
    return this.tgt.length(i);
  }
  copySrc(i: number, dst: Int32Array, at: number): void {
    this.src.copy(i, dst, at);
  }
  copyTgt(i: number, dst: Int32Array, at: number): void {
    this.tgt.copy(i, dst, at);
  }
  pair(i: number): TokenPair {
    return { src: this.src.sentence(i), tgt: this.tgt.sentence(i) };
  }
}

/** One side of a PairSource as a SentenceSource. */
export function sideOf(pairs: PairSource, side: 'src' | 'tgt'): SentenceSource {
  const isSrc = side === 'src';
  return {
    count: pairs.size,
    length: (i) => (isSrc ? pairs.srcLength(i) : pairs.tgtLength(i)),
    copy: (i, dst, at) => (isSrc ? pairs.copySrc(i, dst, at) : pairs.copyTgt(i, dst, at)),
    sentence: (i) => pairs.pair(i)[side],
  };
}

/** `count` empty sentences: the target side of sources to translate (a Batch then frames each as a lone `</s>`). */
export function emptySide(count: number): SentenceSource {
  return { count, length: () => 0, copy: () => undefined, sentence: () => [] };
}

/** The pairs of `source` at `indices` (in that order), e.g. those a length limit keeps. */
export class SubsetPairSource implements PairSource {
  /**
   * @param source - the pairs to pick from.
   * @param indices - the indices into `source` of the pairs kept, in their order.
   */
  constructor(
    readonly source: PairSource,
    readonly indices: Int32Array
  ) {}
  get size(): number {
    return this.indices.length;
  }
  srcLength(i: number): number {
    return this.source.srcLength(this.indices[i]);
  }
  tgtLength(i: number): number {
    return this.source.tgtLength(this.indices[i]);
  }
  copySrc(i: number, dst: Int32Array, at: number): void {
    this.source.copySrc(this.indices[i], dst, at);
  }
  copyTgt(i: number, dst: Int32Array, at: number): void {
    this.source.copyTgt(this.indices[i], dst, at);
  }
  pair(i: number): TokenPair {
    return this.source.pair(this.indices[i]);
  }
}
