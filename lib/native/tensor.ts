/** The tensor part of the raw binding (native/tensor): handles, factories, ops, autograd, runtime report. */

/** An opaque handle to a native tensor. Only the Tensor class holds these. */
export interface NativeTensor {
  readonly __nativeTensor: unique symbol;
}

/** What `version()` reports about the LibTorch the addon runs on. */
export interface RuntimeInfo {
  /** LibTorch version the addon was compiled against, e.g. "2.13.0". */
  libtorch: string;
  /** Whether CUDA is usable right now (a CUDA build, a driver and a device). */
  cuda: boolean;
  /** CUDA runtime version when LibTorch has CUDA, else null. */
  cudaVersion: string | null;
  /** CUDA devices visible (0 without CUDA). */
  cudaDevices: number;
  /** Whether the addon was compiled with the CUDA kernels of this package (.cu files). */
  builtWithCuda: boolean;
  /** Intra-op threads LibTorch uses. */
  threads: number;
  /** Inter-op threads LibTorch uses. */
  interopThreads: number;
  /** Whether LibTorch has MKL. */
  mkl: boolean;
  /** Whether LibTorch uses OpenMP. */
  openmp: boolean;
}

/** What `memoryStats()` reports: JS-owned tensors and what native handles have told V8's GC. */
export interface MemoryStats {
  /** Native tensors owned by live (not disposed, not collected) Tensor objects. */
  liveTensors: number;
  /** Their bytes. */
  liveBytes: number;
  /** Bytes all native handles report to V8 as external memory: tensors plus decoder states' caches. */
  externalBytes: number;
}

type T = NativeTensor;
type Other = T | number | boolean;
type Pair = [T, T];

/** Tensor entry points. Argument checking happens natively; every failure throws a JS Error. */
export interface TensorBinding {
  fromBytes(data: ArrayBufferView | ArrayBuffer, shape: number[], srcDtype: string, dtype?: string, device?: string): T;
  toBytes(t: T, raw?: boolean): ArrayBuffer;
  zeros(shape: number[], dtype?: string, device?: string): T;
  ones(shape: number[], dtype?: string, device?: string): T;
  full(shape: number[], value: number | boolean, dtype?: string, device?: string): T;
  randn(shape: number[], dtype?: string, device?: string): T;
  rand(shape: number[], dtype?: string, device?: string): T;
  randint(low: number, high: number, shape: number[], dtype?: string, device?: string): T;
  arange(start: number, end: number, step: number, dtype?: string, device?: string): T;
  manualSeed(seed: number): void;
  /** The CPU generator's state (uint8), as torch.get_rng_state(). */
  rngState(): T;
  setRngState(state: T): void;
  shape(t: T): number[];
  dtype(t: T): string;
  device(t: T): string;
  describe(t: T): string;
  dispose(t: T): void;
  isDisposed(t: T): boolean;
  memoryStats(): MemoryStats;
  version(): RuntimeInfo;
  cudaDeviceCount(): number;
  setNumThreads(n: number): void;

  neg(t: T): T;
  exp(t: T): T;
  log(t: T): T;
  sqrt(t: T): T;
  abs(t: T): T;
  relu(t: T): T;
  sigmoid(t: T): T;
  tanh(t: T): T;
  logicalNot(t: T): T;
  add(a: T, b: Other): T;
  sub(a: T, b: Other): T;
  mul(a: T, b: Other): T;
  div(a: T, b: Other): T;
  pow(a: T, b: Other): T;
  maximum(a: T, b: Other): T;
  minimum(a: T, b: Other): T;
  eq(a: T, b: Other): T;
  ne(a: T, b: Other): T;
  lt(a: T, b: Other): T;
  le(a: T, b: Other): T;
  gt(a: T, b: Other): T;
  ge(a: T, b: Other): T;
  matmul(a: T, b: T): T;
  matmulAsync(a: T, b: T): Promise<T>;
  sum(t: T, dim?: number | number[], keepdim?: boolean): T;
  mean(t: T, dim?: number | number[], keepdim?: boolean): T;
  max(t: T): T;
  max(t: T, dim: number, keepdim?: boolean): Pair;
  min(t: T): T;
  min(t: T, dim: number, keepdim?: boolean): Pair;
  argmax(t: T, dim?: number, keepdim?: boolean): T;
  softmax(t: T, dim: number): T;
  logSoftmax(t: T, dim: number): T;
  topk(t: T, k: number, dim?: number, largest?: boolean, sorted?: boolean): Pair;
  gather(t: T, dim: number, index: T): T;
  indexSelect(t: T, dim: number, index: T): T;
  maskedFill(t: T, mask: T, value: Other): T;
  where(cond: T, x: Other, y: Other): T;
  sort(t: T, dim?: number, descending?: boolean): Pair;
  cumsum(t: T, dim: number): T;
  multinomial(probs: T, numSamples: number, replacement?: boolean): T;
  indexFill(t: T, dim: number, index: T, value: number | boolean): T;

  view(t: T, shape: number[]): T;
  reshape(t: T, shape: number[]): T;
  transpose(t: T, d0: number, d1: number): T;
  permute(t: T, dims: number[]): T;
  contiguous(t: T): T;
  clone(t: T): T;
  detach(t: T): T;
  squeeze(t: T, dim?: number): T;
  unsqueeze(t: T, dim: number): T;
  expand(t: T, shape: number[]): T;
  narrow(t: T, dim: number, start: number, length: number): T;
  slice(t: T, dim: number, start?: number | null, end?: number | null, step?: number): T;
  cat(ts: T[], dim: number): T;
  stack(ts: T[], dim: number): T;
  to(t: T, dtype?: string | null, device?: string | null): T;

  requiresGrad(t: T): boolean;
  setRequiresGrad(t: T, flag: boolean): void;
  backward(t: T, gradient?: T | null, retainGraph?: boolean): void;
  backwardAsync(t: T, gradient?: T | null, retainGraph?: boolean): Promise<void>;
  grad(t: T): T | null;
  zeroGrad(t: T): void;
  /** Copies src's values into t in place, outside autograd (same shape; dtype and device converted). */
  assign(t: T, src: T): void;
  setGradEnabled(enabled: boolean): boolean;
  isGradEnabled(): boolean;
  autocastState(): NativeAutocastState;
  /** Sets the JS thread's autocast state; returns the previous one. */
  setAutocastState(state: NativeAutocastState): NativeAutocastState;
}

/** torch.autocast's thread-local state for the CPU and CUDA. */
export interface NativeAutocastState {
  cpu: boolean;
  cuda: boolean;
  cpuDtype: 'bfloat16' | 'float16';
  cudaDtype: 'bfloat16' | 'float16';
}
