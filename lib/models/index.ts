/** Models: the Seq2Seq interface, Batch, and the model classes. */
export { Batch } from './batch';
export type { BatchInput, FramingOptions } from './batch';
export type { Seq2Seq, DecoderState, LoadReport } from './seq2seq';
export { NativeSeq2Seq } from './native-model';
export type { BaseModelConfig } from './native-model';
export { BiGruStudent, BIGRU_DEFAULTS } from './bigru';
export type { BiGruConfig, BiGruOptions, BiGruAttentionType } from './bigru';
