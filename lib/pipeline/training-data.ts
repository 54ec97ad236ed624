/**
 * A data folder's splits as the trainer takes them: the training pairs from the folder's token store (built
 * once, lib/pipeline/token-store.ts), and the valid split for loss, perplexity and a decoded BLEU/chrF (how many
 * sentences, with what beam).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SentencePiece } from '../data/tokenizer';
import type { ValidationData } from '../train/validate';
import { readDataInfo, readSplit } from './data-folder';
import { openSplitStore, type SplitStore } from './token-store';

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
  /** The tokenizer the stores were made with. */
  tokenizer: SentencePiece;
  /** Its model file. */
  tokenizerPath: string;
  /** The training pairs, read from the token store. */
  train: SplitStore;
  /** The valid split for loss and decoding (undefined when the folder has none). */
  valid?: ValidationData;
}

/**
 * Opens a data folder's train and valid splits from its token store, building the store when missing or stale
 * (tokenizer: `dataDir/tokenizer.model` by default); `log` hears about builds and rebuilds.
 */
export async function loadTrainingData(
  dataDir: string,
  tokenizerPath?: string,
  decoding: ValidationDecoding = {},
  log?: (line: string) => void
): Promise<TrainingData> {
  const tokPath = tokenizerPath ?? path.join(dataDir, 'tokenizer.model');
  if (!fs.existsSync(tokPath)) {
    throw new Error(`no tokenizer at ${tokPath}; train one with 'xlm-kd tokenizer --data ${dataDir} --out ${tokPath}' or pass --tokenizer`);
  }
  const tokenizer = SentencePiece.load(tokPath);
  readDataInfo(dataDir);
  const train = await openSplitStore(dataDir, 'train', tokenizer, { log });
  if (train.size === 0) throw new Error(`${dataDir} has no training pairs`);
  // The valid split is small (held-out sentences): its text stays in memory for BLEU.
  const validPairs = await readSplit(dataDir, 'valid');
  const valid = validPairs.length
    ? {
        pairs: await openSplitStore(dataDir, 'valid', tokenizer, { log }),
        sources: validPairs.map((p) => p.src),
        references: validPairs.map((p) => p.tgt),
        tokenizer,
        maxSentences: decoding.sentences ?? VALIDATION_DEFAULTS.sentences,
        beamSize: decoding.beam ?? VALIDATION_DEFAULTS.beam,
      }
    : undefined;
  return { tokenizer, tokenizerPath: tokPath, train, valid };
}

/** A training run's `log` option as a function (undefined: the console; null: silence), for data notices. */
export function dataLog(log: ((line: string) => void) | null | undefined): (line: string) => void {
  return log === undefined ? (l: string) => console.log(l) : (log ?? (() => undefined));
}

/**
 * Builds (or checks) a data folder's train and valid token stores up front: what a launcher runs before it
 * starts several ranks, so that they open one finished store instead of racing to build it.
 */
export async function prepareTrainingStores(dataDir: string, tokenizerPath?: string, log?: (line: string) => void): Promise<void> {
  await loadTrainingData(dataDir, tokenizerPath, {}, log);
}
