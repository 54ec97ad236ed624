/**
 * `xlm-kd data`: real parallel text into a data folder — the machine's gettext catalogs or two parallel files,
 * cleaned and split into train / valid / test (lib/pipeline/prepare-data.ts does it).
 */
import * as fs from 'node:fs';
import { PREPARE_DATA_DEFAULTS, prepareData, PrepareDataOptions, resolvePrepareData } from '../pipeline/prepare-data';
import { checkFlags, flagNames, FlagValues, int, parseFlags, str } from './args';
import { CliIO, UsageError } from './io';

const D = PREPARE_DATA_DEFAULTS;

export const dataUsage = `Usage: xlm-kd data --out DIR [--src-lang en --tgt-lang de | --src FILE --tgt FILE] [options]

Builds a data folder (train/valid/test .src/.tgt and data.json) from this machine's gettext
catalogs (/usr/share/locale/<lang>/LC_MESSAGES/*.mo: English and one other language, either
direction) or from two parallel files (line N of --src translates line N of --tgt).

Options:
  -o, --out DIR          the data folder to write; required
      --src-lang LANG    source language (default ${D.srcLang})
      --tgt-lang LANG    target language (default ${D.tgtLang}); with gettext one side must be en
      --src FILE         source sentences, one per line (instead of gettext)
      --tgt FILE         target sentences, one per line (with --src)
      --skip-bad-lines   skip empty or invalid UTF-8 lines in --src/--tgt (default: stop at the first)
      --valid N          held-out validation pairs (default ${D.valid})
      --test N           held-out test pairs (default ${D.test})
      --max-chars N      drop pairs with a side longer than N characters (default ${D.maxChars})
      --max-pairs N      use at most N pairs (a seeded sample; default all)
      --seed N           seed of the split and the sample (default ${D.seed})
  -h, --help             show this help
`;

function options(v: FlagValues): PrepareDataOptions {
  const out = str(v, 'out');
  if (out === undefined) throw new UsageError('--out is required');
  const o: PrepareDataOptions = {
    out, srcLang: str(v, 'src-lang'), tgtLang: str(v, 'tgt-lang'), srcFile: str(v, 'src'), tgtFile: str(v, 'tgt'),
    skipBadLines: v['skip-bad-lines'] === true, valid: int(v, 'valid'), test: int(v, 'test'),
    maxChars: int(v, 'max-chars'), maxPairs: int(v, 'max-pairs'), seed: int(v, 'seed'),
  };
  checkFlags(() => resolvePrepareData('', o, flagNames({ srcFile: '--src', tgtFile: '--tgt' })));
  return o;
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
