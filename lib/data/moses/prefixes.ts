// Moses' nonbreaking-prefix lists (third_party/moses/nonbreaking_prefixes), read once per language and
// parsed as tokenizer.perl's load_prefixes does, so that the tokenizer can tell "Mr." from a final period.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SPACE } from './unicode';

/**
 * Folder of the vendored lists. This file compiles to dist/lib/data/moses/, four levels below the package
 * root both in this repository and in an installed package, and third_party/ ships beside dist/.
 */
const PREFIX_DIR = path.resolve(__dirname, '..', '..', '..', '..', 'third_party', 'moses', 'nonbreaking_prefixes');
const FILE_PREFIX = 'nonbreaking_prefix.';

/** How a prefix keeps its period: always (1), or only before a number (2, `#NUMERIC_ONLY#`). */
export type PrefixKind = 1 | 2;

/** A language's nonbreaking prefixes, and which list they came from. */
export interface NonbreakingPrefixes {
  /** The list's language: the one asked for, or `en` where Moses has no list for it (as tokenizer.perl). */
  readonly language: string;
  /** Prefix (without its period) to kind. */
  readonly prefixes: ReadonlyMap<string, PrefixKind>;
}

let languages: string[] | undefined;
const cache = new Map<string, NonbreakingPrefixes>();

/** Languages Moses has a nonbreaking-prefix list for (sorted). */
export function mosesLanguages(): string[] {
  languages ??= fs
    .readdirSync(PREFIX_DIR)
    .filter((f) => f.startsWith(FILE_PREFIX))
    .map((f) => f.slice(FILE_PREFIX.length))
    .sort();
  return [...languages];
}

// load_prefixes' /(.*)[\s]+(\#NUMERIC_ONLY\#)/ with perl's "." (anything but "\n") and "\s".
const NUMERIC_ONLY = new RegExp(`^([^\\n]*)${SPACE}+#NUMERIC_ONLY#`, 'v');

/** Parses one list as load_prefixes does: no trimming, `#` comments, perl-false lines ("" and "0") skipped. */
function parse(text: string): Map<string, PrefixKind> {
  const map = new Map<string, PrefixKind>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const item of lines) {
    if (item === '' || item === '0' || item[0] === '#') continue;
    const m = NUMERIC_ONLY.exec(item);
    if (m) map.set(m[1], 2);
    else map.set(item, 1);
  }
  return map;
}

/**
 * The nonbreaking prefixes tokenizer.perl uses for `lang` (cached). A language without a list gets English's,
 * as tokenizer.perl does (it warns on stderr; here `language` says which list was taken).
 */
export function nonbreakingPrefixes(lang: string): NonbreakingPrefixes {
  const known = mosesLanguages().includes(lang) ? lang : 'en';
  let entry = cache.get(known);
  if (!entry) {
    const text = fs.readFileSync(path.join(PREFIX_DIR, FILE_PREFIX + known), 'utf8');
    entry = { language: known, prefixes: parse(text) };
    cache.set(known, entry);
  }
  return entry;
}
