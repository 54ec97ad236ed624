/**
 * Command-line parsing every `xlm-kd` subcommand shares: node:util's parseArgs with its errors turned into
 * UsageError (exit 2), --help handling, and typed readers for numbers, integers and choices that name the
 * flag and what it expects.
 */
import { parseArgs, ParseArgsConfig } from 'node:util';
import { CliIO, UsageError } from './io';

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;
/** What parseArgs gives for string and boolean flags. */
export type FlagValues = Record<string, string | boolean | undefined>;

/**
 * Parses `args` against `options` (a `help` flag is added); prints `usage` and returns undefined for --help.
 * @throws UsageError for an unknown flag, a missing value or a stray positional argument.
 */
export function parseFlags(args: string[], options: OptionSpecs, usage: string, io: CliIO): FlagValues | undefined {
  let values: FlagValues;
  try {
    ({ values } = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }) as {
      values: FlagValues;
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    io.stdout.write(usage);
    return undefined;
  }
  return values;
}

/** A string flag's value, or undefined. */
export function str(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A required string flag. */
export function required(values: FlagValues, name: string): string {
  const v = str(values, name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

/** An integer flag >= min, or `fallback` when absent. */
export function int(values: FlagValues, name: string, min: number, fallback?: number): number | undefined {
  const raw = str(values, name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${raw}'`);
  return v;
}

/** A number flag in [min, max], or `fallback` when absent. */
export function num(values: FlagValues, name: string, fallback?: number, min = -Infinity, max = Infinity): number | undefined {
  const raw = str(values, name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < min || v > max) {
    const range = min === -Infinity && max === Infinity ? 'a number' : max === Infinity ? `a number >= ${min}` : `a number in [${min}, ${max}]`;
    throw new UsageError(`--${name} must be ${range}, got '${raw}'`);
  }
  return v;
}

/** A flag that must be one of `choices`, or `fallback` when absent. */
export function choice<T extends string>(values: FlagValues, name: string, choices: readonly T[], fallback: T): T {
  const raw = str(values, name);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${raw}'`);
  return raw as T;
}

/** A "6-1"-style pair of layer counts (encoder-decoder). */
export function layerPair(values: FlagValues, name: string, fallback: [number, number]): [number, number] {
  const raw = str(values, name);
  if (raw === undefined) return fallback;
  const m = /^(\d+)-(\d+)$/.exec(raw);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UsageError(`--${name} must be ENCODER-DECODER layer counts such as 6-1, got '${raw}'`);
  return [Number(m[1]), Number(m[2])];
}
