/**
 * The XLM transformer's config (Teacher and cut students): keys, defaults — XLM's MT setup scaled to a 2-core
 * CPU — and validation with errors that name the field. The same keys, camelCase, travel as JSON in a model
 * file's `config` metadata (bench/reference/xlm.py reads and writes exactly these).
 */
import { BaseModelConfig } from './native-model';

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

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `string '${v}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  return Array.isArray(v) ? 'array' : typeof v;
}

/** Checks every field of a filled-in config; throws a TypeError/RangeError naming the field. */
export function validateXlmConfig(c: XlmConfig, where: string): void {
  const fail = (msg: string, range = false): never => {
    throw new (range ? RangeError : TypeError)(`${where}: ${msg}`);
  };
  const int = (key: keyof XlmConfig, min: number) => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(`config.${key} must be an integer >= ${min}, got ${describe(v)}`);
  };
  for (const key of ['vocabSize', 'embDim', 'nHeads', 'encoderLayers', 'decoderLayers', 'nLangs', 'maxPositions'] as const) int(key, 1);
  for (const key of ['padIndex', 'eosIndex', 'unkIndex'] as const) int(key, 0);
  for (const key of ['dropout', 'attentionDropout'] as const) {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`config.${key} must be a number in [0, 1), got ${describe(v)}`);
    if (v < 0 || v >= 1) fail(`config.${key} must be a number in [0, 1), got ${describe(v)}`, true);
  }
  if (c.activation !== 'gelu' && c.activation !== 'relu') fail(`config.activation must be one of 'gelu', 'relu', got ${describe(c.activation)}`);
  if (typeof c.sinusoidalEmbeddings !== 'boolean') fail(`config.sinusoidalEmbeddings must be a boolean, got ${describe(c.sinusoidalEmbeddings)}`);
  if (c.embDim % c.nHeads !== 0) fail(`config.embDim (${c.embDim}) must be divisible by config.nHeads (${c.nHeads})`, true);
  for (const key of ['padIndex', 'eosIndex', 'unkIndex'] as const) {
    if (c[key] >= c.vocabSize) fail(`config.${key} must be < vocabSize (${c.vocabSize}), got ${c[key]}`, true);
  }
}

/**
 * Fills defaults and validates: rejects a non-object, unknown keys, a missing `vocabSize` and bad values
 * (see {@link validateXlmConfig}). Returns a new object with every key.
 */
export function resolveXlmConfig(options: unknown, where: string): XlmConfig {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: config must be an object like { vocabSize: 32000 }, got ${describe(options)}`);
  }
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!KEYS.includes(key)) throw new TypeError(`${where}: unknown config key '${key}' (known: ${KEYS.join(', ')})`);
  }
  if (given.vocabSize === undefined) throw new TypeError(`${where}: config.vocabSize is required (the shared BPE vocabulary's size)`);
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const config = { ...XLM_DEFAULTS, ...defined } as XlmConfig;
  validateXlmConfig(config, where);
  return config;
}
