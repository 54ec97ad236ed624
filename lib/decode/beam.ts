/**
 * Batched beam search for any Seq2Seq model. B sentences × K beams run as one [B·K] batch through
 * decodeStep; scores, top-2K over K·V and reordering stay on the device, and one small device→host copy
 * per step feeds the bookkeeping. Finished sentences leave the batch (the cache is pruned by reorder).
 */
import { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/create';
import { native } from '../native';
import { tidy } from '../tensor/scope';
import { noGrad, startWithoutGrad } from '../tensor/runtime';
import { Batch } from '../data/batch';
import { Seq2Seq } from '../models/seq2seq';
import { applyConstraints, isForced, RowContext } from './constraints';
import { FinishedHypotheses, Hypothesis } from './hypotheses';
import { DECODE_DEFAULTS, DecodeOptions, maxLengths, resolveDecodeOptions, ResolvedDecodeOptions } from './options';
import { autocast } from '../tensor/device';
import { encodeForDecoding, rowLanguages } from './common';

interface Beam {
  tokens: number[];
  tokenLogProbs: number[];
  /** Sum of log-probs so far (-Infinity for a placeholder beam). */
  sum: number;
}

/**
 * Beam search over `batch.src`. Returns, per sentence in input order, up to `nBest` finished hypotheses,
 * best first. See {@link DecodeOptions} for the stopping rule, length penalty and constraints.
 */
export async function beamSearch(model: Seq2Seq, batch: Batch, opts: DecodeOptions = {}): Promise<Hypothesis[][]> {
  const o = resolveDecodeOptions('beamSearch', opts, DECODE_DEFAULTS.beamSize);
  return autocast(o.precision, model.device, () => search(model, batch, o));
}

async function search(model: Seq2Seq, batch: Batch, o: ResolvedDecodeOptions): Promise<Hypothesis[][]> {
  const K = o.beamSize;
  const eos = model.eosIndex;
  const { state, columns, srcLens, langs, device } = await encodeForDecoding(model, batch, o, K);
  // Columns of a step's log-probs: the vocabulary, or the batch's shortlist.
  const V = columns.size;
  const caps = maxLengths(srcLens, o);
  const finished = caps.map((cap) => new FinishedHypotheses(K, o.lengthPenalty, cap, o.earlyStopping));

  let alive = srcLens.map((_, s) => s);
  // Only beam 0 of each sentence is live at the start, so the first step does not pick K copies.
  let beams: Beam[] = alive.flatMap(() =>
    Array.from({ length: K }, (_, k) => ({ tokens: [], tokenLogProbs: [], sum: k === 0 ? 0 : -Infinity }))
  );
  let tokens = tensor(new Array<number>(beams.length).fill(eos), { dtype: 'int64', device });
  const width = Math.min(2 * K, K * V);

  try {
    while (alive.length > 0) {
      const rowCtx: RowContext[] = beams.map((b, r) => ({ tokens: b.tokens, maxLength: caps[alive[Math.floor(r / K)]] }));
      const rowLang = rowLanguages(langs, alive, K, device);
      const logProbs = await startWithoutGrad(() => model.decodeStepAsync(state, tokens, rowLang));
      rowLang?.dispose();
      const host = noGrad(() =>
        tidy(() => {
          const lp = applyConstraints(logProbs, rowCtx, columns.eos, o, columns.column);
          return native().beamTopk(lp.native, Float32Array.from(beams, (b) => b.sum), K, width);
        })
      );
      logProbs.dispose();

      const nextAlive: number[] = [];
      const nextBeams: Beam[] = [];
      const keepRows: number[] = [];
      alive.forEach((s, j) => {
        const base = j * 2 * width;
        const forced = isForced(rowCtx[j * K]);
        const chosen: Array<{ row: number; beam: Beam }> = [];
        const best = host[base];
        for (let c = 0; c < width && chosen.length < K; c++) {
          const value = host[base + c];
          if (value === -Infinity) break; // sorted: the rest are impossible too
          const flat = host[base + width + c];
          const beamIdx = Math.floor(flat / V);
          const word = columns.id(flat - beamIdx * V);
          const row = j * K + beamIdx;
          const prev = beams[row];
          const lp = value - prev.sum;
          if (word === eos || forced) {
            finished[s].add(prev.tokens, [...prev.tokenLogProbs, lp], value);
          } else {
            chosen.push({ row, beam: { tokens: [...prev.tokens, word], tokenLogProbs: [...prev.tokenLogProbs, lp], sum: value } });
          }
        }
        const done = forced || chosen.length === 0 || finished[s].isDone(best);
        if (done) return;
        while (chosen.length < K) {
          chosen.push({ row: j * K, beam: { tokens: [], tokenLogProbs: [], sum: -Infinity } });
        }
        nextAlive.push(s);
        for (const c of chosen) {
          keepRows.push(c.row);
          nextBeams.push(c.beam);
        }
      });

      alive = nextAlive;
      beams = nextBeams;
      tokens.dispose();
      if (alive.length === 0) break;
      const keep = tensor(keepRows, { dtype: 'int64', device });
      model.reorder(state, keep);
      keep.dispose();
      tokens = tensor(beams.map((b) => (b.tokens.length > 0 ? b.tokens[b.tokens.length - 1] : eos)), { dtype: 'int64', device });
    }
  } finally {
    if (!tokens.isDisposed) tokens.dispose();
  }
  return finished.map((f) => f.best(o.nBest));
}
