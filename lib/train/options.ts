/**
 * The training family's options: what `train` and `distill` take (stop rules, optimizer, schedule, batching,
 * validation, checkpoints, feedback), their one set of defaults ({@link TRAINING_DEFAULTS}, XLM's MT recipe
 * where XLM has one) and their one check, {@link resolveTrainingOptions}. The loss knobs (label smoothing, and
 * for distill temperature and alpha) are the loss family's (lib/loss/options.ts); the CLI resolves its flags
 * through the same function, naming the flags in its errors.
 */
import { type OptionNamer, OptionReader, optionNames } from '../common/options';
import type { Batcher, BatcherOptions, TokenPair } from '../data/batcher';
import type { PairSource } from '../data/pair-source';
import type { ProcessGroup } from '../distributed/process-group';
import { LOSS_DEFAULTS } from '../loss/options';
import { type Precision, resolveDevice, resolvePrecision } from '../tensor/device';
import type { Device } from '../tensor/dtype';
import type { StepMetrics, ValidMetrics } from './metrics';
import { type AdamOptions, readBetas } from './optimizer';
import { INVERSE_SQRT_DEFAULTS, inverseSqrt, type Schedule } from './schedule';
import type { ValidationData } from './validate';

/** Options every training run takes (teacher or student). */
export interface TrainingOptions {
  /** Tokenized training pairs in memory or a PairSource such as a token store's (batched with `batching`), or a ready Batcher. */
  data: TokenPair[] | PairSource | Batcher;
  /** Batching of `data` when it is pairs (default: the Batcher's, seeded by `seed`). */
  batching?: BatcherOptions;
  /** Held-out data: loss/perplexity, and BLEU/chrF with text and a tokenizer. */
  valid?: ValidationData;
  /** Run folder: config.json, metrics.jsonl, checkpoints/. A run with a checkpoint there resumes from it. */
  runDir?: string;
  /** Optimizer (default Adam, betas [0.9, 0.98] as XLM's MT recipes, lr 5e-4). */
  optimizer?: AdamOptions & { kind?: 'adam' | 'adamw' };
  /** Learning rate per update (default XLM's inverse sqrt: `warmupUpdates` of linear warm-up to optimizer.lr). */
  schedule?: Schedule;
  /** Warm-up updates of the default schedule (default 4000, XLM's; not with `schedule`). */
  warmupUpdates?: number;
  /** Label smoothing of the cross-entropy (default the loss family's, 0.1). */
  labelSmoothing?: number;
  /** Batches per optimizer update (default 1). */
  accumulate?: number;
  /** Gradient-norm clipping (default 5, as XLM; Infinity = none). */
  clipNorm?: number;
  /** Stop after this many updates / epochs / seconds of training (at least one must be given). */
  maxSteps?: number;
  /** Stop after this many epochs. */
  maxEpochs?: number;
  /** Stop after this many seconds of training (across resumes). */
  maxSeconds?: number;
  /**
   * Decay of an exponential moving average of the weights (e.g. 0.9999), used for validation and saved in
   * each checkpoint as `model.ema.safetensors` beside the raw `model.safetensors`.
   */
  ema?: number;
  /** Validate every N updates (default: at the end of each epoch and of the run). */
  validateEvery?: number;
  /** Save a checkpoint every N updates (default: at each validation and at the end). */
  saveEvery?: number;
  /** Stop after this many validations without a better score (BLEU when decoded, else -loss). */
  patience?: number;
  /** A metrics line (and a progress line) every N updates (default 10). */
  logEvery?: number;
  /** Seed of LibTorch's generator (dropout) and of the batch order (default 0). */
  seed?: number;
  /** Train with dropout (default true); false trains in eval mode. */
  dropout?: boolean;
  /** Stop with an error after this many non-finite losses or gradient norms in a row (default 10). */
  maxBadSteps?: number;
  /** Called after each update, each validation and each epoch. */
  onStep?: (m: StepMetrics) => void;
  /** Called after each validation. */
  onValidate?: (m: ValidMetrics) => void;
  /** Called after each epoch, with its 0-based index. */
  onEpochEnd?: (epoch: number) => void;
  /** Stops the run after the current update; a checkpoint is saved first (with runDir). */
  signal?: AbortSignal;
  /** Also stop (and save) on SIGINT/SIGTERM (default false; the CLI turns it on). */
  handleSignals?: boolean;
  /** Where progress lines go (default console.log); null for silence. */
  log?: ((line: string) => void) | null;
  /**
   * A live progress bar (loss, lr, tokens/s, ETA) instead of progress lines: true draws it on stderr, a
   * stream draws it there. Default: on when stderr is a terminal and `log` is not given.
   */
  progressBar?: boolean | NodeJS.WritableStream;
  /** LibTorch intra-op threads during the run (default: as set by setNumThreads); restored afterwards. */
  threads?: number;
  /** Train on this device: the model is moved there first (default: where the model is). Batches follow the model. */
  device?: Device;
  /**
   * 'fp32' (default), 'bf16' or 'fp16': forward passes under autocast in that precision, with float32 master
   * weights and optimizer state; 'fp16' also scales its loss dynamically (GradScaler, its state in checkpoints).
   */
  precision?: Precision;
  /**
   * Train data-parallel over this joined group (lib/distributed; `xlm-kd train --nproc N` makes one per
   * rank). Every rank calls with the same model, data and options; gradients are averaged across ranks,
   * each rank trains on its share of the batches, and rank 0 alone validates, logs and writes `runDir`.
   * A group of one rank is the same as none.
   */
  group?: ProcessGroup;
}

