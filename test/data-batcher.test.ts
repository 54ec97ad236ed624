// Length-bucketed batching: every pair exactly once per epoch, caps on padded tokens and sentences,
// long pairs dropped and counted, order reproducible from (seed, epoch); and the seeded PRNG.
import test from 'ava';
import { Batcher, BatchPrefetcher, SeededRandom, type TokenPair } from '../lib';

function pairs(n: number, seed = 1): TokenPair[] {
  const rng = new SeededRandom(seed);
  const ids = (len: number) => Array.from({ length: len }, () => 4 + rng.int(100));
  return Array.from({ length: n }, () => ({ src: ids(1 + rng.int(40)), tgt: ids(1 + rng.int(40)) }));
}

const width = (p: TokenPair) => Math.max(p.src.length + 2, p.tgt.length + 1);

test('every kept pair appears exactly once per epoch, and caps hold', (t) => {
  const data = pairs(2000);
  const b = new Batcher(data, { maxTokens: 600, maxSentences: 32, seed: 3 });
  t.is(b.size, 2000);
  for (const epoch of [0, 1, 5]) {
    const plans = b.plan(epoch);
    const seen = plans.flatMap((p) => p.indices).sort((x, y) => x - y);
    t.deepEqual(
      seen,
      Array.from({ length: 2000 }, (_, i) => i)
    );
    for (const p of plans) {
      const w = Math.max(...p.indices.map((i) => width(b.pairs[i])));
      t.is(p.paddedTokens, p.indices.length * w);
      t.true(p.paddedTokens <= 600, `batch of ${p.paddedTokens} padded tokens`);
      t.true(p.indices.length <= 32);
    }
  }
});

test('bucketing keeps padding low compared with random batches', (t) => {
  const data = pairs(3000, 2);
  const b = new Batcher(data, { maxTokens: 1000, seed: 1 });
  const plans = b.plan(0);
  const real = plans.reduce((s, p) => s + p.indices.reduce((u, i) => u + width(b.pairs[i]), 0), 0);
  const padded = plans.reduce((s, p) => s + p.paddedTokens, 0);
  t.true(real / padded > 0.9, `fill ${(real / padded).toFixed(3)}`);
});

test('order is reproducible from the seed and changes from epoch to epoch', (t) => {
  const data = pairs(500);
  const a = new Batcher(data, { maxTokens: 400, seed: 11 });
  const b = new Batcher(data, { maxTokens: 400, seed: 11 });
  const c = new Batcher(data, { maxTokens: 400, seed: 12 });
  t.deepEqual(a.plan(2), b.plan(2));
  t.notDeepEqual(a.plan(0), a.plan(1));
  t.notDeepEqual(a.plan(0), c.plan(0));
  // Without shuffling, batches come shortest first and never change.
  const sorted = new Batcher(data, { maxTokens: 400, shuffle: false });
  t.deepEqual(sorted.plan(0), sorted.plan(3));
  const widths = sorted.plan(0).map((p) => p.paddedTokens / p.indices.length);
  t.deepEqual(
    widths,
    [...widths].sort((x, y) => x - y)
  );
});

test('pairs longer than maxLength are dropped and counted', (t) => {
  const data: TokenPair[] = [
    { src: [5, 6], tgt: [7] },
    { src: new Array<number>(11).fill(5), tgt: [7] },
    { src: [5], tgt: new Array<number>(12).fill(7) },
    { src: new Array<number>(10).fill(5), tgt: new Array<number>(10).fill(7) },
  ];
  const b = new Batcher(data, { maxLength: 10, maxTokens: 100 });
  t.is(b.dropped, 2);
  t.is(b.size, 2);
  t.deepEqual(b.pairs, [data[0], data[3]]);
  t.throws(() => new Batcher(data, { maxLength: 100, maxTokens: 50 }), {
    instanceOf: RangeError,
    message: /maxTokens \(50\) must be at least maxLength \+ 2/,
  });
  t.throws(() => new Batcher(data, { maxSentences: 0 }), { instanceOf: RangeError });
  t.throws(() => b.plan(-1), { instanceOf: RangeError });
});

test('batches() builds framed, padded Batches of the planned pairs', (t) => {
  const data: TokenPair[] = [
    { src: [5, 6, 7], tgt: [8, 9] },
    { src: [5], tgt: [8] },
    { src: [10, 11], tgt: [12, 13, 14] },
  ];
  const b = new Batcher(data, { maxTokens: 100, srcLang: 0, tgtLang: 1 });
  let sentences = 0;
  for (const batch of b.batches(0)) {
    sentences += batch.size;
    t.is(batch.src.shape[1], 5); // longest source (3) + two </s>
    t.is(batch.tgtIn.shape[1], 4); // longest target (3) + the start </s>
    t.deepEqual(batch.tgtLang?.tolist(), new Array(batch.size).fill(1));
    batch.dispose();
  }
  t.is(sentences, 3);
  t.is(b.numBatches(), 1);
});

test('SeededRandom is deterministic and roughly uniform', (t) => {
  const a = new SeededRandom(42);
  const b = new SeededRandom(42);
  const xs = Array.from({ length: 10000 }, () => a.next());
  t.deepEqual(
    xs.slice(0, 5),
    Array.from({ length: 5 }, () => b.next())
  );
  t.true(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  t.true(Math.abs(mean - 0.5) < 0.02);
  t.notDeepEqual(new SeededRandom(1).shuffle([1, 2, 3, 4, 5, 6, 7, 8]), new SeededRandom(2).shuffle([1, 2, 3, 4, 5, 6, 7, 8]));
  t.throws(() => new SeededRandom(1.5), { instanceOf: TypeError });
});

test('BatchPrefetcher: the next batches are assembled when the event loop turns, and equal what toBatch builds', async (t) => {
  const data = Array.from({ length: 200 }, (_, i) => ({ src: [4 + (i % 7), 5, 6].slice(0, 1 + (i % 3)), tgt: [7, 8 + (i % 5)] }));
  const b = new Batcher(data, { maxTokens: 40, seed: 2 });
  const plans = b.plan(0);
  const pf = new BatchPrefetcher(b, 'cpu', 2);
  const first = pf.take(plans[0], plans.slice(1, 3));
  t.is(pf.hits, 0);
  await new Promise<void>((r) => setImmediate(r));
  for (let k = 1; k < 4; k++) {
    const got = pf.take(plans[k], plans.slice(k + 1, k + 3));
    const want = b.toBatch(plans[k]);
    t.deepEqual(got.tgtOut.tolist(), want.tgtOut.tolist());
    t.deepEqual(got.src.tolist(), want.src.tolist());
    got.dispose();
    want.dispose();
    await new Promise<void>((r) => setImmediate(r));
  }
  t.is(pf.hits, 3, 'every batch after the first was ready before it was asked for');
  first.dispose();
  pf.close();
});
