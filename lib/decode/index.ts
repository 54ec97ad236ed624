/** Decoding: beam search, greedy decoding and sampling for any Seq2Seq model. */
export { beamSearch } from './beam';
export { greedy } from './greedy';
export type { Hypothesis } from './hypotheses';
export type { DecodeOptions, SamplingOptions, LengthRule } from './options';
export { translate, translateStream } from './translate';
export { Shortlist } from './shortlist';
export type { ShortlistOptions } from './shortlist';
export type { TranslateOptions, TranslationResult, TranslationHypothesis } from './translate';
