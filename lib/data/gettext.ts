/**
 * A parallel corpus from the gettext catalogs installed on the machine (/usr/share/locale/<lang>/
 * LC_MESSAGES/*.mo): a GNU .mo parser (both byte orders, plurals, contexts, the header's charset) and
 * the cleaning that turns UI messages into English -> <lang> sentence pairs.
 *
 * Cleaning rules, applied in this order to each entry (every drop is counted in the stats):
 * - the header entry (empty msgid) is skipped; a context (`ctx\x04msgid`) is dropped from the msgid;
 * - untranslated: an empty msgstr (gettext's "use the msgid") is dropped;
 * - plural entries give their singular pair (msgid, msgstr[0]); with `includePlurals` also
 *   (msgid_plural, msgstr[1]) when the language has a second form;
 * - multi-line: a msgid or msgstr containing a newline is dropped (UI help texts, usage screens);
 * - keyboard accelerators are removed on both sides, or on neither: see {@link stripAccelerators};
 * - whitespace runs become one space, ends are trimmed;
 * - no letters: a side that is only format specifiers (`%s`, `%1$d`, `{0}`), digits and punctuation;
 * - identical: msgstr equal to msgid after cleaning (mostly untranslated copies, names and commands);
 * - length: a side shorter than `minChars` or longer than `maxChars` characters (code points);
 * - duplicate: a (src, tgt) pair already seen, in any domain (with `dedupe`).
 * A catalog that cannot be read (corrupt, truncated, unknown charset) is skipped and counted, or throws
 * with `onBadFile: 'error'`; {@link parseMo} on its own always throws a {@link MoFormatError}.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TextDecoder } from 'node:util';
import { SeededRandom } from './random';
import { describeValue } from '../common/options';

/** One message of a catalog. */
export interface MoEntry {
  /** The original (English) text, context removed. */
  msgid: string;
  /** msgctxt, when the entry has one. */
  context?: string;
  /** The plural original, for plural entries. */
  msgidPlural?: string;
  /** Translations: one, or one per plural form. */
  msgstr: string[];
}

/** A parsed .mo file. */
export interface MoCatalog {
  /** Every entry but the header, in file order (sorted by msgid). */
  entries: MoEntry[];
  /** The header's fields (`Content-Type`, `Language`, `Plural-Forms`, ...). */
  headers: Record<string, string>;
  /** The charset the strings were decoded from (lower case), e.g. 'utf-8'. */
  charset: string;
  /** Byte order of the file. */
  littleEndian: boolean;
  /** The file format revision (major << 16 | minor). */
  revision: number;
}

/** A malformed or unreadable .mo file; the message names the file when known. */
export class MoFormatError extends Error {
  /** @param source - the file, when known. */
  constructor(
    message: string,
    readonly source: string | undefined
  ) {
    super(source === undefined ? `gettext: ${message}` : `gettext: ${source}: ${message}`);
    this.name = 'MoFormatError';
  }
}

/** A catalog in a charset this Node.js cannot decode (a build without full ICU, or an exotic charset). */
export class MoCharsetError extends MoFormatError {
  /** @param charset - the charset the catalog's header names. */
  constructor(
    readonly charset: string,
    source: string | undefined
  ) {
    super(`charset '${charset}' is not supported by this Node.js (TextDecoder)`, source);
    this.name = 'MoCharsetError';
  }
}

const MAGIC = 0x950412de;
const HEADER_BYTES = 28;

function decoderFor(charset: string, source: string | undefined): TextDecoder {
  try {
    return new TextDecoder(charset, { fatal: true });
  } catch {
    throw new MoCharsetError(charset, source);
  }
}

/**
 * Parses a GNU .mo file (either byte order, revision 0 or 1; system-dependent strings of revision 1 are
 * ignored). Strings are decoded with the charset of the header's Content-Type (UTF-8 when it names none).
 * @throws MoFormatError on a bad magic number, a truncated file or strings that do not decode.
 */
