/**
 * The pipeline's tokenizer stage: one SentencePiece model (XLM's special ids) trained on both sides of a data
 * folder's training split, or on text files, off the JS thread, saved atomically.
 */
import * as fs from 'node:fs';
import { SentencePiece } from '../data/tokenizer';
import { readSplit } from './data-folder';

export interface TrainTokenizerOptions {
  /** Where the model goes. */
  out: string;
  /** A data folder: both sides of its training split. */
  data?: string;
  /** Or text files, one sentence per line. */
  inputs?: string[];
  /** Pieces, specials included (default SentencePiece.train's, 8000; fewer if the text cannot fill it). */
  vocabSize?: number;
  /** Default SentencePiece.train's, 'unigram'. */
  modelType?: 'unigram' | 'bpe';
  /** Trainer threads (default: the CPUs this process may use). */
  threads?: number;
}

/** Trains and saves the tokenizer (atomically at `out`). */
export async function trainTokenizer(o: TrainTokenizerOptions): Promise<SentencePiece> {
  if ((o.data === undefined) === (o.inputs === undefined)) throw new TypeError("trainTokenizer: give exactly one of 'data' and 'inputs'");
  let sentences: string[];
  if (o.data !== undefined) {
    const pairs = await readSplit(o.data, 'train');
    if (pairs.length === 0) throw new Error(`${o.data} has no training pairs`);
    sentences = pairs.flatMap((p) => [p.src, p.tgt]);
  } else {
    sentences = [];
    for (const f of o.inputs!) {
      if (!fs.existsSync(f)) throw new Error(`cannot read ${f}: no such file`);
      sentences.push(...fs.readFileSync(f, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== ''));
    }
  }
  return SentencePiece.train({
    sentences, vocabSize: o.vocabSize, modelType: o.modelType, numThreads: o.threads, hardVocabLimit: false, modelPath: o.out,
  });
}
