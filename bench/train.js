#!/usr/bin/env node
// Benchmark of a training step, ours vs PyTorch eager (bench/reference/train_step.py) on the same model
// config, weights, batches, threads and LibTorch: a teacher cross-entropy step, and an online distillation
// step (teacher forward under no-grad + student forward/backward with the KD loss + clipping + Adam). Ours is
// the real trainer (`train`, `distill`), timed per update through its metrics. Rounds alternate ours /
// reference tuned / reference as installed. Writes its table into BENCHMARKS.md (section "train").
//
// Usage: npm run bench:train [-- --rounds N] [--quick]   (--quick: a 64-wide model, vocabulary 1000, 64 pairs,
//        one round, writes nothing; needs dist/ and the addon)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { DIST, PY, REFERENCE, QUICK, arg, machineLine, referenceEnvs, describeEnv, median, runMain, report } = require('./common');
const { Teacher, Student, Batcher, train, distill, manualSeed, version, allocatorInfo } = require(DIST);

const ROUNDS = Number(arg('--rounds', QUICK ? '1' : '3'));
const V = QUICK ? 1000 : 8000;
const CONFIG = {
  vocabSize: V,
  embDim: QUICK ? 64 : 256,
  nHeads: QUICK ? 2 : 4,
  encoderLayers: 6,
  decoderLayers: 6,
  dropout: 0.1,
  attentionDropout: 0.1,
};
const CUT = { encoderLayers: 6, decoderLayers: 1 };
const PAIRS = QUICK ? 64 : 320;
const LOSS = { alpha: 0.5, temperature: 2, labelSmoothing: 0.1 };
const LR = 1e-4;
const MAX_TOKENS = 2400;

/** PAIRS pairs of 10-30 tokens each side, the same every run. */
function pairs() {
  let x = 12345;
  const next = () => (x = (x * 1103515245 + 12345) % 2147483648);
  const row = () => Array.from({ length: 10 + (next() % 21) }, () => 4 + (next() % (V - 4)));
  return Array.from({ length: PAIRS }, () => ({ src: row(), tgt: row() }));
}

/** Our tokens/s over one epoch after a warm-up epoch, with the trainer as users run it. */
async function ours(mode, files, data) {
  const model = await (mode === 'ce' ? Teacher.load(files.teacher) : Student.load(files.student));
  const per = [];
  const onStep = (m) => m.epoch >= 1 && per.push(m);
  const common = {
    data,
    maxEpochs: 2,
    logEvery: 1,
    log: null,
    onStep,
    optimizer: { lr: LR },
    schedule: () => LR,
    labelSmoothing: LOSS.labelSmoothing,
    seed: 0,
  };
  if (mode === 'ce') await train(model, common);
  else
    await distill({
      ...common,
      teacher: (await Teacher.load(files.teacher)).eval(),
      student: model,
      mode: 'online',
      alpha: LOSS.alpha,
      temperature: LOSS.temperature,
    });
  const tokens = per.reduce((n, m) => n + m.tokens, 0);
  const seconds = per.reduce((n, m) => n + m.tokens / m.tokensPerSecond, 0);
  return tokens / seconds;
}

