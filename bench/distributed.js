#!/usr/bin/env node
// Benchmark of data-parallel training (lib/distributed): the allreduce bandwidth of two ranks on loopback,
// ours (c10d ProcessGroupGloo from Node) vs torch.distributed's Gloo (bench/reference/allreduce.py), the same
// sizes, interface (GLOO_SOCKET_IFNAME=lo for both), threads and allocator settings, rounds alternating; and
// the trainer's tokens/s with 1 and 2 ranks on this machine. Writes BENCHMARKS.md section "distributed".
//
// Usage: node bench/distributed.js [--rounds N] [--quick]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { DIST, PY, REFERENCE, QUICK, arg, machineLine, referenceEnvs, describeEnv, median, spread, runMain, report } = require('./common');
const { launchRanks, freePort, version, allocatorInfo } = require(DIST);

const ROUNDS = Number(arg('--rounds', QUICK ? '1' : '3'));
const SIZES_MB = QUICK ? [1, 8] : [1, 8, 80];
const ALLREDUCE = { sizesMB: SIZES_MB, warmup: 3, repeats: QUICK ? 5 : 10 };
const V = QUICK ? 1000 : 8000;
const CONFIG = { vocabSize: V, embDim: QUICK ? 64 : 256, nHeads: 4, encoderLayers: 4, decoderLayers: 4, dropout: 0.1, attentionDropout: 0.1 };
const PAIRS = QUICK ? 96 : 384;
const MAX_TOKENS = 2400;
const RANK_SCRIPT = path.join(__dirname, 'distributed-rank.js');
const CORES = os.availableParallelism();

/** PAIRS pairs of 10-30 tokens each side, the same every run. */
function pairs() {
  let x = 4321;
  const next = () => (x = (x * 1103515245 + 12345) % 2147483648);
  const row = () => Array.from({ length: 10 + (next() % 21) }, () => 4 + (next() % (V - 4)));
  return Array.from({ length: PAIRS }, () => ({ src: row(), tgt: row() }));
}

/** Our ranks (Node, launchRanks); resolves to rank 0's JSON line. */
async function oursRun(mode, spec, nproc, threads) {
  let out = '';
  const sink = new (require('stream').Writable)({ write: (c, _e, done) => ((out += c.toString()), done()) });
  const r = await launchRanks({
    nproc,
    args: [RANK_SCRIPT, mode, spec],
    env: { OMP_NUM_THREADS: String(threads), GLOO_SOCKET_IFNAME: 'lo' },
    stdout: sink,
    stderr: process.stderr,
  });
  if (r.exitCode !== 0) throw new Error(`our ${mode} run failed (exit ${r.exitCode}):\n${out}`);
  return JSON.parse(
    out
      .trim()
      .split('\n')
      .pop()
      .replace(/^\[rank 0\] /, '')
  );
}

/** The reference's ranks (Python, the same variables torchrun sets); resolves to rank 0's JSON line. */
async function referenceRun(spec, env) {
  const port = await freePort();
  const runs = [0, 1].map(
    (rank) =>
      new Promise((resolve, reject) => {
        const child = spawn(PY, [path.join(REFERENCE, 'allreduce.py'), spec], {
          env: {
            ...env,
            OMP_NUM_THREADS: '1',
            GLOO_SOCKET_IFNAME: 'lo',
            RANK: String(rank),
            WORLD_SIZE: '2',
            LOCAL_RANK: String(rank),
            MASTER_ADDR: '127.0.0.1',
            MASTER_PORT: String(port),
          },
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`allreduce.py rank ${rank} failed (${code}):\n${err}`))));
      })
  );
  const [zero] = await Promise.all(runs);
  return JSON.parse(zero.trim().split('\n').pop());
}

