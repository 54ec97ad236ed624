#!/usr/bin/env node
// The GPU benchmark, ours and PyTorch side by side on the same GPU in one run (BENCHMARKS.md "gpu"):
//  1. a training step, XLM 6-6 × 512, 8 heads, V = 32000, batches of 8192 padded tokens: `train` (teacher
//     cross-entropy) and `distill` online (6-1 cut student) in fp32 and bf16 against PyTorch eager fp32 and
//     `torch.autocast(bfloat16)` (bench/reference/train_step.py) on the same weights and batches;
//  2. the fused loss forward + backward against PyTorch eager and torch.compile (bench/reference/loss_gpu.py) at
//     8192 × 32000 float32 and 16384 × 128256 bfloat16: time and peak memory from the caching allocator's
//     statistics on both sides, ours also with `gradInPlace`, and as bandwidth against a measured copy (the
//     floor: the two logits read once, the gradient written once); the chunked fused-linear form at
//     16384 × 128256 bfloat16, hidden 1024, against the dense path (the logits GEMM, the fused loss, the two
//     backward GEMMs);
//  3. beam-5 decoding of the teacher against bench/reference/beam.py on the GPU.
// Without a GPU it exits 77 (skipped); `--quick --device cpu` runs every code path small on the CPU.
//
// Usage: node bench/gpu.js [--quick] [--rounds N] [--device cuda:N]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { DIST, PY, REFERENCE, QUICK, SKIPPED, arg, median, spread, machineLine, runMain, report } = require('./common');
const T = require(DIST);
const { Teacher, Student, Batcher, train, distill, distillLoss, distillLossChunked, defaultChunkSize, manualSeed, randn, randint, cuda, version } = T;

const DEVICE = arg('--device', 'cuda');
const ON_GPU = DEVICE !== 'cpu';
const ROUNDS = Number(arg('--rounds', QUICK ? '1' : '3'));
const V = QUICK ? 1000 : 32000;
const CONFIG = { vocabSize: V, embDim: QUICK ? 64 : 512, nHeads: QUICK ? 2 : 8, encoderLayers: 6, decoderLayers: 6, dropout: 0, attentionDropout: 0 };
const CUT = { encoderLayers: 6, decoderLayers: 1 };
const MAX_TOKENS = QUICK ? 600 : 8192;
const PAIRS = QUICK ? 48 : 4096;
const LOSS = { alpha: 0.5, temperature: 2, labelSmoothing: 0.1 };
const LR = 1e-4;
const LOSS_SHAPES = QUICK
  ? [
      [256, 1000, 'float32'],
      [256, 2048, 'bfloat16'],
    ]
  : [
      [8192, 32000, 'float32'],
      [16384, 128256, 'bfloat16'],
    ];
const CHUNKED_SHAPE = QUICK ? [256, 2048, 64, 'bfloat16'] : [16384, 128256, 1024, 'bfloat16'];
const BYTES = { float32: 4, bfloat16: 2, float16: 2 };

const sync = () => ON_GPU && cuda.synchronize();

/** PAIRS pairs of 20-40 tokens each side, the same every run. */
function pairs() {
  let x = 777;
  const next = () => (x = (x * 1103515245 + 12345) % 2147483648);
  const row = () => Array.from({ length: 20 + (next() % 21) }, () => 4 + (next() % (V - 4)));
  return Array.from({ length: PAIRS }, () => ({ src: row(), tgt: row() }));
}