/** The defaults of {@link TrainingOptions} (label smoothing: {@link LOSS_DEFAULTS}; warm-up: {@link INVERSE_SQRT_DEFAULTS}). */
export const TRAINING_DEFAULTS = Object.freeze({
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the assertion widens the frozen default's type (typescript-eslint#12376)
  optimizer: Object.freeze({ kind: 'adam' as 'adam' | 'adamw', lr: 5e-4, betas: Object.freeze<[number, number]>([0.9, 0.98]) }),
  accumulate: 1,
  clipNorm: 5,
  logEvery: 10,
  seed: 0,
  dropout: true,
  maxBadSteps: 10,
});

/** The keys of {@link TrainingOptions}. */
export const TRAINING_OPTION_KEYS: readonly string[] = [
  'data',
  'batching',
  'valid',
  'runDir',
  'optimizer',
  'schedule',
  'warmupUpdates',
  'labelSmoothing',
  'accumulate',
  'clipNorm',
  'maxSteps',
  'maxEpochs',
  'maxSeconds',
  'ema',
  'validateEvery',
  'saveEvery',
  'patience',
  'logEvery',
  'seed',
  'dropout',
  'maxBadSteps',
  'onStep',
  'onValidate',
  'onEpochEnd',
  'signal',
  'handleSignals',
  'log',
  'progressBar',
  'threads',
  'device',
  'precision',
  'group',
];

/** The options the trainer uses as given (data, callbacks, streams, the group). */
type PassedThrough = Pick<
  TrainingOptions,
  'data' | 'batching' | 'valid' | 'runDir' | 'onStep' | 'onValidate' | 'onEpochEnd' | 'signal' | 'handleSignals' | 'log' | 'progressBar' | 'group'
>;

/** {@link TrainingOptions} with defaults filled and values checked. */
export interface ResolvedTrainingOptions extends PassedThrough {
  /** {@inheritDoc TrainingOptions.maxSteps} */
  maxSteps?: number;
  /** {@inheritDoc TrainingOptions.maxEpochs} */
  maxEpochs?: number;
  /** {@inheritDoc TrainingOptions.maxSeconds} */
  maxSeconds?: number;
  /** {@inheritDoc TrainingOptions.ema} */
  ema?: number;
  /** Adam or AdamW (`optimizer.kind`; default 'adam'). */
  optimizerKind: 'adam' | 'adamw';
  /** The optimizer's settings, `lr` and `betas` filled in. */
  optimizer: AdamOptions & { lr: number; betas: [number, number] };
  /** The learning-rate schedule: the one given, else inverse sqrt over `warmupUpdates`. */
  schedule: Schedule;
  /** {@inheritDoc TrainingOptions.labelSmoothing} */
  labelSmoothing: number;
  /** {@inheritDoc TrainingOptions.accumulate} */
  accumulate: number;
  /** {@inheritDoc TrainingOptions.clipNorm} */
  clipNorm: number;
  /** {@inheritDoc TrainingOptions.validateEvery} */
  validateEvery?: number;
  /** {@inheritDoc TrainingOptions.saveEvery} */
  saveEvery?: number;
  /** {@inheritDoc TrainingOptions.patience} */
  patience?: number;
  /** {@inheritDoc TrainingOptions.logEvery} */
  logEvery: number;
  /** {@inheritDoc TrainingOptions.seed} */
  seed: number;
  /** {@inheritDoc TrainingOptions.dropout} */
  dropout: boolean;
  /** {@inheritDoc TrainingOptions.maxBadSteps} */
  maxBadSteps: number;
  /** {@inheritDoc TrainingOptions.threads} */
  threads?: number;
  /** {@inheritDoc TrainingOptions.device} */
  device?: Device;
  /** {@inheritDoc TrainingOptions.precision} */
  precision: Precision;
  /** What goes into config.json (and, with the caller's description, the run's fingerprint). */
  serializable: Record<string, unknown>;
}

/**
 * Fills {@link TRAINING_DEFAULTS} and checks every value. `extraKeys` are the caller's own options in the same
 * object (distill's); `names` names the options in errors (the CLI's flags).
 */
