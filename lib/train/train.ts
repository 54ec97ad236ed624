/**
 * `train(model, options)`: trains a model (typically the Teacher) on parallel data with token-level
 * cross-entropy (label-smoothed), with everything the shared loop offers (lib/train/trainer.ts).
 */
import { crossEntropyAsync } from '../loss/cross-entropy';
import type { Seq2Seq } from '../models/seq2seq';
import { resolveTrainingOptions, type TrainingOptions } from './options';
import { runTraining, type TrainResult } from './trainer';

/** Trains `model` with cross-entropy; resumes from `runDir` when it holds a checkpoint of the same run. */
export async function train(model: Seq2Seq, options: TrainingOptions): Promise<TrainResult> {
  const o = resolveTrainingOptions('train', options);
  const { labelSmoothing } = o;
  return runTraining(
    model,
    async (m, batch) => {
      const logits = await m.forwardAsync(batch);
      try {
        return await crossEntropyAsync(logits, batch.tgtOut, { labelSmoothing, ignoreIndex: m.padIndex, reduction: 'sum' });
      } finally {
        logits.dispose();
      }
    },
    o,
    { task: 'train', labelSmoothing }
  );
}
