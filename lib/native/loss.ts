/** The loss part of the raw binding (native/loss): the fused distillation loss and its reference. */
import type { NativeTensor as T } from './tensor';

/** The teacher of a loss call, as the native side reads it. */
export type NativeLossTeacher =
  { kind: 'logits'; logits: T } | { kind: 'sparse'; indices: T; logProbs: T } | { kind: 'hidden'; hidden: T; weight: T; bias: T | null };

/** The loss options, resolved and checked by lib/loss/options.ts. */
interface NativeLossOptions {
  temperature: number;
  alpha: number;
  labelSmoothing: number;
  ignoreIndex: number;
  reduction: 'mean' | 'sum' | 'none';
  /** Dense form: the gradient into the student's own storage. */
  gradInPlace?: boolean;
}

/** Loss entry points. Each returns [loss, kd, ce]. */
export interface LossBinding {
  /** Fused distillation loss over student logits (teacher: logits or sparse). */
  distillLoss(student: T, teacher: NativeLossTeacher, targets: T | null, options: NativeLossOptions): [T, T, T];
  distillLossAsync(student: T, teacher: NativeLossTeacher, targets: T | null, options: NativeLossOptions): Promise<[T, T, T]>;
  /** The same loss as the plain LibTorch composition (log_softmax, kl_div, cross_entropy) with autograd. */
  distillLossReference(student: T, teacher: NativeLossTeacher, targets: T | null, options: NativeLossOptions): [T, T, T];
  /** Chunked fused-linear form; chunkSize 0 = automatic. */
  distillLossChunked(
    hidden: T,
    weight: T,
    bias: T | null,
    teacher: NativeLossTeacher,
    targets: T | null,
    options: NativeLossOptions & { chunkSize: number }
  ): [T, T, T];
  distillLossChunkedAsync(
    hidden: T,
    weight: T,
    bias: T | null,
    teacher: NativeLossTeacher,
    targets: T | null,
    options: NativeLossOptions & { chunkSize: number }
  ): Promise<[T, T, T]>;
  distillLossDefaultChunkSize(rows: number, vocab: number, device?: string, elementSize?: number): number;
  /** The CPU kernel variant in use ('DEFAULT' | 'AVX2' | 'AVX512'); selects one first when given ('auto' too). */
  distillLossKernel(name?: string): string;
}
