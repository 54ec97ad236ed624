#!/usr/bin/env node
// Benchmark of the fused distillation loss (lib/loss, native/loss) against the plain LibTorch composition
// (log_softmax + kl_div + cross_entropy, ordinary autograd) on the same LibTorch: forward + backward,
// median time and peak memory over the loss, dense form and chunked fused-linear form. Writes its table
// into BENCHMARKS.md between <!-- bench:loss:start --> and <!-- bench:loss:end -->.
//
// Usage: npm run bench:loss            (needs dist/ built: npm run build:ts, and the addon)
//        node bench/loss.js --quick    (small sizes only; does not touch BENCHMARKS.md)
// Each (method, config) runs in its own child process, so peak RSS is per method.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const { DIST, machineLine, writeSection } = require('./common');
const OPTS = { temperature: 2, alpha: 0.5, labelSmoothing: 0.1 };
const HIDDEN = 256;

// ---------------------------------------------------------------------------------------------------------
// Child: one method on one config.

function status() {
  const out = {};
  for (const line of fs.readFileSync('/proc/self/status', 'utf8').split('\n')) {
    const m = line.match(/^(VmRSS|VmHWM):\s+(\d+) kB/);
    if (m) out[m[1]] = Number(m[2]) * 1024;
  }
  return out;
}

function child(spec) {
  const { distillLoss, distillLossChunked, distillLossReference, distillLossKernel } = require(path.join(DIST, 'loss'));
  const T = require(path.join(DIST, 'tensor'));
  const { native } = require(path.join(DIST, 'native'));
  const { form, method, N, V, device, runs } = spec;
  const cuda = device !== 'cpu';
  T.manualSeed(0);
  const leaf = (x) => {
    const l = x.detach();
    x.dispose();
    l.requiresGrad = true;
    return l;
  };
  const randn = (shape, scale) => {
    const a = T.randn(shape, { device });
    const b = a.mul(scale);
    a.dispose();
    return b;
  };
  // Inputs first: they are not part of the measured memory.
  const teacher = randn([N, V], 2);
  const targets = T.randint(0, V, [N], { device });
  let leaves;
  let step;
  if (form === 'dense') {
    const s = leaf(randn([N, V], 2));
    leaves = [s];
    const f = method === 'ours' ? distillLoss : distillLossReference;
    step = () => [f(s, teacher, targets, OPTS)];
  } else {
    const h = leaf(randn([N, HIDDEN], 1));
    const w = leaf(randn([V, HIDDEN], 0.1));
    const b = leaf(randn([V], 0.1));
    leaves = [h, w, b];
    step = () => {
      if (method === 'ours') return [distillLossChunked(h, w, b, teacher, targets, OPTS)];
      const wt = w.transpose(0, 1);
      const mm = h.matmul(wt);
      const logits = mm.add(b);
      return [distillLossReference(logits, teacher, targets, OPTS), wt, mm, logits];
    };
  }
  // Wrappers are disposed explicitly: their GC finalizers would only run once the event loop turns.
  const sync = () => {
    if (!cuda) return;
    const g = leaves[0].grad;
    const s = g.sum();
    native().toBytes(s.native);
    s.dispose();
    g.dispose();
  };
  const once = () => {
    const [r, ...temps] = step();
    r.loss.backward();
    for (const l of leaves) {
      const g = l.grad;
      if (!g) throw new Error('no gradient');
      g.dispose();
    }
    sync();
    r.loss.dispose();
    r.kd.dispose();
    r.ce.dispose();
    for (const x of temps) x.dispose();
    for (const l of leaves) l.zeroGrad();
    global.gc();
  };
  once(); // warm-up
  const base = status().VmRSS;
  fs.writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
  if (cuda) native().distillLossCudaMemory(true);
  const cudaBase = cuda ? native().distillLossCudaMemory(false).allocated : 0;
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    once();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const peak = cuda ? native().distillLossCudaMemory(false).peak - cudaBase : status().VmHWM - base;
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], times, peak, kernel: distillLossKernel(), info: T.version() };
}

// ---------------------------------------------------------------------------------------------------------
// Parent: every config, ours and the composition side by side, each in a fresh process.

