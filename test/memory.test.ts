// Native memory ownership: dispose() frees at once, the finalizer frees what the program forgot, and
// long create/free loops keep RSS flat. Runs with --expose-gc (see package.json's ava config).
import test from 'ava';
import { memoryStats, tensor, zeros, Tensor } from '../lib';

const gc = (globalThis as { gc?: () => void }).gc;
const MB = 1024 * 1024;

function rssMB(): number {
  return process.memoryUsage().rss / MB;
}

// Bounds we promise (stated in README): after warm-up, 200k create/dispose cycles grow RSS by < 16 MB,
// 20k forgotten 64 KiB tensors (1.25 GiB in all) grow it by < 256 MB. Node runs native finalizers from
// the event loop, after a GC: the loops yield every 1000 iterations as any real (async) program does; a
// loop that never yields must dispose() or tidy() its tensors.
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
// A full collection, then the queued finalizers, twice (finalizers may free objects that free others).
async function settle(): Promise<void> {
  for (let k = 0; k < 2; k++) {
    gc?.();
    await yieldToLoop();
  }
}
const DISPOSE_BOUND_MB = 16;
const GC_BOUND_MB = 256;

test.serial('200,000 create/dispose cycles keep RSS flat', async (t) => {
  const shape = [256]; // 1 KiB each
  // Warm-up: the first ~100k wrappers grow V8's new space and malloc's arenas once (~60 MB, measured);
  // after that RSS must stay flat.
  for (let i = 0; i < 100_000; i++) {
    zeros(shape).dispose();
    if (i % 1000 === 0) await yieldToLoop();
  }
  await settle();
  const before = rssMB();
  const liveBefore = memoryStats().liveTensors;
  for (let i = 0; i < 200_000; i++) {
    const x = zeros(shape);
    const y = x.add(1);
    x.dispose();
    y.dispose();
    if (i % 1000 === 0) await yieldToLoop();
  }
  await settle();
  const growth = rssMB() - before;
  t.log(`RSS growth over 200k cycles: ${growth.toFixed(1)} MB (bound ${DISPOSE_BOUND_MB} MB)`);
  t.true(growth < DISPOSE_BOUND_MB);
  t.is(memoryStats().liveTensors, liveBefore);
});

test.serial('20,000 forgotten tensors are freed by the garbage collector', async (t) => {
  t.truthy(gc, 'tests must run with --expose-gc');
  const shape = [16384]; // 64 KiB each
  for (let i = 0; i < 500; i++) zeros(shape);
  await settle();
  const before = rssMB();
  let peak = before;
  for (let i = 0; i < 20_000; i++) {
    zeros(shape).add(1);
    if (i % 1000 === 0) {
      peak = Math.max(peak, rssMB());
      await yieldToLoop();
    }
  }
  await settle();
  const after = rssMB();
  peak = Math.max(peak, after);
  t.log(`RSS before ${before.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, after GC ${after.toFixed(0)} MB (bound +${GC_BOUND_MB} MB)`);
  t.true(peak - before < GC_BOUND_MB, 'external memory reports must make V8 collect before RSS balloons');
  t.true(memoryStats().liveBytes < 64 * MB);
});

test.serial('dispose frees at once and accounting returns to the baseline', (t) => {
  const base = memoryStats();
  const big = zeros([1024, 1024]); // 4 MiB
  t.is(memoryStats().liveBytes - base.liveBytes, 4 * MB);
  t.is(memoryStats().liveTensors - base.liveTensors, 1);
  big.dispose();
  t.is(memoryStats().liveBytes, base.liveBytes);
  t.true(big.isDisposed);
  big.dispose(); // twice is fine
  t.is(memoryStats().liveTensors, base.liveTensors);
});

test.serial('a tensor created from JS data does not alias the JS buffer', (t) => {
  const data = new Float32Array([1, 2, 3]);
  const x: Tensor = tensor(data);
  data[0] = 100;
  t.deepEqual(Array.from(x.toArray() as Float32Array), [1, 2, 3]);
  x.dispose();
});
