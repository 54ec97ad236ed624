/**
 * The seam between TypeScript and the native addon, one file per folder of native/: load.ts finds and loads
 * the addon; tensor, memory, modules, loss, optim, tokenizer, distributed, inference, cuda and io declare their part
 * of the raw binding. This
 * folder imports no feature file; features reach the addon only through the typed wrappers.
 */
export { native, addonCandidates, loadedAddonPath, locateLibtorch, addonRecord } from './load';
export type { NativeBinding, LibtorchRecord, LibtorchLocation } from './load';
export type { NativeTensor, MemoryStats, RuntimeInfo, TensorBinding } from './tensor';
export type { AllocatorInfo, MemoryBinding } from './memory';
export type { NativeModuleHandle, NativeStateHandle, NativeBatch, LoadReport, ModulesBinding } from './modules';
export type { LossBinding } from './loss';
export type { NativeOptimizer, NativeParameterAverage, OptimBinding } from './optim';
export type { NativeProcessGroup, NativeGroupOptions, NativeReducer, DistributedBinding } from './distributed';
export type { NativeSentencePiece, NativeTrainOptions, TokenizerBinding, FlatIds } from './tokenizer';
export type { IoBinding } from './io';
export type { NativeLinearKernel, InferenceBinding } from './inference';
export type { CudaBinding, CudaMemoryStats } from './cuda';
