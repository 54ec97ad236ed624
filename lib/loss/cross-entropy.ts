/**
 * Token-level cross-entropy with label smoothing for training a teacher: the fused distillation kernel with
 * alpha = 0, which computes loss and gradient in one pass over the logits and never reads a teacher.
 */
import type { Tensor } from '../tensor/tensor';
import { distillLoss, distillLossAsync, type DistillLossResult } from './distill';
import type { LossOptions } from './options';

/**
 * Options of {@link crossEntropy}: the loss family's `labelSmoothing` (default 0.1; 0 is
 * `F.cross_entropy`'s default), `ignoreIndex` (default 2, XLM's pad) and `reduction` (default 'mean').
 */
export type CrossEntropyOptions = Pick<LossOptions, 'labelSmoothing' | 'ignoreIndex' | 'reduction'>;

/**
 * `F.cross_entropy(logits, targets, ignore_index, label_smoothing)` over logits `[N, V]` or `[B, T, V]`;
 * `loss.backward()` fills the logits' gradient. `kd` of the result is 0.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): DistillLossResult {
  // With alpha = 0 the kernel skips the KD term and never reads the teacher argument.
  const unused = logits.detach();
  try {
    return distillLoss(logits, unused, targets, { ...opts, alpha: 0, temperature: 1 });
  } finally {
    unused.dispose();
  }
}

/** {@link crossEntropy} on the compute thread. */
export async function crossEntropyAsync(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Promise<DistillLossResult> {
  const unused = logits.detach();
  try {
    return await distillLossAsync(logits, unused, targets, { ...opts, alpha: 0, temperature: 1 });
  } finally {
    unused.dispose();
  }
}
