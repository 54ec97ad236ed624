#!/usr/bin/env node
// Forward time of the full-size teacher (issue 3): a 6+6-layer, 512-dim, 8-head XLM transformer with a 32k
// vocabulary, on a batch of 32 sentences of 30 tokens (source and target input, </s> framing included), eval
// mode, no grad, on the CPU — ours (LibTorch through the addon) and the PyTorch reference
// (bench/reference/xlm.py, .venv) on the same weights and batch, one timed run each after one warm-up run.
// Also checks that both give the same logits (max |diff| over the batch).
//
// Usage: node bench/teacher-forward.js [--runs N]    (needs dist/ built: npm run build:ts, and the addon;
//        XLM_KD_TORCH_ADDON selects a build)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'lib');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const B = 32;
const LEN = 30;
const V = 32000;
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 1;

const { Teacher, Batch, manualSeed, noGrad, loadTensors, version } = require(DIST);

/** Deterministic ids in [4, V) (no special tokens). */
function sentences(n, len, seed) {
  let x = seed * 7919 + 17;
  return Array.from({ length: n }, () =>
    Array.from({ length: len }, () => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return 4 + (x % (V - 4));
    })
  );
}

function ms(start) {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'teacher-bench-'));
  try {
    manualSeed(0);
    const teacher = Teacher.create({ vocabSize: V }).eval();
    const modelFile = path.join(dir, 'teacher.safetensors');
    await teacher.save(modelFile);
    // src: </s> + 28 + </s> = 30 tokens; tgtIn: </s> + 29 = 30 tokens.
    const data = { src: sentences(B, LEN - 2, 1), tgt: sentences(B, LEN - 1, 2) };
    const batchFile = path.join(dir, 'batch.json');
    fs.writeFileSync(batchFile, JSON.stringify({ ...data, srcLang: null, tgtLang: null }));
    const batch = Batch.from(data);

    noGrad(() => teacher.forward(batch)).dispose(); // warm-up
    const ours = [];
    let logits;
    for (let r = 0; r < RUNS; r++) {
      logits?.dispose();
      const t0 = process.hrtime.bigint();
      logits = noGrad(() => teacher.forward(batch));
      ours.push(ms(t0));
    }

    const outFile = path.join(dir, 'ref-logits.safetensors');
    const code = `
import json, sys, time, torch
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'bench', 'reference'))})
import xlm
from safetensors.torch import save_file
model, config = xlm.load_safetensors(${JSON.stringify(modelFile)})
spec = json.load(open(${JSON.stringify(batchFile)}))
b = xlm.make_batch(spec["src"], spec["tgt"], config)
args = (b["src"], b["src_len"], b["tgt_in"], b["tgt_len"])
with torch.no_grad():
    model(*args)  # warm-up
    times = []
    for _ in range(${RUNS}):
        t0 = time.perf_counter()
        logits = model(*args)
        times.append((time.perf_counter() - t0) * 1000)
save_file({"logits": logits.contiguous()}, ${JSON.stringify(outFile)})
print(json.dumps({"times": times, "threads": torch.get_num_threads(), "torch": torch.__version__}))`;
    const r = spawnSync(PY, ['-c', code], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`reference failed:\n${r.stderr}`);
    const refOut = JSON.parse(r.stdout.trim().split('\n').pop());
    const expected = (await loadTensors(outFile)).tensors.get('logits');
    const diff = noGrad(() => logits.sub(expected).abs().max().item());

    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const info = version();
    console.log(`teacher: 6+6 layers, embDim 512, 8 heads, vocab ${V}, ${(teacher.numParameters() / 1e6).toFixed(1)}M parameters`);
    console.log(`batch: ${B} sentences, src [${batch.src.shape}], tgtIn [${batch.tgtIn.shape}] -> logits [${logits.shape}]; eval, no grad, CPU (${os.cpus().length} cores)`);
    console.log('');
    console.log('| implementation | forward (ms) | runs |');
    console.log('|---|---:|---:|');
    console.log(`| xlm-kd-torch (LibTorch ${info.libtorch}) | ${median(ours).toFixed(0)} | ${RUNS} |`);
    console.log(`| PyTorch reference (torch ${refOut.torch}, ${refOut.threads} threads) | ${median(refOut.times).toFixed(0)} | ${RUNS} |`);
    console.log('');
    console.log(`max |logits diff| ours vs reference: ${diff.toExponential(2)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
