/**
 * `xlm-kd data`: real parallel text into a data folder — the machine's gettext catalogs, two parallel files or
 * a TSV file — cleaned and split into train / valid / test (lib/pipeline/prepare-data.ts does it). Long runs
 * report their progress on stderr.
 */
import * as fs from 'node:fs';
import { PREPARE_DATA_DEFAULTS, prepareData, type PrepareDataOptions, type PrepareProgress, resolvePrepareData } from '../pipeline/prepare-data';
import { checkFlags, flagNames, type FlagValues, int, num, parseFlags, str } from './args';
import { loadTokenizer } from '../data/load-tokenizer';
import { readDataInfo } from '../pipeline/data-folder';
import { buildSplitStore, openSplitStore, storeBase } from '../pipeline/token-store';
import { type CliIO, UsageError } from './io';

const D = PREPARE_DATA_DEFAULTS;

const dataUsage = `Usage: xlm-kd data --out DIR [--src-lang en --tgt-lang de | --src FILE --tgt FILE | --tsv FILE] [options]

Builds a data folder (train/valid/test .src/.tgt and data.json) from this machine's gettext
catalogs (/usr/share/locale/<lang>/LC_MESSAGES/*.mo: English and one other language, either
direction), from two parallel files (line N of --src translates line N of --tgt), or from a
TSV file (source<TAB>target lines). Files may be gzip-compressed (recognised by content) and of
any size: they are read in one streaming pass that cleans, drops duplicates and draws the
valid and test pairs at random (seeded) while it writes train, so memory does not grow with
the corpus. data.json records what was dropped and each written file's size and SHA-256.

Options:
  -o, --out DIR          the data folder to write; required
      --src-lang LANG    source language (default ${D.srcLang})
      --tgt-lang LANG    target language (default ${D.tgtLang}); with gettext one side must be en
      --src FILE         source sentences, one per line (instead of gettext)
      --tgt FILE         target sentences, one per line (with --src)
      --tsv FILE         source<TAB>target lines (instead of gettext or --src/--tgt)
      --skip-bad-lines   skip empty, malformed or invalid UTF-8 lines in the files, counted in
                         data.json (default: stop at the first, naming file and line)
      --valid N          held-out validation pairs, exactly (default ${D.valid})
      --test N           held-out test pairs, exactly (default ${D.test})
      --max-chars N      drop pairs with a side longer than N characters (default ${D.maxChars})
      --max-ratio R      files: drop pairs whose longer side has more than R times the
                         characters of the shorter (default ${D.maxRatio}; 0 keeps every ratio)
      --keep-duplicates  files: keep exact duplicate pairs (default: drop them)
      --max-pairs N      use at most N pairs (gettext: a seeded sample; files: the first N
                         kept, reading stops there; default all)
      --seed N           seed of the split and the sample (default ${D.seed})
  -t, --tokenizer FILE   also tokenize every split into DIR/tokens (the token store train and
                         distill read; they build it themselves when it is missing)
      --store-only       with --tokenizer: only (re)build the token store of the existing folder DIR
  -h, --help             show this help
`;

function options(v: FlagValues): PrepareDataOptions {
  const out = str(v, 'out');
  if (out === undefined) throw new UsageError('--out is required');
  const o: PrepareDataOptions = {
    out,
    srcLang: str(v, 'src-lang'),
    tgtLang: str(v, 'tgt-lang'),
    srcFile: str(v, 'src'),
    tgtFile: str(v, 'tgt'),
    tsvFile: str(v, 'tsv'),
    skipBadLines: v['skip-bad-lines'] === true,
    valid: int(v, 'valid'),
    test: int(v, 'test'),
    maxChars: int(v, 'max-chars'),
    maxRatio: num(v, 'max-ratio'),
    dedupe: v['keep-duplicates'] === true ? false : undefined,
    maxPairs: int(v, 'max-pairs'),
    seed: int(v, 'seed'),
  };
  checkFlags(() => resolvePrepareData('', o, flagNames({ srcFile: '--src', tgtFile: '--tgt', tsvFile: '--tsv', dedupe: '--keep-duplicates' })));
  return o;
}

