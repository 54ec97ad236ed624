/**
 * A data folder's token stores (`DIR/tokens/<split>.src|tgt.idx/.bin`): each split tokenized once, over every
 * core, and read by every later stage and rank. {@link openSplitStore} builds a store when it is missing and
 * rebuilds it, saying why, when it was made with another tokenizer or from other text; a truncated or corrupt
 * store is an error that names the file and the command that rebuilds it.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorpusError } from '../data/corpus-error';
import { INVALID_UTF8, readTextLines } from '../data/text-lines';
import { SidesPairSource } from '../data/pair-source';
import { storeExists, tokenBytesFor, TokenStore, TokenStoreError, type TokenStoreMeta } from '../data/token-store';
import { TokenStoreWriter } from '../data/token-store-writer';
import type { Tokenizer } from '../data/tokenizer';
import { readDataInfo, type SplitName, splitFiles } from './data-folder';

/** Where a split's side is stored (without `.idx`/`.bin`). */
export function storeBase(dataDir: string, split: SplitName, side: 'src' | 'tgt'): string {
  return path.join(dataDir, 'tokens', `${split}.${side}`);
}

/** Options of {@link openSplitStore} and {@link buildSplitStore}. */
export interface SplitStoreOptions {
  /** Progress and rebuild notices (default none). */
  log?: (line: string) => void;
  /** Called with the pairs tokenized so far while building. */
  onProgress?: (pairs: number) => void;
  /** Pairs per tokenizer call (default 16384). */
  chunk?: number;
}

/** A split's pairs from its token stores. */
export class SplitStore extends SidesPairSource {
  /**
   * @param split - which split.
   * @param srcStore - its source side's token store.
   * @param tgtStore - its target side's token store.
   */
  constructor(
    readonly split: SplitName,
    readonly srcStore: TokenStore,
    readonly tgtStore: TokenStore
  ) {
    super(srcStore, tgtStore, { src: srcStore.base, tgt: tgtStore.base });
  }
}

/** The lines of `file` in arrays of `size` (the last shorter); a line that is not UTF-8 is an error naming it. */
async function* lineChunks(file: string, size: number): AsyncGenerator<string[], void, undefined> {
  let out: string[] = [];
  let line = 0;
  for await (const block of readTextLines(file)) {
    for (const l of block) {
      line++;
      if (l === INVALID_UTF8) throw new CorpusError('invalid UTF-8', file, line);
      out.push(l);
      if (out.length === size) {
        yield out;
        out = [];
      }
    }
  }
  if (out.length > 0) yield out;
}

/** Why the stored side cannot be used for this tokenizer and text, or undefined when it can. */
async function staleReason(store: TokenStore, tokenizerHash: string, textFile: string): Promise<string | undefined> {
  if (store.meta.tokenizer !== tokenizerHash)
    return `it was made with another tokenizer (${store.meta.tokenizer.slice(0, 12)}…, this run's is ${tokenizerHash.slice(0, 12)}…)`;
  const st = fs.statSync(textFile);
  if (st.size === store.meta.textBytes && st.mtimeMs === store.meta.textMtimeMs) return undefined;
  const hash = await hashFile(textFile);
  return hash === store.meta.text ? undefined : `${textFile} changed since it was made`;
}

async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * The split's token stores as pairs: opened when they match the tokenizer and the text, built when missing,
 * rebuilt (with a notice saying why) when made with another tokenizer or from other text.
 * @throws TokenStoreError naming the file and the command to rebuild it when a store is truncated or corrupt.
 */
export async function openSplitStore(dataDir: string, split: SplitName, tokenizer: Tokenizer, opts: SplitStoreOptions = {}): Promise<SplitStore> {
  const texts = splitFiles(dataDir, split);
  const hash = tokenizer.hash;
  let why: string | undefined;
  for (const side of ['src', 'tgt'] as const) {
    const base = storeBase(dataDir, split, side);
    if (!storeExists(base)) {
      why = 'none has been built yet';
      break;
    }
    let store: TokenStore;
    try {
      store = TokenStore.open(base);
    } catch (e) {
      if (!(e instanceof TokenStoreError)) throw e;
      throw new TokenStoreError(
        e.file,
        `${e.message.replace(/^token store [^:]*: /, '')}; rebuild it with 'xlm-kd data --out ${dataDir} --tokenizer TOKENIZER --store-only' (or delete ${path.join(dataDir, 'tokens')})`
      );
    }
    why = await staleReason(store, hash, texts[side]);
    if (why) {
      why = `${base}: ${why}`;
      break;
    }
  }
  if (why) {
    opts.log?.(`token store of ${split}: ${why}; tokenizing ${split} into ${path.join(dataDir, 'tokens')}`);
    await buildSplitStore(dataDir, split, tokenizer, opts);
  }
  return new SplitStore(split, TokenStore.open(storeBase(dataDir, split, 'src')), TokenStore.open(storeBase(dataDir, split, 'tgt')));
}

