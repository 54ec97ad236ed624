/**
 * The service's decode loop, one per model: a beam search (a BeamSet) that runs while there is work, answers
 * each sentence the step it finishes, and drops the sentences of requests that no longer want an answer (a
 * client went away, a timeout) at the next step. Waiting sentences of the same beam size and n-best enter it
 * within `maxBatchTokens` padded source tokens and `maxBatchSentences`, when the batching mode lets them:
 * - 'request': when it is empty (after at most maxWaitMs for companions): a length-bucketed batch of what waits;
 *   under load the next batch gathers while this one decodes;
 * - 'continuous' (as TGI and vLLM schedule LLM generation): also between its steps, merged into the running
 *   decode (Seq2Seq.mergeStates) once they number joinRatio of the sentences it decodes or one has waited
 *   maxWaitMs since the last join;
 * - 'none': when it is empty, one request's sentences only (what a server without batching does).
 * Every sentence decodes as it would alone (beam 1 as greedy decoding); with the model's vocabulary shortlist
 * the decode runs over the union of its sentences' candidates, renewed as sentences join.
 */
import { Batch } from '../data/batch';
import { type BeamSentence, BeamSet } from '../decode/beam-set';
import { type EncodedBatch, encodeForDecoding, type OutputColumns, restrictToCandidates } from '../decode/common';
import { maxLengths, resolveDecodeOptions } from '../decode/options';
import type { DecoderState } from '../models/seq2seq';
import { autocast } from '../tensor/device';
import type { BatchingMode } from './options';
import type { DecodeLoop } from './decode-loop';
import { type Job, paddedTokens } from './queue';

interface Sentence extends BeamSentence {
  job: Job;
  /** Its shortlist candidates (framing included), when the model has a shortlist. */
  candidates?: number[];
}

/** The decode in progress: the beam set, its decoder state and output columns. */
interface Running {
  set: BeamSet<Sentence>;
  state: DecoderState;
  columns: OutputColumns;
  /** When sentences last joined (Date.now()). */
  joinedAt: number;
}

const jobsOf = (r: Running | undefined): Job[] => (r ? r.set.sentences.map((s) => s.job) : []);

/** Encodes `jobs` and merges them into the running decode (or starts one). */
async function admit(loop: DecodeLoop, running: Running | undefined, jobs: Job[]): Promise<Running> {
  const { model } = loop;
  const { beam, nBest } = jobs[0];
  const o = resolveDecodeOptions('serve', { beamSize: beam, nBest, precision: loop.precision, shortlist: false }, beam);
  const batch = Batch.from(
    { src: jobs.map((j) => j.ids), srcLang: loop.langs.src, tgtLang: loop.langs.tgt },
    { eosIndex: model.eosIndex, padIndex: model.padIndex, device: model.device }
  );
  let encoded: EncodedBatch;
  try {
    encoded = await encodeForDecoding(model, batch, o, beam);
  } finally {
    batch.dispose();
  }
  const set = running?.set ?? new BeamSet<Sentence>(model, beam, o, encoded.device, beam === 1);
  let state = encoded.state;
  if (running) {
    state = model.mergeStates!(running.state, encoded.state);
    running.state.dispose?.();
    encoded.state.dispose?.();
  }
  const { shortlist } = loop;
  set.add(
    maxLengths(encoded.srcLens, o).map((cap, i) => ({
      job: jobs[i],
      cap,
      lang: loop.langs.tgt,
      finished: set.finishedFor(cap),
      candidates: shortlist?.candidates([model.eosIndex, ...jobs[i].ids, model.eosIndex]),
    }))
  );
  let columns = encoded.columns;
  if (shortlist && model.restrictVocabulary)
    columns = restrictToCandidates(
      model,
      state,
      set.sentences.flatMap((s) => s.candidates!),
      encoded.device
    );
  return { set, state, columns, joinedAt: Date.now() };
}

/** One step of the running decode; answers the sentences that finished. Returns the decode, or undefined once empty. */
async function step(loop: DecodeLoop, r: Running): Promise<Running | undefined> {
  r.set.remove(r.state, (s) => s.job.cancelled);
  const sentences = r.set.sentences.length;
  if (sentences > 0) {
    const tokens = paddedTokens(jobsOf(r));
    const done = await autocast(loop.precision, loop.model.device, () => r.set.step(r.state, r.columns));
    loop.onBatch(sentences, tokens);
    for (const s of done) if (!s.job.cancelled) s.job.done(s.finished.best(s.job.nBest));
  }
  if (r.set.sentences.length > 0) return r;
  r.state.dispose?.();
  return undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Lets concurrent requests join the oldest sentence's batch for up to maxWaitMs, unless it is full already. */
async function gather(loop: DecodeLoop): Promise<void> {
  for (;;) {
    const first = loop.queue.oldest();
    if (!first || loop.stopping() || loop.queue.groupTokens() >= loop.maxBatchTokens) return;
    const left = loop.maxWaitMs - (Date.now() - first.enqueuedAt);
    if (left <= 0) return;
    await sleep(Math.min(left, 1));
  }
}

/** Continuous batching: whether waiting sentences join the running decode before its next step. */
function joinNow(loop: DecodeLoop, running: Running): boolean {
  const oldest = loop.queue.oldest();
  if (!oldest) return false;
  const n = running.set.sentences.length;
  // Sentences that could join now: those waiting, within the decode's free places.
  const joinable = Math.min(loop.queue.size, loop.maxBatchSentences - n);
  if (joinable <= 0) return false;
  // Otherwise no sentence waits longer than maxWaitMs, counted from the last join (in a deep queue every
  // sentence has waited long, and joining every step would copy the decoder state every step).
  return joinable >= loop.joinRatio * n || Date.now() - Math.max(oldest.enqueuedAt, running.joinedAt) >= loop.maxWaitMs;
}

/** The sentences that enter the decode before its next step (none when the mode says wait). */
async function entering(loop: DecodeLoop, running: Running | undefined, mode: BatchingMode): Promise<Job[]> {
  const { queue } = loop;
  if (running && (mode !== 'continuous' || !joinNow(loop, running))) return [];
  if (!running && mode === 'request') await gather(loop);
  const perRequest = mode === 'none';
  return queue
    .take(loop.maxBatchTokens, perRequest ? Infinity : loop.maxBatchSentences, { sameRequest: perRequest, alongside: jobsOf(running) })
    .filter((j) => !j.cancelled);
}

/** Runs until the service stops and nothing is left to decode. */
export async function runDecodeLoop(loop: DecodeLoop, mode: BatchingMode): Promise<void> {
  const { queue } = loop;
  let running: Running | undefined;
  for (;;) {
    if (!running && queue.oldest() === undefined) {
      if (loop.stopping()) return;
      await queue.whenNonEmpty();
      continue;
    }
    let jobs: Job[] = [];
    const before = running;
    try {
      jobs = await entering(loop, running, mode);
      if (jobs.length > 0) running = await admit(loop, running, jobs);
      if (running) running = await step(loop, running);
    } catch (e) {
      // A failed decode fails its sentences, not the service.
      for (const j of new Set([...jobsOf(running), ...jobsOf(before), ...jobs])) j.fail(e as Error);
      running = undefined;
    }
  }
}
