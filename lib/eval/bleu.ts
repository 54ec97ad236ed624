// Corpus and sentence BLEU in pure TypeScript, numerically compatible with
// sacreBLEU 2.x (tokenizers '13a', 'intl' and 'none'; smoothing 'exp', 'floor',
// 'add-k' and 'none'; closest reference length; effective order). Also owns
// the small Python-compatibility helpers (whitespace splitting, reference
// layout, fixed-point formatting) that chrf.ts reuses.

/** Tokenizers implemented here; names and behaviour follow sacreBLEU. */
export type BleuTokenizer = '13a' | 'intl' | 'none';

/** Smoothing methods of sacreBLEU (Chen & Cherry 2014 naming in its docs). */
export type BleuSmoothMethod = 'exp' | 'floor' | 'add-k' | 'none';

/** Options for {@link bleu} and {@link sentenceBleu}; every field has a sacreBLEU default. */
export interface BleuOptions {
  /** Tokenizer applied to hypotheses and references. Default `'13a'`. */
  tokenize?: BleuTokenizer;
  /** Lowercase before tokenizing. Default `false`. */
  lowercase?: boolean;
  /** Smoothing method. Default `'exp'`. */
  smoothMethod?: BleuSmoothMethod;
  /** Value for `'floor'` (default 0.1) and `'add-k'` (default 1); ignored otherwise. */
  smoothValue?: number;
  /** Highest n-gram order. Default 4. */
  maxNgramOrder?: number;
  /**
   * Average only over the n-gram orders the hypothesis has. Default `false`
   * for {@link bleu} and `true` for {@link sentenceBleu}, as in sacreBLEU.
   */
  effectiveOrder?: boolean;
}

/** BLEU score and its sufficient statistics, field by field like sacreBLEU's `BLEUScore`. */
export interface BleuResult {
  /** BLEU in [0, 100]. */
  score: number;
  /**
   * Matched n-grams per order (1..maxNgramOrder). With `'add-k'` smoothing
   * orders >= 2 include the added k, because sacreBLEU reports them that way.
   */
  counts: number[];
  /** Hypothesis n-grams per order (same `'add-k'` caveat as `counts`). */
  totals: number[];
  /** Per-order precisions in percent, after smoothing. */
  precisions: number[];
  /** Brevity penalty. */
  bp: number;
  /** Total hypothesis length in tokens. */
  sysLen: number;
  /** Total (closest) reference length in tokens. */
  refLen: number;
  /** `sysLen / refLen`, 0 when `refLen` is 0. */
  ratio: number;
}

/**
 * References for a corpus: either one stream aligned with the hypotheses, or
 * several streams, each aligned with the hypotheses (sacreBLEU's
 * `[refs1, refs2]`). In the multi-stream form a `null`/`undefined` entry means
 * "this segment has no reference in this stream", as `None` does in sacreBLEU.
 */
export type ReferenceStreams = readonly string[] | readonly (readonly (string | null | undefined)[])[];

// Python's str.split()/strip() whitespace (str.isspace). It differs from JS
// \s: Python adds U+001C..U+001F and U+0085, and does not count U+FEFF.
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WS_RUN = new RegExp(`[${PY_WS}]+`, 'u');
const PY_WS_TRAILING = new RegExp(`[${PY_WS}]+$`, 'u');
const PY_WS_ALL = new RegExp(`[${PY_WS}]+`, 'gu');

/** @internal Python's `str.split()` without arguments. */
export function splitWhitespace(s: string): string[] {
  return s.split(PY_WS_RUN).filter((w) => w !== '');
}

/** @internal Python's `''.join(s.split())`. */
export function removeWhitespace(s: string): string {
  return s.replace(PY_WS_ALL, '');
}

function rstripWhitespace(s: string): string {
  return s.replace(PY_WS_TRAILING, '');
}

/**
 * @internal Python's `f"{x:.{digits}f}"`. JS `toFixed` breaks exact ties away
 * from zero, Python to even (12.25 -> "12.2" in Python, "12.3" in JS), and
 * sacreBLEU's printed precisions hit such ties (e.g. 49/400).
 */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const neg = x < 0 || Object.is(x, -0);
  const ax = Math.abs(x);
  const rounded = ax.toFixed(digits);
  // toFixed(100) is the exact binary value for anything that can tie at a
  // small digit count (a tie needs exactly digits+1 fractional digits).
  const exact = ax.toFixed(100);
  const dot = exact.indexOf('.');
  const tail = exact.slice(dot + 1 + digits);
  let out = rounded;
  if (/^50*$/.test(tail)) {
    const kept = digits === 0 ? exact.slice(0, dot) : exact.slice(0, dot + 1 + digits);
    if (Number(kept[kept.length - 1]) % 2 === 0) out = kept;
  }
  return (neg ? '-' : '') + out;
}

