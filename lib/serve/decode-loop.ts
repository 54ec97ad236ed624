/** What the service's decode loop (batching.ts) serves: the model, the queue, its limits, and where to report. */
import type { Seq2Seq } from '../models/seq2seq';
import type { Precision } from '../tensor/device';
import type { JobQueue } from './queue';
import type { Shortlist } from '../data/shortlist';

/** What a decoding loop needs: the model, the queue, its limits, and where to report. */
export interface DecodeLoop {
  model: Seq2Seq;
  queue: JobQueue;
  /** The vocabulary shortlist to decode over, if any. */
  shortlist: Shortlist | undefined;
  precision: Precision;
  maxBatchTokens: number;
  maxBatchSentences: number;
  maxWaitMs: number;
  joinRatio: number;
  /** The model's language ids of what it translates from and into (models with language embeddings). */
  langs: { src?: number; tgt?: number };
  /** True once the service is closing and nothing more will be queued. */
  stopping(): boolean;
  /** After each decode step: its sentences and padded source tokens. */
  onBatch(sentences: number, tokens: number): void;
}
