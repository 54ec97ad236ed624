/**
 * Continuous batching (as TGI and vLLM schedule LLM generation): one beam search runs for as long as there is
 * work; between its steps, waiting sentences of the same beam size and n-best are encoded and merged into it
 * (Seq2Seq.mergeStates) while the decode stays within `maxBatchTokens` padded source tokens and
 * `maxBatchSentences`, and each sentence is answered, and leaves the decode, the step it finishes. A request
 * therefore never waits for a long batch to drain, and the batch never runs half empty while work waits.
 * Every sentence decodes exactly as it would alone (beam = 1 as greedy decoding); with the model's vocabulary
 * shortlist, the decode runs over the union of its sentences' candidates, renewed as sentences join.
 */
import { Batch } from '../data/batch';
import { BeamSentence, BeamSet } from '../decode/beam-set';
import { EncodedBatch, encodeForDecoding, OutputColumns, restrictToCandidates } from '../decode/common';
import { maxLengths, resolveDecodeOptions } from '../decode/options';
import { DecoderState } from '../models/seq2seq';
import { autocast } from '../tensor/device';
import { DecodeLoop, gatherBatch } from './decode-loop';
import { Job, paddedTokens } from './queue';

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
}

const jobsOf = (r: Running | undefined): Job[] => (r ? r.set.sentences.map((s) => s.job) : []);

/** Encodes `jobs` and merges them into the running decode (or starts one). */
async function admit(loop: DecodeLoop, running: Running | undefined, jobs: Job[]): Promise<Running> {
  const { model } = loop;
  const { beam, nBest } = jobs[0];
  const o = resolveDecodeOptions('serve', { beamSize: beam, nBest, precision: loop.precision, shortlist: false }, beam);
  const batch = Batch.from({ src: jobs.map((j) => j.ids) }, { eosIndex: model.eosIndex, padIndex: model.padIndex, device: model.device });
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
      job: jobs[i], cap, finished: set.finishedFor(cap),
      candidates: shortlist?.candidates([model.eosIndex, ...jobs[i].ids, model.eosIndex]),
    }))
  );
  let columns = encoded.columns;
  if (shortlist && model.restrictVocabulary) columns = restrictToCandidates(model, state, set.sentences.flatMap((s) => s.candidates!), encoded.device);
  return { set, state, columns };
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

/** Runs until the service stops and nothing is left to decode. */
export async function runContinuousBatching(loop: DecodeLoop): Promise<void> {
  const { queue } = loop;
  let running: Running | undefined;
  for (;;) {
    if (!running) {
      if (queue.oldest() === undefined) {
        if (loop.stopping()) return;
        await queue.whenNonEmpty();
        continue;
      }
      // Nothing runs: a new decode starts, so give concurrent requests the usual moment to join it.
      await gatherBatch(loop);
    }
    const jobs = queue.take(loop.maxBatchTokens, loop.maxBatchSentences, { alongside: jobsOf(running) }).filter((j) => !j.cancelled);
    const before = running;
    try {
      if (jobs.length > 0) running = await admit(loop, running, jobs);
      if (running) running = await step(loop, running);
    } catch (e) {
      // A failed decode fails its sentences, not the service.
      for (const j of new Set([...jobsOf(running), ...jobsOf(before), ...jobs])) j.fail(e as Error);
      running = undefined;
    }
  }
}
