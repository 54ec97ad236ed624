/**
 * Greedy decoding and sampling (temperature, top-k, top-p) in one loop: one hypothesis per sentence, finished
 * sentences leave the batch once half of it has finished, one small device→host copy per step.
 */
import type { Tensor } from '../tensor/tensor';
import { cat, tensor } from '../tensor/create';
import { tidy } from '../tensor/scope';
import { noGrad, startWithoutGrad } from '../tensor/runtime';
import type { Batch } from '../data/batch';
import type { Seq2Seq } from '../models/seq2seq';
import { applyConstraints, isForced, type RowContext } from './constraints';
import { type Hypothesis, normalise } from './hypotheses';
import { type DecodeOptions, maxLengths, resolveDecodeOptions, type ResolvedDecodeOptions } from './options';
import { autocast } from '../tensor/device';
import { encodeForDecoding, rowLanguages } from './common';

// Picks one token per row: the argmax, or a draw from the (temperature, top-k, top-p) filtered softmax.
function choose(lp: Tensor, sampling: { temperature: number; topK: number; topP: number } | undefined): Tensor {
  if (!sampling) return lp.argmax(1, { keepdim: true });
  const V = lp.shape[1];
  let logits = lp.div(sampling.temperature);
  if (sampling.topK > 0 && sampling.topK < V) {
    const kth = logits.topk(sampling.topK, { dim: 1 }).values.narrow(1, sampling.topK - 1, 1);
    logits = logits.maskedFill(logits.lt(kth), -Infinity);
  }
  if (sampling.topP >= 1) return logits.softmax(1).multinomial(1);
  const sorted = logits.sort({ dim: 1, descending: true });
  const probs = sorted.values.softmax(1);
  // Drop a token when the mass before it already reaches p (the most likely token always stays).
  const drop = probs.cumsum(1).sub(probs).ge(sampling.topP);
  const pick = probs.maskedFill(drop, 0).multinomial(1);
  return sorted.indices.gather(1, pick);
}

/**
 * Greedy decoding (or sampling with `opts.sampling`). Returns one hypothesis per sentence, in input order,
 * each in a one-element array so greedy and beam search results have the same shape.
 */
export async function greedy(model: Seq2Seq, batch: Batch, opts: DecodeOptions = {}): Promise<Hypothesis[][]> {
  const o = resolveDecodeOptions('greedy', { ...opts, beamSize: 1, nBest: 1 }, 1);
  return autocast(o.precision, model.device, () => decodeGreedy(model, batch, o));
}

async function decodeGreedy(model: Seq2Seq, batch: Batch, o: ResolvedDecodeOptions): Promise<Hypothesis[][]> {
  const eos = model.eosIndex;
  const { state, columns, srcLens, langs, device } = await encodeForDecoding(model, batch, o, 1);
  const caps = maxLengths(srcLens, o);
  const results: Hypothesis[][] = srcLens.map(() => []);
  // Row r of the decoder state decodes sentence rows[r].s; a finished sentence leaves its row idle (null) until
  // at least half the rows are idle, and only then is the state compacted: at these batch sizes a step costs
  // about the same with a few idle rows, while compacting copies every cache.
  type Row = { s: number; tokens: number[]; tokenLogProbs: number[]; sum: number } | null;
  let rows: Row[] = srcLens.map((_, s) => ({ s, tokens: [], tokenLogProbs: [], sum: 0 }));
  let live = rows.length;
  let tokens = tensor(new Array<number>(rows.length).fill(eos), { dtype: 'int64', device });
  const idle: RowContext = { tokens: [], maxLength: Number.MAX_SAFE_INTEGER };

  try {
    while (live > 0) {
      const rowCtx: RowContext[] = rows.map((h) => (h ? { tokens: h.tokens, maxLength: caps[h.s] } : idle));
      const rowLang = rowLanguages(
        langs,
        rows.map((h) => (h ? h.s : 0)),
        1,
        device
      );
      const logProbs = await startWithoutGrad(() => model.decodeStepAsync(state, tokens, rowLang));
      rowLang?.dispose();
      const host = noGrad(() =>
        tidy(() => {
          const lp = applyConstraints(logProbs, rowCtx, columns.eos, o, columns.column);
          const pick = choose(lp, o.sampling);
          return cat([pick.to('float64'), logProbs.gather(1, pick).to('float64')], 1).toArray() as Float64Array;
        })
      );
      logProbs.dispose();

      rows = rows.map((h, r) => {
        if (!h) return null;
        const word = columns.id(host[2 * r]);
        const lp = host[2 * r + 1];
        const sum = h.sum + lp;
        if (word === eos || isForced(rowCtx[r])) {
          results[h.s] = [{ tokens: h.tokens, tokenLogProbs: [...h.tokenLogProbs, lp], score: normalise(sum, h.tokens.length, o.lengthPenalty) }];
          live--;
          return null;
        }
        return { s: h.s, tokens: [...h.tokens, word], tokenLogProbs: [...h.tokenLogProbs, lp], sum };
      });
      tokens.dispose();
      if (live === 0) break;
      if (2 * live <= rows.length) {
        const keep = rows.flatMap((h, r) => (h ? [r] : []));
        const idx = tensor(keep, { dtype: 'int64', device });
        model.reorder(state, idx);
        idx.dispose();
        rows = keep.map((r) => rows[r]);
      }
      tokens = tensor(
        rows.map((h) => (h && h.tokens.length > 0 ? h.tokens[h.tokens.length - 1] : eos)),
        { dtype: 'int64', device }
      );
    }
  } finally {
    if (!tokens.isDisposed) tokens.dispose();
    state.dispose?.();
  }
  return results;
}
