/**
 * What `xlm-kd train` and `xlm-kd distill` share: the training flags and their defaults, loading a data
 * folder for training and validation, and finishing a run (the best checkpoint's weights written as the
 * model file with its tokenizer beside it, or a "run it again to continue" after Ctrl-C).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SentencePiece } from '../data/tokenizer';
import { TokenPair } from '../data/batcher';
import { CheckpointStore } from '../train/checkpoint';
import { inverseSqrt } from '../train/schedule';
import { TrainingOptions, TrainResult } from '../train/trainer';
import { FlagValues, int, num, str } from './args';
import { rankFlagSpecs, rankFlagsHelp } from './ranks';
import { readSplit, tokenizePairs } from './data-folder';
import { UsageError } from './io';

/** parseArgs specs of the shared flags. */
export const trainingFlagSpecs = {
  data: { type: 'string', short: 'd' }, tokenizer: { type: 'string', short: 't' }, run: { type: 'string', short: 'r' },
  out: { type: 'string', short: 'o' }, 'max-steps': { type: 'string' }, 'max-epochs': { type: 'string' }, 'max-minutes': { type: 'string' },
  'max-tokens': { type: 'string' }, lr: { type: 'string' }, warmup: { type: 'string' }, 'label-smoothing': { type: 'string' },
  'clip-norm': { type: 'string' }, accumulate: { type: 'string' }, ema: { type: 'string' }, 'valid-every': { type: 'string' },
  'valid-sentences': { type: 'string' }, 'valid-beam': { type: 'string' }, patience: { type: 'string' }, seed: { type: 'string' },
  threads: { type: 'string' }, 'no-dropout': { type: 'boolean' }, ...rankFlagSpecs,
} as const;

/** The help text of the shared flags. */
export const trainingFlagsHelp = `Data and run:
  -d, --data DIR           a data folder from 'xlm-kd data'; required
  -t, --tokenizer FILE     SentencePiece model (default: DIR/tokenizer.model)
  -r, --run DIR            run folder: checkpoints, metrics.jsonl, curves.svg; required.
                           Run the same command again to resume after Ctrl-C or a crash.
  -o, --out FILE           the trained model (default RUN/model.safetensors; tokenizer.model is
                           copied beside it): the best validated checkpoint, or the last one
Stopping (at least one):
      --max-steps N        optimizer updates
      --max-epochs N       passes over the training split
      --max-minutes X      minutes of training (resumed time counts)
Optimization:
      --max-tokens N       padded tokens per batch (default 4096)
      --lr X               peak learning rate (default 5e-4), Adam (0.9, 0.98)
      --warmup N           linear warm-up updates, then inverse square root (default 4000)
      --label-smoothing X  (default 0.1)
      --clip-norm X        gradient-norm clipping (default 5)
      --accumulate N       batches per update (default 1)
      --ema X              keep an average of the weights with this decay (e.g. 0.999); used for
                           validation and saved as the model
      --no-dropout         train without dropout
      --seed N             dropout and batch order (default 0)
      --threads N          LibTorch threads for the run
Validation (on the valid split, each time):
      --valid-every N      every N updates (default: each epoch and at the end)
      --valid-sentences N  sentences decoded for BLEU/chrF (default 200)
      --valid-beam N       beam size of that decode (default 1: greedy)
      --patience N         stop after N validations without a better BLEU
${rankFlagsHelp}`;

/** The training split tokenized, and the valid split for loss and BLEU. */
export interface LoadedData {
  tokenizer: SentencePiece;
  tokenizerPath: string;
  train: TokenPair[];
  valid?: TrainingOptions['valid'];
}

/** Reads and tokenizes a data folder's train and valid splits. */
export async function loadTrainingData(dataDir: string, tokenizerPath: string | undefined, validSentences = 200, validBeam = 1): Promise<LoadedData> {
  const tokPath = tokenizerPath ?? path.join(dataDir, 'tokenizer.model');
  if (!fs.existsSync(tokPath)) {
    throw new Error(`no tokenizer at ${tokPath}; train one with 'xlm-kd tokenizer --data ${dataDir} --out ${tokPath}' or pass --tokenizer`);
  }
  const tokenizer = SentencePiece.load(tokPath);
  const trainPairs = await readSplit(dataDir, 'train');
  if (trainPairs.length === 0) throw new Error(`${dataDir} has no training pairs`);
  const validPairs = await readSplit(dataDir, 'valid');
  const train = await tokenizePairs(tokenizer, trainPairs);
  const valid = validPairs.length
    ? {
        pairs: await tokenizePairs(tokenizer, validPairs), sources: validPairs.map((p) => p.src), references: validPairs.map((p) => p.tgt),
        tokenizer, maxSentences: validSentences, beamSize: validBeam,
      }
    : undefined;
  return { tokenizer, tokenizerPath: tokPath, train, valid };
}

