#!/usr/bin/env node
// The teacher and its students side by side: parameters and CPU forward time (teacher forcing, eval, no
// grad) on one batch of 32 sentences × 30 tokens, for the 6-6 teacher (512 wide, 8 heads, 32k vocabulary),
// the 6-2, 6-1 and 3-3 students cut from it by layer surgery ('spread' maps) and the default BiGRU — ours
// (LibTorch through the addon) and the PyTorch reference (bench/reference/, .venv) on the same weights and
// batch, which also checks that both give the same logits. Writes its table into BENCHMARKS.md between
// <!-- bench:students:start --> and <!-- bench:students:end -->.
//
// Usage: npm run bench:students [-- --runs N] [--quick]   (default 2 blocks of 4 timed rounds per side; --quick: a
//        128-wide teacher, vocabulary 2000, 8 sentences, one block of one round, writes nothing; needs dist/ and the addon)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { DIST, QUICK, arg, msSince, median, spread, machineLine, pythonJson, referenceEnvs, describeEnv, runMain, report } = require('./common');

const { Teacher, Student, Batch, manualSeed, noGrad, loadTensors, version, allocatorInfo } = require(DIST);

const B = QUICK ? 8 : 32;
const LEN = 30;
const V = QUICK ? 2000 : 32000;
const TEACHER = QUICK ? { vocabSize: V, embDim: 128, nHeads: 4 } : { vocabSize: V }; // 6-6, 512 wide by default
const RUNS = Number(arg('--runs', QUICK ? '1' : '4'));
const BLOCKS = QUICK ? 1 : 2;

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

/**
 * Our forwards: one warm-up per model, then RUNS rounds that time every model once each (rounds, not runs per
 * model, so drift in the machine's speed spreads over all models). Returns the times and the last logits.
 */
function timeOurs(models, batch) {
  for (const m of models) noGrad(() => m.forward(batch)).dispose();
  const times = models.map(() => []);
  const logits = models.map(() => undefined);
  for (let r = 0; r < RUNS; r++) {
    models.forEach((m, i) => {
      logits[i]?.dispose();
      const t0 = process.hrtime.bigint();
      logits[i] = noGrad(() => m.forward(batch));
      times[i].push(msSince(t0));
    });
  }
  return { times, logits };
}

/** The reference's forwards on the saved models, timed the same way; logits go to outFiles[i]. */
function timeReference(modelFiles, batchFile, outFiles, env) {
  return pythonJson(
    `
import json, time, torch
from models import load_model, frame
from safetensors.torch import save_file
models = [load_model(f) for f in ${JSON.stringify(modelFiles)}]
spec = json.load(open(${JSON.stringify(batchFile)}))
eos, pad = models[0].eos, models[0].pad
src, src_len = frame(spec["src"], eos, pad)
tgt_in = torch.tensor([[eos] + t for t in spec["tgt"]])
tgt_len = torch.full((tgt_in.shape[0],), tgt_in.shape[1])
times = [[] for _ in models]
logits = [None] * len(models)
with torch.no_grad():
    for m in models:
        m.forward(src, src_len, tgt_in, tgt_len)  # warm-up
    for _ in range(${RUNS}):
        for i, m in enumerate(models):
            t0 = time.perf_counter()
            logits[i] = m.forward(src, src_len, tgt_in, tgt_len)
            times[i].append((time.perf_counter() - t0) * 1000)
for out, l in zip(${JSON.stringify(outFiles)}, logits):
    save_file({"logits": l.contiguous()}, out)
print(json.dumps({"times": times, "threads": torch.get_num_threads(), "torch": torch.__version__}))`,
    env
  );
}