/**
 * @internal Turns either reference layout into one list of references per
 * segment (nulls dropped), checking that every stream matches the hypotheses.
 * sacreBLEU silently truncates to the shortest stream (zip); a length mismatch
 * is almost always a data bug, so it is an error here.
 */
export function referencesBySegment(caller: string, numHypotheses: number, references: ReferenceStreams): string[][] {
  if (!Array.isArray(references)) {
    throw new TypeError(`${caller}: references must be an array of strings or an array of string arrays`);
  }
  const streams: readonly (readonly (string | null | undefined)[])[] =
    references.length > 0 && typeof references[0] === 'string'
      ? [references as readonly string[]]
      : (references as readonly (readonly (string | null | undefined)[])[]);
  if (numHypotheses > 0 && streams.length === 0) {
    throw new RangeError(`${caller}: no reference stream given`);
  }
  const perSegment: string[][] = Array.from({ length: numHypotheses }, () => []);
  streams.forEach((stream, s) => {
    if (!Array.isArray(stream)) {
      throw new TypeError(`${caller}: references must be an array of strings or an array of string arrays`);
    }
    if (stream.length !== numHypotheses) {
      throw new RangeError(`${caller}: reference stream ${s} has ${stream.length} lines but there are ${numHypotheses} hypotheses`);
    }
    stream.forEach((ref, i) => {
      if (ref === null || ref === undefined) return;
      if (typeof ref !== 'string') throw new TypeError(`${caller}: reference ${s}:${i} is not a string`);
      perSegment[i].push(ref);
    });
  });
  perSegment.forEach((refs, i) => {
    if (refs.length === 0) throw new RangeError(`${caller}: segment ${i} has no reference`);
  });
  return perSegment;
}

/** @internal */
export function checkHypotheses(caller: string, hypotheses: readonly string[]): void {
  if (!Array.isArray(hypotheses)) throw new TypeError(`${caller}: hypotheses must be an array of strings`);
  hypotheses.forEach((h, i) => {
    if (typeof h !== 'string') throw new TypeError(`${caller}: hypothesis ${i} is not a string`);
  });
}

// ---------------------------------------------------------------------------
// Tokenizers

