/**
 * `xlm-kd data`: real parallel text into a data folder (see data-folder.ts) — the machine's gettext
 * catalogs (English and one other language, either direction) or two parallel files — cleaned and split
 * at random, deterministically, into train / valid / test.
 */
import * as fs from 'node:fs';
import { availableGettextLanguages, loadGettextCorpus } from '../data/gettext';
import { readParallelFiles, SentencePair, splitCorpus } from '../data/corpus';
import { DataInfo, writeDataFolder } from './data-folder';
import { FlagValues, int, parseFlags, str } from './args';
import { CliIO, UsageError } from './io';

export const dataUsage = `Usage: xlm-kd data --out DIR [--src-lang en --tgt-lang de | --src FILE --tgt FILE] [options]

Builds a data folder (train/valid/test .src/.tgt and data.json) from this machine's gettext
catalogs (/usr/share/locale/<lang>/LC_MESSAGES/*.mo: English and one other language, either
direction) or from two parallel files (line N of --src translates line N of --tgt).

Options:
  -o, --out DIR          the data folder to write; required
      --src-lang LANG    source language (default en)
      --tgt-lang LANG    target language (default de); with gettext one side must be en
      --src FILE         source sentences, one per line (instead of gettext)
      --tgt FILE         target sentences, one per line (with --src)
      --skip-bad-lines   skip empty or invalid UTF-8 lines in --src/--tgt (default: stop at the first)
      --valid N          held-out validation pairs (default 500)
      --test N           held-out test pairs (default 1000)
      --max-chars N      drop pairs with a side longer than N characters (default 200)
      --max-pairs N      use at most N pairs (a seeded sample; default all)
      --seed N           seed of the split and the sample (default 0)
  -h, --help             show this help
`;

/** What {@link prepareData} takes. */
export interface PrepareDataOptions {
  out: string;
  srcLang?: string;
  tgtLang?: string;
  /** Parallel files instead of gettext. */
  srcFile?: string;
  tgtFile?: string;
  skipBadLines?: boolean;
  valid?: number;
  test?: number;
  /** Longest side kept, in characters (default 200). */
  maxChars?: number;
  maxPairs?: number;
  seed?: number;
}

/** Reads, cleans and splits the text; writes the data folder and returns its data.json. */
export async function prepareData(o: PrepareDataOptions): Promise<DataInfo> {
  const srcLang = o.srcLang ?? 'en';
  const tgtLang = o.tgtLang ?? 'de';
  let pairs: SentencePair[];
  let source: string;
  let dropped: Record<string, number> | undefined;
  if (o.srcFile !== undefined || o.tgtFile !== undefined) {
    if (o.srcFile === undefined || o.tgtFile === undefined) throw new UsageError('--src and --tgt go together');
    const read = await readParallelFiles(o.srcFile, o.tgtFile, { onBadLine: o.skipBadLines ? 'skip' : 'error', maxPairs: o.maxPairs });
    const max = o.maxChars ?? 200;
    pairs = read.pairs.filter((p) => p.src.length <= max && p.tgt.length <= max);
    source = `${o.srcFile} + ${o.tgtFile}`;
    dropped = { badLines: read.skipped, tooLong: read.pairs.length - pairs.length };
  } else {
    if (srcLang !== 'en' && tgtLang !== 'en') throw new UsageError(`gettext catalogs pair English with one language: --src-lang or --tgt-lang must be en (got ${srcLang} -> ${tgtLang})`);
    const other = srcLang === 'en' ? tgtLang : srcLang;
    if (other === 'en') throw new UsageError('--src-lang and --tgt-lang must differ');
    const langs = availableGettextLanguages();
    if (!langs.includes(other)) {
      throw new Error(`no gettext catalogs for '${other}' on this machine (available: ${langs.slice(0, 30).join(', ')}${langs.length > 30 ? ', ...' : ''})`);
    }
    const corpus = loadGettextCorpus({ lang: other, maxPairs: o.maxPairs, seed: o.seed, maxChars: o.maxChars });
    pairs = corpus.pairs.map((p) => (srcLang === 'en' ? { src: p.src, tgt: p.tgt } : { src: p.tgt, tgt: p.src }));
    source = `gettext (${corpus.stats.files} catalogs)`;
    dropped = { ...corpus.stats.dropped };
  }
  const valid = o.valid ?? 500;
  const test = o.test ?? 1000;
  if (pairs.length < valid + test + 1) {
    throw new Error(`only ${pairs.length} pairs: too few for ${valid} valid + ${test} test pairs and a training set (lower --valid/--test)`);
  }
  const split = splitCorpus(pairs, { valid, test, seed: o.seed ?? 0 });
  return writeDataFolder(o.out, split, { source, srcLang, tgtLang, dropped });
}

function options(v: FlagValues): PrepareDataOptions {
  const out = str(v, 'out');
  if (out === undefined) throw new UsageError('--out is required');
  return {
    out, srcLang: str(v, 'src-lang'), tgtLang: str(v, 'tgt-lang'), srcFile: str(v, 'src'), tgtFile: str(v, 'tgt'),
    skipBadLines: v['skip-bad-lines'] === true, valid: int(v, 'valid', 0), test: int(v, 'test', 0),
    maxChars: int(v, 'max-chars', 1), maxPairs: int(v, 'max-pairs', 1), seed: int(v, 'seed', 0),
  };
}

/** Runs `xlm-kd data`. */
export async function runData(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(args, {
    out: { type: 'string', short: 'o' }, 'src-lang': { type: 'string' }, 'tgt-lang': { type: 'string' }, src: { type: 'string' },
    tgt: { type: 'string' }, 'skip-bad-lines': { type: 'boolean' }, valid: { type: 'string' }, test: { type: 'string' },
    'max-chars': { type: 'string' }, 'max-pairs': { type: 'string' }, seed: { type: 'string' },
  }, dataUsage, io);
  if (!v) return 0;
  const o = options(v);
  for (const f of [o.srcFile, o.tgtFile]) if (f !== undefined && !fs.existsSync(f)) throw new Error(`cannot read ${f}: no such file`);
  const info = await prepareData(o);
  io.stdout.write(
    `${o.out}: ${info.srcLang} -> ${info.tgtLang} from ${info.source}: ${info.counts.train} train, ${info.counts.valid} valid, ${info.counts.test} test pairs\n`
  );
  return 0;
}
