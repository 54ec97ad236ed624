/**
 * Training metrics: one JSON object per line in the run folder's `metrics.jsonl` (a step every `logEvery`
 * updates, and every validation), appended and flushed as they happen. On resume the lines past the
 * checkpoint's step are dropped first, so a resumed run never writes a step twice. Also the plain progress
 * line printed to the console.
 */
import * as fs from 'fs';

/** A training step's line. */
export interface StepMetrics {
  /** Marks a step line. */
  type: 'step';
  /** Updates done. */
  step: number;
  /** Epoch of the update (0-based). */
  epoch: number;
  /** Mean loss per target token over the update (all accumulated batches). */
  loss: number;
  /** Its KD and CE parts (distillation runs; `kd` is 0 for a teacher). */
  kd: number;
  /** The cross-entropy part. */
  ce: number;
  /** Learning rate of the update. */
  lr: number;
  /** Gradient 2-norm before clipping. */
  gradNorm: number;
  /** Target tokens in this update, and the training throughput since the last line. */
  tokens: number;
  /** Target tokens per second since the last step line. */
  tokensPerSecond: number;
  /** Seconds of training so far (across resumes). */
  elapsed: number;
}

/** A validation's line. */
export interface ValidMetrics {
  /** Marks a validation line. */
  type: 'valid';
  /** Updates done when it ran. */
  step: number;
  /** Epoch it ran in (0-based). */
  epoch: number;
  /** Mean CE per target token on the validation pairs, and exp of it. */
  loss: number;
  /** exp(loss). */
  perplexity: number;
  /** Corpus BLEU and chrF of the decoded validation subset (when text and a tokenizer were given). */
  bleu?: number;
  /** Corpus chrF of the decoded validation subset. */
  chrf?: number;
  /** Whether this is the best validation so far. */
  best: boolean;
  /** Seconds of training so far (across resumes). */
  elapsed: number;
}

/** One line of metrics.jsonl. */
export type MetricsLine = StepMetrics | ValidMetrics;

/** Appends metrics lines to a JSON-lines file. */
export class MetricsLog {
  /** @param file - the JSON-lines file (metrics.jsonl). */
  constructor(readonly file: string) {}

  /** Keeps only the lines of steps <= `step` (what the resumed checkpoint had done); creates the file if missing. */
  truncateAfter(step: number): void {
    if (!fs.existsSync(this.file)) {
      fs.writeFileSync(this.file, '');
      return;
    }
    // Lines are appended in step order: walk back from the end to the last whole line at or before `step`, so a
    // resume reads only what it cuts off, never the whole (growing) file.
    const fd = fs.openSync(this.file, 'r');
    let keep = 0;
    try {
      // Bytes after the last newline are a line cut by a kill.
      let end = newlineBefore(fd, fs.fstatSync(fd).size) + 1;
      while (end > 0) {
        const start = newlineBefore(fd, end - 1) + 1;
        const line = Buffer.alloc(end - 1 - start);
        fs.readSync(fd, line, 0, line.length, start);
        try {
          if ((JSON.parse(line.toString('utf8')) as MetricsLine).step <= step) {
            keep = end;
            break;
          }
        } catch {
          // not JSON: a damaged line, dropped with those after it
        }
        end = start;
      }
    } finally {
      fs.closeSync(fd);
    }
    fs.truncateSync(this.file, keep);
  }

  /** Appends one line to the file. */
  append(line: MetricsLine): void {
    fs.appendFileSync(this.file, JSON.stringify(line) + '\n');
  }

  /** Every line of the file. */
  static read(file: string): MetricsLine[] {
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as MetricsLine);
  }
}

/** "step 120/1000 | epoch 2 | loss 4.213 | lr 3.0e-4 | 5,210 tok/s | ETA 3m12s" */
export function formatProgress(m: StepMetrics, maxSteps: number | undefined, etaSeconds: number | undefined): string {
  const parts = [
    `step ${m.step}${maxSteps ? `/${maxSteps}` : ''}`,
    `epoch ${m.epoch}`,
    `loss ${m.loss.toFixed(3)}`,
    ...(m.kd ? [`kd ${m.kd.toFixed(3)}`, `ce ${m.ce.toFixed(3)}`] : []),
    `lr ${m.lr.toExponential(1)}`,
    `|g| ${m.gradNorm.toFixed(2)}`,
    `${Math.round(m.tokensPerSecond).toLocaleString('en-US')} tok/s`,
  ];
  if (etaSeconds !== undefined && Number.isFinite(etaSeconds)) parts.push(`ETA ${formatDuration(etaSeconds)}`);
  return parts.join(' | ');
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The position of the last newline before `pos` in the file, or -1; reads back 64 KiB at a time. */
function newlineBefore(fd: number, pos: number): number {
  const block = Buffer.alloc(1 << 16);
  while (pos > 0) {
    const start = Math.max(0, pos - block.length);
    const n = fs.readSync(fd, block, 0, pos - start, start);
    const at = block.subarray(0, n).lastIndexOf(0x0a);
    if (at >= 0) return start + at;
    pos = start;
  }
  return -1;
}
