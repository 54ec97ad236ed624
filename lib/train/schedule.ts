/**
 * Learning-rate schedules as pure functions of the update number (1 for the first update), so a resumed run
 * gets its rate from the step counter alone and nothing about the schedule needs saving.
 */

/** The learning rate for update `step` (1-based). */
export type Schedule = (step: number) => number;

/** Options of {@link inverseSqrt}: XLM's `adam_inverse_sqrt`. */
export interface InverseSqrtOptions {
  /** Peak learning rate, reached at the end of warm-up (XLM's MT recipes: 1e-4). */
  lr: number;
  /** Updates of linear warm-up (default 4000, as XLM). */
  warmupUpdates?: number;
  /** Rate at update 0 (default 1e-7, as XLM). */
  warmupInitLr?: number;
}

/**
 * XLM's `adam_inverse_sqrt` (AdamInverseSqrtWithWarmup): linear from `warmupInitLr` to `lr` over
 * `warmupUpdates`, then `lr * sqrt(warmupUpdates) / sqrt(step)`.
 */
export function inverseSqrt(options: InverseSqrtOptions): Schedule {
  const { lr } = options;
  const warmup = options.warmupUpdates ?? 4000;
  const init = options.warmupInitLr ?? 1e-7;
  checkRate('inverseSqrt', 'lr', lr);
  checkRate('inverseSqrt', 'warmupInitLr', init);
  checkCount('inverseSqrt', 'warmupUpdates', warmup);
  const lrStep = warmup > 0 ? (lr - init) / warmup : 0;
  const decay = lr * Math.sqrt(warmup);
  return (step) => (step < warmup ? init + step * lrStep : decay / Math.sqrt(Math.max(step, 1)));
}

/** Options of {@link linearWarmupDecay}. */
export interface LinearWarmupDecayOptions {
  /** Peak learning rate, reached at the end of warm-up. */
  lr: number;
  /** Updates of linear warm-up from 0 (default 0). */
  warmupUpdates?: number;
  /** The update at which the rate reaches `finalLr` and stays there. */
  totalUpdates: number;
  /** Rate from `totalUpdates` on (default 0). */
  finalLr?: number;
}

/** Linear warm-up from 0 to `lr`, then linear decay to `finalLr` at `totalUpdates` (HF's linear schedule). */
export function linearWarmupDecay(options: LinearWarmupDecayOptions): Schedule {
  const { lr, totalUpdates } = options;
  const warmup = options.warmupUpdates ?? 0;
  const final = options.finalLr ?? 0;
  checkRate('linearWarmupDecay', 'lr', lr);
  checkRate('linearWarmupDecay', 'finalLr', final);
  checkCount('linearWarmupDecay', 'warmupUpdates', warmup);
  checkCount('linearWarmupDecay', 'totalUpdates', totalUpdates);
  if (totalUpdates <= warmup) {
    throw new RangeError(`linearWarmupDecay: totalUpdates (${totalUpdates}) must be greater than warmupUpdates (${warmup})`);
  }
  return (step) => {
    if (step < warmup) return (lr * step) / warmup;
    if (step >= totalUpdates) return final;
    return final + ((lr - final) * (totalUpdates - step)) / (totalUpdates - warmup);
  };
}

/** The same rate at every update. */
export function constant(options: { lr: number }): Schedule {
  checkRate('constant', 'lr', options.lr);
  return () => options.lr;
}

function checkRate(fn: string, name: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${fn}: '${name}' must be a finite number >= 0, got ${value}`);
}
function checkCount(fn: string, name: string, value: number): void {
  if (!(Number.isInteger(value) && value >= 0)) throw new RangeError(`${fn}: '${name}' must be an integer >= 0, got ${value}`);
}
