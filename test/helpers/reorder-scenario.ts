// One decoding scenario for any Seq2Seq: beam-style reorders (expand each sentence to 3 hypotheses, re-rank
// within sentences, drop a sentence), then orders with no common group; after each, decodeStep and the
// state's encoder output must equal a fresh teacher-forced forward of every hypothesis' source and tokens.
// Decoder states share the source side between a sentence's hypotheses (native/modules/source_groups.h);
// this is what proves the sharing invisible.
import type { ExecutionContext } from 'ava';
import { Batch, noGrad, tensor } from '../../lib';
import type { Seq2Seq, Tensor } from '../../lib';

export function checkReorderScenario(t: ExecutionContext, model: Seq2Seq, sources: number[][]): void {
  if (sources.length !== 3) throw new Error('checkReorderScenario needs 3 sources');
  const tok = (ids: number[]) => tensor(ids, { dtype: 'int64' });
  noGrad(() => {
    const batch = Batch.from({ src: sources });
    const state = model.encode(batch.src, batch.srcLen);
    // Per hypothesis: its source and the tokens fed so far.
    let rows = [0, 1, 2].map((s) => ({ src: s, fed: [] as number[] }));
    const step = (ids: number[]): Tensor => {
      rows = rows.map((r, i) => ({ src: r.src, fed: [...r.fed, ids[i]] }));
      return model.decodeStep(state, tok(ids));
    };
    const reorder = (idx: number[]): void => {
      model.reorder(state, tok(idx));
      rows = idx.map((i) => rows[i]);
    };
    const check = (lp: Tensor, what: string): void => {
      const fresh = Batch.from({ src: rows.map((r) => sources[r.src]), tgt: rows.map((r) => r.fed.slice(1)) });
      const full = model.forward(fresh).logSoftmax(-1);
      rows.forEach((r, i) => {
        const expected = full
          .narrow(0, i, 1)
          .narrow(1, r.fed.length - 1, 1)
          .reshape(-1);
        const d = lp.narrow(0, i, 1).reshape(-1).sub(expected).abs().max().item() as number;
        t.true(d < 1e-5, `${what}, row ${i}: max |diff| ${d}`);
      });
      const enc = model.encoderOutput(state);
      const encFresh = model.encoderOutput(model.encode(fresh.src, fresh.srcLen));
      t.is(enc.shape[0], rows.length, `${what}: encoder output rows`);
      rows.forEach((r, i) => {
        const n = sources[r.src].length + 2;
        const d = enc
          .narrow(0, i, 1)
          .narrow(1, 0, n)
          .sub(encFresh.narrow(0, i, 1).narrow(1, 0, n))
          .abs()
          .max()
          .item() as number;
        t.true(d < 1e-5, `${what}, encoder output of row ${i}: ${d}`);
      });
    };
    check(step([1, 1, 1]), 'first step');
    reorder([0, 0, 0, 1, 1, 1, 2, 2, 2]); // 3 beams per sentence
    check(step([20, 21, 22, 23, 24, 25, 26, 27, 28]), 'after expanding');
    reorder([2, 0, 0, 4, 5, 3, 8, 8, 6]); // beams re-ranked within their sentences
    check(step([30, 31, 32, 33, 34, 35, 36, 37, 38]), 'after re-ranking');
    reorder([0, 1, 2, 6, 7, 8]); // sentence 1 finished
    check(step([40, 41, 42, 43, 44, 45]), 'after dropping a sentence');
    reorder([0, 0, 5, 3, 1]); // no common group
    check(step([50, 51, 52, 53, 54]), 'after an arbitrary order');
    reorder([4, 3, 2, 1, 0]);
    check(step([55, 56, 57, 58, 59]), 'after reversing');
  });
}
