/** The loss layer's public surface: the fused knowledge-distillation loss (native/loss) and its options. */
export {
  distillLoss,
  distillLossAsync,
  distillLossChunked,
  distillLossChunkedAsync,
  distillLossReference,
  sparseTeacherFromLogits,
  defaultChunkSize,
  distillLossKernel,
} from './distill';
export { LOSS_DEFAULTS, resolveLossOptions } from './options';
export type { LossOptions, ResolvedLossOptions, LossOptionsContext } from './options';
export type { Reduction, DistillLossOptions, ChunkedDistillLossOptions, SparseTeacher, HiddenTeacher, DistillLossResult } from './distill';
export { crossEntropy, crossEntropyAsync } from './cross-entropy';
export type { CrossEntropyOptions } from './cross-entropy';
export { hiddenStateLoss, attentionLoss, uniformLayerMap, INTERMEDIATE_KD_DEFAULTS } from './intermediate';
export type { IntermediateKdOptions, IntermediateLayerMap, ResolvedIntermediateKd } from './intermediate';
