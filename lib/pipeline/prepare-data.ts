/**
 * The pipeline's first stage: real parallel text into a data folder (lib/pipeline/data-folder.ts) — the
 * machine's gettext catalogs (English and one other language, either direction; small, so read into memory
 * and split by splitCorpus, which keeps published results reproducible), or a corpus on disk, two parallel
 * files or a TSV, plain or gzip, of any size (streamed in one pass: lib/pipeline/prepare-stream.ts) — cleaned
 * and split at random, deterministically, into train / valid / test.
 */
import { type OptionNamer, OptionReader, optionNames } from '../common/options';
import { splitCorpus, streamParallelFiles, streamTsv } from '../data/corpus';
import { availableGettextLanguages, loadGettextCorpus } from '../data/gettext';
import { type DataInfo, writeDataFolder } from './data-folder';
import { prepareStreamed, type PrepareProgress } from './prepare-stream';

export type { PrepareProgress } from './prepare-stream';

/** What {@link prepareData} takes. */
export interface PrepareDataOptions {
  /** The data folder to write. */
  out: string;
  /** Source and target languages (default en -> de): of the gettext catalogs, or what data.json records for files. */
  srcLang?: string;
  /** Target language (default de). */
  tgtLang?: string;
  /** Parallel files instead of gettext (line N of srcFile translates line N of tgtFile), plain or gzip. */
  srcFile?: string;
  /** The target side's file, with `srcFile`. */
  tgtFile?: string;
  /** A TSV file of `source<TAB>target` lines instead of gettext or srcFile/tgtFile, plain or gzip. */
  tsvFile?: string;
  /** Skip empty, malformed or invalid UTF-8 lines in the files, counted in data.json (default: stop at the first). */
  skipBadLines?: boolean;
  /** Held-out pairs (defaults 500 and 1000); exact sizes. */
  valid?: number;
  /** Test pairs (default 1000). */
  test?: number;
  /** Longest side kept, in characters (default 200). */
  maxChars?: number;
  /**
   * Files only: drop a pair when its longer side has more than this many times the characters of its shorter
   * side (default 3: a sentence and a fragment of its translation, or a misaligned line). 0 or Infinity keeps
   * every ratio. The gettext catalogs are cleaned by their own rules (lib/data/gettext.ts).
   */
  maxRatio?: number;
  /** Files only: drop exact duplicate pairs after cleaning, by a 64-bit hash of the pair (default true). */
  dedupe?: boolean;
  /**
   * Use at most this many pairs (default all): for gettext a seeded sample; for files the first this many
   * pairs kept (reading stops there).
   */
  maxPairs?: number;
  /** Seed of the split and the sample (default 0). */
  seed?: number;
  /** Files only: told every few seconds how far the pass has got (lines read, pairs kept). */
  onProgress?: (p: PrepareProgress) => void;
}

/** The defaults of {@link PrepareDataOptions}. */
export const PREPARE_DATA_DEFAULTS = Object.freeze({
  srcLang: 'en',
  tgtLang: 'de',
  valid: 500,
  test: 1000,
  maxChars: 200,
  maxRatio: 3,
  dedupe: true,
  seed: 0,
});

const KEYS = [
  'out',
  'srcLang',
  'tgtLang',
  'srcFile',
  'tgtFile',
  'tsvFile',
  'skipBadLines',
  'valid',
  'test',
  'maxChars',
  'maxRatio',
  'dedupe',
  'maxPairs',
  'seed',
  'onProgress',
];

type Optional = 'srcFile' | 'tgtFile' | 'tsvFile' | 'maxPairs' | 'onProgress';

/** {@link PrepareDataOptions} resolved. */
export type ResolvedPrepareData = Required<Omit<PrepareDataOptions, Optional>> & Pick<PrepareDataOptions, Optional>;

