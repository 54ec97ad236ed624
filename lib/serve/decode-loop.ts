/**
 * What the service's decoding loops (request-batching.ts, continuous-batching.ts) share: the model and queue
 * they serve with their limits, and the short wait that lets concurrent requests join the oldest sentence.
 */
import { Seq2Seq } from '../models/seq2seq';
import { Precision } from '../tensor/device';
import { JobQueue } from './queue';
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
  /** True once the service is closing and nothing more will be queued. */
  stopping(): boolean;
  /** After each decoding batch (or step, for continuous batching): its sentences and padded tokens. */
  onBatch(sentences: number, tokens: number): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Lets concurrent requests join the oldest sentence's batch for up to maxWaitMs, unless it is full already. */
export async function gatherBatch(loop: DecodeLoop): Promise<void> {
  for (;;) {
    const first = loop.queue.oldest();
    if (!first || loop.stopping() || loop.queue.groupTokens() >= loop.maxBatchTokens) return;
    const left = loop.maxWaitMs - (Date.now() - first.enqueuedAt);
    if (left <= 0) return;
    await sleep(Math.min(left, 1));
  }
}