const gbps = (mb, ms) => (mb * 2 ** 20) / (ms / 1e3) / 1e9;

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-bench-'));
  const started = Date.now();
  try {
    const info = version();
    const envs = referenceEnvs(allocatorInfo());
    const loadBefore = os.loadavg()[0];
    const arSpec = path.join(dir, 'allreduce.json');
    fs.writeFileSync(arSpec, JSON.stringify(ALLREDUCE));
    // Per size: each round's median time, ours and the reference's, alternating.
    const ar = Object.fromEntries(SIZES_MB.map((mb) => [mb, { ours: [], tuned: [] }]));
    for (let k = 0; k < ROUNDS; k++) {
      const o = await oursRun('allreduce', arSpec, 2, 1);
      const p = await referenceRun(arSpec, envs.tuned);
      for (const mb of SIZES_MB) {
        ar[mb].ours.push(gbps(mb, median(o[mb])));
        ar[mb].tuned.push(gbps(mb, median(p[String(mb)])));
      }
      console.log(
        `allreduce round ${k + 1}: ` +
          SIZES_MB.map((mb) => `${mb} MB ours ${ar[mb].ours[k].toFixed(2)} GB/s, PyTorch ${ar[mb].tuned[k].toFixed(2)}`).join('; ')
      );
    }

    const trSpec = path.join(dir, 'train.json');
    fs.writeFileSync(trSpec, JSON.stringify({ config: CONFIG, pairs: pairs(), maxTokens: MAX_TOKENS, epochs: 2 }));
    const setups = [
      { name: `1 process, ${CORES} threads`, nproc: 1, threads: CORES },
      { name: '1 process, 1 thread', nproc: 1, threads: 1 },
      ...(CORES >= 2
        ? [{ name: `2 ranks, ${Math.max(1, Math.floor(CORES / 2))} thread(s) each`, nproc: 2, threads: Math.max(1, Math.floor(CORES / 2)) }]
        : []),
    ];
    const tr = setups.map((s) => ({ ...s, tps: [] }));
    for (let k = 0; k < ROUNDS; k++) {
      for (const s of tr) {
        s.tps.push((await oursRun('train', trSpec, s.nproc, s.threads)).tokensPerSecond);
        console.log(`train round ${k + 1}: ${s.name}: ${s.tps[k].toFixed(0)} tokens/s`);
      }
    }
    const base = median(tr[0].tps);
    const md = [
      '## Data-parallel training (`node bench/distributed.js`)',
      '',
      `Allreduce: two ranks on this machine over loopback (GLOO_SOCKET_IFNAME=lo for both sides), in-place sum of one float32 tensor, ` +
        `${ALLREDUCE.warmup} warm-up calls then ${ALLREDUCE.repeats} timed; GB/s = tensor bytes / median call time (for 2 ranks the ring's bus ` +
        `bandwidth is the same figure). Ours: \`ProcessGroup.allReduce\` (c10d ProcessGroupGloo in the addon, run on its compute thread); ` +
        `reference: \`torch.distributed.all_reduce\` with the Gloo backend (bench/reference/allreduce.py), ${describeEnv(envs.tuned)}, ` +
        `1 OpenMP thread per rank on both sides. ${ROUNDS} rounds alternating ours / reference; median round (slowest–fastest).`,
      '',
      `Machine: ${machineLine(info, { 'CPU allocator': allocatorInfo().cpu })}; 1-min load average ${loadBefore.toFixed(1)} before / ${os.loadavg()[0].toFixed(1)} after.`,
      '',
      '| tensor | ours: GB/s | PyTorch (Gloo): GB/s | ours vs PyTorch |',
      '|---:|---:|---:|---:|',
      ...SIZES_MB.map(
        (mb) => `| ${mb} MB | ${spread(ar[mb].ours, 2)} | ${spread(ar[mb].tuned, 2)} | ${(median(ar[mb].ours) / median(ar[mb].tuned)).toFixed(2)}× |`
      ),
      '',
      `Training: the trainer (\`train\`, cross-entropy, label smoothing 0.1, Adam) on an XLM transformer ${CONFIG.encoderLayers}-${CONFIG.decoderLayers} × ${CONFIG.embDim}, ` +
        `vocabulary ${V}, ${PAIRS} pairs of 10–30 tokens, batches of at most ${MAX_TOKENS} padded tokens per rank; tokens/s of the second epoch ` +
        `(all ranks' target tokens), from the trainer's own metrics. With 2 ranks an update holds twice the tokens and the ranks share the ` +
        `machine's ${CORES} cores, so little speed-up is expected here: data parallelism pays off with a machine (or a core set) per rank.`,
      '',
      '| setup | tokens/s | vs 1 process with all cores |',
      '|---|---:|---:|',
      ...tr.map((s) => `| ${s.name} | ${spread(s.tps, 0)} | ${(median(s.tps) / base).toFixed(2)}× |`),
      '',
    ].join('\n');
    report('distributed', md, started);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
