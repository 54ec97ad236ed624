/**
 * Text in, text out: tokenize sentences (either tokenizer), batch them by length within a read-ahead window,
 * beam search (greedy for beamSize 1), decode the ids, and hand results back in input order. The window
 * keeps a stream (stdin) flowing: results come out while later input is still being read.
 */
import { Batch } from '../data/batch';
import type { Seq2Seq } from '../models/seq2seq';
import type { Device } from '../tensor/dtype';
import type { Tokenizer } from '../data/tokenizer';
import { type LanguageRef, resolveLanguage } from '../data/languages';
import { beamSearch } from './beam';
import { greedy } from './greedy';
import type { Hypothesis } from './hypotheses';
import { OptionReader } from '../common/options';
import { resolveDevice, sameDevice } from '../tensor/device';
import { DECODE_DEFAULTS, type DecodeOptions, resolveDecodeOptions } from './options';

/** Options of {@link translate} and {@link translateStream}; only `tokenizer` is required. */
export interface TranslateOptions extends Omit<DecodeOptions, 'tgtLang' | 'sampling'> {
  /** Turns text into the model's ids and back. */
  tokenizer: Tokenizer;
  /** Beam size (default 5); 1 = greedy decoding. */
  beamSize?: number;
  /** Most sentences decoded together (default 32). */
  batchSize?: number;
  /** Also cap a batch at this many padded source tokens, framing included (default: no cap). */
  maxTokens?: number;
  /** Sentences read ahead and sorted by length before batching (default 16 × batchSize). */
  window?: number;
  /**
   * With an async source, translate what has arrived once no new sentence came for this long, so an
   * interactive stream answers each line without waiting for a full window (default 50 ms; -1 = never).
   */
  idleFlushMs?: number;
  /** Source tokens kept per sentence; longer ones are cut (default: no limit). */
  maxSourceLength?: number;
  /**
   * The source language: a code (`'en'`: what XLM's tokenizer needs, and the model's id through the tokenizer's
   * language list) or the model's language id.
   */
  srcLang?: LanguageRef;
  /** The target language, as `srcLang`. */
  tgtLang?: LanguageRef;
  /** Decode on this device: the model is moved there first (default: where the model is). */
  device?: Device;
}

/** One translation of one sentence. */
export interface TranslationHypothesis {
  /** The translation, detokenized. */
  text: string;
  /** Length-normalised log-probability (see DecodeOptions.lengthPenalty); 0 for an empty input. */
  score: number;
  /** The model's output ids, without framing. */
  tokens: number[];
}

/** The result for one input sentence: its best translation and the n-best list. */
export interface TranslationResult extends TranslationHypothesis {
  /** Position of the sentence in the input (0-based). */
  index: number;
  /** The `nBest` best translations, best first (the first is this result's text/score/tokens). */
  hypotheses: TranslationHypothesis[];
}

interface Resolved {
  tokenizer: Tokenizer;
  batchSize: number;
  maxTokens: number;
  window: number;
  idleFlushMs: number;
  maxSourceLength: number;
  srcLang?: number;
  tgtLang?: number;
  srcCode?: string;
  tgtCode?: string;
  device: Device;
  decode: DecodeOptions;
}

/** The defaults of translate's own options (decoding's: {@link DECODE_DEFAULTS}). */
export const TRANSLATE_DEFAULTS = Object.freeze({
  batchSize: 32,
  /** Sentences read ahead, as a multiple of batchSize. */
  windowBatches: 16,
  idleFlushMs: 50,
});

const TRANSLATE_ONLY = ['tokenizer', 'batchSize', 'maxTokens', 'window', 'idleFlushMs', 'maxSourceLength', 'srcLang', 'tgtLang', 'device'] as const;

