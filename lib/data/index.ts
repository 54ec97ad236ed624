/** Data: the tokenizers (SentencePiece; XLM's Moses + fastBPE), gettext and text corpora (in memory or streamed), splits (in memory or by reservoir), duplicate detection, streamed line reading and seeded line samples, token stores and pair sources, length-bucketed batching, Batch, and vocabulary shortlists (built from a corpus). */
export { XLM_SPECIAL_IDS } from './tokenizer';
export type { Tokenizer, TokenizerKind, TextOptions, SpecialIds } from './tokenizer';
export { SentencePiece, SENTENCEPIECE_DEFAULTS } from './sentencepiece';
export type { FlatIds } from '../native';
export type { SentencePieceTrainOptions, SentencePieceLoadOptions } from './sentencepiece';
export { XlmTokenizer, XLM_TOKENIZER_FILE } from './xlm-tokenizer';
export type { XlmTokenizerSettings, XlmTokenizerSources, NamedText } from './xlm-tokenizer';
export { loadTokenizer, tokenizerFileBeside, tokenizerFor, saveTokenizerBeside, hasTokenizerBeside } from './load-tokenizer';
export { resolveLanguage } from './languages';
export type { LanguageRef, ResolvedLanguage } from './languages';
export { FastBpe } from './fast-bpe';
export type { FastBpeOptions, FastBpeSourceNames } from './fast-bpe';
export { XlmDictionary, XLM_SPECIAL_WORDS } from './xlm-dictionary';
export type { SkippedVocabLine } from './xlm-dictionary';
export {
  MosesTokenizer,
  MosesDetokenizer,
  mosesLanguages,
  xlmPreprocess,
  replaceUnicodePunctuation,
  normalizePunctuation,
  removeNonPrintingChars,
  normalizeRomanian,
  removeRomanianDiacritics,
  lowercaseAndStripAccents,
} from './moses';
export type { XlmPreprocessOptions } from './moses';
export {
  parseMo,
  loadGettextCorpus,
  availableGettextLanguages,
  gettextDomains,
  stripAccelerators,
  hasWords,
  MoFormatError,
  MoCharsetError,
} from './gettext';
export type { MoEntry, MoCatalog, GettextPair, GettextCorpusOptions, GettextCorpusStats, GettextCorpus } from './gettext';
export { readParallelFiles, readTsv, streamParallelFiles, streamTsv, splitCorpus, CorpusError } from './corpus';
export type { SentencePair, BadLine, ReadCorpusOptions, StreamCorpusOptions, ParallelCorpus, SplitOptions, CorpusSplit } from './corpus';
export { PairHashSet } from './pair-hash-set';
export type { PairHashSetOptions } from './pair-hash-set';
export { ReservoirSample } from './reservoir';
export type { ReservoirOptions } from './reservoir';
export { Batch } from './batch';
export type { BatchInput, FramingOptions } from './batch';
export { Batcher, BATCHING_DEFAULTS } from './batcher';
export type { BatcherOptions, BatchPlan } from './batcher';
export { BatchPrefetcher } from './prefetch';
export { ArrayPairSource, SidesPairSource, SubsetPairSource, isPairSource, sideOf, emptySide } from './pair-source';
export type { TokenPair, PairSource, SentenceSource } from './pair-source';
export { TokenStore, TokenStoreError, TOKEN_STORE_FORMAT, tokenBytesFor, storeFiles, storeExists } from './token-store';
export type { TokenStoreMeta } from './token-store';
export { TokenStoreWriter } from './token-store-writer';
export type { IdRows } from './token-store-writer';
export { AppendableTokenStore, readStoreValues } from './token-store-append';
export type { StoreEntry } from './token-store-append';
export { SeededRandom, mixSeed } from './random';
export { readLines, readLineBatches, readLineSpans, countLines } from './line-reader';
export type { ReadLinesOptions, LineSpans } from './line-reader';
export { selectionSample, sampleLines } from './sample-lines';
export type { SelectionSampleOptions, SampleLinesOptions, LineSample } from './sample-lines';
export { Shortlist, SHORTLIST_DEFAULTS } from './shortlist';
export type { ShortlistOptions } from './shortlist';
