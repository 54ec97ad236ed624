// Beam search, greedy decoding and sampling on hand-built Markov models whose answers are known.
import test from 'ava';
import { Batch, beamSearch, greedy, manualSeed, tensor } from '../lib';
import { native } from '../lib/native';
import { greedyTrapModel, ToyMarkovModel } from './helpers/toy-model';

const close = (a: number, b: number, eps = 1e-5) => Math.abs(a - b) < eps;

test('beam search finds the best sequence that greedy misses (worked by hand)', async (t) => {
  const model = greedyTrapModel();
  const batch = Batch.from({ src: [[3]] });
  const [g] = await greedy(model, batch, { lengthPenalty: 0 });
  t.deepEqual(g[0].tokens, [3]);
  t.true(close(g[0].score, Math.log(0.6 * 0.4)));
  const [b] = await beamSearch(model, batch, { beamSize: 2, nBest: 2, lengthPenalty: 0 });
  t.deepEqual(
    b.map((h) => h.tokens),
    [[4], [3]]
  );
  t.true(close(b[0].score, Math.log(0.4 * 0.9)));
  t.true(close(b[1].score, Math.log(0.6 * 0.4)));
  // per-token log-probs: the word, then the final </s>
  t.true(close(b[0].tokenLogProbs[0], Math.log(0.4)));
  t.true(close(b[0].tokenLogProbs[1], Math.log(0.9)));
});

test('greedy equals beam search with beamSize 1 (no length normalisation)', async (t) => {
  manualSeed(1);
  const probs = Array.from({ length: 12 }, (_, i) => Array.from({ length: 12 }, (_, j) => (j === 0 || j === 2 ? 1e-9 : 1 + ((i * 7 + j * 13) % 11))));
  const model = new ToyMarkovModel(probs);
  const batch = Batch.from({ src: [[3, 4], [5], [6, 7, 8, 9]] });
  const g = await greedy(model, batch, { lengthPenalty: 0, maxLength: 20 });
  const b = await beamSearch(model, batch, { beamSize: 1, lengthPenalty: 0, maxLength: 20 });
  t.deepEqual(
    g.map((h) => h[0].tokens),
    b.map((h) => h[0].tokens)
  );
  g.forEach((h, i) => t.true(close(h[0].score, b[i][0].score)));
});

test('a model that never emits </s> stops at maxLength, per sentence', async (t) => {
  const tiny = 1e-12;
  const model = new ToyMarkovModel(Array.from({ length: 6 }, () => [tiny, tiny, tiny, 1, 1, 1]));
  // srcLen includes the two </s> framing tokens: 3 and 6 -> caps 1.0*3 + 2 = 5 and 8
  const batch = Batch.from({ src: [[3], [3, 4, 5, 3]] });
  for (const run of [
    () => greedy(model, batch, { maxLength: { a: 1, b: 2 } }),
    () => beamSearch(model, batch, { beamSize: 3, maxLength: { a: 1, b: 2 } }),
  ]) {
    const out = await run();
    t.is(out[0][0].tokens.length, 4);
    t.is(out[1][0].tokens.length, 7);
    t.is(out[0][0].tokenLogProbs.length, 5); // the forced </s> is scored too
  }
});

test('sentences of very different lengths come back in input order, finished ones leave the batch (greedy: once half are done)', async (t) => {
  // The chain starts at the source's first token and walks t -> t+1 up to 9, then </s>: a source
  // starting at 3 decodes to [3..9], one starting at 8 to [8, 9].
  const tiny = 1e-9;
  const V = 10;
  const probs = Array.from({ length: V }, (_, i) =>
    Array.from({ length: V }, (_, j) => {
      if (i >= 3 && i < 9) return j === i + 1 ? 1 : tiny;
      if (i === 9) return j === 1 ? 1 : tiny;
      return 1;
    })
  );
  for (const [beam, decode] of [
    [2, (m: ToyMarkovModel, b: Batch) => beamSearch(m, b, { beamSize: 2, lengthPenalty: 0, maxLength: 30 })],
    [1, (m: ToyMarkovModel, b: Batch) => greedy(m, b, { lengthPenalty: 0, maxLength: 30 })],
  ] as const) {
    const model = new ToyMarkovModel(probs, true);
    const out = await decode(model, Batch.from({ src: [[3, 5], [8], [6, 6, 6]] }));
    t.deepEqual(
      out.map((h) => h[0].tokens),
      [
        [3, 4, 5, 6, 7, 8, 9],
        [8, 9],
        [6, 7, 8, 9],
      ]
    );
    // Finished sentences left the batch: fewer rows were decoded than steps × all rows.
    t.true(model.rowsDecoded < model.steps * 3 * beam, `${model.rowsDecoded} rows in ${model.steps} steps`);
    // Greedy keeps a finished row idle until half the rows are idle: steps 1-3 and 4-5 run all 3 rows (the
    // second sentence idle from step 4), then the third finishes, the state is compacted, steps 6-8 run 1 row.
    if (beam === 1) t.is(model.rowsDecoded, 3 * 3 + 2 * 3 + 3 * 1);
  }
});

