// Public entry point of the evaluation metrics: sacreBLEU-compatible corpus
// and sentence BLEU and chrF(++). Internal helpers of bleu.ts stay private.

export { bleu, sentenceBleu, formatBleu, tokenize13a, tokenizeIntl } from './bleu';
export type { BleuOptions, BleuResult, BleuSmoothMethod, BleuTokenizer, ReferenceStreams } from './bleu';
export { chrf, sentenceChrf, formatChrf } from './chrf';
export type { ChrfOptions, ChrfResult } from './chrf';
export { evaluateTranslation } from './evaluate';
export type { EvaluateTranslationOptions, TranslationScores } from './evaluate';
export { compareModels, scoreModel, formatComparison, plotComparison } from './compare';
export type { ModelEntry, ModelComparison } from './compare';
