/**
 * `xlm-kd translate`: streams sentences (stdin or --input, one per line) through a saved model and writes
 * the translations in the same order (stdout or --output), while later lines are still being read.
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { once } from 'node:events';
import { translateStream, type TranslateOptions } from '../decode/translate';
import { int, num, parseFlags, required, str } from './args';
import { decodingFlagSpecs, decodingFlagsHelp, decodingOptions, loadForDecoding } from './decoding-flags';
import { deviceFlags, deviceFlagSpecs, deviceFlagsHelp } from './device-flags';
import { type CliIO, UsageError } from './io';
import { languageFlags, languageFlagSpecs, languageFlagsHelp, tokenizerFlag, tokenizerFlagHelp } from './language-flags';

const translateUsage = `Usage: xlm-kd translate --model MODEL.safetensors [options] < input.txt > output.txt

Translates one sentence per line, in order; an empty line gives an empty line.

Options:
  -m, --model FILE         the model (safetensors written by save()); required
${tokenizerFlagHelp}  -b, --beam N             beam size; 1 = greedy decoding (default 5)
      --batch-size N       sentences decoded together (default 32)
      --max-tokens N       also cap a batch at N padded source tokens
      --n-best N           print the N best translations per sentence as
                           "INDEX ||| TEXT ||| SCORE" lines (default 1: the text only)
      --length-penalty X   score = log-prob / length^X (default 1)
      --max-length N       most tokens generated per sentence (default 1.5 x source + 10)
      --max-source-length N  cut longer sources to N tokens
${languageFlagsHelp}  -i, --input FILE         read from FILE instead of stdin
  -o, --output FILE        write to FILE instead of stdout
${decodingFlagsHelp}${deviceFlagsHelp}  -h, --help               show this help
`;

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/** Runs `xlm-kd translate` with `args` (after the subcommand); resolves to the exit code. */
export async function runTranslate(args: string[], io: CliIO): Promise<number> {
  const values = parseFlags(
    args,
    {
      model: { type: 'string', short: 'm' },
      tokenizer: { type: 'string', short: 't' },
      beam: { type: 'string', short: 'b' },
      'batch-size': { type: 'string' },
      'max-tokens': { type: 'string' },
      'n-best': { type: 'string' },
      'length-penalty': { type: 'string' },
      'max-length': { type: 'string' },
      'max-source-length': { type: 'string' },
      ...languageFlagSpecs,
      input: { type: 'string', short: 'i' },
      output: { type: 'string', short: 'o' },
      ...decodingFlagSpecs,
      ...deviceFlagSpecs,
    },
    translateUsage,
    io
  );
  if (!values) return 0;
  const modelFile = required(values, 'model');
  const inputFile = str(values, 'input');
  const outputFile = str(values, 'output');
  const nBest = int(values, 'n-best', 1) ?? 1;
  const opts: Omit<TranslateOptions, 'tokenizer'> = {
    beamSize: int(values, 'beam', 1),
    batchSize: int(values, 'batch-size', 1),
    maxTokens: int(values, 'max-tokens', 1),
    nBest,
    lengthPenalty: num(values, 'length-penalty'),
    maxLength: int(values, 'max-length', 1),
    maxSourceLength: int(values, 'max-source-length', 1),
    ...languageFlags(values),
    ...decodingOptions(values),
    ...deviceFlags(values),
  };
  if (nBest > (opts.beamSize ?? 5)) throw new UsageError(`--n-best (${nBest}) must not exceed --beam (${opts.beamSize ?? 5})`);

  // Check the inputs before the (slow) model load, so a typo fails at once.
  if (!fs.existsSync(modelFile)) throw new Error(`cannot read --model ${modelFile}: no such file`);
  const tokenizer = tokenizerFlag(values, modelFile);
  if (inputFile !== undefined && !fs.existsSync(inputFile)) throw new Error(`cannot read --input ${inputFile}: no such file`);
  const model = await loadForDecoding(modelFile, values);
  model.eval();

  const input = inputFile !== undefined ? fs.createReadStream(inputFile, { encoding: 'utf8' }) : io.stdin;
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  const out: NodeJS.WritableStream = outputFile !== undefined ? fs.createWriteStream(outputFile) : io.stdout;
  try {
    for await (const r of translateStream(model, lines, { ...opts, tokenizer })) {
      if (nBest === 1) await write(out, r.text + '\n');
      else for (const h of r.hypotheses) await write(out, `${r.index} ||| ${h.text} ||| ${h.score.toFixed(4)}\n`);
    }
  } finally {
    lines.close();
    if (outputFile !== undefined) {
      const file = out as fs.WriteStream;
      await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
    }
  }
  return 0;
}
