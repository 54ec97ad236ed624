/**
 * The training loop shared by `train` (a teacher, cross-entropy) and `distill` (a student and a teacher), in
 * named stages as Hugging Face's Trainer splits its loop: {@link Trainer.prepare} (options, batches, optimizer,
 * resume), {@link Trainer.trainingStep} (one update: forward, loss and backward over the accumulated batches,
 * clipping, the optimizer step), {@link Trainer.record} (metrics and progress), {@link Trainer.validate} with
 * early stopping, and {@link Trainer.save} (checkpoints that resume exactly: lib/train/run-state.ts). Forward,
 * loss, backward, clipping and the update run on the compute thread, so the event loop keeps ticking during a
 * step. What differs between the callers is only the loss of one batch.
 *
 * Processes are {@link Replicas}: one, or the ranks of a ProcessGroup (data-parallel); the loop has one path for
 * both. With ranks the loss is scaled by the tokens of the whole update across ranks, so an update is the one a
 * single process would make on the union of the ranks' batches, and every decision that ends or skips a step is
 * taken together. Rank 0 alone validates and writes the run folder; every rank resumes from it (each with its own
 * RNG state), so a multi-machine run needs the run folder on a shared file system.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Batcher, type BatchPlan } from '../data/batcher';
import { BatchPrefetcher } from '../data/prefetch';
import type { Batch } from '../data/batch';
import type { DistillLossResult } from '../loss/distill';
import type { Seq2Seq } from '../models/seq2seq';
import { autocast, type Device, manualSeed, setNumThreads, type Tensor, tensor, version } from '../tensor';
import { ParameterAverage } from './average';
import { CheckpointStore, type TrainerCounters } from './checkpoint';
import { GradScaler } from './grad-scaler';
import { formatDuration, MetricsLog, type StepMetrics, type ValidMetrics } from './metrics';
import { Adam, AdamW } from './optimizer';
import type { ResolvedTrainingOptions } from './options';
import { plotMetrics } from './plot';
import { ProgressClock, TrainingProgress } from './progress';
import { replicasOf, type Replicas } from './replicas';
import { resumeRun, type RunParts, saveRun } from './run-state';
import { StopRequests } from './stop-requests';
import { checkValidationData, validate } from './validate';

export type { TrainingOptions } from './options';

/** Why a run stopped: a limit reached, early stopping, its AbortSignal, or Ctrl-C/SIGTERM ('signal'). */
export type StopReason = 'maxSteps' | 'maxEpochs' | 'maxSeconds' | 'earlyStopping' | 'abort' | 'signal';

/** What {@link train} and {@link distill} report when a run ends. */
export interface TrainResult {
  /** Updates done, in all (resumed runs included). */
  steps: number;
  /** Epochs completed (the 0-based epoch the run stopped in). */
  epoch: number;
  /** Target tokens trained on, in all. */
  tokens: number;
  /** Seconds of training, in all. */
  seconds: number;
  /** Why it stopped. */
  stoppedBy: StopReason;
  /** Best validation score and its step (null without validation). */
  best: { score: number; step: number } | null;
  /** The last validation, if any ran in this call. */
  lastValidation?: ValidMetrics;
  /** Updates skipped for a non-finite loss or gradient norm. */
  skippedSteps: number;
  /** Where the run resumed from (undefined for a fresh run). */
  resumedFrom?: string;
}

/**
 * The loss of one batch, summed over its non-pad target tokens (reduction 'sum'); `plan.indices` are the batch's
 * pairs in the Batcher's `pairs` (what an offline teacher cache is indexed by).
 */
/** The loss of one batch; `step` is the number of updates made so far (for schedules of the loss's own knobs). */
export type BatchLoss = (model: Seq2Seq, batch: Batch, plan: BatchPlan, step: number) => Promise<DistillLossResult>;

/**
 * @internal Runs the loop for `model` with `lossOf` and the options the caller resolved (resolveTrainingOptions);
 * `describe` goes into the run's fingerprint and config.json. `aux`: parameters the loss owns besides the model's
 * (e.g. intermediate-layer KD's projections), trained, averaged and checkpointed with them as `aux.<name>`.
 */