export function parseMo(bytes: Uint8Array, opts: { source?: string } = {}): MoCatalog {
  const source = opts.source;
  const fail = (msg: string): never => {
    throw new MoFormatError(msg, source);
  };
  if (!(bytes instanceof Uint8Array)) throw new TypeError("parseMo: argument 'bytes' must be a Uint8Array");
  if (bytes.length < HEADER_BYTES) fail(`truncated: ${bytes.length} bytes, a .mo header alone is ${HEADER_BYTES}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le: boolean;
  if (view.getUint32(0, true) === MAGIC) le = true;
  else if (view.getUint32(0, false) === MAGIC) le = false;
  else le = fail(`not a .mo file (magic 0x${view.getUint32(0, true).toString(16)}, expected 0x950412de)`);
  const u32 = (off: number) => view.getUint32(off, le);
  const revision = u32(4);
  if (revision >>> 16 > 1) fail(`unsupported major revision ${revision >>> 16}`);
  const n = u32(8);
  const origTable = u32(12);
  const transTable = u32(16);
  for (const [name, table] of [
    ['original', origTable],
    ['translation', transTable],
  ] as const) {
    if (table + n * 8 > bytes.length) fail(`truncated: the ${name} table (${n} entries at ${table}) ends past the file's ${bytes.length} bytes`);
  }
  const raw = (table: number, i: number): Uint8Array => {
    const len = u32(table + i * 8);
    const off = u32(table + i * 8 + 4);
    // msgfmt ends each string with a NUL not counted in len; only the counted bytes must be present.
    if (off + len > bytes.length) {
      fail(`truncated: string ${i} (${len} bytes at ${off}) ends past the file's ${bytes.length} bytes`);
    }
    return bytes.subarray(off, off + len);
  };

  // The header (msgid "") comes first in the sorted table; it names the charset of every other string.
  let headers: Record<string, string> = {};
  let start = 0;
  if (n > 0 && raw(origTable, 0).length === 0) {
    headers = parseHeader(new TextDecoder('utf-8').decode(raw(transTable, 0)));
    start = 1;
  }
  const charset = (/charset=([^\s;]+)/i.exec(headers['Content-Type'] ?? '')?.[1] ?? 'utf-8').toLowerCase();
  const decoder = decoderFor(charset === 'charset' || charset === 'ascii' ? 'utf-8' : charset, source);
  const decode = (b: Uint8Array, i: number): string => {
    try {
      return decoder.decode(b);
    } catch {
      return fail(`string ${i} is not valid ${charset}`);
    }
  };

  const entries: MoEntry[] = [];
  for (let i = start; i < n; i++) {
    let id = decode(raw(origTable, i), i);
    const str = decode(raw(transTable, i), i);
    let context: string | undefined;
    const eot = id.indexOf('\x04');
    if (eot >= 0) {
      context = id.slice(0, eot);
      id = id.slice(eot + 1);
    }
    const nul = id.indexOf('\0');
    const entry: MoEntry = { msgid: nul >= 0 ? id.slice(0, nul) : id, msgstr: str.split('\0') };
    if (nul >= 0) entry.msgidPlural = id.slice(nul + 1);
    if (context !== undefined) entry.context = context;
    entries.push(entry);
  }
  return { entries, headers, charset, littleEndian: le, revision };
}

function parseHeader(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) out[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return out;
}

