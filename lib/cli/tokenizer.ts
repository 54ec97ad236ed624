/**
 * `xlm-kd tokenizer`: trains a SentencePiece model (XLM's special ids) on a seeded sample of both sides of a
 * data folder's training split, or of text files, off the JS thread, and says how much of the text it used.
 */
import { SENTENCEPIECE_DEFAULTS } from '../data/sentencepiece';
import { TOKENIZER_SAMPLE_DEFAULTS, trainTokenizer, type TrainTokenizerOptions } from '../pipeline/tokenizer';
import { choice, type FlagValues, int, parseFlags, str } from './args';
import { type CliIO, UsageError } from './io';

const tokenizerUsage = `Usage: xlm-kd tokenizer --data DIR --out tokenizer.model [options]

Trains one SentencePiece model shared by source and target (ids <s>=0 </s>=1 <pad>=2 <unk>=3, as XLM).

Options:
  -d, --data DIR         a data folder from 'xlm-kd data' (both sides of its training split)
  -i, --input FILE       a text file, one sentence per line, instead of --data (repeatable, or comma-separated)
  -o, --out FILE         where the model goes; required
      --sample N         train on a seeded uniform sample of at most N sentences, each side of a pair one
                         (default ${TOKENIZER_SAMPLE_DEFAULTS.sample}); the text is streamed, never held in memory
      --seed N           the sample's seed (default ${TOKENIZER_SAMPLE_DEFAULTS.seed})
      --vocab-size N     pieces, specials included (default ${SENTENCEPIECE_DEFAULTS.vocabSize}; fewer if the text cannot fill it)
      --model-type T     unigram or bpe (default ${SENTENCEPIECE_DEFAULTS.modelType})
      --threads N        trainer threads (default: the CPUs this process may use)
  -h, --help             show this help
`;

function options(v: FlagValues): TrainTokenizerOptions {
  const out = str(v, 'out');
  if (out === undefined) throw new UsageError('--out is required');
  // --input is repeatable and each value may list several files.
  const input = (v as unknown as { input?: string[] }).input;
  const inputs = input?.flatMap((i) => i.split(',')).filter((i) => i !== '');
  if (input !== undefined && inputs!.length === 0) throw new UsageError('--input must name a file');
  return {
    out,
    data: str(v, 'data'),
    inputs,
    vocabSize: int(v, 'vocab-size', 8),
    modelType: choice(v, 'model-type', ['unigram', 'bpe'] as const),
    threads: int(v, 'threads', 1),
    sample: int(v, 'sample', 1),
    seed: int(v, 'seed'),
  };
}

/** Runs `xlm-kd tokenizer`. */
export async function runTokenizer(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(
    args,
    {
      data: { type: 'string', short: 'd' },
      input: { type: 'string', short: 'i', multiple: true },
      out: { type: 'string', short: 'o' },
      'vocab-size': { type: 'string' },
      'model-type': { type: 'string' },
      threads: { type: 'string' },
      sample: { type: 'string' },
      seed: { type: 'string' },
    },
    tokenizerUsage,
    io
  );
  if (!v) return 0;
  const o = options(v);
  if ((o.data === undefined) === (o.inputs === undefined)) throw new UsageError('give exactly one of --data and --input');
  const started = Date.now();
  const r = await trainTokenizer(o);
  const count = (n: number) => n.toLocaleString('en-US');
  const sampled = r.sentencesUsed < r.sentencesSeen ? ` (seeded sample, seed ${r.seed})` : '';
  io.stdout.write(
    `${o.out}: SentencePiece ${o.modelType ?? SENTENCEPIECE_DEFAULTS.modelType}, ${r.tokenizer.vocabSize} pieces, ` +
      `trained on ${count(r.sentencesUsed)} of ${count(r.sentencesSeen)} sentences${sampled} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`
  );
  return 0;
}