/** One progress line: lines read, pairs kept, and the reading rate. */
function progressLine(p: PrepareProgress): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return `data: ${n(p.read)} lines read, ${n(p.kept)} pairs kept, ${n(Math.round(p.read / Math.max(p.seconds, 1e-3)))} lines/s\n`;
}

/** Runs `xlm-kd data`. */
export async function runData(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(
    args,
    {
      out: { type: 'string', short: 'o' },
      'src-lang': { type: 'string' },
      'tgt-lang': { type: 'string' },
      src: { type: 'string' },
      tgt: { type: 'string' },
      tsv: { type: 'string' },
      'skip-bad-lines': { type: 'boolean' },
      valid: { type: 'string' },
      test: { type: 'string' },
      'max-chars': { type: 'string' },
      'max-ratio': { type: 'string' },
      'keep-duplicates': { type: 'boolean' },
      'max-pairs': { type: 'string' },
      seed: { type: 'string' },
      tokenizer: { type: 'string', short: 't' },
      'store-only': { type: 'boolean' },
    },
    dataUsage,
    io
  );
  if (!v) return 0;
  const tokenizer = str(v, 'tokenizer');
  if (v['store-only'] === true) {
    const out = str(v, 'out');
    if (out === undefined || tokenizer === undefined)
      throw new UsageError('--store-only needs --out DIR (an existing data folder) and --tokenizer FILE');
    await buildStores(out, tokenizer, io);
    return 0;
  }
  const o = options(v);
  for (const f of [o.srcFile, o.tgtFile, o.tsvFile]) if (f !== undefined && !fs.existsSync(f)) throw new Error(`cannot read ${f}: no such file`);
  const info = await prepareData({ ...o, onProgress: (p) => io.stderr.write(progressLine(p)) });
  const dropped = Object.entries(info.dropped ?? {}).filter(([, n]) => n > 0);
  io.stdout.write(
    `${o.out}: ${info.srcLang} -> ${info.tgtLang} from ${info.source}: ${info.counts.train} train, ${info.counts.valid} valid, ${info.counts.test} test pairs` +
      `${dropped.length > 0 ? `; dropped: ${dropped.map(([k, n]) => `${k} ${n}`).join(', ')}` : ''}\n`
  );
  if (tokenizer !== undefined) await buildStores(o.out, tokenizer, io);
  return 0;
}

/** Tokenizes every split of the data folder `dir` into its token store (rebuilt whole, whatever is there). */
async function buildStores(dir: string, tokenizerFile: string, io: CliIO): Promise<void> {
  readDataInfo(dir);
  if (!fs.existsSync(tokenizerFile)) throw new Error(`cannot read --tokenizer ${tokenizerFile}: no such file`);
  const tokenizer = loadTokenizer(tokenizerFile);
  const log = (l: string) => io.stderr.write(`${l}\n`);
  for (const split of ['train', 'valid', 'test'] as const) {
    const started = Date.now();
    const pairs = await buildSplitStore(dir, split, tokenizer, { log });
    const store = await openSplitStore(dir, split, tokenizer);
    const bytes = ['src', 'tgt'].reduce(
      (n, side) => n + ['idx', 'bin'].reduce((m, ext) => m + fs.statSync(`${storeBase(dir, split, side as 'src')}.${ext}`).size, 0),
      0
    );
    const tokens = store.srcStore.totalTokens + store.tgtStore.totalTokens;
    io.stdout.write(
      `${storeBase(dir, split, 'src').replace(/\.src$/, '')}: ${pairs.toLocaleString('en-US')} pairs, ${tokens.toLocaleString('en-US')} tokens, ` +
        `${(bytes / 2 ** 20).toFixed(1)} MiB (${(bytes / Math.max(tokens, 1)).toFixed(2)} bytes a token with the index) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`
    );
  }
}
