#!/usr/bin/env node
// The numbers behind the addon's CPU allocation strategy (native/memory, docs/reference.md "Memory"): for each
// allocator setting, in a fresh process, the RSS growth of synchronous create/dispose and tidy() loops, and
// the time and page faults of big transient tensors (the KD loss composition and the fused loss at
// N = 2048, V = 32000, forward + backward). Writes its table into BENCHMARKS.md (section "memory").
//
// Usage: node bench/memory.js [--quick]   (npm run bench:memory; --quick: loops of 5,000, the loss at N = 512,
//        V = 8000, one step, writes nothing; needs dist/ and the addon)
'use strict';
const os = require('os');
const { spawnSync } = require('child_process');
const { DIST, USER_ENV, QUICK, machineLine, spread, report, runMain } = require('./common');

const SETTINGS = [
  { name: 'LibTorch allocator (glibc), THP off', env: { XLM_KD_TORCH_ALLOCATOR: 'libtorch', THP_MEM_ALLOC_ENABLE: '0' } },
  { name: 'LibTorch allocator (glibc), THP_MEM_ALLOC_ENABLE=1', env: { XLM_KD_TORCH_ALLOCATOR: 'libtorch', THP_MEM_ALLOC_ENABLE: '1' } },
  { name: 'mimalloc (the default)', env: { XLM_KD_TORCH_ALLOCATOR: 'mimalloc' } },
];
const N = QUICK ? 512 : 2048;
const V = QUICK ? 8000 : 32000;
const RUNS = QUICK ? 1 : 3;
const LOOP = QUICK ? 5_000 : 50_000;
const WARMUP = LOOP / 10;

const LOOPS = {
  dispose16k: (x) => x.zeros([64, 64]).dispose(),
  dispose64k: (x) => x.zeros([128, 128]).dispose(),
  tidy16k: (x, w) => x.tidy(() => w.matmul(w).relu().sum()).dispose(),
  tidy64k: (x, w, w2) => x.tidy(() => w2.matmul(w2).relu().sum()).dispose(),
};

/** One synchronous loop in this (fresh) process: RSS growth over LOOP iterations after WARMUP ones. */
function loopChild(name) {
  const x = require(DIST);
  const w = x.randn([64, 64]);
  const w2 = x.randn([128, 128]);
  const body = LOOPS[name];
  const rssMB = () => process.memoryUsage().rss / 2 ** 20;
  for (let i = 0; i < WARMUP; i++) body(x, w, w2);
  const before = rssMB();
  for (let i = 0; i < LOOP; i++) body(x, w, w2);
  return { growth: rssMB() - before };
}

function child() {
  const x = require(DIST);
  const out = { allocator: x.allocatorInfo().cpu };
  const faults = () => process.resourceUsage().minorPageFault;
  x.manualSeed(0);
  const teacher = x.randn([N, V]);
  const targets = x.randint(0, V, [N]);
  const s = x.randn([N, V]);
  s.requiresGrad = true;
  for (const [key, fn] of [
    ['composition', x.distillLossReference],
    ['fused', x.distillLoss],
  ]) {
    const times = [];
    let f0 = 0;
    for (let r = 0; r <= RUNS; r++) {
      if (r === 1) f0 = faults();
      const t0 = process.hrtime.bigint();
      const res = fn(s, teacher, targets, { temperature: 2, alpha: 0.5, labelSmoothing: 0.1 });
      res.loss.backward();
      for (const t of [res.loss, res.kd, res.ce, s.grad]) t.dispose();
      s.zeroGrad();
      if (r > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    out[key] = { times, faultsPerStep: (faults() - f0) / RUNS };
  }
  return out;
}

function main() {
  const info = require(DIST).version();
  const loadBefore = os.loadavg()[0];
  const rows = SETTINGS.map((setting) => {
    const run = (...args) => {
      const r = spawnSync(process.execPath, [__filename, ...args, ...(QUICK ? ['--quick'] : [])], {
        encoding: 'utf8',
        env: { ...USER_ENV, ...setting.env },
      });
      if (r.status !== 0) throw new Error(`${setting.name} ${args.join(' ')} failed:\n${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').pop());
    };
    const m = run('--child');
    for (const name of Object.keys(LOOPS)) m[name] = run('--loop', name).growth;
    console.log(setting.name, JSON.stringify(m));
    return { setting, m };
  });
  const f = (v) => v.toFixed(0);
  const md = [
    '## CPU memory: the allocator strategy (`npm run bench:memory`)',
    '',
    "Each setting and each loop in a fresh Node process (how glibc fragments depends on the heap's history). RSS growth: " +
      `after ${WARMUP.toLocaleString('en-US')} warm-up iterations, a synchronous loop (never yielding, so Node runs no finalizer) of ${LOOP.toLocaleString('en-US')} ` +
      '`zeros(shape).dispose()` or `tidy(() => w.matmul(w).relu().sum()).dispose()` (w 64×64 or 128×128). What remains ' +
      'with mimalloc is the JS wrappers of the disposed tensors (about 200 bytes each), which the loop keeps until it yields. ' +
      `Big transient tensors: the KD loss at N = ${N}, V = ${V} (${((N * V * 4) / 2 ** 20).toFixed(0)} MB per [N, V] ` +
      `tensor), forward + backward, the LibTorch composition (\`distillLossReference\`) and the fused loss, median of ${RUNS} ` +
      'steps after one warm-up (fastest–slowest in brackets), with the minor page faults per step.',
    '',
    `Machine: ${machineLine(info)}; THP "${require('fs').readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').trim()}"; ` +
      `1-min load average ${loadBefore.toFixed(1)} before / ${os.loadavg()[0].toFixed(1)} after.`,
    '',
    '| CPU allocator | sync create/dispose 16 KiB: RSS +MB | 64 KiB: RSS +MB | sync tidy 16 KiB: RSS +MB | tidy 64 KiB: RSS +MB | composition: ms | page faults / step | fused: ms | page faults / step |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      ({ setting, m }) =>
        `| ${setting.name} | ${f(m.dispose16k)} | ${f(m.dispose64k)} | ${f(m.tidy16k)} | ${f(m.tidy64k)} | ${spread(m.composition.times, 0)} | ` +
        `${f(m.composition.faultsPerStep)} | ${spread(m.fused.times, 0)} | ${f(m.fused.faultsPerStep)} |`
    ),
    '',
    "Why mimalloc: LibTorch's allocator takes 64-byte-aligned blocks from glibc, and the small allocations of the JS " +
      'wrappers of disposed tensors (alive until a finalizer runs) split the holes those blocks leave, so glibc cannot reuse ' +
      'them and a synchronous loop grows by its whole storage every iteration. mimalloc keeps tensor storage apart from ' +
      'them, and keeps freed pages mapped for reuse for a purge delay (1 s), so a step that frees and reallocates hundreds ' +
      'of MB does not fault them in again; its big blocks ask for transparent huge pages. `THP_MEM_ALLOC_ENABLE=1` alone ' +
      `cuts the page faults of big tensors (${f(rows[0].m.composition.faultsPerStep)} -> ${f(rows[1].m.composition.faultsPerStep)} per composition step) ` +
      'but not the fragmentation, and still faults every step in anew. Opt out with `XLM_KD_TORCH_ALLOCATOR=libtorch`.',
    '',
  ].join('\n');
  report('memory', md);
}

if (process.argv[2] === '--child') process.stdout.write(JSON.stringify(child()) + '\n');
else if (process.argv[2] === '--loop') process.stdout.write(JSON.stringify(loopChild(process.argv[3])) + '\n');
else runMain(main);