function reference(mode, files, batches, env, threads, dir) {
  const spec = path.join(dir, `spec-${mode}.json`);
  fs.writeFileSync(
    spec,
    JSON.stringify({
      mode,
      model: mode === 'ce' ? files.teacher : files.student,
      teacher: files.teacher,
      batches,
      rounds: 1,
      threads,
      lr: LR,
      ...LOSS,
    })
  );
  const r = spawnSync(PY, [path.join(REFERENCE, 'train_step.py'), spec], { encoding: 'utf8', env, cwd: REFERENCE, maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`train_step.py failed (${r.status}):\n${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  return out.tokens.reduce((a, b) => a + b, 0) / (out.times.reduce((a, b) => a + b, 0) / 1e3);
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-bench-'));
  const started = Date.now();
  try {
    const info = version();
    manualSeed(0);
    const teacher = Teacher.create(CONFIG);
    const files = { teacher: path.join(dir, 'teacher.safetensors'), student: path.join(dir, 'student.safetensors') };
    await teacher.save(files.teacher);
    await Student.fromTeacher(teacher, CUT).save(files.student);
    const data = pairs();
    const batcher = new Batcher(data, { maxTokens: MAX_TOKENS, shuffle: false });
    // The reference gets exactly our batches: the same plan (no shuffle: every epoch's plan is the same).
    const batches = batcher.plan(0).map((p) => [p.indices.map((i) => data[i].src), p.indices.map((i) => data[i].tgt)]);
    const envs = referenceEnvs(allocatorInfo());
    const loadBefore = os.loadavg()[0];
    const rows = [];
    for (const mode of ['ce', 'kd']) {
      const r = { mode, ours: [], tuned: [], installed: [] };
      for (let k = 0; k < ROUNDS; k++) {
        r.ours.push(await ours(mode, files, new Batcher(data, { maxTokens: MAX_TOKENS, shuffle: false })));
        r.tuned.push(reference(mode, files, batches, envs.tuned, info.threads, dir));
        r.installed.push(reference(mode, files, batches, envs.installed, info.threads, dir));
        console.log(
          `${mode} round ${k + 1}: ours ${r.ours[k].toFixed(0)} tok/s, PyTorch tuned ${r.tuned[k].toFixed(0)}, as installed ${r.installed[k].toFixed(0)}`
        );
      }
      rows.push(r);
    }
    const fmt = (xs) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
    const shape = `${CONFIG.encoderLayers}-${CONFIG.decoderLayers}`;
    const name = {
      ce: `teacher cross-entropy step (${shape}, label smoothing ${LOSS.labelSmoothing})`,
      kd: `online distillation step (${CUT.encoderLayers}-${CUT.decoderLayers} student cut from the ${shape} teacher, alpha ${LOSS.alpha}, T ${LOSS.temperature})`,
    };
    const target = { ce: 1.0, kd: 1.3 };
    const md = [
      '## Training step (`npm run bench:train`)',
      '',
      `Model: XLM transformer, ${CONFIG.embDim} wide, ${CONFIG.nHeads} heads, vocabulary ${V}, dropout ${CONFIG.dropout}; the student is its ` +
        `${CUT.encoderLayers}-${CUT.decoderLayers} cut. ${batches.length} batches of at most ${MAX_TOKENS} padded tokens (${data.length} pairs of ` +
        '10–30 tokens), the same batches and initial weights on both sides, float32, CPU. A step: forward, loss, backward, ' +
        'gradient clipping to 5, Adam (betas 0.9/0.98). Ours is `train` / `distill({ mode: "online" })` itself (fused loss, ' +
        'async native calls), timed per update by its metrics over one epoch after a warm-up epoch; the reference ' +
        '(bench/reference/train_step.py) is PyTorch eager as a PyTorch user writes it (`F.cross_entropy`, `F.kl_div` of ' +
        '`log_softmax`es, `clip_grad_norm_`, `torch.optim.Adam`), timed the same way, run as installed and tuned ' +
        `(${describeEnv(envs.tuned)}). ${ROUNDS} rounds alternating ours / tuned / as installed; median round, slowest–fastest in brackets.`,
      '',
      `Machine: ${machineLine(info, { 'CPU allocator': allocatorInfo().cpu })}; 1-min load average ${loadBefore.toFixed(1)} before / ${os.loadavg()[0].toFixed(1)} after.`,
      '',
      '| step | ours: tokens/s | PyTorch, as installed: tokens/s | PyTorch, tuned: tokens/s | ours vs tuned | target |',
      '|---|---:|---:|---:|---:|---:|',
      ...rows.map((r) => {
        const ratio = median(r.ours) / median(r.tuned);
        return `| ${name[r.mode]} | ${fmt(r.ours)} | ${fmt(r.installed)} | ${fmt(r.tuned)} | ${ratio.toFixed(2)}× | ≥ ${target[r.mode].toFixed(1)}× (${ratio >= target[r.mode] ? 'met' : 'not met'}) |`;
      }),
      '',
    ].join('\n');
    report('train', md, started);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