// sacreBLEU's TokenizerRegexp, applied in order. The 'u' flag makes character
// classes match code points as Python's re does (only matters for astral
// characters next to '.'/','), and forbids escaping non-syntax characters, so
// '~', '`', '&', ':', '@' appear unescaped. Ranges: {-~ [-` space-& (-+ :-@ /.
const RE_13A: readonly (readonly [RegExp, string])[] = [
  [/([{-~[-` -&(-+:-@/])/gu, ' $1 '],
  // period and comma unless preceded by a digit
  [/([^0-9])([.,])/gu, '$1 $2 '],
  // period and comma unless followed by a digit
  [/([.,])([^0-9])/gu, ' $1 $2'],
  // dash when preceded by a digit
  [/([0-9])(-)/gu, '$1 $2 '],
];

// sacreBLEU's TokenizerV14International (mteval-v14 international rules).
const RE_INTL: readonly (readonly [RegExp, string])[] = [
  [/(\P{N})(\p{P})/gu, '$1 $2 '],
  [/(\p{P})(\P{N})/gu, ' $1 $2'],
  [/(\p{S})/gu, ' $1 '],
];

function applyRules(line: string, rules: readonly (readonly [RegExp, string])[]): string {
  let s = line;
  for (const [re, repl] of rules) s = s.replace(re, repl);
  return splitWhitespace(s).join(' ');
}

/**
 * The mteval-v13a tokenizer exactly as sacreBLEU's `Tokenizer13a`: drops
 * `<skipped>`, joins `-\n` hyphenations, unescapes `&quot; &amp; &lt; &gt;`
 * (in that order), then splits off punctuation and symbols.
 *
 * @param line - one segment
 * @returns the tokens joined by single spaces
 */
export function tokenize13a(line: string): string {
  let s = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (s.includes('&')) {
    s = s.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  // The padding spaces let the '.'/',' rules fire at the line ends.
  return applyRules(` ${s} `, RE_13A);
}

/**
 * sacreBLEU's `intl` tokenizer: splits Unicode punctuation unless it sits
 * between digits, and splits every Unicode symbol.
 *
 * @param line - one segment
 * @returns the tokens joined by single spaces
 */
export function tokenizeIntl(line: string): string {
  return applyRules(line, RE_INTL);
}

const TOKENIZERS: Readonly<Record<BleuTokenizer, (line: string) => string>> = {
  '13a': tokenize13a,
  intl: tokenizeIntl,
  none: (line) => line,
};

// ---------------------------------------------------------------------------
// Statistics

const SMOOTH_DEFAULTS: Readonly<Record<BleuSmoothMethod, number | undefined>> = {
  none: undefined,
  floor: 0.1,
  'add-k': 1,
  exp: undefined,
};

interface ResolvedBleuOptions {
  tokenize: BleuTokenizer;
  lowercase: boolean;
  smoothMethod: BleuSmoothMethod;
  smoothValue: number | undefined;
  maxNgramOrder: number;
  effectiveOrder: boolean;
}

function resolveOptions(caller: string, opts: BleuOptions, effectiveOrderDefault: boolean): ResolvedBleuOptions {
  const r: ResolvedBleuOptions = {
    tokenize: opts.tokenize ?? '13a',
    lowercase: opts.lowercase ?? false,
    smoothMethod: opts.smoothMethod ?? 'exp',
    smoothValue: opts.smoothValue,
    maxNgramOrder: opts.maxNgramOrder ?? 4,
    effectiveOrder: opts.effectiveOrder ?? effectiveOrderDefault,
  };
  if (!Object.prototype.hasOwnProperty.call(TOKENIZERS, r.tokenize)) {
    throw new RangeError(`${caller}: unknown tokenizer '${String(r.tokenize)}' (expected '13a', 'intl' or 'none')`);
  }
  if (!Object.prototype.hasOwnProperty.call(SMOOTH_DEFAULTS, r.smoothMethod)) {
    throw new RangeError(`${caller}: unknown smoothMethod '${String(r.smoothMethod)}'`);
  }
  if (!Number.isInteger(r.maxNgramOrder) || r.maxNgramOrder < 1) {
    throw new RangeError(`${caller}: maxNgramOrder must be a positive integer`);
  }
  if (r.smoothValue !== undefined && !Number.isFinite(r.smoothValue)) {
    throw new RangeError(`${caller}: smoothValue must be a finite number`);
  }
  return r;
}

function preprocess(sent: string, o: ResolvedBleuOptions): string {
  const s = o.lowercase ? sent.toLowerCase() : sent;
  return TOKENIZERS[o.tokenize](rstripWhitespace(s));
}

// One Map per order; keys are tokens joined by ' ', unambiguous because a
// token never contains whitespace.
function wordNgrams(line: string, maxOrder: number): { ngrams: Map<string, number>[]; length: number } {
  const tokens = splitWhitespace(line);
  const ngrams: Map<string, number>[] = [];
  for (let n = 1; n <= maxOrder; n++) {
    const m = new Map<string, number>();
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = tokens.slice(i, i + n).join(' ');
      m.set(key, (m.get(key) ?? 0) + 1);
    }
    ngrams.push(m);
  }
  return { ngrams, length: tokens.length };
}

// Shortest of the equally close reference lengths, as sacreBLEU does.
function closestRefLen(hypLen: number, refLens: readonly number[]): number {
  let closestDiff = -1;
  let closestLen = -1;
  for (const refLen of refLens) {
    const diff = Math.abs(hypLen - refLen);
    if (closestDiff === -1 || diff < closestDiff) {
      closestDiff = diff;
      closestLen = refLen;
    } else if (diff === closestDiff && refLen < closestLen) {
      closestLen = refLen;
    }
  }
  return closestLen;
}

// Segment statistics: [hypLen, refLen, correct_1..N, total_1..N].
function segmentStats(hyp: string, refs: readonly string[], o: ResolvedBleuOptions): number[] {
  const N = o.maxNgramOrder;
  const refNgrams: Map<string, number>[] = Array.from({ length: N }, () => new Map<string, number>());
  const refLens: number[] = [];
  for (const ref of refs) {
    const { ngrams, length } = wordNgrams(preprocess(ref, o), N);
    refLens.push(length);
    // Clip against the maximum count over references.
    ngrams.forEach((m, n) => {
      const merged = refNgrams[n];
      for (const [k, c] of m) {
        const prev = merged.get(k);
        if (prev === undefined || c > prev) merged.set(k, c);
      }
    });
  }
  const { ngrams: hypNgrams, length: hypLen } = wordNgrams(preprocess(hyp, o), N);
  const correct = new Array<number>(N).fill(0);
  const total = new Array<number>(N).fill(0);
  hypNgrams.forEach((m, n) => {
    for (const [k, c] of m) {
      total[n] += c;
      const r = refNgrams[n].get(k);
      if (r !== undefined) correct[n] += Math.min(c, r);
    }
  });
  return [hypLen, closestRefLen(hypLen, refLens), ...correct, ...total];
}

// sacreBLEU's my_log: log(0) is floored so that exp() of the mean gives 0.
function myLog(x: number): number {
  return x === 0 ? -9999999999 : Math.log(x);
}

// Mirrors sacreBLEU's BLEU.compute_bleu operation by operation, so that the
// floating-point results agree to the last bits where libm allows.
function computeBleu(correctIn: readonly number[], totalIn: readonly number[], sysLen: number, refLen: number, o: ResolvedBleuOptions): BleuResult {
  const N = o.maxNgramOrder;
  const correct = correctIn.slice();
  const total = totalIn.slice();
  const smoothValue = o.smoothValue ?? SMOOTH_DEFAULTS[o.smoothMethod] ?? 0;
  const ratio = refLen ? sysLen / refLen : 0;

  let bp = 1.0;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0.0;

  const precisions = new Array<number>(N).fill(0);
  // No match at any order: score 0 (sacreBLEU #141), before add-k touches counts.
  if (!correct.some((c) => c !== 0)) {
    return { score: 0, counts: correct, totals: total, precisions, bp, sysLen, refLen, ratio };
  }

  let smoothMteval = 1.0;
  let effOrder = N;
  for (let n = 1; n <= N; n++) {
    if (o.smoothMethod === 'add-k' && n > 1) {
      correct[n - 1] += smoothValue;
      total[n - 1] += smoothValue;
    }
    if (total[n - 1] === 0) break;
    if (o.effectiveOrder) effOrder = n;
    if (correct[n - 1] === 0) {
      if (o.smoothMethod === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * total[n - 1]);
      } else if (o.smoothMethod === 'floor') {
        precisions[n - 1] = (100 * smoothValue) / total[n - 1];
      }
    } else {
      precisions[n - 1] = (100 * correct[n - 1]) / total[n - 1];
    }
  }

  let logSum = 0;
  for (let i = 0; i < effOrder; i++) logSum += myLog(precisions[i]);
  const score = bp * Math.exp(logSum / effOrder);
  return { score, counts: correct, totals: total, precisions, bp, sysLen, refLen, ratio };
}

function corpusBleu(caller: string, hypotheses: readonly string[], references: ReferenceStreams, o: ResolvedBleuOptions): BleuResult {
  checkHypotheses(caller, hypotheses);
  const refs = referencesBySegment(caller, hypotheses.length, references);
  const N = o.maxNgramOrder;
  const sums = new Array<number>(2 + 2 * N).fill(0);
  hypotheses.forEach((hyp, i) => {
    const st = segmentStats(hyp, refs[i], o);
    for (let k = 0; k < sums.length; k++) sums[k] += st[k];
  });
  return computeBleu(sums.slice(2, 2 + N), sums.slice(2 + N), sums[0], sums[1], o);
}

/**
 * Corpus BLEU with sacreBLEU's defaults (`13a` tokenizer, `exp` smoothing,
 * mixed case, no effective order, 4-grams); equal to
 * `sacrebleu.corpus_bleu(hypotheses, references)` for the same options.
 *
 * An empty corpus scores 0 (sacreBLEU raises on it).
 *
 * @param hypotheses - system outputs, one per segment
 * @param references - one stream (`string[]`) or several (`string[][]`), each aligned with `hypotheses`
 * @param opts - tokenizer, case, smoothing and order options
 * @returns the score with its statistics
 * @throws RangeError if a reference stream's length differs from the hypotheses'
 */
export function bleu(hypotheses: readonly string[], references: ReferenceStreams, opts: BleuOptions = {}): BleuResult {
  return corpusBleu('bleu', hypotheses, references, resolveOptions('bleu', opts, false));
}

/**
 * Sentence BLEU like `sacrebleu.sentence_bleu`: same as {@link bleu} on one
 * segment, except that `effectiveOrder` defaults to `true`.
 *
 * @param hypothesis - one system output
 * @param references - one reference, or several alternative references for this sentence
 * @param opts - tokenizer, case, smoothing and order options
 * @returns the score with its statistics
 */
export function sentenceBleu(hypothesis: string, references: string | readonly string[], opts: BleuOptions = {}): BleuResult {
  const refs = typeof references === 'string' ? [references] : references;
  return corpusBleu(
    'sentenceBleu',
    [hypothesis],
    refs.map((r) => [r]),
    resolveOptions('sentenceBleu', opts, true)
  );
}

/**
 * The score line sacreBLEU prints (without the signature), e.g.
 * `BLEU = 33.92 70.0/44.4/25.0/14.3 (BP = 1.000 ratio = 1.000 hyp_len = 10 ref_len = 10)`.
 *
 * @param result - a result of {@link bleu} or {@link sentenceBleu}
 * @param width - decimals of the score (sacreBLEU's default 2)
 * @returns the formatted line
 */
export function formatBleu(result: BleuResult, width = 2): string {
  const prec = result.precisions.map((p) => formatFixed(p, 1)).join('/');
  return (
    `BLEU = ${formatFixed(result.score, width)} ${prec} (BP = ${formatFixed(result.bp, 3)} ` +
    `ratio = ${formatFixed(result.ratio, 3)} hyp_len = ${result.sysLen} ref_len = ${result.refLen})`
  );
}
