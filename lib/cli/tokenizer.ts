/**
 * `xlm-kd tokenizer`: trains a SentencePiece model (XLM's special ids) on both sides of a data folder's
 * training split, or on text files, off the JS thread.
 */
import * as fs from 'node:fs';
import { SENTENCEPIECE_DEFAULTS } from '../data/tokenizer';
import { trainTokenizer, TrainTokenizerOptions } from '../pipeline/tokenizer';
import { choice, FlagValues, int, parseFlags, str } from './args';
import { CliIO, UsageError } from './io';

export const tokenizerUsage = `Usage: xlm-kd tokenizer --data DIR --out tokenizer.model [options]

Trains one SentencePiece model shared by source and target (ids <s>=0 </s>=1 <pad>=2 <unk>=3, as XLM).

Options:
  -d, --data DIR         a data folder from 'xlm-kd data' (both sides of its training split)
  -i, --input FILE       a text file, one sentence per line, instead of --data (repeatable: comma-separated)
  -o, --out FILE         where the model goes; required
      --vocab-size N     pieces, specials included (default ${SENTENCEPIECE_DEFAULTS.vocabSize}; fewer if the text cannot fill it)
      --model-type T     unigram or bpe (default ${SENTENCEPIECE_DEFAULTS.modelType})
      --threads N        trainer threads (default: the CPUs this process may use)
  -h, --help             show this help
`;

function options(v: FlagValues): TrainTokenizerOptions {
  const out = str(v, 'out');
  if (out === undefined) throw new UsageError('--out is required');
  const input = str(v, 'input');
  return {
    out, data: str(v, 'data'), inputs: input?.split(','), vocabSize: int(v, 'vocab-size', 8),
    modelType: choice(v, 'model-type', ['unigram', 'bpe'] as const), threads: int(v, 'threads', 1),
  };
}

/** Runs `xlm-kd tokenizer`. */
export async function runTokenizer(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(args, {
    data: { type: 'string', short: 'd' }, input: { type: 'string', short: 'i' }, out: { type: 'string', short: 'o' },
    'vocab-size': { type: 'string' }, 'model-type': { type: 'string' }, threads: { type: 'string' },
  }, tokenizerUsage, io);
  if (!v) return 0;
  const o = options(v);
  if ((o.data === undefined) === (o.inputs === undefined)) throw new UsageError('give exactly one of --data and --input');
  const started = Date.now();
  const sp = await trainTokenizer(o);
  io.stdout.write(`${o.out}: SentencePiece ${o.modelType ?? SENTENCEPIECE_DEFAULTS.modelType}, ${sp.vocabSize} pieces, trained in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return 0;
}
