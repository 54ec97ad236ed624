/** Models: the Seq2Seq interface and the model classes. */
export type { Seq2Seq, DecoderState, LoadReport, InferenceForm, ForwardInternals } from './seq2seq';
export { NativeSeq2Seq } from './native-model';
export type { BaseModelConfig, QuantizeOptions, Int8Layer } from './native-model';
export { BiGruStudent, BIGRU_DEFAULTS } from './bigru';
export type { BiGruConfig, BiGruOptions, BiGruAttentionType } from './bigru';
export { Teacher } from './teacher';
export { XLM_DEFAULTS } from './config';
export type { XlmConfig, XlmOptions } from './config';
export { XlmModel } from './xlm';
export { CutStudent } from './cut-student';
export { TransformerStudent, TRANSFORMER_STUDENT_DEFAULTS } from './transformer-student';
export type { LayerMap } from './cut-student';
export { loadModel, registerModelLoader, modelLoaderTypes } from './load';
export type { ModelLoader, LoadOptions } from './load';
