/**
 * The one way an options object is read: every family's resolver (loss, model config, training, decoding,
 * batching) fills its defaults and checks its values through an {@link OptionReader}, so an error always reads
 * `where: <name> must be <what>, got <value>`. The name is the library's (`option 'lr'`) or, when the CLI
 * resolves its flags, the flag's (`--lr`): one check serves both, and nobody rewrites another's message.
 */

/** How a resolver names an option (its dotted path, e.g. 'optimizer.lr') in its errors. */
export type OptionNamer = (path: string) => string;

/** The library's names: `option 'optimizer.lr'`. */
export const optionNames: OptionNamer = (path) => `option '${path}'`;

/** A value as errors show it, in the words native errors use (common/convert.cc jsTypeName): `number 0`, `string 'x'`. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : Number.isFinite(v) ? `number ${v}` : String(v);
  if (typeof v === 'string') return `string '${v}'`;
  if (typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  if (Array.isArray(v)) return 'array';
  const name = (v as { constructor?: { name?: string } }).constructor?.name;
  return typeof v === 'function' ? 'function' : name && name !== 'Object' ? name : 'object';
}

/** Bounds of a number option. */
export interface NumberRule {
  /** Whole numbers only. */
  integer?: boolean;
  min?: number;
  max?: number;
  /** `min` itself is not allowed. */
  above?: boolean;
  /** `max` itself is not allowed. */
  below?: boolean;
  /** Infinity is allowed (e.g. "no clipping"). */
  infinite?: boolean;
}

function ruleText(r: NumberRule): string {
  const kind = r.integer ? 'an integer' : 'a number';
  const lo = r.min === undefined ? undefined : `${r.above ? '>' : '>='} ${r.min}`;
  const hi = r.max === undefined ? undefined : `${r.below ? '<' : '<='} ${r.max}`;
  if (lo && hi) return `${kind} in ${r.above ? '(' : '['}${r.min}, ${r.max}${r.below ? ')' : ']'}`;
  return [kind, lo ?? hi].filter(Boolean).join(' ');
}

/**
 * Reads the fields of one options object. Construction rejects a non-object and unknown keys (with `known`);
 * each reader returns the field's value, or the fallback when it is undefined, after checking it.
 */
export class OptionReader {
  private readonly given: Record<string, unknown>;

  /**
   * @param where What the user called ('distill', 'Teacher.create'), the head of every message.
   * @param given The options object (undefined reads as {}).
   * @param known The keys allowed, or undefined to allow any (objects that carry extra fields).
   * @param names How options are named in messages.
   * @param prefix The path of this object inside the caller's options ('optimizer.').
   */
  constructor(
    readonly where: string,
    given: unknown,
    known?: readonly string[],
    private readonly names: OptionNamer = optionNames,
    private readonly prefix = ''
  ) {
    if (given === undefined) given = {};
    if (given === null || typeof given !== 'object' || Array.isArray(given)) {
      throw new TypeError(
        `${where ? `${where}: ` : ''}${prefix ? names(prefix.slice(0, -1)) : 'options'} must be an object, got ${describeValue(given)}`
      );
    }
    this.given = given as Record<string, unknown>;
    if (known) {
      for (const key of Object.keys(this.given)) {
        if (!known.includes(key)) throw new TypeError(`${this.head}unknown ${names(prefix + key)}; expected one of ${known.join(', ')}`);
      }
    }
  }

  /** `where: `, the head of every message (nothing when `where` is empty: the CLI's messages name flags alone). */
  get head(): string {
    return this.where ? `${this.where}: ` : '';
  }

  /** How messages name option `key` of this object. */
  name(key: string): string {
    return this.names(this.prefix + key);
  }

  /** A reader of the nested object at `key` (its messages name `key.field`). */
  nested(key: string, known?: readonly string[]): OptionReader {
    return new OptionReader(this.where, this.given[key], known, this.names, `${this.prefix}${key}.`);
  }

  /** The field as given (undefined when absent). */
  raw(key: string): unknown {
    return this.given[key];
  }

  /** Throws a RangeError (or a TypeError) about `key`. */
  fail(key: string, expected: string, type = false): never {
    const v = this.given[key];
    const message = `${this.head}${this.names(this.prefix + key)} must be ${expected}, got ${describeValue(v)}`;
    throw type ? new TypeError(message) : new RangeError(message);
  }

  number(key: string, fallback: number, rule?: NumberRule): number;
  number(key: string, fallback: undefined, rule?: NumberRule): number | undefined;
  number(key: string, fallback: number | undefined, rule: NumberRule = {}): number | undefined {
    const v = this.given[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number') this.fail(key, ruleText(rule), true);
    // A fraction where a count is expected is the wrong kind of value, as in PyTorch.
    if (rule.integer && Number.isFinite(v) && !Number.isInteger(v)) this.fail(key, ruleText(rule), true);
    const ok =
      (Number.isFinite(v) || (rule.infinite === true && v === Infinity)) &&
      (!rule.integer || Number.isInteger(v) || v === Infinity) &&
      (rule.min === undefined || (rule.above ? v > rule.min : v >= rule.min)) &&
      (rule.max === undefined || (rule.below ? v < rule.max : v <= rule.max));
    if (!ok) this.fail(key, ruleText(rule));
    return v;
  }

  /** An integer >= min (and <= max). */
  integer(key: string, fallback: number, min: number, max?: number): number;
  integer(key: string, fallback: undefined, min: number, max?: number): number | undefined;
  integer(key: string, fallback: number | undefined, min: number, max?: number): number | undefined {
    return this.number(key, fallback as number, { integer: true, min, max });
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.given[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(key, 'a boolean', true);
    return v;
  }

  /** One of `choices`. */
  oneOf<T extends string>(key: string, choices: readonly T[], fallback: T): T;
  oneOf<T extends string>(key: string, choices: readonly T[], fallback: undefined): T | undefined;
  oneOf<T extends string>(key: string, choices: readonly T[], fallback: T | undefined): T | undefined {
    const v = this.given[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v))
      this.fail(key, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, typeof v !== 'string');
    return v as T;
  }

  /** A function (a callback, a schedule). */
  func<F extends (...args: never[]) => unknown>(key: string, fallback: F | undefined, what = 'a function'): F | undefined {
    const v = this.given[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'function') this.fail(key, what, true);
    return v as F;
  }
}
