/**
 * The pipeline's first stage: real parallel text into a data folder (lib/pipeline/data-folder.ts) — the
 * machine's gettext catalogs (English and one other language, either direction) or two parallel files —
 * cleaned and split at random, deterministically, into train / valid / test.
 */
import { OptionNamer, OptionReader, optionNames } from '../common/options';
import { readParallelFiles, SentencePair, splitCorpus } from '../data/corpus';
import { availableGettextLanguages, loadGettextCorpus } from '../data/gettext';
import { DataInfo, writeDataFolder } from './data-folder';

/** What {@link prepareData} takes. */
export interface PrepareDataOptions {
  /** The data folder to write. */
  out: string;
  /** Source and target languages of the gettext catalogs (default en -> de). */
  srcLang?: string;
  tgtLang?: string;
  /** Parallel files instead of gettext (line N of srcFile translates line N of tgtFile). */
  srcFile?: string;
  tgtFile?: string;
  /** Skip empty or invalid UTF-8 lines in the files (default: stop at the first). */
  skipBadLines?: boolean;
  /** Held-out pairs (defaults 500 and 1000). */
  valid?: number;
  test?: number;
  /** Longest side kept, in characters (default 200). */
  maxChars?: number;
  /** Use at most this many pairs (a seeded sample; default all). */
  maxPairs?: number;
  /** Seed of the split and the sample (default 0). */
  seed?: number;
}

/** The defaults of {@link PrepareDataOptions}. */
export const PREPARE_DATA_DEFAULTS = Object.freeze({ srcLang: 'en', tgtLang: 'de', valid: 500, test: 1000, maxChars: 200, seed: 0 });

const KEYS = ['out', 'srcLang', 'tgtLang', 'srcFile', 'tgtFile', 'skipBadLines', 'valid', 'test', 'maxChars', 'maxPairs', 'seed'];

/** {@link PrepareDataOptions} resolved. */
export type ResolvedPrepareData = Required<Omit<PrepareDataOptions, 'srcFile' | 'tgtFile' | 'maxPairs'>> & Pick<PrepareDataOptions, 'srcFile' | 'tgtFile' | 'maxPairs'>;

/** Fills {@link PREPARE_DATA_DEFAULTS} and checks the values (the CLI names its flags through `names`). */
export function resolvePrepareData(where: string, opts: unknown, names: OptionNamer = optionNames): ResolvedPrepareData {
  const r: OptionReader = new OptionReader(where, opts, KEYS, names);
  const D = PREPARE_DATA_DEFAULTS;
  const text = (key: string, fallback?: string) => {
    const v = r.raw(key) ?? fallback;
    if (v !== undefined && (typeof v !== 'string' || v === '')) r.fail(key, 'a non-empty string', true);
    return v as string | undefined;
  };
  const out = text('out');
  if (out === undefined) r.fail('out', 'the data folder to write', true);
  const o: ResolvedPrepareData = {
    out, srcLang: text('srcLang', D.srcLang)!, tgtLang: text('tgtLang', D.tgtLang)!, srcFile: text('srcFile'), tgtFile: text('tgtFile'),
    skipBadLines: r.boolean('skipBadLines', false), valid: r.integer('valid', D.valid, 0), test: r.integer('test', D.test, 0),
    maxChars: r.integer('maxChars', D.maxChars, 1), maxPairs: r.integer('maxPairs', undefined, 1), seed: r.integer('seed', D.seed, 0),
  };
  if ((o.srcFile === undefined) !== (o.tgtFile === undefined)) throw new TypeError(`${r.head}${r.name('srcFile')} and ${r.name('tgtFile')} go together`);
  if (o.srcFile === undefined) {
    if (o.srcLang !== 'en' && o.tgtLang !== 'en') {
      throw new RangeError(`${r.head}gettext catalogs pair English with one language: ${r.name('srcLang')} or ${r.name('tgtLang')} must be en (got ${o.srcLang} -> ${o.tgtLang})`);
    }
    if (o.srcLang === o.tgtLang) throw new RangeError(`${r.head}${r.name('srcLang')} and ${r.name('tgtLang')} must differ`);
  }
  return o;
}

/** Reads, cleans and splits the text; writes the data folder and returns its data.json. */
export async function prepareData(options: PrepareDataOptions): Promise<DataInfo> {
  const o = resolvePrepareData('prepareData', options);
  let pairs: SentencePair[];
  let source: string;
  let dropped: Record<string, number> | undefined;
  if (o.srcFile !== undefined && o.tgtFile !== undefined) {
    const read = await readParallelFiles(o.srcFile, o.tgtFile, { onBadLine: o.skipBadLines ? 'skip' : 'error', maxPairs: o.maxPairs });
    pairs = read.pairs.filter((p) => p.src.length <= o.maxChars && p.tgt.length <= o.maxChars);
    source = `${o.srcFile} + ${o.tgtFile}`;
    dropped = { badLines: read.skipped, tooLong: read.pairs.length - pairs.length };
  } else {
    const other = o.srcLang === 'en' ? o.tgtLang : o.srcLang;
    const langs = availableGettextLanguages();
    if (!langs.includes(other)) {
      throw new Error(`no gettext catalogs for '${other}' on this machine (available: ${langs.slice(0, 30).join(', ')}${langs.length > 30 ? ', ...' : ''})`);
    }
    const corpus = loadGettextCorpus({ lang: other, maxPairs: o.maxPairs, seed: o.seed, maxChars: o.maxChars });
    pairs = corpus.pairs.map((p) => (o.srcLang === 'en' ? { src: p.src, tgt: p.tgt } : { src: p.tgt, tgt: p.src }));
    source = `gettext (${corpus.stats.files} catalogs)`;
    dropped = { ...corpus.stats.dropped };
  }
  if (pairs.length < o.valid + o.test + 1) {
    throw new Error(`only ${pairs.length} pairs: too few for ${o.valid} valid + ${o.test} test pairs and a training set (fewer valid/test pairs)`);
  }
  const split = splitCorpus(pairs, { valid: o.valid, test: o.test, seed: o.seed });
  return writeDataFolder(o.out, split, { source, srcLang: o.srcLang, tgtLang: o.tgtLang, dropped });
}
