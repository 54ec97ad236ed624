/** The memory part of the raw binding (native/memory): LibTorch's CPU allocator. */

/** Which allocator backs CPU tensors, and what it holds (see docs/reference.md "Memory"). */
export interface AllocatorInfo {
  /** 'mimalloc' (the default) or 'libtorch' (XLM_KD_TORCH_ALLOCATOR=libtorch: LibTorch's own). */
  cpu: 'mimalloc' | 'libtorch';
  /** Bytes mimalloc has committed now, free blocks kept for reuse included (0 with 'libtorch'). */
  committedBytes: number;
  /** The most bytes mimalloc had committed at once (0 with 'libtorch'). */
  peakCommittedBytes: number;
  /** How long freed pages stay mapped for reuse before going back to the OS (null with 'libtorch'). */
  purgeDelayMs: number | null;
  /** Whether mimalloc asks for transparent huge pages on its big OS allocations. */
  transparentHugePages: boolean;
}

/** Memory entry points. */
export interface MemoryBinding {
  allocatorInfo(): AllocatorInfo;
  /** Returns the free pages the CPU allocator keeps for reuse to the OS now. */
  releaseMemory(): void;
}
