/**
 * Command-line parsing every `xlm-kd` subcommand shares: node:util's parseArgs with its errors turned into
 * UsageError (exit 2), --help handling, and typed readers that turn a flag's string into a number, an integer
 * or a choice. The values' ranges and defaults are the library's: a command hands what was given to the
 * library's resolver through {@link checkFlags}, which names the flags in its errors ({@link flagNames}).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { OptionNamer } from '../common/options';
import { type CliIO, UsageError } from './io';

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

/**
 * An integer flag, or undefined when absent. `min` is for the CLI's own flags (those no library option
 * receives); a library option's range is its resolver's.
 */
export function int(values: FlagValues, name: string, min?: number): number | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(v) || (min !== undefined && v < min)) {
    throw new UsageError(`--${name} must be an integer${min !== undefined ? ` >= ${min}` : ''}, got '${raw}'`);
  }
  return v;
}

/** A number flag, or undefined when absent. */
export function num(values: FlagValues, name: string): number | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name} must be a number, got '${raw}'`);
  return v;
}

/** A flag that must be one of `choices`, or undefined when absent (the library's default applies). */
export function choice<T extends string>(values: FlagValues, name: string, choices: readonly T[]): T | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${raw}'`);
  return raw as T;
}

/**
 * The CLI's names for library options in errors: the flag that sets each (`optimizer.lr` -> `--lr`); the
 * kebab-case of the option's last key unless `flags` names another.
 */
export function flagNames(flags: Record<string, string> = {}): OptionNamer {
  return (path) =>
    flags[path] ??
    `--${path
      .split('.')
      .pop()!
      .replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Runs a library resolver over the options the flags gave: its TypeErrors and RangeErrors are usage errors (exit 2). */
export function checkFlags<T>(resolve: () => T): T {
  try {
    return resolve();
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
}

/** A "6-1"-style pair of layer counts (encoder-decoder). */
export function layerPair(values: FlagValues, name: string): [number, number] | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  const m = /^(\d+)-(\d+)$/.exec(raw);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UsageError(`--${name} must be ENCODER-DECODER layer counts such as 6-1, got '${raw}'`);
  return [Number(m[1]), Number(m[2])];
}
