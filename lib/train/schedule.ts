/**
 * Learning-rate schedules as pure functions of the update number (1 for the first update), so a resumed run
 * gets its rate from the step counter alone and nothing about the schedule needs saving.
 */

import { OptionReader } from '../common/options';

/** The learning rate for update `step` (1-based). */
export type Schedule = (step: number) => number;

/** The defaults of {@link inverseSqrt}: XLM's. */
export const INVERSE_SQRT_DEFAULTS = Object.freeze({ warmupUpdates: 4000, warmupInitLr: 1e-7 });

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
  const r = new OptionReader('inverseSqrt', options, ['lr', 'warmupUpdates', 'warmupInitLr']);
  const lr = rate(r, 'lr', undefined);
  const warmup = r.integer('warmupUpdates', INVERSE_SQRT_DEFAULTS.warmupUpdates, 0);
  const init = rate(r, 'warmupInitLr', INVERSE_SQRT_DEFAULTS.warmupInitLr);
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
  const r = new OptionReader('linearWarmupDecay', options, ['lr', 'warmupUpdates', 'totalUpdates', 'finalLr']);
  const lr = rate(r, 'lr', undefined);
  const warmup = r.integer('warmupUpdates', 0, 0);
  const totalUpdates = r.integer('totalUpdates', undefined, 0) ?? r.fail('totalUpdates', 'an integer >= 0', true);
  const final = rate(r, 'finalLr', 0);
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
  const lr = rate(new OptionReader('constant', options, ['lr']), 'lr', undefined);
  return () => lr;
}

/** A learning rate: a finite number >= 0 (required when there is no fallback). */
function rate(r: OptionReader, key: string, fallback: number | undefined): number {
  return r.number(key, fallback as number, { min: 0 }) ?? r.fail(key, 'a number >= 0', true);
}