test('minLength bans </s> and noRepeatNgram bans repeats', async (t) => {
  const model = greedyTrapModel();
  const batch = Batch.from({ src: [[3]] });
  const [g] = await greedy(model, batch, { minLength: 3, lengthPenalty: 0 });
  t.true(g[0].tokens.length >= 3);
  const [r] = await greedy(model, batch, { minLength: 4, noRepeatNgram: 2, lengthPenalty: 0, maxLength: 12 });
  const bigrams = new Set<string>();
  for (let i = 0; i + 1 < r[0].tokens.length; i++) {
    const key = `${r[0].tokens[i]},${r[0].tokens[i + 1]}`;
    t.false(bigrams.has(key), `bigram ${key} repeated in ${r[0].tokens.join(',')}`);
    bigrams.add(key);
  }
});

test('sampling: temperature, top-k and top-p draw from the allowed set and are seeded', async (t) => {
  const model = greedyTrapModel();
  const batch = Batch.from({ src: Array.from({ length: 40 }, () => [3]) });
  manualSeed(7);
  const a = await greedy(model, batch, { sampling: { temperature: 1.5 }, maxLength: 8 });
  manualSeed(7);
  const b = await greedy(model, batch, { sampling: { temperature: 1.5 }, maxLength: 8 });
  t.deepEqual(
    a.map((h) => h[0].tokens),
    b.map((h) => h[0].tokens)
  );
  const firsts = new Set(a.map((h) => h[0].tokens[0]));
  t.true(firsts.has(3) && firsts.has(4), 'temperature sampling explores both first tokens');
  const k1 = await greedy(model, batch, { sampling: { topK: 1 }, lengthPenalty: 0 });
  t.true(
    k1.every((h) => h[0].tokens.join() === '3'),
    'top-k 1 is greedy'
  );
  const p = await greedy(model, batch, { sampling: { topP: 0.5 }, lengthPenalty: 0 });
  t.true(
    p.every((h) => h[0].tokens[0] === 3),
    'top-p 0.5 keeps only the 0.6 token at the first step'
  );
});

test('bad decoding options are clear errors', async (t) => {
  const model = greedyTrapModel();
  const batch = Batch.from({ src: [[3]] });
  await t.throwsAsync(() => beamSearch(model, batch, { beamSize: 0 }), { instanceOf: RangeError, message: /beamSearch: option 'beamSize'/ });
  await t.throwsAsync(() => beamSearch(model, batch, { beamSize: 2, nBest: 3 }), { message: /option 'nBest' must be an integer in \[1, 2\]/ });
  await t.throwsAsync(() => greedy(model, batch, { maxLength: -1 }), { message: /greedy: option 'maxLength'/ });
  await t.throwsAsync(() => greedy(model, batch, { sampling: { topP: 0 } }), { message: /option 'sampling.topP' must be a number in \(0, 1\]/ });
  await t.throwsAsync(() => greedy(model, batch, { sampling: { temperature: -1 } }), {
    message: /option 'sampling.temperature' must be a number > 0/,
  });
  await t.throwsAsync(() => greedy(model, {} as Batch), { message: /argument 'batch' must be a Batch/ });
});

test("a beam step's selection (native beamTopk) is the top of log-prob + running score, placeholder beams and ties included", (t) => {
  const K = 3,
    C = 7,
    S = 4,
    width = 2 * K;
  // Integers / 4 are exact in float32, so ties are real ties and the sums below are exact.
  const lp = Array.from({ length: S * K }, (_, r) => Array.from({ length: C }, (_, c) => -(((r * 5 + c * 3) % 9) / 4)));
  const sums = Float32Array.from({ length: S * K }, (_, r) => (r % K === 2 && r < K ? -Infinity : -((r * 7) % 5) / 4));
  lp[4][2] = -Infinity; // a banned token
  const host = native().beamTopk(tensor(lp).native, sums, K, width);
  t.is(host.length, S * 2 * width);
  for (let s = 0; s < S; s++) {
    // By hand: every candidate of the sentence, best first, the lower flat index first among equals.
    const all: Array<{ value: number; flat: number }> = [];
    for (let b = 0; b < K; b++) for (let c = 0; c < C; c++) all.push({ value: lp[s * K + b][c] + sums[s * K + b], flat: b * C + c });
    const want = all
      .filter((x) => x.value > -Infinity)
      .sort((x, y) => y.value - x.value || x.flat - y.flat)
      .slice(0, width);
    const base = s * 2 * width;
    t.deepEqual(
      Array.from(host.slice(base, base + width)),
      want.map((x) => x.value),
      `sentence ${s} scores`
    );
    t.deepEqual(
      Array.from(host.slice(base + width, base + 2 * width)),
      want.map((x) => x.flat),
      `sentence ${s} indices`
    );
  }
  // Only beam 0 live (the first step): the candidates come from it alone.
  const first = native().beamTopk(tensor(lp.slice(0, K)).native, Float32Array.from([0, -Infinity, -Infinity]), K, width);
  t.true(Array.from(first.slice(width)).every((flat) => flat < C));
});
