/**
 * The XLM transformer's config (Teacher and cut students): keys, defaults — XLM's MT setup scaled to a 2-core
 * CPU — and validation with errors that name the field. The same keys, camelCase, travel as JSON in a model
 * file's `config` metadata (bench/reference/xlm.py reads and writes exactly these).
 */
import { describeValue, type OptionNamer, OptionReader } from '../common/options';
import type { BaseModelConfig } from './native-model';

export interface XlmConfig extends BaseModelConfig {
  /** Size of the shared BPE vocabulary (XLM's `n_words`). Required. */
  vocabSize: number;
  /** Model width, `emb_dim` (XLM's MT recipes use 1024; 512 here). Default 512. */
  embDim: number;
  /** Attention heads; must divide `embDim`. Default 8. */
  nHeads: number;
  /** Encoder layers (`n_enc_layers`). Default 6. */
  encoderLayers: number;
  /** Decoder layers (`n_dec_layers`). Default 6. */
  decoderLayers: number;
  /** Dropout after the embeddings, each sublayer and inside the FFN (training only), in [0, 1). Default 0.1. */
  dropout: number;
  /** Dropout on the attention weights (training only), in [0, 1). Default 0.1. */
  attentionDropout: number;
  /** FFN activation: GELU (erf form, XLM's `gelu_activation`) or ReLU. Default `'gelu'`. */
  activation: 'gelu' | 'relu';
  /** Languages with their own embedding (`n_langs`); 1 = no language embeddings. Default 1. */
  nLangs: number;
  /** Padding id (XLM's `<pad>`). Default 2. */
  padIndex: number;
  /** End of sentence, also the first target token (XLM's `</s>`). Default 1. */
  eosIndex: number;
  /** Unknown word (XLM's `<unk>`). Default 3. */
  unkIndex: number;
  /** Rows of the position table: the longest sentence, framing included (XLM's N_MAX_POSITIONS). Default 512. */
  maxPositions: number;
  /** Fixed sinusoidal positions (not saved) instead of learned ones. Default false. */
  sinusoidalEmbeddings: boolean;
}

/** What Teacher.create takes: `vocabSize` plus any keys to override. */
export type XlmOptions = Partial<XlmConfig> & { vocabSize: number };

/** Defaults: XLM's MT transformer (post-LN, GELU, tied output layer) at 512 wide, 6+6 layers, 8 heads. */
export const XLM_DEFAULTS: Readonly<Omit<XlmConfig, 'vocabSize'>> = Object.freeze({
  embDim: 512,
  nHeads: 8,
  encoderLayers: 6,
  decoderLayers: 6,
  dropout: 0.1,
  attentionDropout: 0.1,
  activation: 'gelu',
  nLangs: 1,
  padIndex: 2,
  eosIndex: 1,
  unkIndex: 3,
  maxPositions: 512,
  sinusoidalEmbeddings: false,
});

const KEYS = ['vocabSize', ...Object.keys(XLM_DEFAULTS)];

/** Model configs name their fields `config.<key>` in errors. */
export const configNames: OptionNamer = (path) => `config.${path}`;

/** The object check every model config shares: a non-object, and a missing vocabSize, are TypeErrors. */
export function configReader(options: unknown, where: string, keys: readonly string[], names: OptionNamer = configNames): OptionReader {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: config must be an object like { vocabSize: 32000 }, got ${describeValue(options)}`);
  }
  const r = new OptionReader(where, options, keys, names);
  if (r.raw('vocabSize') === undefined) throw new TypeError(`${r.head}${r.name('vocabSize')} is required (the shared BPE vocabulary's size)`);
  return r;
}

/** Special ids must be vocabulary ids. */
export function checkSpecialIds<C extends { vocabSize: number }>(c: C, keys: ReadonlyArray<keyof C & string>, r: OptionReader): void {
  for (const key of keys) {
    if (Number(c[key]) >= c.vocabSize) throw new RangeError(`${r.head}${r.name(key)} must be < vocabSize (${c.vocabSize}), got ${String(c[key])}`);
  }
}

/**
 * Fills {@link XLM_DEFAULTS} and checks every field (unknown keys, a missing `vocabSize`, types, ranges, heads
 * dividing the width, special ids inside the vocabulary); errors name the field. Returns a new object with
 * every key: the native module reads it as it is.
 */
export function resolveXlmConfig(options: unknown, where: string, names: OptionNamer = configNames): XlmConfig {
  const r = configReader(options, where, KEYS, names);
  const D = XLM_DEFAULTS;
  const dropoutRule = { min: 0, max: 1, below: true };
  const c: XlmConfig = {
    vocabSize: r.integer('vocabSize', 1, 1),
    embDim: r.integer('embDim', D.embDim, 1),
    nHeads: r.integer('nHeads', D.nHeads, 1),
    encoderLayers: r.integer('encoderLayers', D.encoderLayers, 1),
    decoderLayers: r.integer('decoderLayers', D.decoderLayers, 1),
    dropout: r.number('dropout', D.dropout, dropoutRule),
    attentionDropout: r.number('attentionDropout', D.attentionDropout, dropoutRule),
    activation: r.oneOf('activation', ['gelu', 'relu'] as const, D.activation),
    nLangs: r.integer('nLangs', D.nLangs, 1),
    padIndex: r.integer('padIndex', D.padIndex, 0),
    eosIndex: r.integer('eosIndex', D.eosIndex, 0),
    unkIndex: r.integer('unkIndex', D.unkIndex, 0),
    maxPositions: r.integer('maxPositions', D.maxPositions, 1),
    sinusoidalEmbeddings: r.boolean('sinusoidalEmbeddings', D.sinusoidalEmbeddings),
  };
  if (c.embDim % c.nHeads !== 0)
    throw new RangeError(`${r.head}${r.name('embDim')} (${c.embDim}) must be divisible by ${r.name('nHeads')} (${c.nHeads})`);
  checkSpecialIds(c, ['padIndex', 'eosIndex', 'unkIndex'], r);
  return c;
}