export async function runTraining(
  model: Seq2Seq,
  lossOf: BatchLoss,
  o: ResolvedTrainingOptions,
  describe: Record<string, unknown>,
  aux: Map<string, Tensor> = new Map()
): Promise<TrainResult> {
  const trainer = await Trainer.prepare(model, lossOf, o, describe, aux);
  let result: TrainResult;
  try {
    result = await trainer.run();
  } finally {
    trainer.dispose();
  }
  // After the bar is gone, so it is the run's last line.
  trainer.reportStop(result);
  return result;
}

/** What one update did, summed over its batches (and ranks). */
interface UpdateResult {
  applied: boolean;
  finite: boolean;
  lr: number;
  gradNorm: number;
  tokens: number;
  seconds: number;
  loss: number;
  kd: number;
  ce: number;
}

/** An epoch's batches, all ranks' and this rank's share. */
interface EpochPlan {
  all: BatchPlan[];
  mine: BatchPlan[];
}

class Trainer {
  private stoppedBy: StopReason | undefined;
  private badInARow = 0;
  private window = { tokens: 0, seconds: 0 };
  private lastValidation: ValidMetrics | undefined;
  private lastValidatedStep = -1;
  private plan!: EpochPlan;
  private prefetch!: BatchPrefetcher;
  private clock!: ProgressClock;

  private constructor(
    private readonly model: Seq2Seq,
    private readonly lossOf: BatchLoss,
    private readonly opts: ResolvedTrainingOptions,
    private readonly o: ResolvedTrainingOptions,
    private readonly device: Device,
    private readonly replicas: Replicas,
    private readonly batcher: Batcher,
    private readonly validBatcher: Batcher | undefined,
    private readonly parts: RunParts,
    private readonly c: TrainerCounters,
    private readonly store: CheckpointStore | undefined,
    private readonly metrics: MetricsLog | undefined,
    private readonly progress: TrainingProgress,
    private readonly stops: StopRequests,
    private readonly threadsBefore: number,
    private readonly resumedFrom: string | undefined
  ) {}

  // ---- stage 1: prepare ----------------------------------------------------------------------------------------

