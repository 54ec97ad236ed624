// Corpus and sentence chrF / chrF++ in pure TypeScript, numerically compatible
// with sacreBLEU 2.x's CHRF metric (character n-grams up to 6, optional word
// n-grams, beta 2, whitespace dropped, best reference per segment).

import { type ReferenceStreams, checkHypotheses, formatFixed, referencesBySegment, removeWhitespace, splitWhitespace } from './bleu';

/** Options for {@link chrf} and {@link sentenceChrf}; defaults are sacreBLEU's. */
export interface ChrfOptions {
  /** Character n-gram order. Default 6. */
  charOrder?: number;
  /** Word n-gram order; 2 gives chrF++. Default 0. */
  wordOrder?: number;
  /** Weight of recall over precision. Default 2. */
  beta?: number;
  /** Lowercase hypotheses and references first. Default `false`. */
  lowercase?: boolean;
  /** Keep whitespace inside character n-grams. Default `false`. */
  whitespace?: boolean;
  /**
   * `false` (sacreBLEU 2.x default): average precision and recall over the
   * orders that have both hypothesis and reference n-grams, then take F-beta.
   * `true`: chrF++.py/Moses/NLTK style, F-beta per order with 1e-16 standing in
   * for undefined values, averaged over all orders.
   */
  epsSmoothing?: boolean;
}

/** chrF score plus the summed statistics it was computed from. */
export interface ChrfResult {
  /** chrF in [0, 100]. */
  score: number;
  /** sacreBLEU's metric name: `chrF2`, `chrF2++`, ... */
  name: string;
  /** Character n-gram order used. */
  charOrder: number;
  /** Word n-gram order used (0 = chrF, 2 = chrF++). */
  wordOrder: number;
  /** Weight of recall over precision used. */
  beta: number;
  /**
   * Corpus sums of `[hypCount, refCount, matchCount]` for each character order
   * 1..charOrder then each word order 1..wordOrder, flattened (as sacreBLEU's
   * segment statistics). A hypothesis count is 0 where the chosen reference
   * has no n-gram of that order.
   */
  stats: number[];
}

interface ResolvedChrfOptions {
  charOrder: number;
  wordOrder: number;
  beta: number;
  lowercase: boolean;
  whitespace: boolean;
  epsSmoothing: boolean;
}

function resolveOptions(caller: string, opts: ChrfOptions): ResolvedChrfOptions {
  const r: ResolvedChrfOptions = {
    charOrder: opts.charOrder ?? 6,
    wordOrder: opts.wordOrder ?? 0,
    beta: opts.beta ?? 2,
    lowercase: opts.lowercase ?? false,
    whitespace: opts.whitespace ?? false,
    epsSmoothing: opts.epsSmoothing ?? false,
  };
  if (!Number.isInteger(r.charOrder) || r.charOrder < 0) throw new RangeError(`${caller}: charOrder must be a non-negative integer`);
  if (!Number.isInteger(r.wordOrder) || r.wordOrder < 0) throw new RangeError(`${caller}: wordOrder must be a non-negative integer`);
  if (r.charOrder + r.wordOrder === 0) throw new RangeError(`${caller}: charOrder + wordOrder must be positive`);
  if (!Number.isFinite(r.beta) || r.beta < 0) throw new RangeError(`${caller}: beta must be a non-negative number`);
  return r;
}

// chrF++'s punctuation set (Python's string.punctuation).
const PUNCTS = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

// sacreBLEU's CHRF._remove_punctuation: peels one punctuation mark off the
// end of a word, or else off its start ('(hi)' -> '(hi', ')', sacreBLEU #124).
function removePunctuation(sent: string): string[] {
  const out: string[] = [];
  for (const w of splitWhitespace(sent)) {
    const cps = Array.from(w);
    if (cps.length === 1) {
      out.push(w);
    } else if (PUNCTS.has(cps[cps.length - 1])) {
      out.push(cps.slice(0, -1).join(''), cps[cps.length - 1]);
    } else if (PUNCTS.has(cps[0])) {
      out.push(cps[0], cps.slice(1).join(''));
    } else {
      out.push(w);
    }
  }
  return out;
}

function countNgrams(units: readonly string[], n: number, sep: string): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= units.length; i++) {
    const key = units.slice(i, i + n).join(sep);
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return m;
}

// All n-gram counters of a segment: character orders, then word orders.
// Characters are code points (Array.from), as Python indexes strings.
function extractNgrams(sent: string, o: ResolvedChrfOptions): Map<string, number>[] {
  const chars = Array.from(o.whitespace ? sent : removeWhitespace(sent));
  const all: Map<string, number>[] = [];
  for (let n = 1; n <= o.charOrder; n++) all.push(countNgrams(chars, n, ''));
  if (o.wordOrder > 0) {
    const words = removePunctuation(sent);
    for (let n = 1; n <= o.wordOrder; n++) all.push(countNgrams(words, n, ' '));
  }
  return all;
}

function matchStats(hyp: Map<string, number>, ref: Map<string, number>): [number, number, number] {
  let match = 0;
  let hypCount = 0;
  for (const [k, c] of hyp) {
    hypCount += c;
    const r = ref.get(k);
    if (r !== undefined) match += Math.min(c, r);
  }
  let refCount = 0;
  for (const c of ref.values()) refCount += c;
  // sacreBLEU does not count hypothesis n-grams of an order the reference lacks.
  return [ref.size > 0 ? hypCount : 0, refCount, match];
}

