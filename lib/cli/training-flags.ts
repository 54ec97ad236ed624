/**
 * What `xlm-kd train` and `xlm-kd distill` share: the training flags, their help (which prints the library's
 * defaults), and turning them into TrainingOptions — only what was given; the library fills the rest and
 * checks everything, naming the flags in its errors.
 */
import * as path from 'node:path';
import { BATCHING_DEFAULTS } from '../data/batcher';
import { LOSS_DEFAULTS } from '../loss/options';
import { VALIDATION_DEFAULTS, type ValidationDecoding } from '../pipeline/training-data';
import { resolveTrainingOptions, TRAINING_DEFAULTS, type TrainingOptions } from '../train/options';
import { INVERSE_SQRT_DEFAULTS } from '../train/schedule';
import { checkFlags, flagNames, type FlagValues, int, num, str } from './args';
import { deviceFlags, deviceFlagSpecs, deviceFlagsHelp } from './device-flags';
import { rankFlagSpecs, rankFlagsHelp } from './ranks';
import { UsageError } from './io';

/** parseArgs specs of the shared flags. */
export const trainingFlagSpecs = {
  data: { type: 'string', short: 'd' },
  tokenizer: { type: 'string', short: 't' },
  run: { type: 'string', short: 'r' },
  out: { type: 'string', short: 'o' },
  'max-steps': { type: 'string' },
  'max-epochs': { type: 'string' },
  'max-minutes': { type: 'string' },
  'max-tokens': { type: 'string' },
  lr: { type: 'string' },
  warmup: { type: 'string' },
  'label-smoothing': { type: 'string' },
  'clip-norm': { type: 'string' },
  accumulate: { type: 'string' },
  ema: { type: 'string' },
  'valid-every': { type: 'string' },
  'valid-sentences': { type: 'string' },
  'valid-beam': { type: 'string' },
  patience: { type: 'string' },
  seed: { type: 'string' },
  threads: { type: 'string' },
  'no-dropout': { type: 'boolean' },
  ...rankFlagSpecs,
  ...deviceFlagSpecs,
} as const;

const T = TRAINING_DEFAULTS;

/** The default each command's help prints for --lr and --warmup (distill's depend on the student kind). */
export interface ScheduleDefaultsHelp {
  /** Replaces "default 0.0005" of --lr. */
  lr: string;
  /** Replaces "default 4000" of --warmup. */
  warmup: string;
}

const TRAINER_SCHEDULE_HELP: ScheduleDefaultsHelp = {
  lr: `default ${T.optimizer.lr}`,
  warmup: `default ${INVERSE_SQRT_DEFAULTS.warmupUpdates}`,
};

/** The help text of the shared flags, with the command's own --lr and --warmup defaults. */
export const trainingFlagsHelp = (schedule: ScheduleDefaultsHelp = TRAINER_SCHEDULE_HELP): string => `Data and run:
  -d, --data DIR           a data folder from 'xlm-kd data'; required
  -t, --tokenizer FILE     tokenizer.model (SentencePiece) or tokenizer.json (XLM); default: the
                           one beside --teacher / --init, else DIR/tokenizer.model
  -r, --run DIR            run folder: checkpoints, metrics.jsonl, curves.svg; required.
                           Run the same command again to resume after Ctrl-C or a crash.
  -o, --out FILE           the trained model (default RUN/model.safetensors; the tokenizer's files
                           are written beside it): the best validated checkpoint, or the last one
Stopping (at least one):
      --max-steps N        optimizer updates
      --max-epochs N       passes over the training split
      --max-minutes X      minutes of training (resumed time counts)
Optimization:
      --max-tokens N       padded tokens per batch (default ${BATCHING_DEFAULTS.maxTokens})
      --lr X               peak learning rate (${schedule.lr}), Adam (${T.optimizer.betas.join(', ')})
      --warmup N           linear warm-up updates, then inverse square root (${schedule.warmup})
      --label-smoothing X  (default ${LOSS_DEFAULTS.labelSmoothing})
      --clip-norm X        gradient-norm clipping (default ${T.clipNorm})
      --accumulate N       batches per update (default ${T.accumulate})
      --ema X              keep an average of the weights with this decay (e.g. 0.999); used for
                           validation and saved as the model
      --no-dropout         train without dropout
      --seed N             dropout and batch order (default ${T.seed})
      --threads N          LibTorch threads for the run
Validation (on the valid split, each time):
      --valid-every N      every N updates (default: each epoch and at the end)
      --valid-sentences N  sentences decoded for BLEU/chrF (default ${VALIDATION_DEFAULTS.sentences})
      --valid-beam N       beam size of that decode (default ${VALIDATION_DEFAULTS.beam}: greedy)
      --patience N         stop after N validations without a better BLEU
${rankFlagsHelp}${deviceFlagsHelp}`;

/** The flag of each training option whose name is not its kebab-case. */
const trainingFlagNames = flagNames({
  maxSeconds: '--max-minutes (in seconds)',
  validateEvery: '--valid-every',
  warmupUpdates: '--warmup',
  'batching.maxTokens': '--max-tokens',
  dropout: '--no-dropout',
});

/** The run-folder and data flags every training command requires. */
export function runFlags(v: FlagValues): { data: string; run: string; tokenizer?: string; out: string } {
  const data = str(v, 'data');
  const run = str(v, 'run');
  if (data === undefined) throw new UsageError('--data is required');
  if (run === undefined) throw new UsageError('--run is required');
  return { data, run, tokenizer: str(v, 'tokenizer'), out: str(v, 'out') ?? path.join(run, 'model.safetensors') };
}

/** TrainingOptions from the flags given (without data, valid and the run folder), checked by the library. */
export function trainingOptions(v: FlagValues): Omit<TrainingOptions, 'data'> {
  const minutes = num(v, 'max-minutes');
  const lr = num(v, 'lr');
  const maxTokens = int(v, 'max-tokens');
  const given: Omit<TrainingOptions, 'data'> = {
    maxSteps: int(v, 'max-steps'),
    maxEpochs: int(v, 'max-epochs'),
    maxSeconds: minutes === undefined ? undefined : minutes * 60,
    batching: maxTokens === undefined ? undefined : { maxTokens },
    optimizer: lr === undefined ? undefined : { lr },
    warmupUpdates: int(v, 'warmup'),
    labelSmoothing: num(v, 'label-smoothing'),
    clipNorm: num(v, 'clip-norm'),
    accumulate: int(v, 'accumulate'),
    ema: num(v, 'ema'),
    validateEvery: int(v, 'valid-every'),
    patience: int(v, 'patience'),
    seed: int(v, 'seed'),
    threads: int(v, 'threads'),
    dropout: v['no-dropout'] === true ? false : undefined,
    handleSignals: true,
    ...deviceFlags(v),
  };
  checkFlags(() => resolveTrainingOptions('', { ...given, data: [] }, [], trainingFlagNames));
  return given;
}

/** Validation flags for loadTrainingData. */
export function validFlags(v: FlagValues): ValidationDecoding {
  return { sentences: int(v, 'valid-sentences', 1), beam: int(v, 'valid-beam', 1) };
}
