// Native memory ownership: dispose() frees at once, the finalizer frees what the program forgot, and
// long create/free loops keep RSS flat. Runs with --expose-gc (see package.json's ava config).
import test from 'ava';
import { spawnSync } from 'child_process';
import { allocatorInfo, memoryStats, tensor, zeros, type Tensor } from '../lib';

const gc = (globalThis as { gc?: () => void }).gc;
const MB = 1024 * 1024;

function rssMB(): number {
  return process.memoryUsage().rss / MB;
}

// Bounds we promise (stated in docs/reference.md "Memory"): after warm-up, 200k create/dispose cycles grow RSS
// by < 16 MB, 20k forgotten 64 KiB tensors (1.25 GiB in all) grow it by < 256 MB; the garbage collector frees a
// forgotten tensor in its own pass (see the synchronous GC loop below).
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

// Synchronous loops never let Node run finalizers, so the JS wrappers of disposed tensors pile up until the
// loop ends. With LibTorch's own allocator their small blocks split the holes that the freed 64-byte-aligned
// storages leave in glibc's heap, and RSS grew by the whole storage every iteration (+3 GB for 50k x 64 KiB);
// storages from mimalloc (native/memory) live apart from them. Each loop runs in a fresh process: how glibc
// fails depends on the heap's history, and a worker that already ran other tests may hide it.
// Both builds stay under 3 MB on an idle machine and under 10 MB on a busy one (V8's collector gets less time).
const SYNC_BOUND_MB = 16;
const SYNC_LOOPS = {
  'create/dispose of 16 KiB tensors': 'x.zeros([64, 64]).dispose()',
  'create/dispose of 64 KiB tensors': 'x.zeros([128, 128]).dispose()',
  'tidy() steps on 16 KiB tensors': 'x.tidy(() => w.matmul(w).relu().sum()).dispose()',
};
function syncLoopGrowthMB(body: string, iterations = 50_000): number {
  const script =
    "const x = require('./dist/lib'); const w = x.randn([64, 64]); const rss = () => process.memoryUsage().rss / 2 ** 20;" +
    `for (let i = 0; i < 5000; i++) ${body}; const before = rss();` + // warm-up: allocator pools, V8's new space
    `for (let i = 0; i < ${iterations}; i++) ${body}; console.log(rss() - before)`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(r.stdout.trim());
}

// What is left of a disposed tensor is its JS wrapper and a Node-API reference to it. The reference must go in
// the GC pass, not after the event loop turns (native/common/node_api.h): deferred, each tiny tensor kept
// ~220 bytes alive until the loop ended (+22 MB over 100k with the node-gyp build, so about +44 MB over 200k;
// +3 MB when they go at once).
test.serial('200,000 synchronous create/dispose of 16-byte tensors keep RSS flat (references freed in the GC pass)', (t) => {
  const growth = syncLoopGrowthMB('x.zeros([4]).dispose()', 200_000);
  t.log(`RSS growth: ${growth.toFixed(1)} MB (bound 24 MB)`);
  t.true(growth < 24);
});

for (const [label, body] of Object.entries(SYNC_LOOPS)) {
  test.serial(`50,000 synchronous ${label} keep RSS flat`, (t) => {
    const growth = syncLoopGrowthMB(body);
    t.log(`RSS growth: ${growth.toFixed(1)} MB (bound ${SYNC_BOUND_MB} MB)`);
    t.true(growth < SYNC_BOUND_MB);
  });
}

// Node-API runs a wrapped object's ordinary finalizer only after the event loop turns; the addon's are basic
// finalizers (it reports Node-API's experimental version), which free the tensor in the GC pass itself. So a
// synchronous loop that forgets dispose() is bounded by how often the GC runs, not by the loop's length.
const GC_LOOP_BOUND_MB = 64;
test.serial('50,000 forgotten 16 KiB tensors in a synchronous loop are freed by each GC, before the loop yields', (t) => {
  const script =
    "const x = require('./dist/lib'); const rss = () => process.memoryUsage().rss / 2 ** 20;" +
    'for (let i = 0; i < 5000; i++) { x.zeros([64, 64]); if (i % 500 === 0) global.gc(); }' +
    'global.gc(); const before = rss(); let maxLive = 0;' +
    'for (let i = 0; i < 50000; i++) { x.zeros([64, 64]); if (i % 500 === 499) { global.gc(); maxLive = Math.max(maxLive, x.memoryStats().liveTensors); } }' +
    'console.log(JSON.stringify({ growth: rss() - before, maxLive }))';
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const { growth, maxLive } = JSON.parse(r.stdout) as { growth: number; maxLive: number };
  t.log(`RSS growth: ${growth.toFixed(1)} MB (bound ${GC_LOOP_BOUND_MB} MB); most live tensors after a GC: ${maxLive}`);
  t.true(growth < GC_LOOP_BOUND_MB);
  // After each GC only the tensors made since the previous one (500) and a few long-lived ones remain.
  t.true(maxLive < 2000, `${maxLive} tensors alive after a GC`);
});

test.serial('big transient tensors reuse memory instead of faulting fresh pages in', (t) => {
  // A training step frees and reallocates hundreds of MB each time; fresh pages cost more than compute on
  // small VMs. After warm-up the allocator must hand back pages that are already faulted in. Page faults
  // are counted for the whole process, so each setting runs in a fresh one, away from this worker's GC.
  const script =
    "const x = require('./dist/lib'); const round = () => x.zeros([16 * 1024 * 1024]).dispose(); round(); round();" +
    'const f0 = process.resourceUsage().minorPageFault; for (let i = 0; i < 10; i++) round();' +
    'console.log(process.resourceUsage().minorPageFault - f0)';
  const faults = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    return Number(r.stdout.trim());
  };
  const fresh = 10 * 16384; // 10 x 64 MiB of 4 KiB pages
  const ours = faults({});
  const glibc = faults({ XLM_KD_TORCH_ALLOCATOR: 'libtorch', THP_MEM_ALLOC_ENABLE: '0' });
  t.log(`minor page faults over 10 x 64 MiB: ${ours} (LibTorch's allocator without huge pages: ${glibc}; fresh 4 KiB pages: ${fresh})`);
  t.true(ours < fresh / 20, 'at most 5 % of the pages may be faulted in anew');
  t.true(glibc > fresh / 2, "the opt-out must still reach LibTorch's own allocator");
});

test.serial('the CPU allocator is mimalloc unless XLM_KD_TORCH_ALLOCATOR=libtorch opts out', (t) => {
  t.is(allocatorInfo().cpu, 'mimalloc');
  t.true(allocatorInfo().committedBytes > 0);
  const script =
    "const x = require('./dist/lib'); const a = x.zeros([4]).add(1); console.log(JSON.stringify([x.allocatorInfo().cpu, Array.from(a.toArray())]))";
  for (const [setting, expected] of [
    ['libtorch', 'libtorch'],
    ['mimalloc', 'mimalloc'],
  ]) {
    const r = spawnSync(process.execPath, ['-e', script], {
      env: { ...process.env, XLM_KD_TORCH_ALLOCATOR: setting },
      encoding: 'utf8',
    });
    t.is(r.status, 0, r.stderr);
    t.deepEqual(JSON.parse(r.stdout), [expected, [1, 1, 1, 1]]);
  }
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
