/**
 * The service's Prometheus metrics (prom-client, one registry per service): requests by status, sentences and
 * generated tokens, errors by kind, the queue's depth, decoding batch sizes, and request and decoding latency
 * histograms, served as text at GET /metrics.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The service's Prometheus metrics, served at GET /metrics. */
export class ServeMetrics {
  /** The registry holding them (one per service). */
  readonly registry = new Registry();
  /** xlmkd_requests_total: /translate requests, by status code. */
  readonly requests: Counter<'status'>;
  /** xlmkd_sentences_total: sentences translated, by model. */
  readonly sentences: Counter<'model'>;
  /** xlmkd_generated_tokens_total: tokens generated (best hypotheses), by model. */
  readonly tokens: Counter<'model'>;
  /** xlmkd_errors_total: requests answered with an error, by kind. */
  readonly errors: Counter<'kind'>;
  /** xlmkd_queue_sentences: sentences waiting to be decoded, by model. */
  readonly queueDepth: Gauge<'model'>;
  /** xlmkd_batch_sentences: sentences per decoding batch (per step with continuous batching). */
  readonly batchSentences: Histogram<'model'>;
  /** xlmkd_batch_padded_tokens: padded source tokens per decoding batch. */
  readonly batchTokens: Histogram<'model'>;
  /** xlmkd_request_seconds: time from a /translate request to its answer, in seconds. */
  readonly latency: Histogram<'model'>;

  constructor() {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'xlmkd_requests_total',
      help: 'HTTP requests to /translate, by status code',
      labelNames: ['status'],
      registers,
    });
    this.sentences = new Counter({ name: 'xlmkd_sentences_total', help: 'Sentences translated', labelNames: ['model'], registers });
    this.tokens = new Counter({ name: 'xlmkd_generated_tokens_total', help: 'Tokens generated (best hypotheses)', labelNames: ['model'], registers });
    this.errors = new Counter({ name: 'xlmkd_errors_total', help: 'Requests answered with an error, by kind', labelNames: ['kind'], registers });
    this.queueDepth = new Gauge({ name: 'xlmkd_queue_sentences', help: 'Sentences waiting to be decoded', labelNames: ['model'], registers });
    this.batchSentences = new Histogram({
      name: 'xlmkd_batch_sentences',
      help: 'Sentences per decoding batch (per step with continuous batching)',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    });
    this.batchTokens = new Histogram({
      name: 'xlmkd_batch_padded_tokens',
      help: 'Padded source tokens per decoding batch',
      labelNames: ['model'],
      buckets: [16, 64, 256, 1024, 2048, 4096, 8192],
      registers,
    });
    this.latency = new Histogram({
      name: 'xlmkd_request_seconds',
      help: 'Time from a /translate request to its answer',
      labelNames: ['model'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }
}
