/**
 * The seam between TypeScript and the native addon, one file per folder of native/: load.ts finds and loads
 * the addon; tensor, memory, modules, loss, optim, tokenizer, distributed, inference, cuda and io declare their part
 * of the raw binding. This
 * folder imports no feature file; features reach the addon only through the typed wrappers.
 */
export { native, addonCandidates, loadedAddonPath, locateLibtorch, addonRecord } from './load';
export type { NativeTensor, MemoryStats, RuntimeInfo } from './tensor';
export type { AllocatorInfo } from './memory';
export type { NativeModuleHandle, NativeStateHandle, NativeBatch, LoadReport } from './modules';
export type { NativeOptimizer, NativeParameterAverage } from './optim';
export type { NativeProcessGroup, NativeReducer } from './distributed';
export type { NativeSentencePiece, FlatIds } from './tokenizer';
