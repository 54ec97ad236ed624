/** Decoding: beam search, greedy decoding and sampling for any Seq2Seq model. */
export { beamSearch } from './beam';
export { greedy } from './greedy';
export type { Hypothesis } from './hypotheses';
export type { DecodeOptions, SamplingOptions, LengthRule } from './options';
export { DECODE_DEFAULTS, SAMPLING_DEFAULTS } from './options';
export { translate, translateStream, TRANSLATE_DEFAULTS } from './translate';
export type { TranslateOptions, TranslationResult, TranslationHypothesis, TranslateInput } from './translate';
