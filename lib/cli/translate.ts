/**
 * `xlm-kd translate`: streams sentences (stdin or --input, one per line) through a saved model and writes
 * the translations in the same order (stdout or --output), while later lines are still being read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { loadModel } from '../models/load';
import { SentencePiece } from '../data/tokenizer';
import { translateStream, TranslateOptions } from '../decode/translate';
import { Device, isDevice } from '../tensor/dtype';
import { CliIO, UsageError } from './io';

export const translateUsage = `Usage: xlm-kd translate --model MODEL.safetensors [options] < input.txt > output.txt

Translates one sentence per line, in order; an empty line gives an empty line.

Options:
  -m, --model FILE         the model (safetensors written by save()); required
  -t, --tokenizer FILE     SentencePiece model (default: tokenizer.model next to the model)
  -b, --beam N             beam size; 1 = greedy decoding (default 5)
      --batch-size N       sentences decoded together (default 32)
      --max-tokens N       also cap a batch at N padded source tokens
      --n-best N           print the N best translations per sentence as
                           "INDEX ||| TEXT ||| SCORE" lines (default 1: the text only)
      --length-penalty X   score = log-prob / length^X (default 1)
      --max-length N       most tokens generated per sentence (default 1.5 x source + 10)
      --max-source-length N  cut longer sources to N tokens
      --src-lang ID        source language id (models with language embeddings)
      --tgt-lang ID        target language id
      --device DEV         cpu, cuda or cuda:N (default cpu)
  -i, --input FILE         read from FILE instead of stdin
  -o, --output FILE        write to FILE instead of stdout
  -h, --help               show this help
`;

function intOption(name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${raw}'`);
  return v;
}

function numberOption(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name} must be a number, got '${raw}'`);
  return v;
}

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/** Runs `xlm-kd translate` with `args` (after the subcommand); resolves to the exit code. */
export async function runTranslate(args: string[], io: CliIO): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        model: { type: 'string', short: 'm' },
        tokenizer: { type: 'string', short: 't' },
        beam: { type: 'string', short: 'b' },
        'batch-size': { type: 'string' },
        'max-tokens': { type: 'string' },
        'n-best': { type: 'string' },
        'length-penalty': { type: 'string' },
        'max-length': { type: 'string' },
        'max-source-length': { type: 'string' },
        'src-lang': { type: 'string' },
        'tgt-lang': { type: 'string' },
        device: { type: 'string' },
        input: { type: 'string', short: 'i' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    io.stdout.write(translateUsage);
    return 0;
  }
  if (values.model === undefined) throw new UsageError('--model is required');
  const device = values.device ?? 'cpu';
  if (!isDevice(device)) throw new UsageError(`--device must be cpu, cuda or cuda:N, got '${device}'`);
  const nBest = intOption('n-best', values['n-best'], 1) ?? 1;
  const opts: Omit<TranslateOptions, 'tokenizer'> = {
    beamSize: intOption('beam', values.beam, 1),
    batchSize: intOption('batch-size', values['batch-size'], 1),
    maxTokens: intOption('max-tokens', values['max-tokens'], 1),
    nBest,
    lengthPenalty: numberOption('length-penalty', values['length-penalty']),
    maxLength: intOption('max-length', values['max-length'], 1),
    maxSourceLength: intOption('max-source-length', values['max-source-length'], 1),
    srcLang: intOption('src-lang', values['src-lang'], 0),
    tgtLang: intOption('tgt-lang', values['tgt-lang'], 0),
  };
  if (nBest > (opts.beamSize ?? 5)) throw new UsageError(`--n-best (${nBest}) must not exceed --beam (${opts.beamSize ?? 5})`);

  // Check the inputs before the (slow) model load, so a typo fails at once.
  const tokenizerPath = values.tokenizer ?? path.join(path.dirname(values.model), 'tokenizer.model');
  if (values.tokenizer === undefined && fs.existsSync(values.model) && !fs.existsSync(tokenizerPath)) {
    throw new Error(`no tokenizer given and none next to the model (${tokenizerPath}); pass --tokenizer FILE`);
  }
  if (values.input !== undefined && !fs.existsSync(values.input)) throw new Error(`cannot read --input ${values.input}: no such file`);
  const model = await loadModel(values.model);
  const tokenizer = SentencePiece.load(tokenizerPath);
  model.eval();
  if (device !== 'cpu') model.to(device as Device);

  const input = values.input !== undefined ? fs.createReadStream(values.input, { encoding: 'utf8' }) : io.stdin;
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  const out: NodeJS.WritableStream = values.output !== undefined ? fs.createWriteStream(values.output) : io.stdout;
  try {
    for await (const r of translateStream(model, lines, { ...opts, tokenizer, device: device as Device })) {
      if (nBest === 1) await write(out, r.text + '\n');
      else for (const h of r.hypotheses) await write(out, `${r.index} ||| ${h.text} ||| ${h.score.toFixed(4)}\n`);
    }
  } finally {
    lines.close();
    if (values.output !== undefined) {
      const file = out as fs.WriteStream;
      await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
    }
  }
  return 0;
}