/** The run-folder and data flags every training command requires. */
export function runFlags(v: FlagValues): { data: string; run: string; tokenizer?: string; out: string } {
  const data = str(v, 'data');
  const run = str(v, 'run');
  if (data === undefined) throw new UsageError('--data is required');
  if (run === undefined) throw new UsageError('--run is required');
  return { data, run, tokenizer: str(v, 'tokenizer'), out: str(v, 'out') ?? path.join(run, 'model.safetensors') };
}

/** TrainingOptions from the shared flags (without data, valid and the run folder). */
export function trainingOptions(v: FlagValues): Omit<TrainingOptions, 'data'> {
  const maxSteps = int(v, 'max-steps', 1);
  const maxEpochs = int(v, 'max-epochs', 1);
  const maxMinutes = num(v, 'max-minutes', undefined, 0.01);
  if (maxSteps === undefined && maxEpochs === undefined && maxMinutes === undefined) {
    throw new UsageError('say when to stop: --max-steps, --max-epochs or --max-minutes');
  }
  const lr = num(v, 'lr', 5e-4, 1e-9, 10)!;
  const ema = num(v, 'ema', undefined, 0, 0.999999999);
  return {
    maxSteps, maxEpochs, maxSeconds: maxMinutes === undefined ? undefined : maxMinutes * 60,
    batching: { maxTokens: int(v, 'max-tokens', 16, 4096), seed: int(v, 'seed', 0, 0) },
    optimizer: { lr, betas: [0.9, 0.98] }, schedule: inverseSqrt({ lr, warmupUpdates: int(v, 'warmup', 0, 4000) }),
    labelSmoothing: num(v, 'label-smoothing', 0.1, 0, 0.999), clipNorm: num(v, 'clip-norm', 5, 0), accumulate: int(v, 'accumulate', 1, 1),
    ema, validateEvery: int(v, 'valid-every', 1), patience: int(v, 'patience', 1), seed: int(v, 'seed', 0, 0),
    threads: int(v, 'threads', 1), dropout: v['no-dropout'] !== true, handleSignals: true,
  };
}

/** Validation flags for {@link loadTrainingData}. */
export function validFlags(v: FlagValues): { sentences: number; beam: number } {
  return { sentences: int(v, 'valid-sentences', 1, 200)!, beam: int(v, 'valid-beam', 1, 1)! };
}

/** Thrown when a run was stopped by Ctrl-C/SIGTERM after saving: the CLI exits 130 with this message. */
export class InterruptedRun extends Error {
  constructor(readonly run: string, readonly step: number) {
    super(`stopped at update ${step}, checkpoint saved in ${run}; run the same command again to continue`);
    this.name = 'InterruptedRun';
  }
}

/**
 * After training: throws {@link InterruptedRun} when a signal stopped it, else writes the best validated
 * checkpoint's weights (the averaged ones when the run kept an average), or the last, to `out`, with the
 * tokenizer copied beside it as tokenizer.model so `xlm-kd translate --model out` finds it.
 */
export async function finishRun(result: TrainResult, run: string, out: string, tokenizerPath: string): Promise<string> {
  if (result.stoppedBy === 'signal' || result.stoppedBy === 'abort') throw new InterruptedRun(run, result.steps);
  const store = new CheckpointStore(run);
  const folder = store.folder('best') ?? store.folder('last');
  if (folder === undefined) throw new Error(`${run} has no checkpoint to export`);
  const ema = path.join(folder, 'model.ema.safetensors');
  const weights = fs.existsSync(ema) ? ema : path.join(folder, 'model.safetensors');
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  await fs.promises.copyFile(weights, `${out}.tmp`);
  await fs.promises.rename(`${out}.tmp`, out);
  const tokenizerCopy = path.join(path.dirname(path.resolve(out)), 'tokenizer.model');
  if (path.resolve(tokenizerPath) !== tokenizerCopy) await fs.promises.copyFile(tokenizerPath, tokenizerCopy);
  return weights;
}

/** One line about a finished run. */
export function describeRun(result: TrainResult, weights: string): string {
  const best = result.best ? `, best valid ${result.best.score.toFixed(2)} at update ${result.best.step}` : '';
  return `${result.steps} updates, ${result.epoch} epochs, ${(result.seconds / 60).toFixed(1)} min (${result.stoppedBy})${best}; weights from ${weights}`;
}

