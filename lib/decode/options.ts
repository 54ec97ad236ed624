/** Decoding options shared by beam search, greedy decoding and sampling, with defaults and validation. */
import { Shortlist } from './shortlist';

/** Maximum output length for a source of `srcLen` tokens (framing included): `floor(a·srcLen + b)`. */
export interface LengthRule {
  a: number;
  b: number;
}

export interface SamplingOptions {
  /** Divides the logits before sampling (default 1). */
  temperature?: number;
  /** Sample only among the k most likely tokens (0 = off). */
  topK?: number;
  /** Sample only within the smallest set of tokens whose probability reaches p (1 = off). */
  topP?: number;
}

export interface DecodeOptions {
  /** Hypotheses kept per sentence (default 5 for beam search). */
  beamSize?: number;
  /** Finished hypotheses returned per sentence, best first (default 1, at most beamSize). */
  nBest?: number;
  /** Hypothesis score = sum of log-probs / length^lengthPenalty (default 1; 0 = raw sum). */
  lengthPenalty?: number;
  /**
   * Most tokens generated per sentence, the final `</s>` included: a number, or `{a, b}` for
   * `floor(a·srcLen + b)` (default `{a: 1.5, b: 10}`, XLM's evaluation setting). Never above `maxLengthLimit`.
   */
  maxLength?: number | LengthRule;
  /** Hard cap on maxLength (default 500; XLM's position table has 512 entries). */
  maxLengthLimit?: number;
  /** `</s>` is not allowed before this many tokens (default 0). */
  minLength?: number;
  /** Forbid repeating any n-gram of this size within a hypothesis (0 = off). */
  noRepeatNgram?: number;
  /** Stop a sentence as soon as it has beamSize finished hypotheses (default false: XLM's rule). */
  earlyStopping?: boolean;
  /** Target language id (models with language embeddings). */
  tgtLang?: number;
  /** Greedy only: sample instead of taking the argmax. */
  sampling?: SamplingOptions;
  /**
   * Decode over a vocabulary shortlist (each batch: its source tokens' candidates, the frequent tokens and
   * `</s>`); default: the model's own (`model.shortlist`, from its file), none if it has none; false: never.
   */
  shortlist?: Shortlist | false;
}

export interface ResolvedDecodeOptions {
  beamSize: number;
  nBest: number;
  lengthPenalty: number;
  maxLength: LengthRule;
  maxLengthLimit: number;
  minLength: number;
  noRepeatNgram: number;
  earlyStopping: boolean;
  tgtLang: number | undefined;
  sampling: Required<SamplingOptions> | undefined;
  shortlist: Shortlist | false | undefined;
}

function check(cond: boolean, fn: string, what: string): void {
  if (!cond) throw new RangeError(`${fn}: option ${what}`);
}

const isInt = (x: unknown, min: number): x is number => Number.isInteger(x) && (x as number) >= min;
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Fills defaults and rejects impossible settings with a message naming the option. */
export function resolveDecodeOptions(fn: string, opts: DecodeOptions, defaultBeam: number): ResolvedDecodeOptions {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: argument 'opts' must be an object`);
  const beamSize = opts.beamSize ?? defaultBeam;
  check(isInt(beamSize, 1), fn, `'beamSize' must be an integer >= 1, got ${String(opts.beamSize)}`);
  const nBest = opts.nBest ?? 1;
  check(isInt(nBest, 1) && nBest <= beamSize, fn, `'nBest' must be an integer in [1, beamSize=${beamSize}], got ${String(opts.nBest)}`);
  const lengthPenalty = opts.lengthPenalty ?? 1;
  check(isNum(lengthPenalty), fn, `'lengthPenalty' must be a finite number, got ${String(opts.lengthPenalty)}`);
  const ml = opts.maxLength ?? { a: 1.5, b: 10 };
  const maxLength = typeof ml === 'number' ? { a: 0, b: ml } : ml;
  check(
    maxLength !== null && typeof maxLength === 'object' && isNum(maxLength.a) && maxLength.a >= 0 && isNum(maxLength.b),
    fn,
    `'maxLength' must be a number >= 1 or {a >= 0, b}, got ${JSON.stringify(opts.maxLength)}`
  );
  if (typeof ml === 'number') check(isInt(ml, 1), fn, `'maxLength' must be an integer >= 1, got ${ml}`);
  const maxLengthLimit = opts.maxLengthLimit ?? 500;
  check(isInt(maxLengthLimit, 1), fn, `'maxLengthLimit' must be an integer >= 1, got ${String(opts.maxLengthLimit)}`);
  const minLength = opts.minLength ?? 0;
  check(isInt(minLength, 0), fn, `'minLength' must be an integer >= 0, got ${String(opts.minLength)}`);
  const noRepeatNgram = opts.noRepeatNgram ?? 0;
  check(isInt(noRepeatNgram, 0), fn, `'noRepeatNgram' must be an integer >= 0, got ${String(opts.noRepeatNgram)}`);
  if (opts.tgtLang !== undefined) check(isInt(opts.tgtLang, 0), fn, `'tgtLang' must be an integer >= 0, got ${String(opts.tgtLang)}`);
  let sampling: Required<SamplingOptions> | undefined;
  if (opts.sampling !== undefined) {
    const s = opts.sampling;
    sampling = { temperature: s.temperature ?? 1, topK: s.topK ?? 0, topP: s.topP ?? 1 };
    check(isNum(sampling.temperature) && sampling.temperature > 0, fn, `'sampling.temperature' must be > 0, got ${String(s.temperature)}`);
    check(isInt(sampling.topK, 0), fn, `'sampling.topK' must be an integer >= 0, got ${String(s.topK)}`);
    check(isNum(sampling.topP) && sampling.topP > 0 && sampling.topP <= 1, fn, `'sampling.topP' must be in (0, 1], got ${String(s.topP)}`);
  }
  const shortlist = opts.shortlist;
  check(shortlist === undefined || shortlist === false || shortlist instanceof Shortlist, fn, `'shortlist' must be a Shortlist or false, got ${typeof shortlist}`);
  return {
    beamSize, nBest, lengthPenalty, maxLength, maxLengthLimit, minLength, noRepeatNgram,
    earlyStopping: opts.earlyStopping ?? false, tgtLang: opts.tgtLang, sampling, shortlist,
  };
}

/** Per-sentence length caps from the source lengths. */
export function maxLengths(srcLens: number[], o: ResolvedDecodeOptions): number[] {
  return srcLens.map((n) => Math.max(1, Math.min(o.maxLengthLimit, Math.floor(o.maxLength.a * n + o.maxLength.b))));
}
