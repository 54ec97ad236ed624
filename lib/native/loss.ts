/** The loss part of the raw binding (native/loss): the fused distillation loss and its reference. */
import { NativeTensor as T } from './tensor';

/** Loss entry points. */
export interface LossBinding {
  /** Fused distillation loss; teacherKind 'logits': a = logits; 'sparse': a = indices, b = logProbs. Returns [loss, kd, ce]. */
  distillLoss(
    student: T, teacherKind: 'logits' | 'sparse', a: T, b: T | null, targets: T | null,
    temperature: number, alpha: number, labelSmoothing: number, ignoreIndex: number, reduction: string
  ): [T, T, T];
  /** distillLoss on the compute thread. */
  distillLossAsync(
    student: T, teacherKind: 'logits' | 'sparse', a: T, b: T | null, targets: T | null,
    temperature: number, alpha: number, labelSmoothing: number, ignoreIndex: number, reduction: string
  ): Promise<[T, T, T]>;
  /** The same loss as the plain LibTorch composition (log_softmax, kl_div, cross_entropy) with autograd. */
  distillLossReference(
    student: T, teacherKind: 'logits' | 'sparse', a: T, b: T | null, targets: T | null,
    temperature: number, alpha: number, labelSmoothing: number, ignoreIndex: number, reduction: string
  ): [T, T, T];
  /** Chunked fused-linear form; teacherKind 'hidden': a = hidden, b = weight, c = bias | null. chunkSize 0 = automatic. */
  distillLossChunked(
    hidden: T, weight: T, bias: T | null, teacherKind: 'logits' | 'sparse' | 'hidden', a: T, b: T | null, c: T | null,
    targets: T | null, temperature: number, alpha: number, labelSmoothing: number, ignoreIndex: number,
    reduction: string, chunkSize: number
  ): [T, T, T];
  /** distillLossChunked on the compute thread. */
  distillLossChunkedAsync(
    hidden: T, weight: T, bias: T | null, teacherKind: 'logits' | 'sparse' | 'hidden', a: T, b: T | null, c: T | null,
    targets: T | null, temperature: number, alpha: number, labelSmoothing: number, ignoreIndex: number,
    reduction: string, chunkSize: number
  ): Promise<[T, T, T]>;
  distillLossDefaultChunkSize(rows: number, vocab: number): number;
  /** The CPU kernel variant in use ('DEFAULT' | 'AVX2' | 'AVX512'); selects one first when given ('auto' too). */
  distillLossKernel(name?: string): string;
  /** CUDA caching-allocator bytes on the current device, or null without CUDA kernels. */
  distillLossCudaMemory(reset?: boolean): { allocated: number; peak: number } | null;
}