// ---- accelerators and cleaning ---------------------------------------------------------------------------

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
// "File(_F)" / "Datei (&D)": CJK catalogs add the mnemonic in parentheses after the label.
const PAREN_ACCEL = /\s*\((?:_|&)[\p{L}\p{N}]\)/u;
const ENTITY = /^&(?:[A-Za-z][A-Za-z0-9]*|#\d+|#x[0-9A-Fa-f]+);/;

/** Positions of accelerator markers in `s`: `_` or `&` before a letter or digit, escapes and entities excluded. */
function markerPositions(s: string, strict: boolean): number[] {
  const out: number[] = [];
  const chars = Array.from(s);
  let pos = 0;
  const offsets: number[] = [];
  for (const c of chars) {
    offsets.push(pos);
    pos += c.length;
  }
  for (let k = 0; k < chars.length; k++) {
    const c = chars[k];
    if (c !== '_' && c !== '&') continue;
    const next = chars[k + 1];
    if (next === c) {
      k++; // "__" and "&&" are escaped literals
      continue;
    }
    if (next === undefined || !LETTER_OR_DIGIT.test(next)) continue;
    if (c === '&' && ENTITY.test(s.slice(offsets[k]))) continue;
    if (c === '_' && strict && looksLikeIdentifier(chars, k)) continue;
    out.push(offsets[k]);
  }
  return out;
}

// An underscore inside a token such as LC_ALL, file_name or _NET_WM_NAME is part of a name, not a mnemonic.
// Mnemonics sit at a word start (_Open) or inside a capitalised word (S_ave, Op_en).
function looksLikeIdentifier(chars: string[], k: number): boolean {
  let a = k;
  while (a > 0 && !/\s/u.test(chars[a - 1])) a--;
  let b = k + 1;
  while (b < chars.length && !/\s/u.test(chars[b])) b++;
  const token = chars.slice(a, b).join('');
  if ((token.match(/_/g) ?? []).length > 1) return true;
  const prev = chars[k - 1];
  if (prev === undefined || !LETTER_OR_DIGIT.test(prev)) return false; // word start
  const word = token.replace(/[^\p{L}\p{N}_]/gu, '');
  if (word === word.toLowerCase()) return true; // file_name
  if (word === word.toUpperCase()) return true; // LC_ALL
  return false;
}

/**
 * Removes keyboard accelerators from a msgid/msgstr pair, on both sides or on neither, so the pair stays
 * consistent: `_File`/`_Datei` -> `File`/`Datei`, `&Open`/`Ö&ffnen` -> `Open`/`Öffnen`,
 * `_File`/`ファイル(_F)` -> `File`/`ファイル`. The msgid must hold exactly one marker (`_` or `&` before a
 * letter or digit, not in `__`, `&&`, an HTML entity or an identifier such as `LC_ALL`); the translation's
 * parenthesised mnemonic, or else its first marker, is removed with it.
 */
export function stripAccelerators(src: string, tgt: string): { src: string; tgt: string } {
  const marks = markerPositions(src, true);
  if (marks.length !== 1) return { src, tgt };
  const cut = (s: string, at: number) => s.slice(0, at) + s.slice(at + 1);
  let t = tgt;
  if (PAREN_ACCEL.test(t)) t = t.replace(PAREN_ACCEL, '');
  else {
    const tm = markerPositions(t, false);
    if (tm.length > 0) t = cut(t, tm[0]);
  }
  return { src: cut(src, marks[0]), tgt: t };
}

// printf (%s, %-5.2f, %1$s, %'d, %lld, %zu, %%), Python (%(name)s), brace ({0}, {name}) and shell (${x}) forms.
const FORMAT_SPEC =
  /%(?:\d+\$|\([\w.]+\))?[-+ #0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|q|j|z|t|I64|I32)?[diouxXeEfFgGaAcspnm%]|\{[\w.:]*\}|\$\{[\w.]+\}/g;

// strftime conversions (%H, %-d, %Ey): only removed for the letter test, where no % form can hide a word.
const STRFTIME = /%[-_0^#]?[EO]?[A-Za-z+]/g;

/** Whether `s` has a letter once format specifiers (printf, strftime, `{0}`, `${x}`) are removed. */
export function hasWords(s: string): boolean {
  return /\p{L}/u.test(s.replace(FORMAT_SPEC, '').replace(STRFTIME, ''));
}

// ---- loading a language ------------------------------------------------------------------------------------

/** One English -> target pair and the catalog (domain) it came from. */
export interface GettextPair {
  /** The English text (msgid), cleaned. */
  src: string;
  /** Its translation (msgstr), cleaned. */
  tgt: string;
  /** The catalog it came from (the .mo file name without extension). */
  domain: string;
}

/** Options for {@link loadGettextCorpus}. */
export interface GettextCorpusOptions {
  /** Locale directory name: 'de', 'fr', 'pt_BR', 'sr@latin', ... */
  lang: string;
  /** Where the locale directories are (default '/usr/share/locale'). */
  root?: string;
  /** Only these catalogs (file names without .mo); default all. An unknown one is an error. */
  domains?: string[];
  /** Shortest side kept, in characters (default 2). */
  minChars?: number;
  /** Longest side kept, in characters (default 200). */
  maxChars?: number;
  /** Keep at most this many pairs, a seeded random sample in corpus order (default all). */
  maxPairs?: number;
  /** Seed of the `maxPairs` sample (default 0). */
  seed?: number;
  /** Drop repeated (src, tgt) pairs across all catalogs (default true). */
  dedupe?: boolean;
  /** Also use the plural pair (msgid_plural, msgstr[1]) of plural entries (default false). */
  includePlurals?: boolean;
  /** A catalog that cannot be parsed: skip it and count it (default), or throw. */
  onBadFile?: 'skip' | 'error';
  /** Called for each skipped catalog (default: nothing; the stats list them). */
  onWarning?: (message: string) => void;
}

/** Why entries were dropped, and what was read. */
export interface GettextCorpusStats {
  /** Catalogs read (symlinks to one file count once). */
  files: number;
  /** Catalogs skipped, with the reason. */
  skippedFiles: Array<{ file: string; reason: string }>;
  /** Entries read, headers excluded. */
  entries: number;
  /** Pairs kept. */
  pairs: number;
  /** Entries dropped, per cleaning rule (see {@link loadGettextCorpus}). */
  dropped: {
    /** Empty msgstr. */
    untranslated: number;
    /** A newline in msgid or msgstr. */
    multiline: number;
    /** A side with no letters (only format specifiers, digits, punctuation). */
    noLetters: number;
    /** Translation equal to the original after cleaning. */
    identical: number;
    /** A side shorter than `minChars`. */
    tooShort: number;
    /** A side longer than `maxChars`. */
    tooLong: number;
    /** A (src, tgt) pair already kept (with `dedupe`). */
    duplicate: number;
    /** Pairs beyond `maxPairs`. */
    overLimit: number;
  };
  /** Pairs kept per catalog. */
  perDomain: Record<string, number>;
}

/** What {@link loadGettextCorpus} returns. */
export interface GettextCorpus {
  /** The pairs kept, in catalog order (sampled down to `maxPairs` when given). */
  pairs: GettextPair[];
  /** What was read and dropped. */
  stats: GettextCorpusStats;
}

const DEFAULT_ROOT = '/usr/share/locale';

function moFiles(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.name.endsWith('.mo') && (e.isFile() || e.isSymbolicLink()))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** Languages under `root` with at least one .mo catalog, sorted. */
export function availableGettextLanguages(root: string = DEFAULT_ROOT): string[] {
  let dirs: string[];
  try {
    dirs = fs.readdirSync(root);
  } catch (err) {
    throw new Error(`gettext: cannot list locale directory ${root}: ${(err as Error).message}`, { cause: err });
  }
  return dirs.filter((d) => moFiles(path.join(root, d, 'LC_MESSAGES')).length > 0).sort();
}

/** Catalog (domain) names of `lang` under `root`, sorted. */
export function gettextDomains(lang: string, root: string = DEFAULT_ROOT): string[] {
  return moFiles(path.join(root, lang, 'LC_MESSAGES')).map((f) => f.slice(0, -3));
}

function checkInt(fn: string, name: string, v: unknown, min: number): void {
  if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min)) {
    throw new RangeError(`${fn}: option '${name}' must be an integer >= ${min}, got ${describeValue(v)}`);
  }
}

/**
 * English -> `lang` sentence pairs from the gettext catalogs of one language (see the file header for the
 * cleaning rules). Catalogs are read in name order, so the result is deterministic for a given machine.
 * @throws Error listing the available languages when `lang` has no catalogs under `root`.
 */
export function loadGettextCorpus(opts: GettextCorpusOptions): GettextCorpus {
  const fn = 'loadGettextCorpus';
  if (opts === null || typeof opts !== 'object' || typeof opts.lang !== 'string' || opts.lang === '') {
    throw new TypeError(`${fn}: option 'lang' must be a locale name such as 'de'`);
  }
  const root = opts.root ?? DEFAULT_ROOT;
  const minChars = opts.minChars ?? 2;
  const maxChars = opts.maxChars ?? 200;
  checkInt(fn, 'minChars', minChars, 0);
  checkInt(fn, 'maxChars', maxChars, 1);
  checkInt(fn, 'maxPairs', opts.maxPairs, 0);
  const dedupe = opts.dedupe ?? true;
  const onBadFile = opts.onBadFile ?? 'skip';

  const available = gettextDomains(opts.lang, root);
  if (available.length === 0) {
    const langs = availableGettextLanguages(root);
    throw new Error(
      `${fn}: no gettext catalogs for language '${opts.lang}' under ${root}` +
        (langs.length ? `; available: ${langs.join(', ')}` : '; no language has any (install packages with translations)')
    );
  }
  let domains = available;
  if (opts.domains !== undefined) {
    const missing = opts.domains.filter((d) => !available.includes(d));
    if (missing.length > 0) {
      throw new Error(`${fn}: no catalog ${missing.map((d) => `'${d}'`).join(', ')} for '${opts.lang}'; available: ${available.join(', ')}`);
    }
    domains = [...new Set(opts.domains)].sort();
  }

  const stats: GettextCorpusStats = {
    files: 0,
    skippedFiles: [],
    entries: 0,
    pairs: 0,
    perDomain: {},
    dropped: { untranslated: 0, multiline: 0, noLetters: 0, identical: 0, tooShort: 0, tooLong: 0, duplicate: 0, overLimit: 0 },
  };
  const seenFiles = new Set<string>();
  const seenPairs = new Set<string>();
  let pairs: GettextPair[] = [];
  const length = (s: string) => Array.from(s).length;

  const consider = (msgid: string, msgstr: string | undefined, domain: string) => {
    if (msgstr === undefined || msgstr === '') return void stats.dropped.untranslated++;
    if (/[\r\n]/.test(msgid) || /[\r\n]/.test(msgstr)) return void stats.dropped.multiline++;
    const stripped = stripAccelerators(msgid, msgstr);
    const src = stripped.src.replace(/\s+/gu, ' ').trim();
    const tgt = stripped.tgt.replace(/\s+/gu, ' ').trim();
    if (!hasWords(src) || !hasWords(tgt)) return void stats.dropped.noLetters++;
    if (src === tgt) return void stats.dropped.identical++;
    if (length(src) < minChars || length(tgt) < minChars) return void stats.dropped.tooShort++;
    if (length(src) > maxChars || length(tgt) > maxChars) return void stats.dropped.tooLong++;
    if (dedupe) {
      const key = `${src}\t${tgt}`;
      if (seenPairs.has(key)) return void stats.dropped.duplicate++;
      seenPairs.add(key);
    }
    pairs.push({ src, tgt, domain });
  };

  for (const domain of domains) {
    const file = path.join(root, opts.lang, 'LC_MESSAGES', `${domain}.mo`);
    let real: string;
    try {
      real = fs.realpathSync(file);
    } catch (err) {
      // A dangling symlink: nothing to read.
      const reason = (err as Error).message;
      if (onBadFile === 'error') throw new MoFormatError(reason, file);
      stats.skippedFiles.push({ file, reason });
      opts.onWarning?.(`gettext: skipped ${file}: ${reason}`);
      continue;
    }
    if (seenFiles.has(real)) continue;
    seenFiles.add(real);
    let catalog: MoCatalog;
    try {
      catalog = parseMo(fs.readFileSync(real), { source: file });
    } catch (err) {
      if (onBadFile === 'error') throw err;
      const reason = (err as Error).message.replace(/^gettext: [^:]*: /, '');
      stats.skippedFiles.push({ file, reason });
      opts.onWarning?.(`gettext: skipped ${file}: ${reason}`);
      continue;
    }
    stats.files++;
    const before = pairs.length;
    for (const e of catalog.entries) {
      stats.entries++;
      consider(e.msgid, e.msgstr[0], domain);
      if (opts.includePlurals && e.msgidPlural !== undefined && e.msgstr.length > 1) consider(e.msgidPlural, e.msgstr[1], domain);
    }
    if (pairs.length > before) stats.perDomain[domain] = pairs.length - before;
  }

  if (opts.maxPairs !== undefined && pairs.length > opts.maxPairs) {
    const order = new SeededRandom(opts.seed ?? 0).shuffle(pairs.map((_, i) => i));
    const keep = new Set(order.slice(0, opts.maxPairs));
    stats.dropped.overLimit = pairs.length - opts.maxPairs;
    pairs = pairs.filter((_, i) => keep.has(i));
    stats.perDomain = {};
    for (const p of pairs) stats.perDomain[p.domain] = (stats.perDomain[p.domain] ?? 0) + 1;
  }
  stats.pairs = pairs.length;
  return { pairs, stats };
}
