/**
 * `serve(models, options)`: distilled models as a translation service over HTTP (fastify), with sentences from
 * concurrent requests batched together (lib/serve/batching.ts: request batching by default, continuous on demand).
 *
 *   POST /translate { q: string | string[], model?, beam?, nBest? } -> { translations: [{ text, score, alternatives? }],
 *                                                                        translatedText }   (LibreTranslate's name)
 *   GET /models   GET /health (200 once the models are loaded, 503 while closing)   GET /metrics (Prometheus)   GET /
 *
 * Every bad request is a JSON `{ error, kind }` with its status, and the service keeps serving: invalid JSON or
 * UTF-8, wrong types and empty text are 400, over-long text 413, an unknown model 404, a full queue 503 with
 * Retry-After, a request not answered in time 504 (its sentences leave the queue), a client that sends its
 * request too slowly 408. A client that goes away mid-request has its sentences dropped from the batch.
 * `close()` stops accepting, lets requests in flight finish within `closeGraceMs`, and answers the rest 503.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { type ResolvedLanguage, resolveLanguage } from '../data/languages';
import { tokenizerFor } from '../data/load-tokenizer';
import type { Tokenizer } from '../data/tokenizer';
import type { Hypothesis } from '../decode/hypotheses';
import { loadModel } from '../models/load';
import type { Seq2Seq } from '../models/seq2seq';
import { runDecodeLoop } from './batching';
import { ServeMetrics } from './metrics';
import { type ResolvedServeOptions, resolveServeOptions, type ServeOptions } from './options';
import { PAGE } from './page';
import { type Job, JobQueue, QueueFull } from './queue';
import type { DecodeLoop } from './decode-loop';

/** A model to serve: a model file (its tokenizer's files beside it), or a loaded model with its tokenizer. */
export type ModelSource = string | { model: Seq2Seq; tokenizer: Tokenizer };

/** A running service. */
export interface ServeHandle {
  /** http://host:port */
  url: string;
  /** The port it listens on. */
  port: number;
  /** The served models' names; the first is the default. */
  models: string[];
  /** The service's Prometheus metrics. */
  metrics: ServeMetrics;
  /** How long close() lets requests in flight run. */
  closeGraceMs: number;
  /** Stops accepting, finishes what is in flight within `closeGraceMs`, answers the rest 503, and stops. */
  close(): Promise<void>;
}

interface Served {
  name: string;
  model: Seq2Seq;
  tokenizer: Tokenizer;
  /** The languages the model translates from and into. */
  langs: { src: ResolvedLanguage; tgt: ResolvedLanguage };
  queue: JobQueue;
  loop: Promise<void>;
}

/** A request error with its HTTP status and a kind for the metrics. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    message: string,
    readonly headers: Record<string, string> = {}
  ) {
    super(message);
  }
}

async function load(name: string, source: ModelSource, o: ResolvedServeOptions): Promise<{ model: Seq2Seq; tokenizer: Tokenizer }> {
  if (typeof source !== 'string') return source;
  if (!fs.existsSync(source)) throw new Error(`serve: model '${name}': cannot read ${source}: no such file`);
  let tokenizer: Tokenizer;
  try {
    tokenizer = tokenizerFor(source);
  } catch (e) {
    throw new Error(`serve: model '${name}': ${(e as Error).message}`, { cause: e });
  }
  const model = await loadModel(source, { inference: o.inference === 'float32' ? undefined : o.inference });
  return { model, tokenizer };
}

/** The model's languages from the service's options; XLM's tokenizer cannot work without them. */
function languagesOf(name: string, tokenizer: Tokenizer, o: ResolvedServeOptions): Served['langs'] {
  const where = `serve: model '${name}'`;
  const langs = { src: resolveLanguage(tokenizer, o.srcLang, `${where}: srcLang`), tgt: resolveLanguage(tokenizer, o.tgtLang, `${where}: tgtLang`) };
  if (tokenizer.kind === 'xlm-bpe' && (langs.src.code === undefined || langs.tgt.code === undefined)) {
    throw new TypeError(`${where} uses XLM's tokenizer, whose rules depend on the language: give srcLang and tgtLang (--src-lang, --tgt-lang)`);
  }
  return langs;
}

const TRANSLATE_SCHEMA = {
  body: {
    type: 'object',
    required: ['q'],
    properties: {
      q: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }] },
      model: { type: 'string' },
      beam: { type: 'integer', minimum: 1 },
      nBest: { type: 'integer', minimum: 1 },
      // LibreTranslate's other fields, accepted so its clients work unchanged (the model fixes the languages).
      source: { type: 'string' },
      target: { type: 'string' },
      format: { type: 'string' },
      api_key: { type: 'string' },
      alternatives: { type: 'integer', minimum: 0 },
    },
    additionalProperties: false,
  },
} as const;

interface TranslateBody {
  q: string | string[];
  model?: string;
  beam?: number;
  nBest?: number;
  /** LibreTranslate's name: alternatives beyond the best (nBest - 1). */
  alternatives?: number;
  /** LibreTranslate's source language: when given (and not 'auto') it must be the model's. */
  source?: string;
  /** LibreTranslate's target language: when given it must be the model's. */
  target?: string;
}

