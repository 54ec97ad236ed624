/** The tensor layer's public surface. */
export { Tensor } from './tensor';
export type { NestedList, Operand, ReduceOptions, TopkOptions } from './tensor';
export { tensor, zeros, ones, full, randn, rand, randint, arange, manualSeed, getRngState, setRngState, cat, stack, where } from './create';
export type { TensorOptions, FromDataOptions, NestedData } from './create';
export { tidy, keep } from './scope';
export type { Disposable } from './scope';
export { version, cuda, setNumThreads, noGrad, memoryStats, allocatorInfo, releaseMemory } from './runtime';
export type { RuntimeInfo, AllocatorInfo, MemoryStats } from './runtime';
export { DTYPES, isDType, isDevice, isFloating, dtypeSize } from './dtype';
export type { DType, Device, TensorData } from './dtype';
export { resolveDevice, resolvePrecision, autocast, PRECISIONS } from './device';
export type { Precision } from './device';
