/**
 * What a user watches while a model trains. On a terminal: one live bar (cli-progress) with loss, learning
 * rate, tokens/s and ETA, redrawn after every update, with the run's other lines (validation, resume, stop)
 * printed above it. Anywhere else (a pipe, a log file, CI, a custom `log`): a plain progress line every
 * `logEvery` updates, which is what log files and notebooks read best.
 */
import type * as CliProgress from 'cli-progress';
import type { MultiBar, SingleBar } from 'cli-progress';
import { formatDuration, formatProgress, type StepMetrics } from './metrics';

/** How far the run is, in the unit its stop rule counts (updates, seconds, or batches over all epochs). */
export interface ProgressPosition {
  value: number;
  total: number | undefined;
}

export interface TrainingProgressOptions {
  /** Where plain lines go. */
  log: (line: string) => void;
  /** A terminal stream for the live bar, or undefined for plain lines only. */
  barStream?: NodeJS.WritableStream;
  maxSteps: number | undefined;
}

const BAR_FORMAT = '{bar} {percentage}% | step {step} | loss {loss} | lr {lr} | {tps} tok/s | ETA {remaining}';

export class TrainingProgress {
  private readonly multi?: MultiBar;
  private bar?: SingleBar;
  private stopped = false;

  constructor(private readonly opts: TrainingProgressOptions) {
    if (opts.barStream) {
      // Loaded only when a bar is drawn, so importing the package never needs it (as the plot's Vega).
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when a bar is drawn (above)
      const { MultiBar } = require('cli-progress') as typeof CliProgress;
      this.multi = new MultiBar({ format: BAR_FORMAT, stream: opts.barStream, hideCursor: true, clearOnComplete: false, barsize: 24, etaBuffer: 50 });
    }
  }

  /** True when a live bar is drawn (so step lines are not printed). */
  get live(): boolean {
    return this.multi !== undefined;
  }

  /** A line for the user: above the bar on a terminal, else straight to `log`. */
  line(text: string): void {
    // Once the bar is stopped, MultiBar would buffer the line forever: print it plainly.
    if (this.multi && !this.stopped) this.multi.log(`${text}\n`);
    else this.opts.log(text);
  }

  /**
   * After each applied update: redraws the bar, or, without one, prints a line when `logLine` (every
   * `logEvery` updates).
   */
  update(position: ProgressPosition, m: StepMetrics, etaSeconds: number | undefined, logLine: boolean): void {
    if (!this.multi || this.stopped) {
      if (logLine) this.opts.log(formatProgress(m, this.opts.maxSteps, etaSeconds));
      return;
    }
    const payload = {
      step: m.step,
      loss: m.loss.toFixed(3),
      lr: m.lr.toExponential(1),
      tps: Math.round(m.tokensPerSecond).toLocaleString('en-US'),
      remaining: etaSeconds !== undefined && Number.isFinite(etaSeconds) ? formatDuration(etaSeconds) : '?',
    };
    const total = Math.max(position.total ?? position.value, 1);
    if (!this.bar) this.bar = this.multi.create(total, 0, payload);
    this.bar.setTotal(total);
    this.bar.update(Math.min(position.value, total), payload);
  }

  /** Ends the bar (leaving its last state on screen). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.multi?.stop();
  }
}

/**
 * Where a run stands in the unit of its first stop rule (updates, seconds, or batches over all epochs), and its
 * ETA from this call's pace (a resumed run's earlier pace is not known).
 */
export class ProgressClock {
  private readonly start: { position: number; seconds: number };

  constructor(
    private readonly rules: { maxSteps?: number; maxSeconds?: number; maxEpochs?: number },
    private readonly counters: { step: number; seconds: number; epoch: number; batchInEpoch: number },
    private readonly batchesPerEpoch: () => number
  ) {
    this.start = { position: this.position().value, seconds: counters.seconds };
  }

  position(): ProgressPosition {
    const { rules: o, counters: c } = this;
    if (o.maxSteps !== undefined) return { value: c.step, total: o.maxSteps };
    if (o.maxSeconds !== undefined) return { value: c.seconds, total: o.maxSeconds };
    const per = this.batchesPerEpoch();
    return { value: c.epoch * per + c.batchInEpoch, total: o.maxEpochs! * per };
  }

  /** Seconds left at this call's pace, or undefined before any progress. */
  eta(p: ProgressPosition): number | undefined {
    const rate = (p.value - this.start.position) / Math.max(this.counters.seconds - this.start.seconds, 1e-9);
    return p.total === undefined || rate <= 0 ? undefined : (p.total - p.value) / rate;
  }
}
