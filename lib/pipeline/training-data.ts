/**
 * A data folder's splits as the trainer takes them: the training pairs from the folder's token store (built
 * once, lib/pipeline/token-store.ts), and the valid split for loss, perplexity and a decoded BLEU/chrF (how many
 * sentences, with what beam).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveLanguage } from '../data/languages';
import { hasTokenizerBeside, loadTokenizer, tokenizerFileBeside } from '../data/load-tokenizer';
import type { Tokenizer } from '../data/tokenizer';
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
  tokenizer: Tokenizer;
  /** Its file (`tokenizer.model`, or an XLM tokenizer's `tokenizer.json`). */
  tokenizerPath: string;
  /**
   * The model's ids of the folder's source and target languages (data.json), for models with language
   * embeddings; undefined when the tokenizer records no language list (a SentencePiece model).
   */
  languageIds: {
    /** The source language's id. */
    srcLang?: number;
    /** The target language's id. */
    tgtLang?: number;
  };
  /** The training pairs, read from the token store. */
  train: SplitStore;
  /** The valid split for loss and decoding (undefined when the folder has none). */
  valid?: ValidationData;
}

/**
 * Opens a data folder's train and valid splits from its token store, building the store when missing or stale
 * (tokenizer: `dataDir/tokenizer.model` by default); `log` hears about builds and rebuilds.
 * @throws RangeError when the folder's languages are not among the tokenizer's (an imported XLM model's).
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
  const tokenizer = loadTokenizer(tokPath);
  const info = readDataInfo(dataDir);
  const src = resolveLanguage(tokenizer, info.srcLang, `${dataDir}/data.json: the source language`);
  const tgt = resolveLanguage(tokenizer, info.tgtLang, `${dataDir}/data.json: the target language`);
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
        srcLang: src.code,
        tgtLang: tgt.code,
        maxSentences: decoding.sentences ?? VALIDATION_DEFAULTS.sentences,
        beamSize: decoding.beam ?? VALIDATION_DEFAULTS.beam,
      }
    : undefined;
  return { tokenizer, tokenizerPath: tokPath, languageIds: { srcLang: src.id, tgtLang: tgt.id }, train, valid };
}

/** The tokenizer file beside a model file, or undefined when none is there (then the data folder's is used). */
export function tokenizerNear(modelFile: string): string | undefined {
  return hasTokenizerBeside(modelFile) ? tokenizerFileBeside(modelFile) : undefined;
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
