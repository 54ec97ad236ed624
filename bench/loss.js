#!/usr/bin/env node
// Benchmark of the fused distillation loss (lib/loss, native/loss) against the plain composition
// (log_softmax + kl_div + cross_entropy, ordinary autograd): on the same LibTorch in our process, and as a
// PyTorch user runs it from Python (bench/reference/loss_bench.py), as installed and with our allocator
// settings (bench/common.js referenceEnvs). Forward + backward, median time with spread and peak memory,
// dense form and chunked fused-linear form. Writes its table into BENCHMARKS.md between
// <!-- bench:loss:start --> and <!-- bench:loss:end -->.
//
// Usage: npm run bench:loss            (needs dist/ built: npm run build:ts, and the addon)
//        node bench/loss.js --quick    (small sizes only; does not touch BENCHMARKS.md)
// Each (method, config) runs in its own child process, so peak RSS is per method.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const { DIST, PY, REFERENCE, QUICK: quick, machineLine, referenceEnvs, describeEnv, spread, report, runMain } = require('./common');
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
  // One timed forward + backward, frees included; the collection of the spent JS wrappers is not timed.
  const once = () => {
    const t0 = process.hrtime.bigint();
    const [r, ...temps] = step();
    const value = r.loss.item();
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
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    global.gc();
    return [value, ms];
  };
  const [lossValue] = once(); // warm-up
  // Freed blocks stay mapped for reuse (native/memory); return them first so the peak counts the step alone.
  T.releaseMemory();
  const base = status().VmRSS;
  fs.writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
  if (cuda) T.cuda.resetPeakMemoryStats();
  const cudaBase = cuda ? T.cuda.memoryAllocated() : 0;
  const times = [];
  for (let i = 0; i < runs; i++) times.push(once()[1]);
  const peak = cuda ? T.cuda.maxMemoryAllocated() - cudaBase : status().VmHWM - base;
  times.sort((a, b) => a - b);
  return {
    ms: times[Math.floor(times.length / 2)],
    times,
    peak,
    loss: lossValue,
    kernel: distillLossKernel(),
    info: T.version(),
    alloc: T.allocatorInfo(),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Parent: every config, ours and the three references side by side, each in a fresh process.

function runChild(spec) {
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, '--child', JSON.stringify(spec)], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  if (r.status !== 0) throw new Error(`child ${JSON.stringify(spec)} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** The PyTorch-from-Python composition in one of the reference environments, on the same inputs and threads. */
function runPython(spec, env, threads, arg) {
  const payload = arg || JSON.stringify({ form: spec.form, N: spec.N, V: spec.V, runs: spec.runs, hidden: HIDDEN });
  const r = spawnSync(PY, [path.join(REFERENCE, 'loss_bench.py'), payload, String(threads)], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`reference ${payload} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const mb = (b) => (b / 2 ** 20).toFixed(0);

function table(rows, device) {
  if (device !== 'cpu') {
    const head =
      '| form | N | V | ours: ms | composition: ms | speed-up | ours: peak MB | composition: peak MB | memory ratio |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|';
    const lines = rows.map(
      (r) =>
        `| ${formName(r)} | ${r.N} | ${r.V} | ${spread(r.ours.times)} | ${spread(r.comp.times)} | ` +
        `${(r.comp.ms / r.ours.ms).toFixed(1)}× | ${mb(r.ours.peak)} | ${mb(r.comp.peak)} | ${(r.comp.peak / Math.max(r.ours.peak, 1)).toFixed(1)}× |`
    );
    return `**${device.toUpperCase()}**\n\n${head}\n${lines.join('\n')}`;
  }
  const head =
    '| form | N | V | ours: ms | LibTorch composition: ms | PyTorch, as installed: ms | PyTorch, tuned: ms | speed-up vs tuned | ' +
    'ours: peak MB | PyTorch tuned: peak MB | memory ratio | ours: GB/s |\n' +
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const lines = rows.map(
    (r) =>
      `| ${formName(r)} | ${r.N} | ${r.V} | ${spread(r.ours.times)} | ${spread(r.comp.times)} | ${spread(r.installed.times)} | ` +
      `${spread(r.tuned.times)} | **${(r.tuned.ms / r.ours.ms).toFixed(1)}×** | ${mb(r.ours.peak)} | ${mb(r.tuned.peak)} | ` +
      `${(r.tuned.peak / Math.max(r.ours.peak, 1)).toFixed(1)}× | ${r.form === 'dense' ? gbps(r).toFixed(1) : '–'} |`
  );
  return `**CPU**\n\n${head}\n${lines.join('\n')}`;
}

const formName = (r) => (r.form === 'dense' ? 'dense' : `chunked (H=${HIDDEN})`);
// The least traffic a dense forward + backward can have: read the student and teacher logits, write the gradient.
const gbps = (r) => (3 * 4 * r.N * r.V) / (r.ours.ms / 1e3) / 1e9;

function main() {
  const T = require(path.join(DIST, 'tensor'));
  const info = T.version();
  const alloc = T.allocatorInfo();
  const envs = referenceEnvs(alloc);
  const devices = ['cpu'];
  if (info.cuda && info.builtWithCuda) devices.push('cuda');
  const configs = [];
  const sizes = quick
    ? [
        [512, 8000],
        [1024, 32000],
      ]
    : [
        [2048, 8000],
        [2048, 32000],
        [8192, 8000],
        [8192, 32000],
      ];
  for (const [N, V] of sizes) configs.push({ form: 'dense', N, V });
  const chunked = quick
    ? [[1024, 32000]]
    : [
        [2048, 32000],
        [8192, 32000],
      ];
  for (const [N, V] of chunked) configs.push({ form: 'chunked', N, V });
  const results = {};
  const started = Date.now();
  const loadBefore = os.loadavg()[0];
  const bandwidth = runPython({}, envs.tuned, info.threads, 'bandwidth').gbps;
  for (const device of devices) {
    results[device] = [];
    for (const [i, c] of configs.entries()) {
      const runs = c.form === 'chunked' || c.N * c.V > 1e8 ? 3 : 5;
      const spec = { ...c, device, runs };
      // Each side in a fresh process; the order turns every config, so no side always runs on a warmer machine.
      const sides = {
        ours: () => runChild({ ...spec, method: 'ours' }),
        comp: () => runChild({ ...spec, method: 'composition' }),
      };
      if (device === 'cpu') {
        sides.installed = () => runPython(spec, envs.installed, info.threads);
        sides.tuned = () => runPython(spec, envs.tuned, info.threads);
      }
      const names = Object.keys(sides);
      const row = { ...c };
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + i) % names.length];
        row[name] = sides[name]();
      }
      if (device === 'cpu') {
        const diff = Math.abs(row.ours.loss - row.tuned.loss) / Math.abs(row.tuned.loss);
        if (!(diff < 1e-4)) throw new Error(`inputs differ: our loss ${row.ours.loss} vs PyTorch ${row.tuned.loss}`);
      }
      results[device].push(row);
      console.log(
        `${device} ${c.form} N=${c.N} V=${c.V}: ours ${row.ours.ms.toFixed(1)} ms / ${mb(row.ours.peak)} MB, ` +
          `composition ${row.comp.ms.toFixed(1)} ms / ${mb(row.comp.peak)} MB` +
          (row.tuned ? `, PyTorch installed ${row.installed.ms.toFixed(1)} ms, tuned ${row.tuned.ms.toFixed(1)} ms / ${mb(row.tuned.peak)} MB` : '') +
          ` (kernel ${row.ours.kernel})`
      );
    }
  }
  const cpu = results.cpu;
  const big = cpu.find((r) => r.form === 'dense' && r.N === 8192 && r.V === 32000);
  const bigChunked = cpu.find((r) => r.form === 'chunked' && r.N === 8192);
  const targets = [];
  if (big) {
    const sp = big.tuned.ms / big.ours.ms;
    const mr = big.tuned.peak / big.ours.peak;
    targets.push(
      `- dense, N=8192, V=32000: ${sp.toFixed(1)}× faster than the tuned PyTorch composition (target ≥ 3×: ${sp >= 3 ? 'met' : 'MISSED'}; ` +
        `${(big.installed.ms / big.ours.ms).toFixed(1)}× against PyTorch as installed, ${(big.comp.ms / big.ours.ms).toFixed(1)}× against the composition on our LibTorch), ` +
        `${mr.toFixed(1)}× less peak memory (target ≥ 4×: ${mr >= 4 ? 'met' : 'MISSED'}). Our peak is the [N, V] gradient itself ` +
        `(${mb(big.N * big.V * 4)} MB), which backward hands to \`.grad\` without a copy.`
    );
    targets.push(
      `- What bounds it: the fused pass reads the student and teacher logits and writes the gradient once ` +
        `(${((3 * 4 * big.N * big.V) / 1e9).toFixed(1)} GB at this size), i.e. ${gbps(big).toFixed(1)} GB/s against this machine's measured ` +
        `copy bandwidth of ${bandwidth.toFixed(1)} GB/s (\`c = a + b\` on 256 MiB arrays, ${info.threads} threads, tuned allocator): ` +
        `${((100 * gbps(big)) / bandwidth).toFixed(0)} % of it. The rest is the exp/log arithmetic of two softmaxes per row on ${info.threads} cores.`
    );
  }
  if (bigChunked) {
    const mr = bigChunked.tuned.peak / bigChunked.ours.peak;
    targets.push(
      `- chunked, N=8192, V=32000, H=${HIDDEN}: ${mr.toFixed(1)}× less peak memory than logits + composition in PyTorch ` +
        `(target ≥ 8×: ${mr >= 8 ? 'met' : 'MISSED'}).`
    );
  }
  const loadAfter = os.loadavg()[0];
  const md = [
    '## Distillation loss (`npm run bench:loss`)',
    '',
    `Fused loss (\`distillLoss\`, \`distillLossChunked\`) vs the plain composition (\`log_softmax\`, ` +
      `\`kl_div(log_target=True)\`, \`cross_entropy(ignore_index, label_smoothing)\` + autograd; for the chunked rows ` +
      `\`logits = h @ W^T + b\` first), forward + backward, float32, T = ${OPTS.temperature}, alpha = ${OPTS.alpha}, ` +
      `label smoothing = ${OPTS.labelSmoothing}. Three references: the composition on our LibTorch in our process ` +
      `(\`distillLossReference\`), and the same composition as a PyTorch user runs it from Python ` +
      `(bench/reference/loss_bench.py, PyTorch on the same LibTorch, ${info.threads} threads), once as installed and once ` +
      `tuned (${describeEnv(envs.tuned)}: the allocator settings our addon runs with, see ` +
      'docs/reference.md "Memory"). Headline ratios are against the tuned PyTorch.',
    '',
    `Machine: ${machineLine(info, { 'CPU kernel': cpu[0].ours.kernel, 'CPU allocator': alloc.cpu })}; ` +
      `1-min load average ${loadBefore.toFixed(1)} before / ${loadAfter.toFixed(1)} after the run.`,
    '',
    'Method: each side × config runs in a fresh process, in an order that turns from config to config. Inputs ' +
      '(student logits or hidden states + W + b as leaves, teacher logits, labels) are drawn from seed 0 in the same ' +
      'order on both sides, so they are the same numbers (the loss values are checked to agree within 1e-4), and allocated ' +
      'first; one warm-up forward + backward runs, the allocator returns its free pages, then the RSS baseline is read ' +
      'and the peak-RSS mark is reset (`echo 5 > /proc/self/clear_refs`). Time: median wall time of forward + ' +
      '`backward()` (outputs, temporaries and `.grad` freed after each run) over 5 runs (3 for the chunked rows and when ' +
      'N·V > 1e8), with the fastest and slowest in brackets. Peak memory: `VmHWM` after the timed runs minus the ' +
      'baseline, i.e. the most memory the loss step held at once beyond its inputs, gradients included. On CUDA (when ' +
      "built with it) the peak is the caching allocator's peak allocated bytes over the same runs. GB/s: the least " +
      'traffic of a dense step (student and teacher logits read, gradient written: 12·N·V bytes) over our median time.',
    '',
    ...devices.map((d) => table(results[d], d) + '\n'),
    'Targets (CPU):',
    '',
    ...targets,
    '',
  ].join('\n');
  report('loss', md, started);
}

if (process.argv[2] === '--child') {
  const out = child(JSON.parse(process.argv[3]));
  process.stdout.write(JSON.stringify(out) + '\n');
} else {
  runMain(main);
}