/**
 * Tokenizes a split's two text files into its token stores, a chunk of lines at a time: the next chunk is read
 * and hashed while the tokenizer encodes this one on every core. Returns the pairs written.
 */
export async function buildSplitStore(dataDir: string, split: SplitName, tokenizer: Tokenizer, opts: SplitStoreOptions = {}): Promise<number> {
  const texts = splitFiles(dataDir, split);
  for (const f of [texts.src, texts.tgt])
    if (!fs.existsSync(f)) throw new Error(`cannot tokenize ${split}: ${f} does not exist (make the data folder with 'xlm-kd data')`);
  const tokenizerHash = tokenizer.hash;
  const vocabSize = tokenizer.vocabSize;
  // XLM's tokenizer applies Moses' rules of each side's language.
  const info = readDataInfo(dataDir);
  const lang = { src: { lang: info.srcLang }, tgt: { lang: info.tgtLang } };
  const stats = { src: fs.statSync(texts.src), tgt: fs.statSync(texts.tgt) };
  const writers = { src: undefined as TokenStoreWriter | undefined, tgt: undefined as TokenStoreWriter | undefined };
  const readers = { src: lineChunks(texts.src, opts.chunk ?? 16384), tgt: lineChunks(texts.tgt, opts.chunk ?? 16384) };
  // The metadata is complete only at the end (the text's hash): writers start with a placeholder and are
  // created lazily so that nothing is left behind when reading fails early.
  const meta = (side: 'src' | 'tgt'): TokenStoreMeta => ({
    tokenizer: tokenizerHash,
    vocabSize,
    madeBy: 'xlm-kd token store',
    textBytes: stats[side].size,
    textMtimeMs: stats[side].mtimeMs,
  });
  const tmpMeta: Record<'src' | 'tgt', TokenStoreMeta> = { src: meta('src'), tgt: meta('tgt') };
  let pairs = 0;
  let lastLog = Date.now();
  const started = Date.now();
  try {
    for (const side of ['src', 'tgt'] as const)
      writers[side] = new TokenStoreWriter(storeBase(dataDir, split, side), tokenBytesFor(vocabSize), tmpMeta[side]);
    let next = Promise.all([readers.src.next(), readers.tgt.next()]);
    for (;;) {
      const [a, b] = await next;
      if (a.done !== b.done || (!a.done && !b.done && a.value.length !== b.value.length)) {
        throw new Error(`cannot tokenize ${split}: ${texts.src} and ${texts.tgt} have different numbers of lines (not line-aligned)`);
      }
      if (a.done || b.done) break;
      const encoding = Promise.all([tokenizer.encodeFlatAsync(a.value, lang.src), tokenizer.encodeFlatAsync(b.value, lang.tgt)]);
      next = Promise.all([readers.src.next(), readers.tgt.next()]);
      const [src, tgt] = await encoding;
      writers.src!.add(src);
      writers.tgt!.add(tgt);
      pairs += a.value.length;
      opts.onProgress?.(pairs);
      if (opts.log && Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        opts.log(
          `tokenizing ${split}: ${pairs.toLocaleString('en-US')} pairs (${Math.round(pairs / ((Date.now() - started) / 1000)).toLocaleString('en-US')} pairs/s)`
        );
      }
    }
    // Hashed in a pass of its own: the text is in the page cache by now, and the reader may have un-gzipped it.
    tmpMeta.src.text = await hashFile(texts.src);
    tmpMeta.tgt.text = await hashFile(texts.tgt);
    writers.src!.finish();
    writers.tgt!.finish();
  } catch (e) {
    writers.src?.abort();
    writers.tgt?.abort();
    throw e;
  }
  opts.log?.(`token store of ${split}: ${pairs.toLocaleString('en-US')} pairs tokenized in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return pairs;
}
