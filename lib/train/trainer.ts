/**
 * The training loop shared by `train` (a teacher, cross-entropy) and `distill` (a student and a teacher):
 * batches from a Batcher in a per-epoch plan, gradient accumulation, clipping, Adam/AdamW with a schedule,
 * an optional parameter average, validation with early stopping, metrics.jsonl and curves.svg, and checkpoints that resume
 * exactly (weights, optimizer, average, RNG state, data cursor and counters). Forward, loss, backward,
 * clipping and the update run on the compute thread, so the event loop keeps ticking during a step. What
 * differs between the callers is only the loss of one batch.
 *
 * With a ProcessGroup of several ranks the loop is data-parallel (PyTorch DDP's recipe): rank 0's weights
 * everywhere at the start, each rank its share of every epoch's batches (one seed, so no rank needs another's
 * plan), gradients averaged by c10d's Reducer during the last backward of each update, and the loss scaled by
 * the tokens of the whole update across ranks, so the update is the one a single process would make on the
 * union of the ranks' batches. Every decision that ends or skips a step is taken together: stop requests and
 * the time limit go through one small allreduce per update, and a non-finite gradient is non-finite on every
 * rank because gradients are averaged. Rank 0 alone validates and writes the run folder; every rank resumes
 * from it (each with its own RNG state), so a multi-machine run needs the run folder on a shared file system.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Batcher, BatcherOptions, BatchPlan, TokenPair } from '../data/batcher';
import { Batch } from '../data/batch';
import { loadTensors } from '../io/tensor-io';
import { DistillLossResult } from '../loss/distill';
import { DataParallel, shardOf } from '../distributed/data-parallel';
import { ProcessGroup } from '../distributed/process-group';
import { Seq2Seq } from '../models/seq2seq';
import { getRngState, manualSeed, setNumThreads, setRngState, Tensor, tensor, version } from '../tensor';
import { ParameterAverage } from './average';
import { CheckpointStore, TrainerCounters } from './checkpoint';
import { formatDuration, MetricsLog, StepMetrics, ValidMetrics } from './metrics';
import { Adam, AdamOptions, AdamW } from './optimizer';
import { plotMetrics } from './plot';
import { ProgressPosition, TrainingProgress } from './progress';
import { inverseSqrt, Schedule } from './schedule';
import { checkValidationData, validate, ValidationData } from './validate';

/** Options every training run takes (teacher or student). */
export interface TrainingOptions {
  /** Tokenized training pairs (batched with `batching`), or a ready Batcher. */
  data: TokenPair[] | Batcher;
  /** Batching of `data` when it is pairs (default: 4096 tokens per batch, seeded by `seed`). */
  batching?: BatcherOptions;
  /** Held-out data: loss/perplexity, and BLEU/chrF with text and a tokenizer. */
  valid?: ValidationData;
  /** Run folder: config.json, metrics.jsonl, checkpoints/. A run with a checkpoint there resumes from it. */
  runDir?: string;
  /** Optimizer (default Adam, betas [0.9, 0.98] as XLM's MT recipes, lr 5e-4). */
  optimizer?: AdamOptions & { kind?: 'adam' | 'adamw' };
  /** Learning rate per update (default XLM's inverse sqrt with 4000 warm-up updates to optimizer.lr). */
  schedule?: Schedule;
  /** Label smoothing of the cross-entropy (default 0, as XLM). */
  labelSmoothing?: number;
  /** Batches per optimizer update (default 1). */
  accumulate?: number;
  /** Gradient-norm clipping (default 5, as XLM; Infinity = none). */
  clipNorm?: number;
  /** Stop after this many updates / epochs / seconds of training (at least one must be given). */
  maxSteps?: number;
  maxEpochs?: number;
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
  onValidate?: (m: ValidMetrics) => void;
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
  /**
   * Train data-parallel over this joined group (lib/distributed; `xlm-kd train --nproc N` makes one per
   * rank). Every rank calls with the same model, data and options; gradients are averaged across ranks,
   * each rank trains on its share of the batches, and rank 0 alone validates, logs and writes `runDir`.
   * A group of one rank is the same as none.
   */
  group?: ProcessGroup;
}

export type StopReason = 'maxSteps' | 'maxEpochs' | 'maxSeconds' | 'earlyStopping' | 'abort' | 'signal';