function python(script, args, parse = true) {
  const r = spawnSync(PY, [path.join(REFERENCE, script), ...args], { encoding: 'utf8', cwd: REFERENCE, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}):\n${r.stderr}`);
  return parse ? JSON.parse(r.stdout.trim().split('\n').pop()) : r.stdout;
}

/** Our target tokens/s over one epoch after a warm-up epoch, with the trainer as users run it. */
async function oursStep(mode, precision, files, data) {
  const model = await (mode === 'ce' ? Teacher.load(files.teacher) : Student.load(files.student));
  const per = [];
  const common = {
    data: new Batcher(data, { maxTokens: MAX_TOKENS, shuffle: false }),
    maxEpochs: 2,
    logEvery: 1,
    log: null,
    onStep: (m) => m.epoch >= 1 && per.push(m),
    optimizer: { lr: LR },
    schedule: () => LR,
    labelSmoothing: LOSS.labelSmoothing,
    seed: 0,
    device: DEVICE,
    precision,
  };
  if (mode === 'ce') await train(model, common);
  else
    await distill({
      ...common,
      teacher: await Teacher.load(files.teacher),
      student: model,
      mode: 'online',
      alpha: LOSS.alpha,
      temperature: LOSS.temperature,
    });
  const tokens = per.reduce((n, m) => n + m.tokens, 0);
  return tokens / per.reduce((n, m) => n + m.tokens / m.tokensPerSecond, 0);
}

function referenceStep(mode, precision, files, batches, dir) {
  const spec = path.join(dir, `spec-${mode}-${precision}.json`);
  fs.writeFileSync(
    spec,
    JSON.stringify({
      mode,
      model: mode === 'ce' ? files.teacher : files.student,
      teacher: files.teacher,
      batches,
      rounds: 1,
      threads: version().threads,
      lr: LR,
      ...LOSS,
      device: DEVICE,
      precision,
    })
  );
  const out = python('train_step.py', [spec]);
  return out.tokens.reduce((a, b) => a + b, 0) / (out.times.reduce((a, b) => a + b, 0) / 1e3);
}

/** `once` timed after 3 warm-up calls: per-round ms and the allocator's peak above what was allocated before. */
function timed(once) {
  for (let i = 0; i < 3; i++) once();
  sync();
  if (ON_GPU) cuda.resetPeakMemoryStats();
  const base = ON_GPU ? cuda.memoryAllocated() : 0;
  const ms = [];
  for (let i = 0; i < Math.max(ROUNDS, 5); i++) {
    sync();
    const t0 = process.hrtime.bigint();
    once();
    sync();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { ms, peak: ON_GPU ? cuda.maxMemoryAllocated() - base : NaN };
}

/**
 * Our fused loss, forward + backward (the gradient reaches the logits' .grad, as PyTorch's does), and the same
 * with `gradInPlace` (the logits' storage becomes the gradient: later rounds run on the previous gradient's
 * values, which changes nothing in the work done).
 */
function oursLoss(n, v, dtype, opts = {}) {
  manualSeed(0);
  const s = randn([n, v], { device: DEVICE }).to(dtype);
  s.requiresGrad = true;
  const t = randn([n, v], { device: DEVICE }).to(dtype);
  const y = randint(0, v, [n], { device: DEVICE });
  const r = timed(() => {
    const out = distillLoss(s, t, y, { ...LOSS, ...opts });
    out.loss.backward();
    for (const x of [out.loss, out.kd, out.ce]) x.dispose();
    s.zeroGrad();
  });
  for (const x of [s, t, y]) x.dispose();
  return r;
}

/** The device's copy bandwidth on an [n, v] tensor: bytes read + written per second (the loss's floor). */
function copyBandwidth(n, v, dtype) {
  const x = randn([n, v], { device: DEVICE }).to(dtype);
  const r = timed(() => x.clone().dispose());
  x.dispose();
  return (2 * n * v * BYTES[dtype]) / (median(r.ms) / 1e3);
}

/** The chunked fused-linear form against the dense path it replaces, with the gradients of hidden and weight. */
function chunkedAgainstDense([n, v, h, dtype]) {
  manualSeed(0);
  const hidden = randn([n, h], { device: DEVICE }).to(dtype);
  hidden.requiresGrad = true;
  const weight = randn([v, h], { device: DEVICE })
    .mul(1 / Math.sqrt(h))
    .to(dtype);
  weight.requiresGrad = true;
  const t = randn([n, v], { device: DEVICE }).to(dtype);
  const y = randint(0, v, [n], { device: DEVICE });
  const done = (out) => {
    out.loss.backward();
    for (const x of [out.loss, out.kd, out.ce]) x.dispose();
    hidden.zeroGrad();
    weight.zeroGrad();
  };
  const gemm = timed(() => hidden.matmul(weight.transpose(0, 1)).dispose());
  const dense = timed(() => {
    const logits = hidden.matmul(weight.transpose(0, 1));
    done(distillLoss(logits, t, y, LOSS));
    logits.dispose();
  });
  const chunked = timed(() => done(distillLossChunked(hidden, weight, null, t, y, LOSS)));
  for (const x of [hidden, weight, t, y]) x.dispose();
  return { n, v, h, dtype, gemm, dense, chunked, chunk: defaultChunkSize(n, v, { device: DEVICE, dtype }) };
}

async function decoding(files, data, dir) {
  const teacher = (await Teacher.load(files.teacher)).eval().to(DEVICE);
  const sources = data.slice(0, QUICK ? 16 : 512).map((p) => p.src);
  // Ids in, ids out: a tokenizer over the ids' own pieces would only add text work to both sides' clocks.
  const src = path.join(dir, 'src.json');
  fs.writeFileSync(src, JSON.stringify(sources));
  const out = path.join(dir, 'ref.json');
  const ref = [];
  const ours = [];
  for (let r = 0; r < ROUNDS; r++) {
    sync();
    const t0 = process.hrtime.bigint();
    const batches = new Batcher(
      sources.map((s) => ({ src: s, tgt: [] })),
      { maxTokens: 32 * 64, maxSentences: 32, shuffle: false }
    );
    for (const plan of batches.plan(0)) {
      const batch = batches.toBatch(plan, teacher.device);
      await T.beamSearch(teacher, batch, { beamSize: 5 });
      batch.dispose();
    }
    sync();
    ours.push(sources.length / (Number(process.hrtime.bigint() - t0) / 1e9));
    python('beam.py', ['--model', files.teacher, '--src', src, '--out', out, '--beam', '5', '--device', DEVICE], false);
    ref.push(sources.length / JSON.parse(fs.readFileSync(out, 'utf8')).seconds);
  }
  return { ours, ref, sentences: sources.length };
}

async function main() {
  if (ON_GPU && !cuda.isAvailable()) {
    console.log('bench:gpu: no CUDA device here (run it on a GPU machine: npm run check:gpu); skipped');
    process.exit(SKIPPED);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-bench-'));
  const started = Date.now();
  try {
    manualSeed(0);
    const teacher = Teacher.create(CONFIG);
    const files = { teacher: path.join(dir, 'teacher.safetensors'), student: path.join(dir, 'student.safetensors') };
    await teacher.save(files.teacher);
    await Student.fromTeacher(teacher, CUT).save(files.student);
    const data = pairs();
    const plan = new Batcher(data, { maxTokens: MAX_TOKENS, shuffle: false }).plan(0);
    const batches = plan.map((p) => [p.indices.map((i) => data[i].src), p.indices.map((i) => data[i].tgt)]);

    const steps = [];
    for (const mode of ['ce', 'kd']) {
      for (const precision of ['fp32', 'bf16']) {
        const row = { mode, precision, ours: [], ref: [] };
        for (let k = 0; k < ROUNDS; k++) {
          row.ours.push(await oursStep(mode, precision, files, data));
          row.ref.push(referenceStep(mode, precision, files, batches, dir));
          console.log(`step ${mode} ${precision} round ${k + 1}: ours ${row.ours[k].toFixed(0)} tok/s, PyTorch ${row.ref[k].toFixed(0)}`);
        }
        steps.push(row);
      }
    }
    const losses = [];
    for (const [n, v, dtype] of LOSS_SHAPES) {
      const ours = oursLoss(n, v, dtype);
      const inPlace = oursLoss(n, v, dtype, { gradInPlace: true });
      const copy = copyBandwidth(n, v, dtype);
      const ref = ON_GPU ? python('loss_gpu.py', [String(n), String(v), dtype, String(Math.max(ROUNDS, 5))]) : undefined;
      losses.push({ n, v, dtype, ours, inPlace, copy, ref });
      console.log(
        `loss ${n} x ${v} ${dtype}: ours ${median(ours.ms).toFixed(2)} ms, in place ${median(inPlace.ms).toFixed(2)}, copy ${(copy / 1e9).toFixed(0)} GB/s` +
          (ref ? `, eager ${median(ref.eager.ms).toFixed(2)}, compile ${median(ref.compile.ms).toFixed(2)}` : '')
      );
    }
    const ch = chunkedAgainstDense(CHUNKED_SHAPE);
    console.log(
      `chunked ${ch.n} x ${ch.v}, hidden ${ch.h}: ${median(ch.chunked.ms).toFixed(2)} ms (chunk ${ch.chunk}) vs dense ${median(ch.dense.ms).toFixed(2)} ms`
    );
    const dec = await decoding(files, data, dir);

    const gb = (b) => (Number.isFinite(b) ? (b / 1e9).toFixed(1) : '–');
    const name = { ce: 'teacher cross-entropy', kd: `online KD (${CUT.encoderLayers}-${CUT.decoderLayers} cut)` };
    const md = [
      '## GPU (`npm run bench:gpu`, one run of `npm run check:gpu`)',
      '',
      `XLM ${CONFIG.encoderLayers}-${CONFIG.decoderLayers} × ${CONFIG.embDim}, ${CONFIG.nHeads} heads, V = ${V}; ${batches.length} batches of at most ` +
        `${MAX_TOKENS} padded tokens; the same weights and batches on both sides. Ours: \`train\` / \`distill({ mode: "online" })\` with ` +
        '`device` and `precision`, timed per update by its metrics over an epoch after a warm-up epoch; PyTorch: eager, with ' +
        '`torch.autocast(device, torch.bfloat16)` around forward and loss for bf16 (bench/reference/train_step.py). ' +
        `${ROUNDS} round(s), median (slowest–fastest).`,
      '',
      `Machine: ${machineLine(version(), ON_GPU ? { device: DEVICE } : { device: 'cpu (smoke run)' })}.`,
      '',
      '| training step | precision | ours: target tokens/s | PyTorch eager: tokens/s | ours vs PyTorch |',
      '|---|---|---:|---:|---:|',
      ...steps.map(
        (r) => `| ${name[r.mode]} | ${r.precision} | ${spread(r.ours, 0)} | ${spread(r.ref, 0)} | ${(median(r.ours) / median(r.ref)).toFixed(2)}× |`
      ),
      '',
      '| fused loss, forward + backward | ours ms | ours, gradInPlace ms | PyTorch eager ms | torch.compile ms | ours vs compile | ' +
        'peak GB above the inputs: ours / in place / eager / compile | ours: GB/s (of copy) | floor ms (copy) |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...losses.map((l) => {
        const floor = 3 * l.n * l.v * BYTES[l.dtype];
        const ours = median(l.ours.ms);
        return (
          `| ${l.n} × ${l.v} ${l.dtype} | ${spread(l.ours.ms, 2)} | ${spread(l.inPlace.ms, 2)} | ${l.ref ? spread(l.ref.eager.ms, 2) : '–'} | ` +
          `${l.ref ? spread(l.ref.compile.ms, 2) : '–'} | ${l.ref ? `${(median(l.ref.compile.ms) / ours).toFixed(2)}×` : '–'} | ` +
          `${gb(l.ours.peak)} / ${gb(l.inPlace.peak)} / ${l.ref ? gb(l.ref.eager.peak) : '–'} / ${l.ref ? gb(l.ref.compile.peak) : '–'} | ` +
          `${(floor / (ours / 1e3) / 1e9).toFixed(0)} (${((100 * floor) / (ours / 1e3) / l.copy).toFixed(0)} %) | ${((floor / l.copy) * 1e3).toFixed(2)} |`
        );
      }),
      '',
      'Bandwidth: the bytes a fused loss cannot avoid (both logits read once, the gradient written once: 3 · N · V · element size) ' +
        'over its time, against `clone()` of one [N, V] tensor (read + write) on the same device; "floor ms" is those bytes at the copy\'s rate. ' +
        "Peak: the caching allocator's maximum during the timed rounds minus what was allocated before them (the inputs), as bench/reference/loss_gpu.py measures PyTorch.",
      '',
      '| chunked fused-linear form | default chunk (rows) | chunked ms | dense: logits GEMM + fused loss + backward GEMMs, ms | chunked / dense | one logits GEMM ms | peak GB above inputs: chunked / dense |',
      '|---|---:|---:|---:|---:|---:|---:|',
      `| ${ch.n} × ${ch.v} ${ch.dtype}, hidden ${ch.h} | ${ch.chunk} | ${spread(ch.chunked.ms, 2)} | ${spread(ch.dense.ms, 2)} | ` +
        `${(median(ch.chunked.ms) / median(ch.dense.ms)).toFixed(2)}× | ${spread(ch.gemm.ms, 2)} | ${gb(ch.chunked.peak)} / ${gb(ch.dense.peak)} |`,
      '',
      `Beam-5 decoding of the teacher, ${dec.sentences} sentences in batches of 32: ours ${spread(dec.ours, 1)} sentences/s, ` +
        `bench/reference/beam.py ${spread(dec.ref, 1)} (${(median(dec.ours) / median(dec.ref)).toFixed(2)}×).`,
      '',
    ].join('\n');
    report('gpu', md, started);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
