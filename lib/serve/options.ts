/**
 * The options of the translation service (`serve`, `xlm-kd serve`), their one set of defaults and their one
 * check: where it listens, how models load, how requests are batched, and the limits that keep one client from
 * starving the others.
 */
import type { LanguageRef } from '../data/languages';
import { type OptionNamer, OptionReader, optionNames } from '../common/options';
import { type Precision, resolveDevice, resolvePrecision } from '../tensor/device';
import type { Device } from '../tensor/dtype';
import type { InferenceForm } from '../models/seq2seq';

/** How sentences of concurrent requests share decoding. */
export type BatchingMode = 'continuous' | 'request' | 'none';

/** Options of {@link serve} and `xlm-kd serve`; each has a default ({@link SERVE_DEFAULTS}). */
export interface ServeOptions {
  /** Interface to listen on (default 127.0.0.1: this machine only). */
  host?: string;
  /** Port (default 8080; 0 picks a free one, see the handle's `port`). */
  port?: number;
  /** Where the models run (default cpu). */
  device?: Device;
  /** Decode in this precision (default fp32; bf16/fp16 autocast on a GPU). */
  precision?: Precision;
  /**
   * How model files' decode-time linear layers run: 'float32' as trained (default), 'packed' (oneDNN layout) or
   * 'int8' (quantized as they load; CPU). Models passed in loaded keep their form.
   */
  inference?: InferenceForm;
  /** Decode over the model's vocabulary shortlist when its file names one (default true). */
  shortlist?: boolean;
  /** Beam size when a request does not say (default 5; 1 = greedy). */
  beam?: number;
  /** Largest beam a request may ask for (default 8). */
  maxBeam?: number;
  /**
   * 'request' (default): the waiting sentences of concurrent requests enter an idle decode as one
   * length-bucketed batch (the next batch gathers while it runs); 'continuous': they also join the running beam
   * search between its steps; 'none': each request decoded alone (what a naive server does; for comparison).
   * In every mode a sentence is answered the step it finishes. BENCHMARKS.md "serve" measures the three.
   */
  batching?: BatchingMode;
  /** Padded source tokens in one decoding batch (default 2048). */
  maxBatchTokens?: number;
  /** Sentences in one decoding batch (default 64). */
  maxBatchSentences?: number;
  /**
   * Request batching: how long the first sentence of a batch may wait for others to join it. Continuous
   * batching: how long a sentence may wait before it joins the running decode even if few others wait with it
   * (default 0: under load the next batch gathers while one decodes anyway).
   */
  maxWaitMs?: number;
  /**
   * Continuous batching: waiting sentences join the running decode at the next step once they number at least
   * this fraction of the sentences it decodes (or one has waited maxWaitMs): joining costs an encoder pass and a
   * copy of the decoder state, which a few joiners at once share (TGI's waiting_served_ratio; default 0.6).
   */
  joinRatio?: number;
  /** Sentences waiting to be decoded before new requests get 503 (default 1024). */
  maxQueue?: number;
  /** Characters in one sentence (default 1000; more is 413). */
  maxChars?: number;
  /** Sentences in one request (default 64). */
  maxSentences?: number;
  /** A request not answered in this time gets 504 and its sentences leave the queue (default 30 s). */
  requestTimeoutMs?: number;
  /** Time a client has to send its whole request (slow clients get 408; default 10 s). */
  receiveTimeoutMs?: number;
  /** On close(), how long requests in flight may take to finish before they are answered 503 (default 10 s). */
  closeGraceMs?: number;
  /** Where lines about the service go (default console.log; null for silence). */
  log?: ((line: string) => void) | null;
  /**
   * The source language of every served model: a code such as 'en' (XLM's tokenizer needs it; with an XLM
   * model's language list it also gives the language id) or the model's language id. Models fix their languages.
   */
  srcLang?: LanguageRef;
  /** The target language of every served model, as `srcLang`. */
  tgtLang?: LanguageRef;
}

