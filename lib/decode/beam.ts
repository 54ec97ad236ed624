/**
 * Batched beam search for any Seq2Seq model: the batch's sentences, K beams each, run as one {@link BeamSet}
 * until every sentence has finished (finished sentences leave the batch; the cache is pruned by reorder).
 */
import type { Batch } from '../data/batch';
import type { Seq2Seq } from '../models/seq2seq';
import { BeamSet, type BeamSentence } from './beam-set';
import type { Hypothesis } from './hypotheses';
import { DECODE_DEFAULTS, type DecodeOptions, maxLengths, resolveDecodeOptions, type ResolvedDecodeOptions } from './options';
import { autocast } from '../tensor/device';
import { encodeForDecoding } from './common';

/**
 * Beam search over `batch.src`. Returns, per sentence in input order, up to `nBest` finished hypotheses,
 * best first. See {@link DecodeOptions} for the stopping rule, length penalty and constraints.
 */
export async function beamSearch(model: Seq2Seq, batch: Batch, opts: DecodeOptions = {}): Promise<Hypothesis[][]> {
  const o = resolveDecodeOptions('beamSearch', opts, DECODE_DEFAULTS.beamSize);
  return autocast(o.precision, model.device, () => search(model, batch, o));
}

async function search(model: Seq2Seq, batch: Batch, o: ResolvedDecodeOptions): Promise<Hypothesis[][]> {
  const { state, columns, srcLens, langs, device } = await encodeForDecoding(model, batch, o, o.beamSize);
  const set = new BeamSet<BeamSentence>(model, o.beamSize, o, device);
  const sentences = maxLengths(srcLens, o).map((cap, s) => ({ cap, lang: langs?.[s], finished: set.finishedFor(cap) }));
  set.add(sentences);
  try {
    while (set.sentences.length > 0) await set.step(state, columns);
  } finally {
    state.dispose?.();
  }
  return sentences.map((s) => s.finished.best(o.nBest));
}