function resolve(model: Seq2Seq, opts: TranslateOptions): Resolved {
  const fn = 'translate';
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: argument 'opts' must be an object with a tokenizer`);
  if (opts.tokenizer === null || typeof opts.tokenizer !== 'object' || typeof opts.tokenizer.encodeAsync !== 'function') {
    throw new TypeError(`${fn}: option 'tokenizer' must be a Tokenizer (SentencePiece or XlmTokenizer)`);
  }
  if (opts.tokenizer.vocabSize > model.vocabSize) {
    throw new RangeError(
      `${fn}: the tokenizer has ${opts.tokenizer.vocabSize} pieces but the model only ${model.vocabSize}: they do not belong together`
    );
  }
  const r = new OptionReader(fn, opts);
  const D = TRANSLATE_DEFAULTS;
  const batchSize = r.integer('batchSize', D.batchSize, 1);
  // What is left after the translate-only options goes to beam search / greedy, which resolve it.
  const decode = { ...opts, beamSize: r.integer('beamSize', DECODE_DEFAULTS.beamSize, 1) } as DecodeOptions & Partial<TranslateOptions>;
  for (const k of TRANSLATE_ONLY) delete decode[k];
  resolveDecodeOptions(fn, decode, DECODE_DEFAULTS.beamSize);
  const { tokenizer } = opts;
  const src = resolveLanguage(tokenizer, opts.srcLang, `${fn}: option 'srcLang'`);
  const tgt = resolveLanguage(tokenizer, opts.tgtLang, `${fn}: option 'tgtLang'`);
  if (tokenizer.kind === 'xlm-bpe' && (src.code === undefined || tgt.code === undefined)) {
    throw new TypeError(
      `${fn}: XLM's tokenizer follows the language's rules: give options 'srcLang' and 'tgtLang' (--src-lang, --tgt-lang) as codes such as 'en'`
    );
  }
  if (tgt.id !== undefined) decode.tgtLang = tgt.id;
  // One device owner: the model. An explicit device moves it, and the batches follow it.
  if (opts.device !== undefined) {
    const device = resolveDevice(fn, opts.device);
    if (!sameDevice(model.device, device)) model.to(device);
  }
  const device = model.device;
  return {
    tokenizer,
    batchSize,
    maxTokens: r.integer('maxTokens', Number.MAX_SAFE_INTEGER, 1),
    window: r.integer('window', D.windowBatches * batchSize, 1),
    idleFlushMs: r.integer('idleFlushMs', D.idleFlushMs, -1),
    maxSourceLength: r.integer('maxSourceLength', Number.MAX_SAFE_INTEGER, 1),
    srcLang: src.id,
    tgtLang: tgt.id,
    srcCode: src.code,
    tgtCode: tgt.code,
    device,
    decode,
  };
}

/** Sentences to translate: an array or any other iterable, or an async iterable (such as a stream's lines). */
export type TranslateInput = Iterable<string> | AsyncIterable<string>;

function isAsync(s: TranslateInput): s is AsyncIterable<string> {
  return typeof (s as AsyncIterable<string>)[Symbol.asyncIterator] === 'function';
}

function checkSentence(v: unknown, index: number): string {
  if (typeof v !== 'string') throw new TypeError(`translate: sentence ${index} must be a string, got ${v === null ? 'null' : typeof v}`);
  return v;
}

// Splits the source into windows: full ones, or (async sources) whatever arrived before an idle pause.
async function* windows(source: TranslateInput, size: number, idleMs: number): AsyncGenerator<string[]> {
  let count = 0;
  if (!isAsync(source)) {
    let buf: string[] = [];
    for (const s of source) {
      buf.push(checkSentence(s, count++));
      if (buf.length >= size) {
        yield buf;
        buf = [];
      }
    }
    if (buf.length > 0) yield buf;
    return;
  }
  const it = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<string>> | undefined;
  let buf: string[] = [];
  let finished = false;
  try {
    for (;;) {
      pending ??= it.next();
      let r: IteratorResult<string> | 'idle';
      if (buf.length > 0 && idleMs >= 0) {
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<'idle'>((res) => (timer = setTimeout(() => res('idle'), idleMs)));
        r = await Promise.race([pending, idle]);
        clearTimeout(timer);
      } else {
        r = await pending;
      }
      if (r === 'idle') {
        yield buf; // the read in flight stays pending for the next round
        buf = [];
        continue;
      }
      pending = undefined;
      if (r.done) {
        finished = true;
        break;
      }
      buf.push(checkSentence(r.value, count++));
      if (buf.length >= size) {
        yield buf;
        buf = [];
      }
    }
    if (buf.length > 0) yield buf;
  } finally {
    if (!finished) await it.return?.();
  }
}

// Length-sorted batches of the non-empty sentences of a window (indices into the window).
function planBatches(ids: number[][], o: Resolved): number[][] {
  const order = ids.map((_, i) => i).filter((i) => ids[i].length > 0);
  order.sort((a, b) => ids[b].length - ids[a].length || a - b);
  const batches: number[][] = [];
  let cur: number[] = [];
  let width = 0;
  for (const i of order) {
    const w = Math.max(width, ids[i].length + 2);
    if (cur.length > 0 && (cur.length >= o.batchSize || (cur.length + 1) * w > o.maxTokens)) {
      batches.push(cur);
      cur = [];
    }
    width = cur.length === 0 ? ids[i].length + 2 : Math.max(width, ids[i].length + 2);
    cur.push(i);
  }
  if (cur.length > 0) batches.push(cur);
  return batches;
}

/**
 * Translates sentences, yielding one result per input sentence in input order, each as soon as it and
 * every sentence before it are done. Empty (or whitespace-only) sentences translate to ''.
 */
export async function* translateStream(model: Seq2Seq, sentences: TranslateInput, opts: TranslateOptions): AsyncGenerator<TranslationResult> {
  const o = resolve(model, opts);
  const { device } = o;
  const vocab = o.tokenizer.vocabSize;
  let base = 0;
  for await (const win of windows(sentences, o.window, o.idleFlushMs)) {
    const ids = (await o.tokenizer.encodeAsync(win, { lang: o.srcCode })).map((r) =>
      r.length > o.maxSourceLength ? r.slice(0, o.maxSourceLength) : r
    );
    const results: Array<TranslationResult | undefined> = ids.map((r, i) =>
      r.length === 0 ? { index: base + i, text: '', score: 0, tokens: [], hypotheses: [{ text: '', score: 0, tokens: [] }] } : undefined
    );
    let next = 0;
    for (const rows of planBatches(ids, o)) {
      const batch = Batch.from(
        { src: rows.map((i) => ids[i]), srcLang: o.srcLang, tgtLang: o.tgtLang },
        { eosIndex: model.eosIndex, padIndex: model.padIndex, device }
      );
      let hyps: Hypothesis[][];
      try {
        hyps = o.decode.beamSize === 1 ? await greedy(model, batch, o.decode) : await beamSearch(model, batch, o.decode);
      } finally {
        batch.dispose();
      }
      // Ids past the tokenizer's vocabulary (a model vocabulary padded for speed) have no text.
      const texts = await o.tokenizer.decodeAsync(
        hyps.flatMap((list) => list.map((h) => h.tokens.filter((t) => t < vocab))),
        { lang: o.tgtCode }
      );
      let at = 0;
      rows.forEach((i, k) => {
        const list = hyps[k].map((h) => ({ text: texts[at++], score: h.score, tokens: h.tokens }));
        const best = list[0] ?? { text: '', score: -Infinity, tokens: [] };
        results[i] = { index: base + i, ...best, hypotheses: list };
      });
      while (next < results.length && results[next] !== undefined) yield results[next++] as TranslationResult;
    }
    while (next < results.length) yield results[next++] as TranslationResult;
    base += win.length;
  }
}

/** Translates every sentence; results in input order (see {@link translateStream}). */
export async function translate(model: Seq2Seq, sentences: TranslateInput, opts: TranslateOptions): Promise<TranslationResult[]> {
  const out: TranslationResult[] = [];
  for await (const r of translateStream(model, sentences, opts)) out.push(r);
  return out;
}