export interface TrainResult {
  /** Updates done, in all (resumed runs included). */
  steps: number;
  epoch: number;
  tokens: number;
  seconds: number;
  stoppedBy: StopReason;
  /** Best validation score and its step (null without validation). */
  best: { score: number; step: number } | null;
  /** The last validation, if any ran in this call. */
  lastValidation?: ValidMetrics;
  skippedSteps: number;
  /** Where the run resumed from (undefined for a fresh run). */
  resumedFrom?: string;
}

/**
 * The loss of one batch, summed over its non-pad target tokens (reduction 'sum'); `plan.indices` are the batch's
 * pairs in the Batcher's `pairs` (what an offline teacher cache is indexed by).
 */
export type BatchLoss = (model: Seq2Seq, batch: Batch, plan: BatchPlan) => Promise<DistillLossResult>;

/** @internal Runs the loop for `model` with `lossOf`; `describe` goes into the fingerprint and config.json. */
export async function runTraining(model: Seq2Seq, lossOf: BatchLoss, opts: TrainingOptions, describe: Record<string, unknown>): Promise<TrainResult> {
  const o = resolve(opts);
  if (model.inference !== undefined && model.inference !== 'float32') {
    throw new Error(`train: the model is ${model.inference} for inference (prepack()/quantize()); train the float32 model and convert it afterwards`);
  }
  const group = opts.group && opts.group.worldSize > 1 ? opts.group : undefined;
  const rank = group?.rank ?? 0;
  const world = group?.worldSize ?? 1;
  const lead = rank === 0;
  const batcher = opts.data instanceof Batcher ? opts.data : new Batcher(opts.data, { seed: o.seed, ...opts.batching });
  if (batcher.size === 0) throw new Error('train: the training data is empty (no pair within the batcher\'s maxLength)');
  if (opts.valid) checkValidationData(opts.valid);
  const validBatcher = opts.valid ? new Batcher(opts.valid.pairs, { ...opts.batching, shuffle: false }) : undefined;
  const barStream =
    o.progressBar === true ? process.stderr : o.progressBar === false ? undefined : o.progressBar ?? (opts.log === undefined && process.stderr.isTTY ? process.stderr : undefined);
  const progress = new TrainingProgress({
    log: !lead ? () => undefined : opts.log === undefined ? (l: string) => console.log(l) : opts.log ?? (() => undefined),
    barStream: lead ? barStream : undefined,
    maxSteps: o.maxSteps,
  });
  const log = (line: string) => progress.line(line);
  const threadsBefore = version().threads;
  if (o.threads !== undefined) setNumThreads(o.threads);

  const params = model.namedParameters();
  const Opt = o.optimizerKind === 'adamw' ? AdamW : Adam;
  const optimizer = new Opt(params, o.optimizer);
  const average = o.ema !== undefined ? new ParameterAverage(params) : undefined;
  const fingerprint = hash({
    kind: model.kind, vocab: model.vocabSize, params: model.numParameters(), pairs: batcher.size, ...describe, seed: o.seed, accumulate: o.accumulate,
    ...(group ? { worldSize: world } : {}),
  });
  let c: TrainerCounters = {
    step: 0, epoch: 0, batchInEpoch: 0, tokens: 0, seconds: 0, bestScore: null, bestStep: null, badValidations: 0, skippedSteps: 0, fingerprint,
    ...(group ? { worldSize: world } : {}),
  };

  // Every rank reads the run folder to resume; only rank 0 writes it.
  const store = opts.runDir ? new CheckpointStore(opts.runDir) : undefined;
  const metrics = opts.runDir && lead ? new MetricsLog(path.join(opts.runDir, 'metrics.jsonl')) : undefined;
  let resumedFrom: string | undefined;
  // Each rank its own dropout stream (rank 0's is the single-process one).
  manualSeed(o.seed + rank);
  if (opts.runDir && lead) fs.mkdirSync(opts.runDir, { recursive: true });
  const saved = store ? await store.load('last') : undefined;
  if (saved) {
    const savedWorld = saved.state.counters.worldSize ?? 1;
    if (savedWorld !== world) {
      throw new Error(`train: ${saved.folder} was written by a run of ${savedWorld} rank(s); resume it with ${savedWorld} (this run has ${world})`);
    }
    if (saved.state.counters.fingerprint !== fingerprint) {
      throw new Error(`train: ${saved.folder} is a checkpoint of another run (different model, data or options); use another runDir or remove it`);
    }
    const weights = await loadTensors(saved.model);
    model.loadStateDict(weights.tensors, { strict: true });
    optimizer.loadStateDict(saved.state.tensors);
    if (average) average.loadStateDict(prefixed(saved.state.tensors, 'average.'));
    const rng = saved.state.tensors.get(lead ? 'rng.cpu' : `rng.cpu.rank${rank}`);
    if (!rng) throw new Error(`train: ${saved.folder} has no RNG state${lead ? '' : ` for rank ${rank}`}`);
    setRngState(rng);
    c = saved.state.counters;
    resumedFrom = saved.folder;
    log(`resuming from ${saved.folder} (step ${c.step}, epoch ${c.epoch}, batch ${c.batchInEpoch})`);
  }
  metrics?.truncateAfter(c.step);
  let dp: DataParallel | undefined;
  if (group) {
    // The ranks must continue from one checkpoint (a run folder that only some ranks see would split them).
    const steps = await group.allGather(tensor([c.step], { dtype: 'float64' }));
    const seen = steps.map((t) => Number(t.item()));
    for (const t of steps) t.dispose();
    if (seen.some((s) => s !== seen[0])) {
      throw new Error(`train: the ranks resumed from different steps (${seen.map((s, r) => `rank ${r}: ${s}`).join(', ')}); every rank must see the same runDir`);
    }
    // XLM's encoder keeps a prediction layer that translation never uses: let the Reducer find such parameters.
    dp = await DataParallel.create(group, params, { findUnusedParameters: true });
  }
  if (opts.runDir && lead) {
    fs.writeFileSync(path.join(opts.runDir, 'config.json'), JSON.stringify({ model: { kind: model.kind, vocabSize: model.vocabSize, parameters: model.numParameters() }, ...describe, ...o.serializable }, null, 2) + '\n');
  }

  // Stop requests from the caller's signal or from SIGINT/SIGTERM, acted on between updates.
  let stopRequest: StopReason | undefined;
  const onAbort = () => (stopRequest = 'abort');
  opts.signal?.addEventListener('abort', onAbort);
  const onSignal = () => (stopRequest = 'signal');
  if (opts.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const save = async (best = false) => {
    if (!store) return;
    // Every rank's RNG goes into rank 0's checkpoint, so each resumes its own dropout stream.
    const rngs = group ? await group.allGather(getRngState()) : [getRngState()];
    if (!lead) {
      for (const t of rngs) t.dispose();
      return;
    }
    const tensors = new Map<string, Tensor>(optimizer.stateDict());
    if (average) for (const [n, t] of average.stateDict()) tensors.set(`average.${n}`, t);
    rngs.forEach((t, r) => tensors.set(r === 0 ? 'rng.cpu' : `rng.cpu.rank${r}`, t));
    try {
      // The averaged weights also as a model file of their own, loadable like model.safetensors.
      const extra = average ? (folder: string) => average.withAveraged(() => model.save(path.join(folder, 'model.ema.safetensors'))) : undefined;
      await store.save(model, { counters: c, tensors }, { best, extra });
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  };

  // The curves are a view of metrics.jsonl; a failure to draw them must not end a run.
  const plot = async () => {
    if (!metrics || !opts.runDir || !lead) return;
    try {
      await plotMetrics(metrics.file, path.join(opts.runDir, 'curves.svg'));
    } catch (e) {
      log(`could not draw ${path.join(opts.runDir, 'curves.svg')}: ${(e as Error).message}`);
    }
  };

  let lastValidation: ValidMetrics | undefined;
  let lastValidatedStep = -1;
  const runValidation = async (): Promise<boolean> => {
    if (!opts.valid || !validBatcher) return false;
    lastValidatedStep = c.step;
    if (!lead) {
      await shareValidation();
      await save();
      return true;
    }
    const run = () => validate(model, opts.valid!, validBatcher);
    const r = average ? await average.withAveraged(run) : await run();
    model.train(o.dropout);
    const score = r.bleu ?? -r.loss;
    const best = c.bestScore === null || score > c.bestScore;
    if (best) {
      c.bestScore = score;
      c.bestStep = c.step;
      c.badValidations = 0;
    } else {
      c.badValidations += 1;
    }
    lastValidation = { type: 'valid', step: c.step, epoch: c.epoch, ...r, best, elapsed: c.seconds };
    metrics?.append(lastValidation);
    opts.onValidate?.(lastValidation);
    log(`valid step ${c.step}: loss ${r.loss.toFixed(3)} | ppl ${r.perplexity.toFixed(2)}` + (r.bleu !== undefined ? ` | BLEU ${r.bleu.toFixed(2)} | chrF ${r.chrf!.toFixed(2)}` : '') + (best ? ' (best)' : ''));
    await shareValidation();
    await save(best);
    await plot();
    return true;
  };

  // Rank 0's early-stopping state, for the ranks that wait while it validates.
  const shareValidation = async () => {
    if (!group) return;
    const t = tensor([c.bestScore ?? NaN, c.bestStep ?? -1, c.badValidations], { dtype: 'float64' });
    await group.broadcast(t, 0);
    const [score, step, bad] = Array.from(t.toArray() as Float64Array);
    t.dispose();
    c.bestScore = Number.isNaN(score) ? null : score;
    c.bestStep = step < 0 ? null : step;
    c.badValidations = bad;
  };

  model.train(o.dropout);
  // An epoch's batches (all ranks') and this rank's share of them.
  const planOf = (epoch: number) => {
    const all = batcher.plan(epoch);
    return { all, mine: group ? shardOf(all, rank, world) : all };
  };
  let { all: allPlans, mine: plan } = planOf(c.epoch);
  if (plan.length === 0) throw new Error(`train: ${allPlans.length} batch(es) per epoch cannot feed ${world} ranks; use smaller batches or fewer ranks`);
  if (group) log(`data-parallel over ${world} ranks: ${plan.length} of each epoch's ${allPlans.length} batches per rank, gradients averaged by c10d's Reducer`);
  // Stop decisions every rank agreed on (with a group), see the allreduce after each update.
  let agreed: { stop?: StopReason; secondsUp: boolean } = { secondsUp: o.maxSeconds !== undefined && c.seconds >= o.maxSeconds };
  let stoppedBy: StopReason | undefined;
  let badInARow = 0;
  let window = { tokens: 0, seconds: 0 };
  // Progress in the unit of the first stop rule given, and the ETA from this call's pace.
  const position = (): ProgressPosition =>
    o.maxSteps !== undefined ? { value: c.step, total: o.maxSteps }
    : o.maxSeconds !== undefined ? { value: c.seconds, total: o.maxSeconds }
    : { value: c.epoch * plan.length + c.batchInEpoch, total: o.maxEpochs! * plan.length };
  const start = { position: position().value, seconds: c.seconds };
  const eta = (p: ProgressPosition): number | undefined => {
    const rate = (p.value - start.position) / Math.max(c.seconds - start.seconds, 1e-9);
    return p.total === undefined || rate <= 0 ? undefined : (p.total - p.value) / rate;
  };
  try {
    while (!stoppedBy) {
      if (o.maxSteps !== undefined && c.step >= o.maxSteps) stoppedBy = 'maxSteps';
      else if (o.maxEpochs !== undefined && c.epoch >= o.maxEpochs) stoppedBy = 'maxEpochs';
      else if (o.maxSeconds !== undefined && (group ? agreed.secondsUp : c.seconds >= o.maxSeconds)) stoppedBy = 'maxSeconds';
      else if (o.patience !== undefined && c.badValidations >= o.patience) stoppedBy = 'earlyStopping';
      else if (group ? agreed.stop : stopRequest) stoppedBy = group ? agreed.stop : stopRequest;
      if (stoppedBy) break;

      const started = process.hrtime.bigint();
      // The plans of this update's batches (crossing into the next epoch when one ends).
      // An epoch ends only between updates (see below), so an update never spans two epochs, and every
      // checkpoint's cursor sits on an update boundary.
      const first = c.batchInEpoch;
      const plans = plan.slice(first, first + o.accumulate);
      c.batchInEpoch += plans.length;
      const tokensOf = (p: BatchPlan) => p.indices.reduce((n, i) => n + batcher.pairs[i].tgt.length + 1, 0);
      // The update's target tokens on all ranks (each rank knows every rank's batches from the shared plan).
      let total = 0;
      for (let k = first; k < first + plans.length; k++) for (let r = 0; r < world; r++) total += tokensOf(group ? allPlans[k * world + r] : plan[k]);
      // Each batch's summed loss scaled by 1/total: the update's gradient is the mean over all its tokens. With
      // ranks, by world/total, as the Reducer divides the sum of the ranks' gradients by their number.
      const scale = tensor(world / total);
      let lossSum = 0;
      let kdSum = 0;
      let ceSum = 0;
      let finite = true;
      for (const [i, p] of plans.entries()) {
        const batch = batcher.toBatch(p);
        try {
          const r = await lossOf(model, batch, p);
          const [l, kd, ce] = [Number(r.loss.item()), Number(r.kd.item()), Number(r.ce.item())];
          if (!Number.isFinite(l)) finite = false;
          // With ranks, backward runs even for a non-finite loss: the others wait for its gradients, and the
          // averaged norm then is non-finite everywhere, so every rank skips the update together.
          if (dp) await averagedBackward(dp, r.loss, scale, i === plans.length - 1);
          else if (finite) await r.loss.backwardAsync(scale);
          lossSum += l;
          kdSum += kd;
          ceSum += ce;
          for (const t of [r.loss, r.kd, r.ce]) t.dispose();
        } finally {
          batch.dispose();
        }
      }
      scale.dispose();
      const gradNorm = finite || dp ? await optimizer.clipGradNormAsync(o.clipNorm) : NaN;
      const lr = o.schedule(c.step + 1);
      const applied = finite && Number.isFinite(gradNorm) ? await optimizer.stepAsync(lr) : false;
      optimizer.zeroGrad();
      if (!applied) {
        c.skippedSteps += 1;
        badInARow += 1;
        log(`step ${c.step + 1}: non-finite ${finite ? 'gradient norm' : 'loss'}, update skipped (${badInARow} in a row)`);
        if (badInARow >= o.maxBadSteps) {
          throw new Error(`train: ${badInARow} updates in a row had a non-finite loss or gradient norm (at step ${c.step}); lower the learning rate or check the data`);
        }
      } else {
        badInARow = 0;
        c.step += 1;
        average?.update(o.ema!);
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      c.seconds += seconds;
      c.tokens += total;
      if (group) {
        // One allreduce per update: the loss of the whole update for the metrics, and the stop decisions.
        const t = tensor([lossSum, kdSum, ceSum, stopRequest === 'abort' ? 1 : 0, stopRequest === 'signal' ? 1 : 0, lead && o.maxSeconds !== undefined && c.seconds >= o.maxSeconds ? 1 : 0], { dtype: 'float64' });
        await group.allReduce(t, 'sum');
        const v = Array.from(t.toArray() as Float64Array);
        t.dispose();
        [lossSum, kdSum, ceSum] = v;
        agreed = { stop: v[4] > 0 ? 'signal' : v[3] > 0 ? 'abort' : undefined, secondsUp: v[5] > 0 };
      }
      window = { tokens: window.tokens + total, seconds: window.seconds + seconds };

      if (applied) {
        const m: StepMetrics = {
          type: 'step', step: c.step, epoch: c.epoch, loss: lossSum / total, kd: kdSum / total, ce: ceSum / total,
          lr, gradNorm, tokens: total, tokensPerSecond: window.tokens / Math.max(window.seconds, 1e-9), elapsed: c.seconds,
        };
        const logged = c.step % o.logEvery === 0 || c.step === o.maxSteps;
        if (logged) {
          window = { tokens: 0, seconds: 0 };
          metrics?.append(m);
          opts.onStep?.(m);
        }
        const p = position();
        progress.update(p, m, eta(p), logged);
      }
      if (c.batchInEpoch >= plan.length) {
        opts.onEpochEnd?.(c.epoch);
        c.epoch += 1;
        c.batchInEpoch = 0;
        ({ all: allPlans, mine: plan } = planOf(c.epoch));
        if (!o.validateEvery && opts.valid) {
          await runValidation();
          continue;
        }
      }
      if (applied && o.validateEvery && c.step % o.validateEvery === 0) {
        await runValidation();
      } else if (applied && o.saveEvery && c.step % o.saveEvery === 0) {
        await save();
      }
      // Let timers, I/O and stop requests in between updates.
      await new Promise<void>((r) => setImmediate(r));
    }
    if (lastValidatedStep !== c.step && !(await runValidation())) await save();
    await plot();
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (opts.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    dp?.dispose();
    optimizer.dispose();
    average?.dispose();
    progress.stop();
    if (o.threads !== undefined) setNumThreads(threadsBefore);
  }
  log(`stopped by ${stoppedBy} at step ${c.step} (epoch ${c.epoch}) after ${formatDuration(c.seconds)} of training`);
  return {
    steps: c.step, epoch: c.epoch, tokens: c.tokens, seconds: c.seconds, stoppedBy: stoppedBy!, skippedSteps: c.skippedSteps,
    best: c.bestScore === null ? null : { score: c.bestScore, step: c.bestStep! }, lastValidation, resumedFrom,
  };
}

/** The backward of one batch under DataParallel: the last batch of an update averages the gradients. */
async function averagedBackward(dp: DataParallel, loss: Tensor, scale: Tensor, sync: boolean): Promise<void> {
  try {
    if (sync) await dp.prepareForBackward([loss]);
    await loss.backwardAsync(scale);
  } catch (e) {
    throw new Error(`train: rank ${dp.group.rank} of ${dp.group.worldSize}: averaging the gradients failed: ${(e as Error).message}`);
  }
}

function prefixed(m: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  return new Map([...m].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

function hash(x: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);
}

function positive(name: string, v: number | undefined, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  if (!(typeof v === 'number' && v > 0 && (!integer || Number.isInteger(v)))) {
    throw new RangeError(`train: option '${name}' must be ${integer ? 'an integer' : 'a number'} > 0, got ${String(v)}`);
  }
  return v;
}

function resolve(opts: TrainingOptions) {
  if (!opts || typeof opts !== 'object') throw new TypeError('train: options must be an object');
  if (opts.data === undefined) throw new TypeError("train: option 'data' is required (token pairs or a Batcher)");
  const maxSteps = positive('maxSteps', opts.maxSteps, true);
  const maxEpochs = positive('maxEpochs', opts.maxEpochs, true);
  const maxSeconds = positive('maxSeconds', opts.maxSeconds, false);
  if (maxSteps === undefined && maxEpochs === undefined && maxSeconds === undefined) {
    throw new TypeError("train: give at least one of 'maxSteps', 'maxEpochs' and 'maxSeconds'");
  }
  const ema = opts.ema;
  if (ema !== undefined && !(ema > 0 && ema < 1)) throw new RangeError(`train: option 'ema' (a decay) must be in (0, 1), got ${String(ema)}`);
  const { kind, ...optimizer } = opts.optimizer ?? {};
  const o = {
    maxSteps, maxEpochs, maxSeconds, ema,
    optimizerKind: kind ?? 'adam',
    optimizer: { lr: 5e-4, betas: [0.9, 0.98] as [number, number], ...optimizer },
    accumulate: positive('accumulate', opts.accumulate, true) ?? 1,
    clipNorm: opts.clipNorm ?? 5,
    validateEvery: positive('validateEvery', opts.validateEvery, true),
    saveEvery: positive('saveEvery', opts.saveEvery, true),
    patience: positive('patience', opts.patience, true),
    logEvery: positive('logEvery', opts.logEvery, true) ?? 10,
    seed: opts.seed ?? 0,
    dropout: opts.dropout ?? true,
    maxBadSteps: positive('maxBadSteps', opts.maxBadSteps, true) ?? 10,
    labelSmoothing: opts.labelSmoothing ?? 0,
    threads: positive('threads', opts.threads, true),
    progressBar: opts.progressBar,
    schedule: opts.schedule ?? inverseSqrt({ lr: opts.optimizer?.lr ?? 5e-4 }),
  };
  if (kind !== undefined && kind !== 'adam' && kind !== 'adamw') throw new TypeError(`train: optimizer.kind must be 'adam' or 'adamw', got '${String(kind)}'`);
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new TypeError(`train: option 'seed' must be an integer >= 0, got ${String(opts.seed)}`);
  if (typeof o.schedule !== 'function') throw new TypeError("train: option 'schedule' must be a function of the step (see inverseSqrt)");
  const serializable = {
    optimizer: { kind: o.optimizerKind, ...o.optimizer }, labelSmoothing: o.labelSmoothing, accumulate: o.accumulate, clipNorm: o.clipNorm,
    maxSteps, maxEpochs, maxSeconds, ema, validateEvery: o.validateEvery, saveEvery: o.saveEvery, patience: o.patience, seed: o.seed, dropout: o.dropout,
  };
  return { ...o, serializable };
}
