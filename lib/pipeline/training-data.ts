/**
 * A data folder's splits as the trainer takes them: the training pairs tokenized, and the valid split for
 * loss, perplexity and a decoded BLEU/chrF (how many sentences, with what beam).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TokenPair } from '../data/batcher';
import { SentencePiece } from '../data/tokenizer';
import { ValidationData } from '../train/validate';
import { readSplit, tokenizePairs } from './data-folder';

/** How much of the valid split is decoded at each validation. */
export interface ValidationDecoding {
  /** Sentences decoded for BLEU/chrF (default 200). */
  sentences?: number;
  /** Beam size of that decode (default 1: greedy, the cheap signal for early stopping). */
  beam?: number;
}

/** The defaults of {@link ValidationDecoding}. */
export const VALIDATION_DEFAULTS = Object.freeze({ sentences: 200, beam: 1 });

/** The training split tokenized, and the valid split for loss and BLEU. */
export interface TrainingData {
  tokenizer: SentencePiece;
  tokenizerPath: string;
  train: TokenPair[];
  valid?: ValidationData;
}

/** Reads and tokenizes a data folder's train and valid splits (tokenizer: `dataDir/tokenizer.model` by default). */
export async function loadTrainingData(dataDir: string, tokenizerPath?: string, decoding: ValidationDecoding = {}): Promise<TrainingData> {
  const tokPath = tokenizerPath ?? path.join(dataDir, 'tokenizer.model');
  if (!fs.existsSync(tokPath)) {
    throw new Error(`no tokenizer at ${tokPath}; train one with 'xlm-kd tokenizer --data ${dataDir} --out ${tokPath}' or pass --tokenizer`);
  }
  const tokenizer = SentencePiece.load(tokPath);
  const trainPairs = await readSplit(dataDir, 'train');
  if (trainPairs.length === 0) throw new Error(`${dataDir} has no training pairs`);
  const validPairs = await readSplit(dataDir, 'valid');
  const train = await tokenizePairs(tokenizer, trainPairs);
  const valid = validPairs.length
    ? {
        pairs: await tokenizePairs(tokenizer, validPairs), sources: validPairs.map((p) => p.src), references: validPairs.map((p) => p.tgt),
        tokenizer, maxSentences: decoding.sentences ?? VALIDATION_DEFAULTS.sentences, beamSize: decoding.beam ?? VALIDATION_DEFAULTS.beam,
      }
    : undefined;
  return { tokenizer, tokenizerPath: tokPath, train, valid };
}
