/**
 * The data folder the pipeline's stages share: `train|valid|test.src|tgt` (one sentence per line, line N of
 * .src translated by line N of .tgt) and `data.json` (where the text came from, the languages, the counts).
 * prepareData (`xlm-kd data`) writes it; the tokenizer, teacher, student and evaluation stages read it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readParallelFiles, SentencePair } from '../data/corpus';
import { TokenPair } from '../data/batcher';
import { SentencePiece } from '../data/tokenizer';
import { writeFileAtomic } from '../io/atomic-write';

export type SplitName = 'train' | 'valid' | 'test';

/** data.json. */
export interface DataInfo {
  /** 'gettext' or the parallel files the text came from. */
  source: string;
  srcLang: string;
  tgtLang: string;
  counts: Record<SplitName, number>;
  /** What cleaning dropped, when the source reports it. */
  dropped?: Record<string, number>;
}

export function splitFiles(dir: string, split: SplitName): { src: string; tgt: string } {
  return { src: path.join(dir, `${split}.src`), tgt: path.join(dir, `${split}.tgt`) };
}

/** Writes the three splits and data.json atomically (each file whole or not at all). */
export async function writeDataFolder(dir: string, splits: Record<SplitName, SentencePair[]>, info: Omit<DataInfo, 'counts'>): Promise<DataInfo> {
  fs.mkdirSync(dir, { recursive: true });
  for (const split of ['train', 'valid', 'test'] as const) {
    const files = splitFiles(dir, split);
    // A line break inside a sentence would shift every later line out of its pair.
    const flat = (s: string) => s.replace(/[\r\n]+/g, ' ');
    await writeFileAtomic(files.src, splits[split].map((p) => flat(p.src) + '\n').join(''));
    await writeFileAtomic(files.tgt, splits[split].map((p) => flat(p.tgt) + '\n').join(''));
  }
  const full: DataInfo = { ...info, counts: { train: splits.train.length, valid: splits.valid.length, test: splits.test.length } };
  await writeFileAtomic(path.join(dir, 'data.json'), JSON.stringify(full, null, 2) + '\n');
  return full;
}

/** data.json of a data folder; a clear error when the folder was not made by `xlm-kd data`. */
export function readDataInfo(dir: string): DataInfo {
  const file = path.join(dir, 'data.json');
  if (!fs.existsSync(file)) throw new Error(`${dir} is not a data folder (no data.json); make one with 'xlm-kd data'`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as DataInfo;
}

/** The sentence pairs of one split, read strictly (an empty or invalid line is an error naming file and line). */
export async function readSplit(dir: string, split: SplitName): Promise<SentencePair[]> {
  readDataInfo(dir);
  const files = splitFiles(dir, split);
  if (!fs.existsSync(files.src)) return [];
  return (await readParallelFiles(files.src, files.tgt)).pairs;
}

/** Pairs tokenized off the JS thread. */
export async function tokenizePairs(tokenizer: SentencePiece, pairs: SentencePair[]): Promise<TokenPair[]> {
  const [src, tgt] = await Promise.all([tokenizer.encodeAsync(pairs.map((p) => p.src)), tokenizer.encodeAsync(pairs.map((p) => p.tgt))]);
  return src.map((s, i) => ({ src: s, tgt: tgt[i] }));
}
