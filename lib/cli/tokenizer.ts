/**
 * `xlm-kd tokenizer`: trains a SentencePiece model (XLM's special ids) on both sides of a data folder's
 * training split, or on text files, off the JS thread.
 */
import * as fs from 'node:fs';
import { SentencePiece } from '../data/tokenizer';
import { readSplit } from './data-folder';
import { choice, FlagValues, int, parseFlags, str } from './args';
import { CliIO, UsageError } from './io';

export const tokenizerUsage = `Usage: xlm-kd tokenizer --data DIR --out tokenizer.model [options]

Trains one SentencePiece model shared by source and target (ids <s>=0 </s>=1 <pad>=2 <unk>=3, as XLM).

Options:
  -d, --data DIR         a data folder from 'xlm-kd data' (both sides of its training split)
  -i, --input FILE       a text file, one sentence per line, instead of --data (repeatable: comma-separated)
  -o, --out FILE         where the model goes; required
      --vocab-size N     pieces, specials included (default 8000; fewer if the text cannot fill it)
      --model-type T     unigram or bpe (default unigram)
      --threads N        trainer threads (default: the CPUs this process may use)
  -h, --help             show this help
`;

export interface TrainTokenizerOptions {
  out: string;
  /** A data folder: both sides of its training split. */
  data?: string;
  /** Or text files. */
  inputs?: string[];
  vocabSize?: number;
  modelType?: 'unigram' | 'bpe';
  threads?: number;
}

/** Trains and saves the tokenizer (atomically at `out`). */
export async function trainTokenizer(o: TrainTokenizerOptions): Promise<SentencePiece> {
  if ((o.data === undefined) === (o.inputs === undefined)) throw new UsageError('give exactly one of --data and --input');
  let sentences: string[];
  if (o.data !== undefined) {
    const pairs = await readSplit(o.data, 'train');
    if (pairs.length === 0) throw new Error(`${o.data} has no training pairs`);
    sentences = pairs.flatMap((p) => [p.src, p.tgt]);
  } else {
    sentences = [];
    for (const f of o.inputs!) {
      if (!fs.existsSync(f)) throw new Error(`cannot read --input ${f}: no such file`);
      sentences.push(...fs.readFileSync(f, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== ''));
    }
  }
  return SentencePiece.train({
    sentences, vocabSize: o.vocabSize ?? 8000, modelType: o.modelType, numThreads: o.threads, hardVocabLimit: false, modelPath: o.out,
  });
}

function options(v: FlagValues): TrainTokenizerOptions {
  const out = str(v, 'out');
  if (out === undefined) throw new UsageError('--out is required');
  const input = str(v, 'input');
  return {
    out, data: str(v, 'data'), inputs: input?.split(','), vocabSize: int(v, 'vocab-size', 8),
    modelType: choice(v, 'model-type', ['unigram', 'bpe'] as const, 'unigram'), threads: int(v, 'threads', 1),
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
  const started = Date.now();
  const sp = await trainTokenizer(o);
  io.stdout.write(`${o.out}: SentencePiece ${o.modelType}, ${sp.vocabSize} pieces, trained in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return 0;
}
