/**
 * `xlm-kd bench`: decoding speed of saved models on your sentences — sentences/s and target tokens/s for
 * each model, beam size and batch size, in interleaved rounds (so a slow moment of the machine hits every
 * model alike), reported as medians with their spread. (`npm run bench` in a checkout is the side-by-side
 * against the PyTorch reference.)
 */
import * as fs from 'node:fs';
import { translate } from '../decode/translate';
import type { Seq2Seq } from '../models/seq2seq';
import { setNumThreads, version } from '../tensor/runtime';
import { type FlagValues, int, parseFlags, str } from './args';
import { readSplit } from '../pipeline/data-folder';
import { deviceFlags, deviceFlagSpecs, deviceFlagsHelp } from './device-flags';
import { decodingFlagSpecs, decodingFlagsHelp, decodingOptions, loadForDecoding } from './decoding-flags';
import { type CliIO, UsageError } from './io';
import { namedModels } from './model-names';
import { languageFlags, languageFlagSpecs, languageFlagsHelp, tokenizerFlag, tokenizerFlagHelp } from './language-flags';

/** The defaults of `xlm-kd bench`'s own options (it has no library counterpart). */
const BENCH_DEFAULTS = Object.freeze({ beams: [1, 5], batchSizes: [32], sentences: 200, rounds: 3 });

const benchUsage = `Usage: xlm-kd bench --model A.safetensors [--model NAME=B ...] (--data DIR | --src FILE) [options]

Measures decoding speed: every model x beam x batch size, in interleaved rounds; prints medians
(min-max) of sentences/s and generated tokens/s. Tokenization is included, as a user sees it.

Options:
  -m, --model [NAME=]FILE
                         a model file; repeat for several. Its row is NAME, else the run
                         folder of a RUN/model.safetensors, else the file's name
  -d, --data DIR         a data folder (its test split) ...
      --src FILE         ... or source sentences, one per line
${tokenizerFlagHelp}${languageFlagsHelp}  -b, --beam LIST        beam sizes, comma-separated (default ${BENCH_DEFAULTS.beams.join(',')})
      --batch-size LIST  batch sizes, comma-separated (default ${BENCH_DEFAULTS.batchSizes.join(',')})
      --sentences N      sentences per measurement (default ${BENCH_DEFAULTS.sentences})
      --rounds N         rounds (default ${BENCH_DEFAULTS.rounds})
      --threads N        LibTorch threads (default: as configured)
${decodingFlagsHelp}${deviceFlagsHelp}  -h, --help             show this help
`;

function list(v: FlagValues, name: string, fallback: number[]): number[] {
  const raw = str(v, name);
  if (raw === undefined) return fallback;
  const xs = raw.split(',').map(Number);
  if (xs.some((x) => !Number.isInteger(x) || x < 1)) throw new UsageError(`--${name} must be comma-separated integers >= 1, got '${raw}'`);
  return xs;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** Runs `xlm-kd bench`. */
export async function runBench(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(
    args,
    {
      model: { type: 'string', short: 'm', multiple: true },
      data: { type: 'string', short: 'd' },
      src: { type: 'string' },
      tokenizer: { type: 'string', short: 't' },
      ...languageFlagSpecs,
      beam: { type: 'string', short: 'b' },
      'batch-size': { type: 'string' },
      sentences: { type: 'string' },
      rounds: { type: 'string' },
      threads: { type: 'string' },
      ...decodingFlagSpecs,
      ...deviceFlagSpecs,
    },
    benchUsage,
    io
  );
  if (!v) return 0;
  const named = namedModels((v as unknown as { model?: string[] }).model ?? []);
  if (named.length === 0) throw new UsageError('give at least one --model');
  const files = named.map((m) => m.file);
  const data = str(v, 'data');
  const srcFile = str(v, 'src');
  if ((data === undefined) === (srcFile === undefined)) throw new UsageError('give --data DIR or --src FILE');
  for (const f of files) if (!fs.existsSync(f)) throw new Error(`cannot read --model ${f}: no such file`);
  const n = int(v, 'sentences', 1) ?? BENCH_DEFAULTS.sentences;
  let sources =
    data !== undefined
      ? (await readSplit(data, 'test')).map((p) => p.src)
      : fs
          .readFileSync(srcFile!, 'utf8')
          .split(/\r?\n/)
          .filter((l) => l.trim());
  sources = sources.slice(0, n);
  if (sources.length === 0) throw new Error('no source sentences');
  const tokenizer = tokenizerFlag(v, files[0]);
  const languages = languageFlags(v, data);
  const threads = int(v, 'threads', 1);
  if (threads !== undefined) setNumThreads(threads);
  const beams = list(v, 'beam', BENCH_DEFAULTS.beams);
  const batches = list(v, 'batch-size', BENCH_DEFAULTS.batchSizes);
  const rounds = int(v, 'rounds', 1) ?? BENCH_DEFAULTS.rounds;
  const models: Array<{ name: string; model: Seq2Seq }> = [];
  for (const { name, file } of named) {
    const model = await loadForDecoding(file, v);
    model.eval();
    models.push({ name, model });
  }
  const cases = models.flatMap((m) =>
    beams.flatMap((beamSize) => batches.map((batchSize) => ({ ...m, beamSize, batchSize, sps: [] as number[], tps: [] as number[] })))
  );
  // One untimed pass per case first: the first decode of a shape pays for allocation and kernel set-up.
  const decode = { ...decodingOptions(v), ...deviceFlags(v) };
  for (const c of cases)
    await translate(c.model, sources.slice(0, c.batchSize), { ...decode, ...languages, tokenizer, beamSize: c.beamSize, batchSize: c.batchSize });
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const started = process.hrtime.bigint();
      const out = await translate(c.model, sources, { ...decode, ...languages, tokenizer, beamSize: c.beamSize, batchSize: c.batchSize });
      const s = Number(process.hrtime.bigint() - started) / 1e9;
      const tokens = out.reduce((a, x) => a + x.tokens.length, 0);
      c.sps.push(sources.length / s);
      c.tps.push(tokens / s);
      io.stderr.write(
        `round ${r + 1}/${rounds}: ${c.name} beam ${c.beamSize} batch ${c.batchSize}: ${(sources.length / s).toFixed(1)} sentences/s\n`
      );
    }
  }
  const info = version();
  io.stdout.write(`LibTorch ${info.libtorch}, ${info.threads} threads, ${sources.length} sentences, ${rounds} rounds; median (min-max)\n`);
  const rows = cases.map((c) => [
    c.name,
    String(c.beamSize),
    String(c.batchSize),
    `${median(c.sps).toFixed(1)} (${Math.min(...c.sps).toFixed(1)}-${Math.max(...c.sps).toFixed(1)})`,
    `${median(c.tps).toFixed(0)} (${Math.min(...c.tps).toFixed(0)}-${Math.max(...c.tps).toFixed(0)})`,
  ]);
  const head = ['model', 'beam', 'batch', 'sentences/s', 'tokens/s'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows]) io.stdout.write(r.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ') + '\n');
  return 0;
}