// Mirrors sacreBLEU's CHRF._compute_f_score operation by operation.
function fScore(stats: readonly number[], o: ResolvedChrfOptions): number {
  const eps = 1e-16;
  const order = o.charOrder + o.wordOrder;
  const factor = o.beta ** 2;
  let score = 0.0;
  let effectiveOrder = 0;
  let avgPrec = 0.0;
  let avgRec = 0.0;
  for (let i = 0; i < order; i++) {
    const nHyp = stats[3 * i];
    const nRef = stats[3 * i + 1];
    const nMatch = stats[3 * i + 2];
    const prec = nHyp > 0 ? nMatch / nHyp : eps;
    const rec = nRef > 0 ? nMatch / nRef : eps;
    const denom = factor * prec + rec;
    score += denom > 0 ? ((1 + factor) * prec * rec) / denom : eps;
    if (nHyp > 0 && nRef > 0) {
      avgPrec += prec;
      avgRec += rec;
      effectiveOrder += 1;
    }
  }
  if (o.epsSmoothing) return (100 * score) / order;
  if (effectiveOrder === 0) {
    avgPrec = 0.0;
    avgRec = 0.0;
  } else {
    avgPrec /= effectiveOrder;
    avgRec /= effectiveOrder;
  }
  if (avgPrec + avgRec) {
    let f = (1 + factor) * avgPrec * avgRec;
    f /= factor * avgPrec + avgRec;
    return 100 * f;
  }
  return 0.0;
}

// Statistics against the reference with the highest sentence-level chrF
// (the first one on ties), as sacreBLEU's _compute_segment_statistics.
function segmentStats(hyp: string, refs: readonly string[], o: ResolvedChrfOptions): number[] {
  const pre = (s: string): string => (o.lowercase ? s.toLowerCase() : s);
  const hypNgrams = extractNgrams(pre(hyp), o);
  let best: number[] = [];
  let bestF = -1.0;
  for (const ref of refs) {
    const refNgrams = extractNgrams(pre(ref), o);
    const stats: number[] = [];
    hypNgrams.forEach((h, i) => stats.push(...matchStats(h, refNgrams[i])));
    const f = fScore(stats, o);
    if (f > bestF) {
      bestF = f;
      best = stats;
    }
  }
  return best;
}

function corpusChrf(caller: string, hypotheses: readonly string[], references: ReferenceStreams, o: ResolvedChrfOptions): ChrfResult {
  checkHypotheses(caller, hypotheses);
  const refs = referencesBySegment(caller, hypotheses.length, references);
  const stats = new Array<number>(3 * (o.charOrder + o.wordOrder)).fill(0);
  hypotheses.forEach((hyp, i) => {
    const st = segmentStats(hyp, refs[i], o);
    for (let k = 0; k < stats.length; k++) stats[k] += st[k];
  });
  return {
    score: fScore(stats, o),
    name: `chrF${o.beta}${'+'.repeat(o.wordOrder)}`,
    charOrder: o.charOrder,
    wordOrder: o.wordOrder,
    beta: o.beta,
    stats,
  };
}

/**
 * Corpus chrF with sacreBLEU 2.x defaults (character order 6, word order 0,
 * beta 2, whitespace removed, effective-order averaging); equal to
 * `sacrebleu.corpus_chrf(hypotheses, references)` for the same options.
 * Pass `{ wordOrder: 2 }` for chrF++.
 *
 * With several references, each segment is scored against the reference that
 * gives it the highest sentence-level chrF, and those statistics are summed.
 * An empty corpus scores 0.
 *
 * @param hypotheses - system outputs, one per segment
 * @param references - one stream (`string[]`) or several (`string[][]`), each aligned with `hypotheses`
 * @param opts - orders, beta, case, whitespace and smoothing options
 * @returns the score with its summed statistics
 * @throws RangeError if a reference stream's length differs from the hypotheses'
 */
export function chrf(hypotheses: readonly string[], references: ReferenceStreams, opts: ChrfOptions = {}): ChrfResult {
  return corpusChrf('chrf', hypotheses, references, resolveOptions('chrf', opts));
}

/**
 * Sentence chrF like `sacrebleu.sentence_chrf`.
 *
 * @param hypothesis - one system output
 * @param references - one reference, or several alternative references for this sentence
 * @param opts - orders, beta, case, whitespace and smoothing options
 * @returns the score with its statistics
 */
export function sentenceChrf(hypothesis: string, references: string | readonly string[], opts: ChrfOptions = {}): ChrfResult {
  const refs = typeof references === 'string' ? [references] : references;
  return corpusChrf(
    'sentenceChrf',
    [hypothesis],
    refs.map((r) => [r]),
    resolveOptions('sentenceChrf', opts)
  );
}

/**
 * The score line sacreBLEU prints (without the signature), e.g. `chrF2 = 56.78`.
 *
 * @param result - a result of {@link chrf} or {@link sentenceChrf}
 * @param width - decimals of the score (sacreBLEU's default 2)
 * @returns the formatted line
 */
export function formatChrf(result: ChrfResult, width = 2): string {
  return `${result.name} = ${formatFixed(result.score, width)}`;
}