/** Starts the service; resolves once the models are loaded and it listens. */
export async function serve(models: Record<string, ModelSource>, options: ServeOptions = {}): Promise<ServeHandle> {
  const o = resolveServeOptions('serve', options);
  if (!models || typeof models !== 'object' || Object.keys(models).length === 0) {
    throw new TypeError("serve: argument 'models' must name at least one model: { name: file or { model, tokenizer } }");
  }
  const metrics = new ServeMetrics();
  let closing = false;
  const served = new Map<string, Served>();
  const throughput = { sentences: 0, since: Date.now() };
  const retryAfter = () => Math.max(1, Math.ceil(o.maxQueue / Math.max(1, throughput.sentences / ((Date.now() - throughput.since) / 1000))));
  for (const [name, source] of Object.entries(models)) {
    const { model, tokenizer } = await load(name, source, o);
    const langs = languagesOf(name, tokenizer, o);
    if (model.device !== o.device) model.to(o.device);
    model.eval();
    const queue = new JobQueue(o.maxQueue, retryAfter);
    const loop: DecodeLoop = {
      model,
      queue,
      shortlist: o.shortlist ? model.shortlist : undefined,
      precision: o.precision,
      maxBatchTokens: o.maxBatchTokens,
      maxBatchSentences: o.maxBatchSentences,
      maxWaitMs: o.maxWaitMs,
      joinRatio: o.joinRatio,
      langs: { src: langs.src.id, tgt: langs.tgt.id },
      stopping: () => closing,
      onBatch: (sentences, tokens) => {
        metrics.batchSentences.observe({ model: name }, sentences);
        metrics.batchTokens.observe({ model: name }, tokens);
      },
    };
    const run = runDecodeLoop(loop, o.batching);
    served.set(name, { name, model, tokenizer, langs, queue, loop: run });
    metrics.queueDepth.set({ model: name }, 0);
  }
  const names = [...served.keys()];
  let nextRequest = 0;
  // Every sentence not yet answered, wherever it is (queue or running decode): close() answers them at its deadline.
  const outstanding = new Set<Job>();

  /** Queues a request's sentences; a sentence with no tokens is answered at once, as translate() does. */
  function enqueue(s: Served, ids: number[][], beam: number, nBest: number): { answers: Promise<Hypothesis[]>[]; cancel: () => void } {
    const request = nextRequest++;
    const jobs: Job[] = [];
    const answers = ids.map((sentence) => {
      if (sentence.length === 0) return Promise.resolve([{ tokens: [], tokenLogProbs: [], score: 0 }]);
      return new Promise<Hypothesis[]>((resolve, reject) => {
        const job: Job = {
          ids: sentence,
          beam,
          nBest,
          request,
          cancelled: false,
          enqueuedAt: Date.now(),
          done: (h) => outstanding.delete(job) && resolve(h),
          fail: (e) => outstanding.delete(job) && reject(e),
        };
        jobs.push(job);
      });
    });
    try {
      s.queue.add(jobs);
    } catch (e) {
      if (e instanceof QueueFull) throw new HttpError(503, 'queue-full', e.message, { 'retry-after': String(e.retryAfterSeconds) });
      throw e;
    }
    for (const j of jobs) outstanding.add(j);
    return { answers, cancel: () => jobs.forEach((j) => (j.cancelled = true)) };
  }

  const app: FastifyInstance = Fastify({
    bodyLimit: o.maxSentences * o.maxChars * 4 + 4096,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // A number is not a string: no type coercion by the schema.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    // Node checks for clients that take too long to send a request (408) every connectionsCheckingInterval,
    // 30 s by default: far too coarse for a receive timeout of seconds.
    serverFactory: (handler) =>
      http.createServer(
        {
          requestTimeout: o.receiveTimeoutMs,
          headersTimeout: o.receiveTimeoutMs,
          connectionsCheckingInterval: Math.max(50, Math.min(1000, o.receiveTimeoutMs / 4)),
        },
        handler
      ),
  });
  // A strict JSON parser: invalid UTF-8 is refused, not read as U+FFFD.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body as Buffer);
    } catch {
      done(new HttpError(400, 'invalid-utf8', 'the request body is not valid UTF-8'), undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(new HttpError(400, 'invalid-json', `the request body is not valid JSON (${(e as Error).message})`), undefined);
    }
  });
  app.setErrorHandler((err: FastifyError | HttpError, _req, reply) => {
    const e = err instanceof HttpError ? err : fromFastify(err);
    metrics.errors.inc({ kind: e.kind });
    for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
    void reply.status(e.status).send({ error: e.message, kind: e.kind });
  });
  // While closing, each answer closes its connection: a kept-alive idle one would hold close() for its timeout.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) void reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    if (req.url.startsWith('/translate')) metrics.requests.inc({ status: String(reply.statusCode) });
  });

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
  app.get('/health', async (_req, reply) => (closing ? reply.status(503).send({ status: 'closing' }) : { status: 'ok', models: names }));
  app.get('/models', async () => ({
    models: [...served.values()].map((s, i) => ({
      name: s.name,
      kind: s.model.kind,
      parameters: s.model.numParameters(),
      device: s.model.device,
      inference: s.model.inference ?? 'float32',
      default: i === 0,
    })),
  }));
  app.get('/metrics', async (_req, reply) => {
    for (const s of served.values()) metrics.queueDepth.set({ model: s.name }, s.queue.size);
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.post<{ Body: TranslateBody }>('/translate', { schema: TRANSLATE_SCHEMA }, async (req, reply) => {
    const started = performance.now();
    const body = req.body;
    const s = served.get(body.model ?? names[0]);
    if (!s) throw new HttpError(404, 'unknown-model', `unknown model '${body.model}'; this service has ${names.join(', ')}`);
    for (const [field, want] of [
      ['source', s.langs.src.code],
      ['target', s.langs.tgt.code],
    ] as const) {
      const got = body[field];
      if (got !== undefined && got !== 'auto' && want !== undefined && got !== want) {
        throw new HttpError(
          400,
          'bad-request',
          `model '${s.name}' translates ${s.langs.src.code} -> ${s.langs.tgt.code}; ${field} '${got}' is not its`
        );
      }
    }
    const texts = Array.isArray(body.q) ? body.q : [body.q];
    if (texts.length > o.maxSentences) throw new HttpError(413, 'too-many', `at most ${o.maxSentences} sentences per request, got ${texts.length}`);
    texts.forEach((t, i) => {
      if (t.trim() === '') throw new HttpError(400, 'empty-text', `sentence ${i} is empty`);
      if (t.length > o.maxChars) throw new HttpError(413, 'too-long', `sentence ${i} has ${t.length} characters; at most ${o.maxChars}`);
    });
    const beam = body.beam ?? o.beam;
    if (beam > o.maxBeam) throw new HttpError(400, 'bad-request', `beam must be at most ${o.maxBeam}, got ${beam}`);
    const nBest = body.nBest ?? (body.alternatives !== undefined ? body.alternatives + 1 : 1);
    if (nBest > beam) throw new HttpError(400, 'bad-request', `nBest (${nBest}) must not exceed beam (${beam})`);
    const { answers, cancel } = enqueue(s, await s.tokenizer.encodeAsync(texts, { lang: s.langs.src.code }), beam, nBest);
    // A client that goes away leaves nothing behind: its sentences leave the queue or the running batch.
    reply.raw.on('close', () => !reply.raw.writableFinished && cancel());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HttpError(504, 'timeout', `not answered within ${o.requestTimeoutMs} ms`)), o.requestTimeoutMs);
    });
    let hyps: Hypothesis[][];
    try {
      hyps = await Promise.race([Promise.all(answers), timeout]);
    } catch (e) {
      cancel();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    const translations = hyps.map((list) => {
      const text = (h: Hypothesis) =>
        s.tokenizer.decode(
          h.tokens.filter((t) => t < s.tokenizer.vocabSize),
          { lang: s.langs.tgt.code }
        );
      const best = list[0];
      return {
        text: text(best),
        score: best.score,
        ...(nBest > 1 ? { alternatives: list.slice(1).map((h) => ({ text: text(h), score: h.score })) } : {}),
      };
    });
    metrics.sentences.inc({ model: s.name }, texts.length);
    metrics.tokens.inc(
      { model: s.name },
      hyps.reduce((n, l) => n + l[0].tokens.length, 0)
    );
    metrics.latency.observe({ model: s.name }, (performance.now() - started) / 1000);
    throughput.sentences += texts.length;
    const many = Array.isArray(body.q);
    const alternatives = translations.map((t) => (t.alternatives ?? []).map((a) => a.text));
    return reply.send({
      translations,
      translatedText: many ? translations.map((t) => t.text) : translations[0].text,
      ...(body.alternatives !== undefined ? { alternatives: many ? alternatives : alternatives[0] } : {}),
    });
  });

  await app.listen({ host: o.host, port: o.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const url = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
  o.log(`serving ${names.join(', ')} at ${url} (${o.batching} batching, beam ${o.beam}, ${o.device})`);

  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      closing = true;
      // After the grace period, what is still waiting is answered 503 so the close can finish.
      const deadline = setTimeout(() => {
        for (const j of [...outstanding]) {
          j.cancelled = true;
          j.fail(new HttpError(503, 'closing', 'the service is shutting down'));
        }
      }, o.closeGraceMs);
      for (const s of served.values()) s.queue.wake();
      await app.close();
      await Promise.all([...served.values()].map((s) => s.loop));
      clearTimeout(deadline);
      o.log('service closed');
    })());
  return { url, port, models: names, metrics, closeGraceMs: o.closeGraceMs, close };
}

function fromFastify(err: FastifyError): HttpError {
  if (err.validation) return new HttpError(400, 'bad-request', `bad request: ${err.message}`);
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new HttpError(413, 'too-large', 'the request body is too large');
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new HttpError(415, 'bad-request', 'send the request as application/json');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new HttpError(err.statusCode, 'bad-request', err.message);
  return new HttpError(500, 'internal', err.message);
}
