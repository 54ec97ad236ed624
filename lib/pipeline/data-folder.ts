/**
 * The data folder the pipeline's stages share: `train|valid|test.src|tgt` (one sentence per line, line N of
 * .src translated by line N of .tgt) and `data.json` (where the text came from, the languages, the counts, what
 * cleaning dropped, and each text file's size and SHA-256). prepareData (`xlm-kd data`) writes it, in memory
 * ({@link writeDataFolder}) or streamed ({@link SplitWriter}, {@link commitDataFolder}); the tokenizer,
 * teacher, student and evaluation stages read it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readParallelFiles, type SentencePair } from '../data/corpus';
import type { TokenPair } from '../data/batcher';
import type { TextOptions, Tokenizer } from '../data/tokenizer';
import { writeFileAtomic } from '../io/atomic-write';
import { type TextFileInfo, TextFileWriter } from '../io/text-writer';

/** The three splits of a data folder. */
export type SplitName = 'train' | 'valid' | 'test';

/** The name of one of a data folder's six text files. */
export type SplitFileName = `${SplitName}.${'src' | 'tgt'}`;

const SPLITS: readonly SplitName[] = ['train', 'valid', 'test'];

/** data.json. */
export interface DataInfo {
  /** 'gettext' or the parallel files the text came from. */
  source: string;
  /** Source language code. */
  srcLang: string;
  /** Target language code. */
  tgtLang: string;
  /** Pairs in each split. */
  counts: Record<SplitName, number>;
  /** What cleaning dropped, when the source reports it. */
  dropped?: Record<string, number>;
  /**
   * Each text file's size in bytes and SHA-256 (hex) as written, so that what is built from the text later
   * (a token store) can name the text it was made from. Absent in folders written before it existed.
   */
  text?: Record<SplitFileName, TextFileInfo>;
}

/** The paths of a split's two text files in the data folder `dir` (`<split>.src`, `<split>.tgt`). */
export function splitFiles(dir: string, split: SplitName): { src: string; tgt: string } {
  return { src: path.join(dir, `${split}.src`), tgt: path.join(dir, `${split}.tgt`) };
}

/** A sentence as one line: a line break inside it would shift every later line out of its pair. */
export function flattenLine(s: string): string {
  return s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0 ? s.replace(/[\r\n]+/g, ' ') : s;
}

/**
 * One split's two files written pair by pair through buffers, each to a temp file in the data folder that
 * {@link commitDataFolder} renames; sizes and hashes computed on the way out.
 */
export class SplitWriter {
  private pairs = 0;

  private constructor(
    readonly split: SplitName,
    private readonly src: TextFileWriter,
    private readonly tgt: TextFileWriter
  ) {}

  /** Opens the temp files of `split` in `dir` (which must exist). */
  static async open(dir: string, split: SplitName): Promise<SplitWriter> {
    const files = splitFiles(dir, split);
    const src = await TextFileWriter.open(files.src);
    try {
      return new SplitWriter(split, src, await TextFileWriter.open(files.tgt));
    } catch (e) {
      await src.abort();
      throw e;
    }
  }

  /** Pairs written. */
  get count(): number {
    return this.pairs;
  }

  /**
   * Appends a pair (line breaks inside a side become spaces). Returns a promise when a buffer went to disk:
   * await it before writing on, to keep memory bounded.
   */
  write(pair: SentencePair): Promise<void> | undefined {
    this.pairs++;
    const a = this.src.write(flattenLine(pair.src) + '\n');
    const b = this.tgt.write(flattenLine(pair.tgt) + '\n');
    return a && b ? Promise.all([a, b]).then(() => undefined) : (a ?? b);
  }

  /** Flushes and closes both temp files; their sizes and hashes by file name. */
  async finish(): Promise<Partial<Record<SplitFileName, TextFileInfo>>> {
    return { [`${this.split}.src`]: await this.src.finish(), [`${this.split}.tgt`]: await this.tgt.finish() };
  }

  /** Renames both files over their names (after {@link finish}). */
  async commit(): Promise<void> {
    await this.src.commit();
    await this.tgt.commit();
  }

  /** Removes both temp files. Never throws. */
  async abort(): Promise<void> {
    await Promise.all([this.src.abort(), this.tgt.abort()]);
  }
}

/** Opens the writers of the three splits in `dir` (created when missing). */
export async function openSplitWriters(dir: string): Promise<Record<SplitName, SplitWriter>> {
  fs.mkdirSync(dir, { recursive: true });
  const opened: SplitWriter[] = [];
  try {
    for (const split of SPLITS) opened.push(await SplitWriter.open(dir, split));
  } catch (e) {
    await Promise.all(opened.map((w) => w.abort()));
    throw e;
  }
  return { train: opened[0], valid: opened[1], test: opened[2] };
}

/**
 * Finishes the three splits' files, puts them under their names and writes data.json last (with the counts
 * and the `text` record); on any failure every temp file is removed. An old data.json is removed before the
 * first rename, so that a crash in between leaves a folder that is not a data folder rather than a data.json
 * describing other text.
 */
export async function commitDataFolder(
  dir: string,
  writers: Record<SplitName, SplitWriter>,
  info: Omit<DataInfo, 'counts' | 'text'>
): Promise<DataInfo> {
  const all = SPLITS.map((s) => writers[s]);
  try {
    let text: Partial<Record<SplitFileName, TextFileInfo>> = {};
    for (const w of all) text = { ...text, ...(await w.finish()) };
    await fs.promises.rm(path.join(dir, 'data.json'), { force: true });
    for (const w of all) await w.commit();
    const full: DataInfo = {
      ...info,
      counts: { train: writers.train.count, valid: writers.valid.count, test: writers.test.count },
      text: text as Record<SplitFileName, TextFileInfo>,
    };
    await writeFileAtomic(path.join(dir, 'data.json'), JSON.stringify(full, null, 2) + '\n');
    return full;
  } catch (e) {
    await Promise.all(all.map((w) => w.abort()));
    throw e;
  }
}

/** Writes the three splits and data.json atomically (each file whole or not at all; data.json last). */
export async function writeDataFolder(
  dir: string,
  splits: Record<SplitName, SentencePair[]>,
  info: Omit<DataInfo, 'counts' | 'text'>
): Promise<DataInfo> {
  const writers = await openSplitWriters(dir);
  try {
    for (const split of SPLITS) {
      for (const pair of splits[split]) {
        const flushed = writers[split].write(pair);
        if (flushed) await flushed;
      }
    }
  } catch (e) {
    await Promise.all(SPLITS.map((s) => writers[s].abort()));
    throw e;
  }
  return commitDataFolder(dir, writers, info);
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

/** Pairs tokenized off the JS thread (`langs`: each side's language, which XLM's tokenizer needs). */
export async function tokenizePairs(
  tokenizer: Tokenizer,
  pairs: SentencePair[],
  langs: { src?: TextOptions; tgt?: TextOptions } = {}
): Promise<TokenPair[]> {
  const [src, tgt] = await Promise.all([
    tokenizer.encodeAsync(
      pairs.map((p) => p.src),
      langs.src
    ),
    tokenizer.encodeAsync(
      pairs.map((p) => p.tgt),
      langs.tgt
    ),
  ]);
  return src.map((s, i) => ({ src: s, tgt: tgt[i] }));
}