  /** Resolves the options, plans the batches, builds the optimizer, resumes from `runDir` and binds the replicas. */
  static async prepare(
    model: Seq2Seq,
    lossOf: BatchLoss,
    o: ResolvedTrainingOptions,
    describe: Record<string, unknown>,
    aux: Map<string, Tensor>
  ): Promise<Trainer> {
    const opts = o;
    if (model.inference !== undefined && model.inference !== 'float32') {
      throw new Error(
        `train: the model is ${model.inference} for inference (prepack()/quantize()); train the float32 model and convert it afterwards`
      );
    }
    // One device owner: the model's parameters say where batches, caches and decoding go.
    if (o.device !== undefined) model.to(o.device);
    const device = model.device;
    const batcher = opts.data instanceof Batcher ? opts.data : new Batcher(opts.data, { seed: o.seed, ...opts.batching });
    if (batcher.size === 0) throw new Error("train: the training data is empty (no pair within the batcher's maxLength)");
    if (opts.valid) checkValidationData(opts.valid);
    const validBatcher = opts.valid ? new Batcher(opts.valid.pairs, { ...opts.batching, shuffle: false, device }) : undefined;
    const replicas = replicasOf(opts.group);
    const world = replicas.worldSize;
    const progress = progressOf(opts, o, replicas.lead);
    const threadsBefore = version().threads;
    if (o.threads !== undefined) setNumThreads(o.threads);

    const params = new Map([...model.namedParameters(), ...[...aux].map(([n, t]): [string, Tensor] => [`aux.${n}`, t])]);
    const optimizer = new (o.optimizerKind === 'adamw' ? AdamW : Adam)(params, o.optimizer);
    const average = o.ema !== undefined ? new ParameterAverage(params) : undefined;
    const scaler = o.precision === 'fp16' ? new GradScaler() : undefined;
    const parts: RunParts = { model, optimizer, average, scaler, replicas, aux };
    // A one-process fp32 run leaves worldSize and precision out, so its fingerprint and counters read as they always have.
    const ranks = world > 1 ? { worldSize: world } : {};
    const precision = o.precision !== 'fp32' ? { precision: o.precision } : {};
    const fingerprint = hash({
      kind: model.kind,
      vocab: model.vocabSize,
      params: model.numParameters(),
      pairs: batcher.size,
      ...describe,
      ...(aux.size > 0 ? { aux: [...aux].map(([n, t]) => `${n}:${t.shape.join('x')}`) } : {}),
      seed: o.seed,
      accumulate: o.accumulate,
      ...ranks,
      ...precision,
    });
    let counters: TrainerCounters = {
      step: 0,
      epoch: 0,
      batchInEpoch: 0,
      tokens: 0,
      seconds: 0,
      bestScore: null,
      bestStep: null,
      badValidations: 0,
      skippedSteps: 0,
      fingerprint,
      ...ranks,
    };

    // Every rank reads the run folder to resume; only rank 0 writes it.
    const store = opts.runDir ? new CheckpointStore(opts.runDir) : undefined;
    const metrics = opts.runDir && replicas.lead ? new MetricsLog(path.join(opts.runDir, 'metrics.jsonl')) : undefined;
    // Each rank its own dropout stream (rank 0's is the single-process one).
    manualSeed(o.seed + replicas.rank);
    if (opts.runDir && replicas.lead) fs.mkdirSync(opts.runDir, { recursive: true });
    const resumed = store ? await resumeRun(store, parts, fingerprint) : undefined;
    if (resumed) {
      counters = resumed.counters;
      progress.line(`resuming from ${resumed.folder} (step ${counters.step}, epoch ${counters.epoch}, batch ${counters.batchInEpoch})`);
    }
    metrics?.truncateAfter(counters.step);
    await replicas.start(params, counters.step);
    if (opts.runDir && replicas.lead) {
      const config = { model: { kind: model.kind, vocabSize: model.vocabSize, parameters: model.numParameters() }, ...describe, ...o.serializable };
      fs.writeFileSync(path.join(opts.runDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    }
    const stops = new StopRequests(opts.signal, opts.handleSignals === true);
    return new Trainer(
      model,
      lossOf,
      opts,
      o,
      device,
      replicas,
      batcher,
      validBatcher,
      parts,
      counters,
      store,
      metrics,
      progress,
      stops,
      threadsBefore,
      resumed?.folder
    );
  }

  // ---- the loop ------------------------------------------------------------------------------------------------

  async run(): Promise<TrainResult> {
    const { c, o } = this;
    this.model.train(o.dropout);
    this.plan = this.planOf(c.epoch);
    const { all, mine } = this.plan;
    if (mine.length === 0)
      throw new Error(`train: ${all.length} batch(es) per epoch cannot feed ${this.replicas.worldSize} ranks; use smaller batches or fewer ranks`);
    if (this.replicas.worldSize > 1) {
      this.log(
        `data-parallel over ${this.replicas.worldSize} ranks: ${mine.length} of each epoch's ${all.length} batches per rank, gradients averaged by c10d's Reducer`
      );
    }
    this.clock = new ProgressClock(o, c, () => this.plan.mine.length);
    this.prefetch = new BatchPrefetcher(this.batcher, this.device);
    try {
      while (!(this.stoppedBy = await this.stopReason())) {
        const u = await this.trainingStep();
        if (u.applied) this.record(u);
        await this.afterUpdate(u.applied);
        // Let timers, I/O and stop requests in between updates.
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      this.prefetch.close();
    }
    // An interruption (Ctrl-C, SIGTERM, an AbortSignal) only saves: a validation off the schedule would count
    // against patience and could become the best checkpoint, and the resumed run would no longer be the run
    // left alone. A limit reached ends the run, which is validated.
    const interrupted = this.stoppedBy === 'signal' || this.stoppedBy === 'abort';
    if (this.lastValidatedStep !== c.step && (interrupted || !(await this.validate()))) await this.save();
    await this.plot();
    return {
      steps: c.step,
      epoch: c.epoch,
      tokens: c.tokens,
      seconds: c.seconds,
      stoppedBy: this.stoppedBy,
      skippedSteps: c.skippedSteps,
      best: c.bestScore === null ? null : { score: c.bestScore, step: c.bestStep! },
      lastValidation: this.lastValidation,
      resumedFrom: this.resumedFrom,
    };
  }

  /**
   * Why the run stops before the next update, if it does. Stop requests and the time limit are put to a vote
   * first, so every rank stops after the same update (the time by rank 0's clock).
   */
  private async stopReason(): Promise<StopReason | undefined> {
    const { c, o, replicas } = this;
    const request = this.stops.current;
    const secondsUp = replicas.lead && o.maxSeconds !== undefined && c.seconds >= o.maxSeconds;
    const [abort, signal, up] = await replicas.sum([request === 'abort' ? 1 : 0, request === 'signal' ? 1 : 0, secondsUp ? 1 : 0]);
    if (o.maxSteps !== undefined && c.step >= o.maxSteps) return 'maxSteps';
    if (o.maxEpochs !== undefined && c.epoch >= o.maxEpochs) return 'maxEpochs';
    if (up > 0) return 'maxSeconds';
    if (o.patience !== undefined && c.badValidations >= o.patience) return 'earlyStopping';
    return signal > 0 ? 'signal' : abort > 0 ? 'abort' : undefined;
  }

  private planOf(epoch: number): EpochPlan {
    const all = this.batcher.plan(epoch);
    return { all, mine: this.replicas.shard(all) };
  }

  // ---- stage 2: one update -------------------------------------------------------------------------------------

  /** Forward, loss and backward of the update's batches, clipping and the optimizer step. */
  async trainingStep(): Promise<UpdateResult> {
    const { c, o, replicas } = this;
    const started = process.hrtime.bigint();
    // An epoch ends only between updates (see afterUpdate), so an update never spans two epochs, and every
    // checkpoint's cursor sits on an update boundary.
    const first = c.batchInEpoch;
    const plans = this.plan.mine.slice(first, first + o.accumulate);
    c.batchInEpoch += plans.length;
    // The update's target tokens on all ranks (each rank knows every rank's batches from the shared plan).
    const world = replicas.worldSize;
    let tokens = 0;
    for (let k = first; k < first + plans.length; k++) for (let r = 0; r < world; r++) tokens += this.tokensOf(this.plan.all[k * world + r]);
    // Each batch's summed loss scaled by world/tokens: the update's gradient is the mean over all its tokens once
    // the ranks' gradients are averaged (their sum divided by their number). fp16 also multiplies in its loss scale.
    const { scaler } = this.parts;
    const lossScale = scaler?.scale ?? 1;
    const scale = tensor((world / tokens) * lossScale);
    const sums = [0, 0, 0];
    let finite = true;
    try {
      for (const [i, p] of plans.entries()) {
        const at = first + i + 1;
        const batch = this.prefetch.take(p, this.plan.mine.slice(at, at + 2));
        try {
          const r = await autocast(o.precision, this.device, () => this.lossOf(this.model, batch, p, c.step));
          const values = [r.loss, r.kd, r.ce].map((t) => Number(t.item()));
          finite &&= Number.isFinite(values[0]);
          await replicas.backward(r.loss, scale, i === plans.length - 1);
          values.forEach((v, j) => (sums[j] += v));
          for (const t of [r.loss, r.kd, r.ce]) t.dispose();
        } finally {
          batch.dispose();
        }
      }
    } finally {
      scale.dispose();
    }
    const { optimizer } = this.parts;
    const gradNorm = await optimizer.clipGradNormAsync(o.clipNorm, lossScale);
    const lr = o.schedule(c.step + 1);
    const applied = finite && Number.isFinite(gradNorm) ? await optimizer.stepAsync(lr) : false;
    optimizer.zeroGrad();
    // An fp16 overflow at a scale the gradients may well exceed is the scaler's to handle, not a bad step.
    const overflow = scaler !== undefined && finite && !applied;
    scaler?.update(overflow);
    this.countUpdate(applied, finite, overflow && lossScale >= 1 ? lossScale : undefined);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    c.seconds += seconds;
    c.tokens += tokens;
    // The whole update's loss (all ranks), for the metrics.
    const [loss, kd, ce] = await replicas.sum(sums);
    return { applied, finite, lr, gradNorm, tokens, seconds, loss, kd, ce };
  }

  private tokensOf(p: BatchPlan): number {
    let n = 0;
    for (const i of p.view) n += this.batcher.targetTokens(i);
    return n;
  }

  /** Counts an update; `overflowAt` is the fp16 loss scale at which its gradients overflowed (not a bad step). */
  private countUpdate(applied: boolean, finite: boolean, overflowAt?: number): void {
    const { c } = this;
    if (applied) {
      this.badInARow = 0;
      c.step += 1;
      this.parts.average?.update(this.o.ema!);
      return;
    }
    c.skippedSteps += 1;
    if (overflowAt !== undefined) {
      this.log(`step ${c.step + 1}: fp16 gradients overflowed at loss scale ${overflowAt}, update skipped (scale now ${this.parts.scaler!.scale})`);
      return;
    }
    this.badInARow += 1;
    this.log(`step ${c.step + 1}: non-finite ${finite ? 'gradient norm' : 'loss'}, update skipped (${this.badInARow} in a row)`);
    if (this.badInARow >= this.o.maxBadSteps) {
      throw new Error(
        `train: ${this.badInARow} updates in a row had a non-finite loss or gradient norm (at step ${c.step}); lower the learning rate or check the data`
      );
    }
  }

  // ---- stage 3: record, validate -------------------------------------------------------------------------------

  /** A metrics line every `logEvery` updates (and the progress bar after each). */
  record(u: UpdateResult): void {
    const { c, o } = this;
    this.window = { tokens: this.window.tokens + u.tokens, seconds: this.window.seconds + u.seconds };
    const m: StepMetrics = {
      type: 'step',
      step: c.step,
      epoch: c.epoch,
      loss: u.loss / u.tokens,
      kd: u.kd / u.tokens,
      ce: u.ce / u.tokens,
      lr: u.lr,
      gradNorm: u.gradNorm,
      tokens: u.tokens,
      tokensPerSecond: this.window.tokens / Math.max(this.window.seconds, 1e-9),
      elapsed: c.seconds,
    };
    const logged = c.step % o.logEvery === 0 || c.step === o.maxSteps;
    if (logged) {
      this.window = { tokens: 0, seconds: 0 };
      this.metrics?.append(m);
      this.opts.onStep?.(m);
    }
    const p = this.clock.position();
    this.progress.update(p, m, this.clock.eta(p), logged);
  }

  /** Epoch ends, and validation or a checkpoint when they are due. */
  private async afterUpdate(applied: boolean): Promise<void> {
    const { c, o } = this;
    if (c.batchInEpoch >= this.plan.mine.length) {
      this.opts.onEpochEnd?.(c.epoch);
      c.epoch += 1;
      c.batchInEpoch = 0;
      this.plan = this.planOf(c.epoch);
      if (!o.validateEvery && this.opts.valid) {
        await this.validate();
        return;
      }
    }
    if (applied && o.validateEvery && c.step % o.validateEvery === 0) await this.validate();
    else if (applied && o.saveEvery && c.step % o.saveEvery === 0) await this.save();
  }

  /** Validates on rank 0 (with the averaged weights when there are), updates early stopping, saves; false without data. */
  async validate(): Promise<boolean> {
    const { c, opts } = this;
    if (!opts.valid || !this.validBatcher) return false;
    this.lastValidatedStep = c.step;
    if (this.replicas.lead) {
      const run = () => validate(this.model, opts.valid!, this.validBatcher!);
      const r = this.parts.average ? await this.parts.average.withAveraged(run) : await run();
      this.model.train(this.o.dropout);
      const score = r.bleu ?? -r.loss;
      // Equal BLEU (a model still at 0 in its first validations, before it takes off) is broken by the loss,
      // so that patience does not run out while the model is still learning.
      const tie = r.bleu !== undefined && score === c.bestScore && r.loss < (c.bestLoss ?? Infinity);
      const best = c.bestScore === null || score > c.bestScore || tie;
      if (best) Object.assign(c, { bestScore: score, bestLoss: r.loss, bestStep: c.step, badValidations: 0 });
      else c.badValidations += 1;
      this.lastValidation = { type: 'valid', step: c.step, epoch: c.epoch, ...r, best, elapsed: c.seconds };
      this.metrics?.append(this.lastValidation);
      opts.onValidate?.(this.lastValidation);
      const text = r.bleu !== undefined ? ` | BLEU ${r.bleu.toFixed(2)} | chrF ${r.chrf!.toFixed(2)}` : '';
      this.log(`valid step ${c.step}: loss ${r.loss.toFixed(3)} | ppl ${r.perplexity.toFixed(2)}${text}${best ? ' (best)' : ''}`);
    }
    // Rank 0's early-stopping state, for the ranks that waited while it validated.
    const [score, loss, step, bad] = await this.replicas.fromLead([c.bestScore ?? NaN, c.bestLoss ?? NaN, c.bestStep ?? -1, c.badValidations]);
    Object.assign(c, {
      bestScore: Number.isNaN(score) ? null : score,
      bestLoss: Number.isNaN(loss) ? null : loss,
      bestStep: step < 0 ? null : step,
      badValidations: bad,
    });
    await this.save(c.bestStep === c.step && this.replicas.lead);
    await this.plot();
    return true;
  }

  // ---- stage 4: checkpoint -------------------------------------------------------------------------------------

  /** A checkpoint of the run (with `best`, also the best one). */
  async save(best = false): Promise<void> {
    if (this.store) await saveRun(this.store, this.parts, this.c, best);
  }

  // The curves are a view of metrics.jsonl; a failure to draw them must not end a run.
  private async plot(): Promise<void> {
    if (!this.metrics || !this.opts.runDir) return;
    try {
      await plotMetrics(this.metrics.file, path.join(this.opts.runDir, 'curves.svg'));
    } catch (e) {
      this.log(`could not draw ${path.join(this.opts.runDir, 'curves.svg')}: ${(e as Error).message}`);
    }
  }

  private log(line: string): void {
    this.progress.line(line);
  }

  reportStop(r: TrainResult): void {
    this.log(`stopped by ${r.stoppedBy} at step ${r.steps} (epoch ${r.epoch}) after ${formatDuration(r.seconds)} of training`);
  }

  dispose(): void {
    this.stops.dispose();
    this.replicas.dispose();
    this.parts.optimizer.dispose();
    this.parts.average?.dispose();
    this.progress.stop();
    if (this.o.threads !== undefined) setNumThreads(this.threadsBefore);
  }
}

/** Progress lines or a live bar, for rank 0 only. */
function progressOf(opts: ResolvedTrainingOptions, o: ResolvedTrainingOptions, lead: boolean): TrainingProgress {
  const bar = opts.progressBar;
  const barStream =
    bar === true
      ? process.stderr
      : bar === false
        ? undefined
        : (bar ?? (opts.log === undefined && process.stderr.isTTY ? process.stderr : undefined));
  const log = !lead ? () => undefined : opts.log === undefined ? (l: string) => console.log(l) : (opts.log ?? (() => undefined));
  return new TrainingProgress({ log, barStream: lead ? barStream : undefined, maxSteps: o.maxSteps });
}

function hash(x: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);
}
