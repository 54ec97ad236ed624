/** The CUDA runtime part of the raw binding (native/cuda): every call throws a clear error without CUDA. */
import type { NativeTensor as T } from './tensor';

/** Bytes of the CUDA caching allocator on one device. */
interface CudaMemoryStats {
  allocated: number;
  maxAllocated: number;
  reserved: number;
  maxReserved: number;
}

export interface CudaBinding {
  cudaSynchronize(device?: number): void;
  cudaMemoryStats(device?: number): CudaMemoryStats;
  cudaResetPeakMemoryStats(device?: number): void;
  cudaEmptyCache(): void;
  /** The device generator's state (uint8), as torch.cuda.get_rng_state(device). */
  cudaRngState(device: number): T;
  cudaSetRngState(device: number, state: T): void;
}
