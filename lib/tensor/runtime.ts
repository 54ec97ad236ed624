/** Process-wide LibTorch state: version and CUDA report, thread count, grad mode, memory counters. */
import { type AllocatorInfo, type MemoryStats, native, type RuntimeInfo } from '../native';
import { Tensor } from './tensor';

export type { AllocatorInfo, MemoryStats, RuntimeInfo };

/** LibTorch version, CUDA availability and version, thread counts. */
export function version(): RuntimeInfo {
  return native().version();
}

/**
 * The CUDA runtime, named as `torch.cuda`. Without CUDA `isAvailable()` is false, `deviceCount()` 0, and every
 * other function throws an Error that says why (no CUDA LibTorch, or no device). `device` is an index (default:
 * the current device).
 */
export const cuda = {
  /** True when this LibTorch has CUDA and a device is present. */
  isAvailable(): boolean {
    return native().version().cuda;
  },
  /** Number of CUDA devices visible. */
  deviceCount(): number {
    return native().cudaDeviceCount();
  },
  /** Waits for every kernel queued on the device (timings of GPU work need it). */
  synchronize(device?: number): void {
    native().cudaSynchronize(device);
  },
  /** Bytes held by tensors on the device (the caching allocator's count). */
  memoryAllocated(device?: number): number {
    return native().cudaMemoryStats(device).allocated;
  },
  /** The peak of {@link memoryAllocated} since the start or the last {@link resetPeakMemoryStats}. */
  maxMemoryAllocated(device?: number): number {
    return native().cudaMemoryStats(device).maxAllocated;
  },
  /** Bytes the caching allocator holds from the driver (allocated plus cached). */
  memoryReserved(device?: number): number {
    return native().cudaMemoryStats(device).reserved;
  },
  /** Restarts the peak {@link maxMemoryAllocated} counts from now. */
  resetPeakMemoryStats(device?: number): void {
    native().cudaResetPeakMemoryStats(device);
  },
  /** Hands the allocator's unused cached blocks back to the driver. */
  emptyCache(): void {
    native().cudaEmptyCache();
  },
  /** The device generator's state, as `torch.cuda.get_rng_state(device)`; checkpoints keep one per device. */
  getRngState(device = 0): Tensor {
    return new Tensor(native().cudaRngState(device));
  },
  /** Restores the device generator's state from {@link getRngState}'s tensor. */
  setRngState(state: Tensor, device = 0): void {
    if (!(state instanceof Tensor)) throw new TypeError("cuda.setRngState: argument 'state' must be a Tensor from cuda.getRngState()");
    native().cudaSetRngState(device, state.native);
  },
};

/** Sets LibTorch's intra-op thread count (as `torch.set_num_threads`). */
export function setNumThreads(threads: number): void {
  native().setNumThreads(threads);
}

/**
 * Runs `fn` with gradient tracking off (as `torch.no_grad()`), restoring the previous mode after.
 * Synchronous only: grad mode is per thread, so it cannot span an `await`.
 */
export function noGrad<R>(fn: () => R): R {
  const prev = native().setGradEnabled(false);
  try {
    const result = fn();
    if (result instanceof Promise) {
      throw new TypeError('noGrad: fn must be synchronous; native async calls inherit the grad mode when they start');
    }
    return result;
  } finally {
    native().setGradEnabled(prev);
  }
}

/**
 * Starts an async native call with gradient tracking off. Native tasks capture the grad mode when they
 * start (on the JS thread), so only the start needs the guard, and nothing else that runs while the
 * Promise is pending is affected. Used by decoding, which never needs a graph.
 */
export function startWithoutGrad<R>(start: () => Promise<R>): Promise<R> {
  const prev = native().setGradEnabled(false);
  try {
    return start();
  } finally {
    native().setGradEnabled(prev);
  }
}

/**
 * Live native tensors owned by JS objects and their bytes, and the bytes all native handles (tensors,
 * decoder states) report to V8's GC as external memory, which makes V8 collect them before RSS balloons.
 */
export function memoryStats(): MemoryStats {
  return native().memoryStats();
}

/**
 * Which allocator backs CPU tensors ('mimalloc' by default, 'libtorch' with XLM_KD_TORCH_ALLOCATOR=libtorch)
 * and the bytes it has committed, free blocks kept for reuse included.
 */
export function allocatorInfo(): AllocatorInfo {
  return native().allocatorInfo();
}

/**
 * Returns the free memory the CPU allocator keeps for reuse to the OS now, instead of after its purge
 * delay (1 s by default, MIMALLOC_PURGE_DELAY in ms). Useful before measuring RSS or handing memory to
 * another process; never needed for correctness.
 */
export function releaseMemory(): void {
  native().releaseMemory();
}