/** The defaults of {@link ServeOptions}. */
export const SERVE_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the assertion widens the frozen default's type (typescript-eslint#12376)
  precision: 'fp32' as Precision,
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the assertion widens the frozen default's type (typescript-eslint#12376)
  inference: 'float32' as InferenceForm,
  shortlist: true,
  beam: 5,
  maxBeam: 8,
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the assertion widens the frozen default's type (typescript-eslint#12376)
  batching: 'request' as BatchingMode,
  maxBatchTokens: 2048,
  maxBatchSentences: 64,
  maxWaitMs: 0,
  joinRatio: 0.6,
  maxQueue: 1024,
  maxChars: 1000,
  maxSentences: 64,
  requestTimeoutMs: 30_000,
  receiveTimeoutMs: 10_000,
  closeGraceMs: 10_000,
});

/** {@link ServeOptions} with every default filled in. */
export type ResolvedServeOptions = Omit<Required<ServeOptions>, 'device' | 'log' | 'srcLang' | 'tgtLang'> &
  Pick<ServeOptions, 'srcLang' | 'tgtLang'> & { device: Device; log: (line: string) => void };

const KEYS = [...Object.keys(SERVE_DEFAULTS), 'device', 'log', 'srcLang', 'tgtLang'];

/** Fills {@link SERVE_DEFAULTS} and checks every value (the CLI names its flags through `names`). */
export function resolveServeOptions(where: string, opts: unknown, names: OptionNamer = optionNames): ResolvedServeOptions {
  const r: OptionReader = new OptionReader(where, opts, KEYS, names);
  const D = SERVE_DEFAULTS;
  const host = r.raw('host') ?? D.host;
  if (typeof host !== 'string' || host === '') r.fail('host', 'a host name or address', true);
  const log = r.raw('log');
  if (log !== undefined && log !== null && typeof log !== 'function') r.fail('log', 'a function or null', true);
  const maxBeam = r.integer('maxBeam', D.maxBeam, 1, 64);
  const language = (k: 'srcLang' | 'tgtLang'): LanguageRef | undefined => {
    const v = r.raw(k);
    if (v === undefined) return undefined;
    if ((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isInteger(v) && v >= 0)) return v;
    return r.fail(k, "a language code such as 'en' or a language id", true);
  };
  return {
    host,
    port: r.integer('port', D.port, 0, 65535),
    device: r.raw('device') === undefined ? 'cpu' : resolveDevice(where, r.raw('device'), 'device', () => r.name('device')),
    precision: resolvePrecision(where, r.raw('precision'), 'precision', () => r.name('precision')),
    inference: r.oneOf('inference', ['float32', 'packed', 'int8'] as const, D.inference),
    shortlist: r.boolean('shortlist', D.shortlist),
    beam: r.integer('beam', D.beam, 1, maxBeam),
    maxBeam,
    batching: r.oneOf('batching', ['continuous', 'request', 'none'] as const, D.batching),
    maxBatchTokens: r.integer('maxBatchTokens', D.maxBatchTokens, 16),
    maxBatchSentences: r.integer('maxBatchSentences', D.maxBatchSentences, 1),
    maxWaitMs: r.number('maxWaitMs', D.maxWaitMs, { min: 0 }),
    joinRatio: r.number('joinRatio', D.joinRatio, { min: 0 }),
    maxQueue: r.integer('maxQueue', D.maxQueue, 1),
    maxChars: r.integer('maxChars', D.maxChars, 1),
    maxSentences: r.integer('maxSentences', D.maxSentences, 1),
    requestTimeoutMs: r.integer('requestTimeoutMs', D.requestTimeoutMs, 1),
    receiveTimeoutMs: r.integer('receiveTimeoutMs', D.receiveTimeoutMs, 1),
    closeGraceMs: r.integer('closeGraceMs', D.closeGraceMs, 0),
    srcLang: language('srcLang'),
    tgtLang: language('tgtLang'),
    log: log === null ? () => undefined : typeof log === 'function' ? (log as (l: string) => void) : (l: string) => console.log(l),
  };
}