function runChild(spec) {
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, '--child', JSON.stringify(spec)], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
    // glibc otherwise raises its mmap threshold after big frees and keeps freed memory resident; pinned,
    // every freed tensor goes back to the OS and RSS tracks live memory for both methods alike.
    env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '65536' },
  });
  if (r.status !== 0) throw new Error(`child ${JSON.stringify(spec)} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const mb = (b) => (b / 2 ** 20).toFixed(0);

function table(rows, device) {
  const head =
    '| form | N | V | ours: median ms | composition: median ms | speed-up | ours: peak MB | composition: peak MB | memory ratio |\n' +
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|';
  const lines = rows.map(
    (r) =>
      `| ${r.form === 'dense' ? 'dense' : `chunked (H=${HIDDEN})`} | ${r.N} | ${r.V} | ${r.ours.ms.toFixed(1)} | ${r.comp.ms.toFixed(1)} | ` +
      `${(r.comp.ms / r.ours.ms).toFixed(1)}× | ${mb(r.ours.peak)} | ${mb(r.comp.peak)} | ${(r.comp.peak / Math.max(r.ours.peak, 1)).toFixed(1)}× |`
  );
  return `**${device.toUpperCase()}**\n\n${head}\n${lines.join('\n')}`;
}

function main() {
  const quick = process.argv.includes('--quick');
  const T = require(path.join(DIST, 'tensor'));
  const info = T.version();
  const devices = ['cpu'];
  if (info.cuda && info.builtWithCuda) devices.push('cuda');
  const configs = [];
  const sizes = quick ? [[512, 8000], [1024, 32000]] : [[2048, 8000], [2048, 32000], [8192, 8000], [8192, 32000]];
  for (const [N, V] of sizes) configs.push({ form: 'dense', N, V });
  const chunked = quick ? [[1024, 32000]] : [[2048, 32000], [8192, 32000]];
  for (const [N, V] of chunked) configs.push({ form: 'chunked', N, V });
  const results = {};
  const started = Date.now();
  const loadBefore = os.loadavg()[0];
  for (const device of devices) {
    results[device] = [];
    for (const c of configs) {
      const runs = c.form === 'chunked' || c.N * c.V > 1e8 ? 3 : 5;
      const spec = { ...c, device, runs };
      const ours = runChild({ ...spec, method: 'ours' });
      const comp = runChild({ ...spec, method: 'composition' });
      const row = { ...c, ours, comp };
      results[device].push(row);
      console.log(
        `${device} ${c.form} N=${c.N} V=${c.V}: ours ${ours.ms.toFixed(1)} ms / ${mb(ours.peak)} MB, ` +
          `composition ${comp.ms.toFixed(1)} ms / ${mb(comp.peak)} MB (kernel ${ours.kernel})`
      );
    }
  }
  const cpu = results.cpu;
  const big = cpu.find((r) => r.form === 'dense' && r.N === 8192 && r.V === 32000);
  const bigChunked = cpu.find((r) => r.form === 'chunked' && r.N === 8192);
  const targets = [];
  if (big) {
    const sp = big.comp.ms / big.ours.ms;
    const mr = big.comp.peak / big.ours.peak;
    targets.push(`- dense, N=8192, V=32000: ${sp.toFixed(1)}× faster (target ≥ 3×: ${sp >= 3 ? 'met' : 'MISSED'}), ` +
      `${mr.toFixed(1)}× less peak memory (target ≥ 4×: ${mr >= 4 ? 'met' : 'MISSED'}). Our peak is the [N, V] gradient itself ` +
      `(${mb(big.N * big.V * 4)} MB), which backward hands to \`.grad\` without a copy.`);
  }
  if (bigChunked) {
    const mr = bigChunked.comp.peak / bigChunked.ours.peak;
    targets.push(`- chunked, N=8192, V=32000, H=${HIDDEN}: ${mr.toFixed(1)}× less peak memory than logits + composition ` +
      `(target ≥ 8×: ${mr >= 8 ? 'met' : 'MISSED'}).`);
  }
  const loadAfter = os.loadavg()[0];
  const md = [
    '## Distillation loss (`npm run bench:loss`)',
    '',
    `Fused loss (\`distillLoss\`, \`distillLossChunked\`) vs the plain composition on the same LibTorch ` +
      `(\`log_softmax\`, \`kl_div(log_target=True)\`, \`cross_entropy(ignore_index, label_smoothing)\` + autograd; ` +
      `for the chunked row: \`logits = h @ W^T + b\`, then the composition), forward + backward, float32, ` +
      `T = ${OPTS.temperature}, alpha = ${OPTS.alpha}, label smoothing = ${OPTS.labelSmoothing}.`,
    '',
    `Machine: ${machineLine(info, { 'CPU kernel': cpu[0].ours.kernel })}; ` +
      `1-min load average ${loadBefore.toFixed(1)} before / ${loadAfter.toFixed(1)} after the run (a shared machine: other work skews times, not peaks).`,
    '',
    'Method: each method × config runs in a fresh child process (`node --expose-gc`). Inputs (student logits ' +
      'or hidden states + W + b as leaves, teacher logits, labels) are allocated first and one warm-up ' +
      'forward + backward runs; then the RSS baseline is read and the peak-RSS mark is reset ' +
      '(`echo 5 > /proc/self/clear_refs`). Time: median wall time of forward + `backward()` (outputs, ' +
      'temporaries and `.grad` freed after each run) over 5 runs (3 for the chunked rows and when N·V > 1e8). Peak memory: ' +
      '`VmHWM` after the timed runs minus the baseline, i.e. the most memory the loss step held at once ' +
      'beyond its inputs, gradients included. glibc\'s mmap threshold is pinned (`MALLOC_MMAP_THRESHOLD_=65536`) so ' +
      'freed tensors return to the OS and RSS tracks live memory. On CUDA (when built with it) the peak ' +
      'is the caching allocator\'s peak allocated bytes over the same runs. The fused loss asks for transparent ' +
      'huge pages on its gradient buffers (`madvise(MADV_HUGEPAGE)`, which halves its time at V = 32000 where THP is ' +
      'in "madvise" mode); the composition runs with LibTorch\'s defaults (`THP_MEM_ALLOC_ENABLE` unset).',
    '',
    ...devices.map((d) => table(results[d], d) + '\n'),
    'Targets (CPU):',
    '',
    ...targets,
    '',
  ].join('\n');
  console.log('\n' + md);
  console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
  if (!quick) writeSection('loss', md);
}

if (process.argv[2] === '--child') {
  const out = child(JSON.parse(process.argv[3]));
  process.stdout.write(JSON.stringify(out) + '\n');
} else {
  main();
}