/** "encoder 0-5, decoder 0,5" style description of a cut student's layer map. */
function layersOf(model) {
  const map = model.layerMap;
  if (!map) return 'all layers';
  return `encoder ${map.encoder.join(',')}; decoder ${map.decoder.join(',')}`;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'students-bench-'));
  const started = Date.now();
  const loadBefore = os.loadavg()[0];
  try {
    manualSeed(0);
    const teacher = Teacher.create(TEACHER).eval();
    const models = [
      { name: '6-6 teacher', model: teacher },
      { name: '6-2 cut student', model: Student.fromTeacher(teacher, { encoderLayers: 6, decoderLayers: 2 }).eval() },
      { name: '6-1 cut student', model: Student.fromTeacher(teacher, { encoderLayers: 6, decoderLayers: 1 }).eval() },
      { name: '3-3 cut student', model: Student.fromTeacher(teacher, { encoderLayers: 3, decoderLayers: 3 }).eval() },
      { name: 'BiGRU (defaults)', model: Student.bigru({ vocabSize: V }).eval() },
    ];
    // src: </s> + 28 + </s> = 30 tokens; tgtIn: </s> + 29 = 30 tokens.
    const data = { src: sentences(B, LEN - 2, 1), tgt: sentences(B, LEN - 1, 2) };
    const batchFile = path.join(dir, 'batch.json');
    fs.writeFileSync(batchFile, JSON.stringify(data));
    const batch = Batch.from(data);

    const modelFiles = models.map((_, i) => path.join(dir, `model-${i}.safetensors`));
    for (const [i, { model }] of models.entries()) await model.save(modelFiles[i]);
    // Blocks of RUNS rounds, alternating ours / reference tuned / reference as installed, BLOCKS times, so that
    // every side sees the machine's drift; each side's times are pooled over its blocks.
    const envs = referenceEnvs(allocatorInfo());
    const outFiles = models.map((_, i) => path.join(dir, `ref-${i}.safetensors`));
    const pooled = () => models.map(() => []);
    const ours = { times: pooled(), logits: [] };
    const ref = { times: pooled() };
    const installed = { times: pooled() };
    for (let b = 0; b < BLOCKS; b++) {
      ours.logits.forEach((l) => l.dispose());
      const o = timeOurs(
        models.map((m) => m.model),
        batch
      );
      ours.logits = o.logits;
      o.times.forEach((t, i) => ours.times[i].push(...t));
      const r = timeReference(modelFiles, batchFile, outFiles, envs.tuned);
      r.times.forEach((t, i) => ref.times[i].push(...t));
      ref.torch = r.torch;
      ref.threads = r.threads;
      timeReference(modelFiles, batchFile, outFiles, envs.installed).times.forEach((t, i) => installed.times[i].push(...t));
    }
    const torchVersion = `${ref.torch}, ${ref.threads} threads`;
    const rows = [];
    for (const [i, { name, model }] of models.entries()) {
      const expected = (await loadTensors(outFiles[i])).tensors.get('logits');
      const diff = noGrad(() => ours.logits[i].sub(expected).abs().max().item());
      ours.logits[i].dispose();
      expected.dispose();
      const c = model.config;
      const shape =
        'hiddenSize' in c
          ? `emb ${c.embDim}, hidden ${c.hiddenSize}, ${c.encoderLayers}+${c.decoderLayers} layers, ${c.attention} attention`
          : `${c.embDim} wide, ${c.nHeads} heads, ${layersOf(model)}`;
      const row = {
        name,
        shape,
        params: model.numParameters(),
        ours: median(ours.times[i]),
        ref: median(ref.times[i]),
        installed: median(installed.times[i]),
        spread: [ours.times[i], installed.times[i], ref.times[i]],
        diff,
      };
      rows.push(row);
      console.log(
        `${name}: ${(row.params / 1e6).toFixed(1)}M params, ours ${row.ours.toFixed(0)} ms [${ours.times[i].map((x) => x.toFixed(0)).join(',')}], reference ${row.ref.toFixed(0)} ms [${ref.times[i].map((x) => x.toFixed(0)).join(',')}], max |diff| ${diff.toExponential(1)}`
      );
    }
    const teacherMs = rows[0].ours;
    const loadAfter = os.loadavg()[0];
    const md = [
      '## Teacher and students: size and forward time (`npm run bench:students`)',
      '',
      `One batch of ${B} sentences × ${LEN} tokens (source \`</s> w₁…w₂₈ </s>\`, target input \`</s> w₁…w₂₉\`), vocabulary ${V}, ` +
        `forward with teacher forcing to \`[${B}, ${LEN}, V]\` logits, ` +
        'eval mode, no grad, float32, CPU. The students are cut from the ' +
        "teacher by layer surgery (`Student.fromTeacher`, 'spread' maps); the BiGRU is `Student.bigru({ vocabSize })` with its defaults. " +
        `Time: median of ${BLOCKS * RUNS} rounds (each times every model once), in ${BLOCKS} blocks of ${RUNS} per side ` +
        'that alternate ours / reference tuned / reference as installed (one warm-up per model and block), fastest and slowest ' +
        `in brackets; the reference (bench/reference/, PyTorch ${torchVersion}) runs the same weights on the same batch in its ` +
        `own process, never alongside ours, as installed and tuned (${describeEnv(envs.tuned)}: the allocator settings ` +
        'our addon runs with, see docs/reference.md "Memory").',
      '',
      `Machine: ${machineLine(version())}; 1-min load average ${loadBefore.toFixed(1)} before / ${loadAfter.toFixed(1)} after.`,
      '',
      '| model | shape | parameters | ours: forward ms | speed-up vs teacher | PyTorch, as installed: ms | PyTorch, tuned: ms | ours vs tuned | max \\|logits diff\\| |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${r.name} | ${r.shape} | ${(r.params / 1e6).toFixed(1)}M | ${spread(r.spread[0], 0)} | ${(teacherMs / r.ours).toFixed(1)}× | ` +
          `${spread(r.spread[1], 0)} | ${spread(r.spread[2], 0)} | ${(r.ref / r.ours).toFixed(2)}× | ${r.diff.toExponential(1)} |`
      ),
      '',
      `Cut students keep the teacher's embeddings (and the tied output layer), so at a ${V / 1000}k vocabulary a good part of their ` +
        `parameters and of the forward time is the \`[·, ${teacher.config.embDim}] × [${teacher.config.embDim}, ${V}]\` output projection, which no layer cut removes.`,
      '',
    ].join('\n');
    report('students', md, started);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
