/** Decoding options shared by beam search, greedy decoding and sampling, with defaults and validation. */
import { OptionReader } from '../common/options';
import { type Precision, resolvePrecision } from '../tensor/device';
import { Shortlist } from '../data/shortlist';

/** Maximum output length for a source of `srcLen` tokens (framing included): `floor(a·srcLen + b)`. */
export interface LengthRule {
  /** Output tokens per source token. */
  a: number;
  /** Output tokens added to every sentence. */
  b: number;
}

/** How greedy decoding samples instead of taking the argmax ({@link DecodeOptions.sampling}). */
export interface SamplingOptions {
  /** Divides the logits before sampling (default 1). */
  temperature?: number;
  /** Sample only among the k most likely tokens (0 = off). */
  topK?: number;
  /** Sample only within the smallest set of tokens whose probability reaches p (1 = off). */
  topP?: number;
}

/** Options of {@link beamSearch} and {@link greedy}; each has a default ({@link DECODE_DEFAULTS}). */
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
  /** Arithmetic of the model's steps: 'fp32' (default), or autocast to 'bf16' / 'fp16' (for models on a GPU). */
  precision?: Precision;
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
  precision: Precision;
}

/**
 * The defaults of {@link DecodeOptions}: XLM's evaluation setting (beam 5, length penalty 1, at most
 * 1.5 · source + 10 tokens, no early stop before the beam has its hypotheses) and a cap within XLM's 512
 * positions. Greedy decoding and sampling use beam size 1.
 */
export const DECODE_DEFAULTS = Object.freeze({
  beamSize: 5,
  nBest: 1,
  lengthPenalty: 1,
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the assertion widens the frozen default's type (typescript-eslint#12376)
  maxLength: Object.freeze({ a: 1.5, b: 10 }) as Readonly<LengthRule>,
  maxLengthLimit: 500,
  minLength: 0,
  noRepeatNgram: 0,
  earlyStopping: false,
});

/** The defaults of {@link SamplingOptions}: plain sampling from the model's distribution. */
export const SAMPLING_DEFAULTS = Object.freeze({ temperature: 1, topK: 0, topP: 1 });

/**
 * Fills {@link DECODE_DEFAULTS} (beam size `defaultBeam`) and rejects impossible settings with a message naming
 * the option. Other keys are let through: decoding options travel inside larger objects (translate's,
 * distillSequences').
 */
export function resolveDecodeOptions(fn: string, opts: DecodeOptions, defaultBeam: number): ResolvedDecodeOptions {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: argument 'opts' must be an object`);
  const r: OptionReader = new OptionReader(fn, opts);
  const D = DECODE_DEFAULTS;
  const beamSize = r.integer('beamSize', defaultBeam, 1);
  const ml = opts.maxLength ?? D.maxLength;
  const maxLength = typeof ml === 'number' ? { a: 0, b: r.integer('maxLength', D.maxLength.b, 1) } : ml;
  if (maxLength === null || typeof maxLength !== 'object' || !isNum(maxLength.a) || maxLength.a < 0 || !isNum(maxLength.b)) {
    r.fail('maxLength', 'an integer >= 1 or {a >= 0, b}');
  }
  const shortlist = opts.shortlist;
  if (!(shortlist === undefined || shortlist === false || shortlist instanceof Shortlist)) r.fail('shortlist', 'a Shortlist or false', true);
  return {
    beamSize,
    nBest: r.integer('nBest', D.nBest, 1, beamSize),
    lengthPenalty: r.number('lengthPenalty', D.lengthPenalty),
    maxLength: { a: maxLength.a, b: maxLength.b },
    maxLengthLimit: r.integer('maxLengthLimit', D.maxLengthLimit, 1),
    minLength: r.integer('minLength', D.minLength, 0),
    noRepeatNgram: r.integer('noRepeatNgram', D.noRepeatNgram, 0),
    earlyStopping: r.boolean('earlyStopping', D.earlyStopping),
    tgtLang: r.integer('tgtLang', undefined, 0),
    sampling: opts.sampling === undefined ? undefined : resolveSampling(r.nested('sampling', Object.keys(SAMPLING_DEFAULTS))),
    shortlist,
    precision: resolvePrecision(fn, opts.precision),
  };
}

function resolveSampling(r: OptionReader): Required<SamplingOptions> {
  const D = SAMPLING_DEFAULTS;
  return {
    temperature: r.number('temperature', D.temperature, { min: 0, above: true }),
    topK: r.integer('topK', D.topK, 0),
    topP: r.number('topP', D.topP, { min: 0, max: 1, above: true }),
  };
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Per-sentence length caps from the source lengths. */
export function maxLengths(srcLens: number[], o: ResolvedDecodeOptions): number[] {
  return srcLens.map((n) => Math.max(1, Math.min(o.maxLengthLimit, Math.floor(o.maxLength.a * n + o.maxLength.b))));
}
