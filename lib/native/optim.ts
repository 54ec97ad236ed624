/** The optimizer part of the raw binding (native/optim): Adam/AdamW over a model's parameters. */
import type { NativeTensor as T } from './tensor';

/** An opaque handle to a native optimizer. Only lib/train/optimizer.ts holds these. */
export interface NativeOptimizer {
  readonly __nativeOptimizer: unique symbol;
}

/** An opaque handle to a native parameter average (EMA). Only lib/train/average.ts holds these. */
export interface NativeParameterAverage {
  readonly __nativeParameterAverage: unique symbol;
}

/** Optimizer entry points. */
export interface OptimBinding {
  /** Adam (decoupled = false) or AdamW over the distinct tensors of `params` (tied weights once). */
  /** Options resolved and checked by lib/train/optimizer.ts. */
  optimAdam(params: T[], options: { decoupled: boolean; beta1: number; beta2: number; eps: number; weightDecay: number }): NativeOptimizer;
  /** For each distinct parameter the optimizer keeps (its state's order), its index in the list it was given. */
  optimParamIndices(opt: NativeOptimizer): number[];
  /** One update at learning rate lr; false when skipped (the last clip saw a non-finite norm). */
  optimStep(opt: NativeOptimizer, lr: number): boolean;
  optimStepAsync(opt: NativeOptimizer, lr: number): Promise<boolean>;
  /** The total 2-norm of the gradients; scales them to maxNorm when above it (and finite). */
  optimClipGradNorm(opt: NativeOptimizer, maxNorm: number, gradScale?: number): number;
  optimClipGradNormAsync(opt: NativeOptimizer, maxNorm: number, gradScale?: number): Promise<number>;
  optimZeroGrad(opt: NativeOptimizer): void;
  optimSkippedSteps(opt: NativeOptimizer): number;
  optimState(opt: NativeOptimizer): { steps: number[]; expAvg: T[]; expAvgSq: T[]; skipped: number };
  optimLoadState(opt: NativeOptimizer, steps: number[], expAvg: T[], expAvgSq: T[], skipped: number): void;
  optimDispose(opt: NativeOptimizer): void;
  averageCreate(params: T[]): NativeParameterAverage;
  /** average = decay * average + (1 - decay) * param, for every parameter. */
  averageUpdate(avg: NativeParameterAverage, decay: number): void;
  /** Exchanges the parameters' values and their averages. */
  averageSwap(avg: NativeParameterAverage): void;
  /** Copies of the averages, in parameter order. */
  averageTensors(avg: NativeParameterAverage): T[];
  averageLoad(avg: NativeParameterAverage, values: T[]): void;
  averageDispose(avg: NativeParameterAverage): void;
}
