/**
 * The pipeline's tokenizer stage: one SentencePiece model (XLM's special ids) trained on a seeded sample of
 * both sides of a data folder's training split, or of text files, off the JS thread, saved atomically. The
 * sample is streamed from the files to SentencePiece's input, so memory does not grow with the corpus (the
 * whole 1.66M-pair split read into arrays took 8.65 GB).
 */
import * as fs from 'node:fs';
import { OptionReader } from '../common/options';
import { type LineSample, sampleLines } from '../data/sample-lines';
import { SentencePiece } from '../data/sentencepiece';
import { readDataInfo, splitFiles } from './data-folder';

/** Defaults of {@link trainTokenizer}'s sample. */
export const TOKENIZER_SAMPLE_DEFAULTS = Object.freeze({
  // A million sentences: SentencePiece's trainer holds about 2.6 kB a sentence of ~140 characters (peak RSS
  // 2.7 GB for 1M and 5.2 GB for 2M at 8,000 pieces, measured by bench:data), so 1M keeps the tokenizer under
  // 4 GB whatever the corpus; for 8k-32k pieces a million sentences is plenty.
  sample: 1_000_000,
  seed: 0,
});

/** What {@link trainTokenizer} takes: the text (a data folder or files) and the tokenizer's settings. */
export interface TrainTokenizerOptions {
  /** Where the model goes. */
  out: string;
  /** A data folder: both sides of its training split (train.src, then train.tgt). */
  data?: string;
  /** Or text files, one sentence per line (empty lines skipped). */
  inputs?: string[];
  /** Pieces, specials included (default SentencePiece.train's, 8000; fewer if the text cannot fill it). */
  vocabSize?: number;
  /** Default SentencePiece.train's, 'unigram'. */
  modelType?: 'unigram' | 'bpe';
  /** Trainer threads (default: the CPUs this process may use). */
  threads?: number;
  /** Train on a seeded uniform sample of at most this many sentences, each side of a pair one (default 1,000,000). */
  sample?: number;
  /** The sample depends only on this and the text (default 0). */
  seed?: number;
}

/** What {@link trainTokenizer} trained, and on how much of the text. */
export interface TrainedTokenizer {
  /** The trained tokenizer (also written to `out`). */
  tokenizer: SentencePiece;
  /** Sentences SentencePiece was given: min(sample, sentencesSeen). */
  sentencesUsed: number;
  /** Non-empty sentences in the text (both sides of a data folder's training split). */
  sentencesSeen: number;
  /** The sample's seed. */
  seed: number;
}

/**
 * Trains and saves the tokenizer (atomically at `out`) on a seeded sample of the text.
 * @throws Error when the data folder or an input file cannot be read or has no sentences.
 */
export async function trainTokenizer(o: TrainTokenizerOptions): Promise<TrainedTokenizer> {
  const r = new OptionReader('trainTokenizer', o, ['out', 'data', 'inputs', 'vocabSize', 'modelType', 'threads', 'sample', 'seed']);
  if ((o.data === undefined) === (o.inputs === undefined)) throw new TypeError("trainTokenizer: give exactly one of 'data' and 'inputs'");
  if (typeof o.out !== 'string' || o.out === '') throw new TypeError("trainTokenizer: option 'out' must be the model's path");
  const size = r.integer('sample', TOKENIZER_SAMPLE_DEFAULTS.sample, 1);
  const seed = r.number('seed', TOKENIZER_SAMPLE_DEFAULTS.seed, { integer: true });
  let sample: LineSample;
  if (o.data !== undefined) {
    const info = readDataInfo(o.data);
    const files = splitFiles(o.data, 'train');
    const pairs = info.counts?.train ?? 0;
    if (pairs === 0 || !fs.existsSync(files.src)) throw new Error(`${o.data} has no training pairs`);
    // data.json gives the count, so one pass over the files suffices.
    sample = await sampleLines([files.src, files.tgt], {
      size,
      seed,
      total: 2 * pairs,
      totalFrom: `${o.data}/data.json: 2 × ${pairs} training pairs`,
    });
  } else {
    if (o.inputs!.length === 0) throw new TypeError("trainTokenizer: option 'inputs' must name at least one file");
    for (const f of o.inputs!) if (!fs.existsSync(f)) throw new Error(`cannot read ${f}: no such file`);
    sample = await sampleLines(o.inputs!, { size, seed });
    if (sample.total === 0) throw new Error(`${o.inputs!.join(', ')}: no non-empty line to train on`);
  }
  const tokenizer = await SentencePiece.train({
    sentences: sample.lines,
    vocabSize: o.vocabSize,
    modelType: o.modelType,
    numThreads: o.threads,
    hardVocabLimit: false,
    modelPath: o.out,
    // The sample is drawn here already; SentencePiece must not draw another.
    inputSentenceSize: 0,
  });
  return { tokenizer, sentencesUsed: sample.size, sentencesSeen: sample.total, seed };
}