/** Fills {@link PREPARE_DATA_DEFAULTS} and checks the values (the CLI names its flags through `names`). */
export function resolvePrepareData(where: string, opts: unknown, names: OptionNamer = optionNames): ResolvedPrepareData {
  const r: OptionReader = new OptionReader(where, opts, KEYS, names);
  const D = PREPARE_DATA_DEFAULTS;
  const text = (key: string, fallback?: string) => {
    const v = r.raw(key) ?? fallback;
    if (v !== undefined && (typeof v !== 'string' || v === '')) r.fail(key, 'a non-empty string', true);
    return v;
  };
  const out = text('out');
  if (out === undefined) r.fail('out', 'the data folder to write', true);
  const o: ResolvedPrepareData = {
    out,
    srcLang: text('srcLang', D.srcLang)!,
    tgtLang: text('tgtLang', D.tgtLang)!,
    srcFile: text('srcFile'),
    tgtFile: text('tgtFile'),
    tsvFile: text('tsvFile'),
    skipBadLines: r.boolean('skipBadLines', false),
    valid: r.integer('valid', D.valid, 0),
    test: r.integer('test', D.test, 0),
    maxChars: r.integer('maxChars', D.maxChars, 1),
    maxRatio: r.number('maxRatio', D.maxRatio, { min: 0, infinite: true }),
    dedupe: r.boolean('dedupe', D.dedupe),
    maxPairs: r.integer('maxPairs', undefined, 1),
    seed: r.integer('seed', D.seed, 0),
    onProgress: r.func<(p: PrepareProgress) => void>('onProgress', undefined),
  };
  // A ratio below 1 would drop every pair whose sides differ in length at all.
  if (o.maxRatio > 0 && o.maxRatio < 1) r.fail('maxRatio', 'a number >= 1, or 0 to keep every ratio');
  if ((o.srcFile === undefined) !== (o.tgtFile === undefined))
    throw new TypeError(`${r.head}${r.name('srcFile')} and ${r.name('tgtFile')} go together`);
  if (o.tsvFile !== undefined && o.srcFile !== undefined) {
    throw new TypeError(`${r.head}${r.name('tsvFile')} replaces ${r.name('srcFile')} and ${r.name('tgtFile')}: give one or the other`);
  }
  if (o.srcFile === undefined && o.tsvFile === undefined) {
    if (o.srcLang !== 'en' && o.tgtLang !== 'en') {
      throw new RangeError(
        `${r.head}gettext catalogs pair English with one language: ${r.name('srcLang')} or ${r.name('tgtLang')} must be en (got ${o.srcLang} -> ${o.tgtLang})`
      );
    }
    if (o.srcLang === o.tgtLang) throw new RangeError(`${r.head}${r.name('srcLang')} and ${r.name('tgtLang')} must differ`);
  }
  return o;
}

/** Reads, cleans and splits the text; writes the data folder and returns its data.json. */
export async function prepareData(options: PrepareDataOptions): Promise<DataInfo> {
  const o = resolvePrepareData('prepareData', options);
  if (o.srcFile !== undefined || o.tsvFile !== undefined) {
    const onBadLine = o.skipBadLines ? 'skip' : 'error';
    const { srcFile, tgtFile, tsvFile } = o;
    return prepareStreamed({
      ...o,
      source: tsvFile ?? `${srcFile} + ${tgtFile}`,
      read: (onSkip) =>
        tsvFile !== undefined ? streamTsv(tsvFile, { onBadLine, onSkip }) : streamParallelFiles(srcFile!, tgtFile!, { onBadLine, onSkip }),
    });
  }
  const other = o.srcLang === 'en' ? o.tgtLang : o.srcLang;
  const langs = availableGettextLanguages();
  if (!langs.includes(other)) {
    throw new Error(
      `no gettext catalogs for '${other}' on this machine (available: ${langs.slice(0, 30).join(', ')}${langs.length > 30 ? ', ...' : ''})`
    );
  }
  const corpus = loadGettextCorpus({ lang: other, maxPairs: o.maxPairs, seed: o.seed, maxChars: o.maxChars });
  const pairs = corpus.pairs.map((p) => (o.srcLang === 'en' ? { src: p.src, tgt: p.tgt } : { src: p.tgt, tgt: p.src }));
  if (pairs.length < o.valid + o.test + 1) {
    throw new Error(`only ${pairs.length} pairs: too few for ${o.valid} valid + ${o.test} test pairs and a training set (fewer valid/test pairs)`);
  }
  const split = splitCorpus(pairs, { valid: o.valid, test: o.test, seed: o.seed });
  return writeDataFolder(o.out, split, {
    source: `gettext (${corpus.stats.files} catalogs)`,
    srcLang: o.srcLang,
    tgtLang: o.tgtLang,
    dropped: { ...corpus.stats.dropped },
  });
}
