/**
 * The end of a training stage: the best validated checkpoint's weights (the averaged ones when the run kept an
 * average), or the last, written as the model file with its tokenizer beside it; or, when a signal stopped the
 * run, an {@link InterruptedRun} that says how to continue.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { saveTokenizerBeside } from '../data/load-tokenizer';
import type { Tokenizer } from '../data/tokenizer';
import { CheckpointStore } from '../train/checkpoint';
import type { TrainResult } from '../train/trainer';

/** Thrown when a run was stopped by Ctrl-C/SIGTERM (or an abort) after saving: the CLI exits 130 with this message. */
export class InterruptedRun extends Error {
  /**
   * @param run - the run folder holding the checkpoint.
   * @param step - the update the run stopped at.
   */
  constructor(
    readonly run: string,
    readonly step: number
  ) {
    super(`stopped at update ${step}, checkpoint saved in ${run}; run the same command again to continue`);
    this.name = 'InterruptedRun';
  }
}

/**
 * After training: throws {@link InterruptedRun} when a signal stopped it, else copies the weights to `out`
 * (atomically) with the tokenizer's files beside it, so `xlm-kd translate --model out` finds it.
 * Returns the weights' source file.
 */
export async function finishRun(result: TrainResult, run: string, out: string, tokenizer: Tokenizer): Promise<string> {
  if (result.stoppedBy === 'signal' || result.stoppedBy === 'abort') throw new InterruptedRun(run, result.steps);
  const store = new CheckpointStore(run);
  const folder = store.folder('best') ?? store.folder('last');
  if (folder === undefined) throw new Error(`${run} has no checkpoint to export`);
  const ema = path.join(folder, 'model.ema.safetensors');
  const weights = fs.existsSync(ema) ? ema : path.join(folder, 'model.safetensors');
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  await fs.promises.copyFile(weights, `${out}.tmp`);
  await fs.promises.rename(`${out}.tmp`, out);
  await saveTokenizerBeside(tokenizer, out);
  return weights;
}

/** One line about a finished run. */
export function describeRun(result: TrainResult, weights: string): string {
  const best = result.best ? `, best valid ${result.best.score.toFixed(2)} at update ${result.best.step}` : '';
  return `${result.steps} updates, ${result.epoch} epochs, ${(result.seconds / 60).toFixed(1)} min (${result.stoppedBy})${best}; weights from ${weights}`;
}