export function resolveTrainingOptions(
  where: string,
  opts: unknown,
  extraKeys: readonly string[] = [],
  names: OptionNamer = optionNames
): ResolvedTrainingOptions {
  const r = new OptionReader(where, opts, [...TRAINING_OPTION_KEYS, ...extraKeys], names);
  return readTrainingOptions(r);
}

function passedThrough(r: OptionReader): PassedThrough {
  const data = r.raw('data') as TrainingOptions['data'] | undefined;
  if (data === undefined) throw new TypeError(`${r.head}${r.name('data')} is required (token pairs or a Batcher)`);
  const get = <K extends keyof PassedThrough>(key: K) => r.raw(key) as PassedThrough[K];
  return {
    data,
    batching: get('batching'),
    valid: get('valid'),
    runDir: get('runDir'),
    onStep: get('onStep'),
    onValidate: get('onValidate'),
    onEpochEnd: get('onEpochEnd'),
    signal: get('signal'),
    handleSignals: r.boolean('handleSignals', false),
    log: get('log'),
    progressBar: get('progressBar'),
    group: get('group'),
  };
}

/** The training fields of an options object, read with the caller's reader. */
export function readTrainingOptions(r: OptionReader): ResolvedTrainingOptions {
  const D = TRAINING_DEFAULTS;
  const positive = { min: 0, above: true };
  const maxSteps = r.integer('maxSteps', undefined, 1);
  const maxEpochs = r.integer('maxEpochs', undefined, 1);
  const maxSeconds = r.number('maxSeconds', undefined, positive);
  if (maxSteps === undefined && maxEpochs === undefined && maxSeconds === undefined) {
    throw new TypeError(`${r.head}say when to stop: ${r.name('maxSteps')}, ${r.name('maxEpochs')} or ${r.name('maxSeconds')}`);
  }
  const o = r.nested('optimizer', ['kind', 'lr', 'betas', 'eps', 'weightDecay']);
  const lr = o.number('lr', D.optimizer.lr, positive);
  const betas = readBetas(o, D.optimizer.betas);
  const eps = o.number('eps', undefined, { min: 0 });
  const weightDecay = o.number('weightDecay', undefined, { min: 0 });
  const optimizer = { lr, betas, ...(eps !== undefined ? { eps } : {}), ...(weightDecay !== undefined ? { weightDecay } : {}) };
  const warmupUpdates = r.integer('warmupUpdates', undefined, 0);
  const given = r.func<Schedule>('schedule', undefined, 'a function of the step (see inverseSqrt)');
  if (given && warmupUpdates !== undefined)
    throw new TypeError(`${r.head}${r.name('warmupUpdates')} sets the default schedule: leave it out when giving ${r.name('schedule')}`);
  const schedule = given ?? inverseSqrt({ lr, warmupUpdates: warmupUpdates ?? INVERSE_SQRT_DEFAULTS.warmupUpdates });
  const resolved: ResolvedTrainingOptions = {
    maxSteps,
    maxEpochs,
    maxSeconds,
    ema: r.number('ema', undefined, { min: 0, max: 1, above: true, below: true }),
    optimizerKind: o.oneOf('kind', ['adam', 'adamw'] as const, D.optimizer.kind),
    optimizer,
    schedule,
    labelSmoothing: r.number('labelSmoothing', LOSS_DEFAULTS.labelSmoothing, { min: 0, max: 1, below: true }),
    accumulate: r.integer('accumulate', D.accumulate, 1),
    clipNorm: r.number('clipNorm', D.clipNorm, { ...positive, infinite: true }),
    validateEvery: r.integer('validateEvery', undefined, 1),
    saveEvery: r.integer('saveEvery', undefined, 1),
    patience: r.integer('patience', undefined, 1),
    logEvery: r.integer('logEvery', D.logEvery, 1),
    seed: r.integer('seed', D.seed, 0),
    dropout: r.boolean('dropout', D.dropout),
    maxBadSteps: r.integer('maxBadSteps', D.maxBadSteps, 1),
    threads: r.integer('threads', undefined, 1),
    device: r.raw('device') === undefined ? undefined : resolveDevice(r.where, r.raw('device'), 'device', () => r.name('device')),
    precision: resolvePrecision(r.where, r.raw('precision'), 'precision', () => r.name('precision')),
    serializable: {},
    ...passedThrough(r),
  };
  resolved.serializable = {
    optimizer: { kind: resolved.optimizerKind, ...optimizer },
    labelSmoothing: resolved.labelSmoothing,
    accumulate: resolved.accumulate,
    ...(warmupUpdates !== undefined ? { warmupUpdates } : {}),
    clipNorm: resolved.clipNorm,
    maxSteps,
    maxEpochs,
    maxSeconds,
    ema: resolved.ema,
    validateEvery: resolved.validateEvery,
    saveEvery: resolved.saveEvery,
    patience: resolved.patience,
    seed: resolved.seed,
    dropout: resolved.dropout,
    precision: resolved.precision,
  };
  return resolved;
}
