/**
 * `xlm-kd evaluate`: one or several models on one test set — BLEU, chrF, parameters, size on disk, decoding
 * sentences/s and speed-up against the first model — as a table, and optionally a chart and JSON.
 */
import * as fs from 'node:fs';
import { readParallelFiles, type SentencePair } from '../data/corpus';
import { compareModels, formatComparison, type ModelEntry, plotComparison } from '../eval/compare';
import { writeFileAtomic } from '../io/atomic-write';
import { choice, int, parseFlags, str } from './args';
import { readSplit } from '../pipeline/data-folder';
import { DECODE_DEFAULTS } from '../decode/options';
import { TRANSLATE_DEFAULTS } from '../decode/translate';
import { deviceFlags, deviceFlagSpecs, deviceFlagsHelp } from './device-flags';
import { decodingFlagSpecs, decodingFlagsHelp, decodingOptions, loadForDecoding } from './decoding-flags';
import { type CliIO, UsageError } from './io';
import { namedModels } from './model-names';
import { languageFlags, languageFlagSpecs, languageFlagsHelp, tokenizerFlag, tokenizerFlagHelp } from './language-flags';

const evaluateUsage = `Usage: xlm-kd evaluate --model A.safetensors [--model NAME=B.safetensors ...] (--data DIR | --src FILE --ref FILE) [options]

Translates the test sentences with each model in turn (same batches, same threads) and prints
BLEU (sacreBLEU's 13a), chrF, parameters, size on disk, sentences/s and the speed-up over the first model.

Options:
  -m, --model [NAME=]FILE  a model file; repeat for several (the first is the reference of the speed-up).
                           Its row is NAME, else the run folder of a RUN/model.safetensors, else the
                           file's name (with more of the path where two would be equal)
  -d, --data DIR           a data folder from 'xlm-kd data'
      --split S            test or valid (default test)
      --src FILE           source sentences, one per line (instead of --data)
      --ref FILE           their reference translations
${tokenizerFlagHelp}${languageFlagsHelp}  -b, --beam N             beam size; 1 = greedy (default ${DECODE_DEFAULTS.beamSize})
      --batch-size N       sentences decoded together (default ${TRANSLATE_DEFAULTS.batchSize})
      --max-sentences N    only the first N sentences
      --markdown           print the table as Markdown
      --plot FILE.svg      also draw BLEU against speed
      --json FILE          also write the rows (with the translations) as JSON
${decodingFlagsHelp}${deviceFlagsHelp}  -h, --help               show this help
`;

/** Runs `xlm-kd evaluate`. */
export async function runEvaluate(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(
    args,
    {
      model: { type: 'string', short: 'm', multiple: true },
      data: { type: 'string', short: 'd' },
      split: { type: 'string' },
      src: { type: 'string' },
      ref: { type: 'string' },
      tokenizer: { type: 'string', short: 't' },
      ...languageFlagSpecs,
      beam: { type: 'string', short: 'b' },
      'batch-size': { type: 'string' },
      'max-sentences': { type: 'string' },
      markdown: { type: 'boolean' },
      plot: { type: 'string' },
      json: { type: 'string' },
      ...decodingFlagSpecs,
      ...deviceFlagSpecs,
    },
    evaluateUsage,
    io
  );
  if (!v) return 0;
  const named = namedModels((v as unknown as { model?: string[] }).model ?? []);
  if (named.length === 0) throw new UsageError('give at least one --model');
  const files = named.map((m) => m.file);
  const data = str(v, 'data');
  const src = str(v, 'src');
  const ref = str(v, 'ref');
  if ((data === undefined) === (src === undefined && ref === undefined)) throw new UsageError('give --data DIR, or --src FILE and --ref FILE');
  for (const f of files) if (!fs.existsSync(f)) throw new Error(`cannot read --model ${f}: no such file`);
  let pairs: SentencePair[];
  if (data !== undefined) pairs = await readSplit(data, choice(v, 'split', ['test', 'valid'] as const) ?? 'test');
  else {
    if (src === undefined || ref === undefined) throw new UsageError('--src and --ref go together');
    pairs = (await readParallelFiles(src, ref)).pairs;
  }
  const max = int(v, 'max-sentences', 1);
  if (max !== undefined) pairs = pairs.slice(0, max);
  if (pairs.length === 0) throw new Error('no test sentences');
  const tokenizer = tokenizerFlag(v, files[0]);
  const models: ModelEntry[] = [];
  for (const { name, file } of named) models.push({ name, model: await loadForDecoding(file, v), file });
  const rows = await compareModels(
    models,
    {
      sources: pairs.map((p) => p.src),
      references: pairs.map((p) => p.tgt),
      tokenizer,
      ...languageFlags(v, data),
      beamSize: int(v, 'beam'),
      batchSize: int(v, 'batch-size'),
      ...decodingOptions(v),
      ...deviceFlags(v),
    },
    (r) => io.stderr.write(`${r.name}: BLEU ${r.bleu.toFixed(2)}, ${r.sentencesPerSecond.toFixed(1)} sentences/s\n`)
  );
  io.stdout.write(formatComparison(rows, { markdown: v.markdown === true }) + '\n');
  const plot = str(v, 'plot');
  if (plot !== undefined) await plotComparison(rows, plot);
  const json = str(v, 'json');
  if (json !== undefined) await writeFileAtomic(json, JSON.stringify({ sentences: pairs.length, rows }, null, 1) + '\n');
  return 0;
}
