/**
 * Request batching: the sentences of concurrent requests are gathered into one length-bucketed batch — the
 * oldest waiting sentence waits at most `maxWaitMs` for others, a batch holds at most `maxBatchTokens` padded
 * tokens and `maxBatchSentences` sentences — which is decoded to the end (off the JS thread: every native step
 * is a Promise form), its sentences answered, and then the next batch formed. In 'none' mode a batch is one
 * request's sentences, taken as they come: what a server without batching does.
 */
import { Batch } from '../data/batch';
import { beamSearch } from '../decode/beam';
import { greedy } from '../decode/greedy';
import { Hypothesis } from '../decode/hypotheses';
import { Seq2Seq } from '../models/seq2seq';
import { DecodeLoop, gatherBatch } from './decode-loop';
import { Job, paddedTokens } from './queue';

/** Decodes `jobs` (one beam size and n-best) as one batch and answers each that still wants it. */
export async function decodeJobs(loop: DecodeLoop, jobs: Job[]): Promise<void> {
  const live = jobs.filter((j) => !j.cancelled);
  if (live.length === 0) return;
  const { model } = loop;
  const batch = Batch.from({ src: live.map((j) => j.ids) }, { eosIndex: model.eosIndex, padIndex: model.padIndex, device: model.device });
  let hyps: Hypothesis[][];
  try {
    const { beam, nBest } = live[0];
    const opts = { beamSize: beam, nBest, precision: loop.precision, shortlist: loop.shortlist ?? (false as const) };
    hyps = beam === 1 ? await greedy(model, batch, opts) : await beamSearch(model, batch, opts);
  } catch (e) {
    for (const j of live) j.fail(e as Error);
    return;
  } finally {
    batch.dispose();
  }
  loop.onBatch(live.length, paddedTokens(live));
  live.forEach((j, k) => !j.cancelled && j.done(hyps[k]));
}

/** Runs until the service stops and the queue is empty. `perRequest`: the 'none' mode. */
export async function runRequestBatching(loop: DecodeLoop, perRequest: boolean): Promise<void> {
  const { queue } = loop;
  for (;;) {
    if (queue.oldest() === undefined) {
      if (loop.stopping()) return;
      await queue.whenNonEmpty();
      continue;
    }
    if (!perRequest) await gatherBatch(loop);
    await decodeJobs(loop, queue.take(loop.maxBatchTokens, perRequest ? Infinity : loop.maxBatchSentences, { sameRequest: perRequest }));
  }
}
