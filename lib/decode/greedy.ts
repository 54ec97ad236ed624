/**
 * Greedy decoding and sampling (temperature, top-k, top-p) in one loop: one hypothesis per sentence, a
 * sentence leaves the batch as soon as it emits `</s>`, one small device→host copy per step.
 */
import { Tensor } from '../tensor/tensor';
import { cat, tensor } from '../tensor/create';
import { tidy } from '../tensor/scope';
import { noGrad, startWithoutGrad } from '../tensor/runtime';
import { Batch } from '../models/batch';
import { Seq2Seq } from '../models/seq2seq';
import { applyConstraints, isForced, RowContext } from './constraints';
import { Hypothesis, normalise } from './hypotheses';
import { DecodeOptions, maxLengths, resolveDecodeOptions } from './options';
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
  const eos = model.eosIndex;
  const { state, srcLens, langs, device } = await encodeForDecoding(model, batch, o, 1);
  const caps = maxLengths(srcLens, o);
  const results: Hypothesis[][] = srcLens.map(() => []);
  let alive = srcLens.map((_, s) => s);
  let hyps = alive.map(() => ({ tokens: [] as number[], tokenLogProbs: [] as number[], sum: 0 }));
  let tokens = tensor(new Array<number>(alive.length).fill(eos), { dtype: 'int64', device });

  try {
    while (alive.length > 0) {
      const rowCtx: RowContext[] = hyps.map((h, r) => ({ tokens: h.tokens, maxLength: caps[alive[r]] }));
      const rowLang = rowLanguages(langs, alive, 1, device);
      const logProbs = await startWithoutGrad(() => model.decodeStepAsync(state, tokens, rowLang));
      rowLang?.dispose();
      const host = noGrad(() =>
        tidy(() => {
          const lp = applyConstraints(logProbs, rowCtx, eos, o);
          const pick = choose(lp, o.sampling);
          return cat([pick.to('float64'), logProbs.gather(1, pick).to('float64')], 1).toArray() as Float64Array;
        })
      );
      logProbs.dispose();

      const keep: number[] = [];
      const next: typeof hyps = [];
      alive.forEach((s, r) => {
        const word = host[2 * r];
        const lp = host[2 * r + 1];
        const h = hyps[r];
        const sum = h.sum + lp;
        if (word === eos || isForced(rowCtx[r])) {
          results[s] = [{ tokens: h.tokens, tokenLogProbs: [...h.tokenLogProbs, lp], score: normalise(sum, h.tokens.length, o.lengthPenalty) }];
        } else {
          keep.push(r);
          next.push({ tokens: [...h.tokens, word], tokenLogProbs: [...h.tokenLogProbs, lp], sum });
        }
      });
      tokens.dispose();
      if (keep.length === 0) break;
      if (keep.length < alive.length) {
        const idx = tensor(keep, { dtype: 'int64', device });
        model.reorder(state, idx);
        idx.dispose();
      }
      alive = keep.map((r) => alive[r]);
      hyps = next;
      tokens = tensor(hyps.map((h) => h.tokens[h.tokens.length - 1]), { dtype: 'int64', device });
    }
  } finally {
    if (!tokens.isDisposed) tokens.dispose();
  }
  return results;
}
