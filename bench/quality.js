#!/usr/bin/env node
// Quality run v2: whether distillation pays, with evidence. On the machine's gettext catalogs (English -> German
// by default), cleaned and split once:
//  1. a teacher trained to convergence: early stopping on validation BLEU (patience), within a time cap;
//  2. students trained the same number of updates with the same batches, 3 seeds each (mean ± std):
//     a transformer from scratch (3-1) and a BiGRU (at the students' lr and at the 2× lr its variants chose),
//     each five ways — no teacher; word-level KD online; offline top-k; sequence-level KD (the teacher's beam-5
//     translations as targets); sequence-level + word-level KD;
//  3. the cut student (layer surgery, the teacher's encoder and top decoder layer) without KD, with online
//     word-level KD and with sequence-level KD;
//  4. intermediate-layer KD (hidden states, attention) on top of word-level KD, scratch and cut students;
//  5. recipe knobs against the same seeds of their way: offline top-k and its temperature, temperature, alpha and
//     an alpha schedule, label smoothing (one seed each; T = 1 and the schedule all seeds);
//  6. BiGRU variants (attention score, tied embeddings, dropout, depth, learning rate), each against the default, the
//     changes that helped combined, and that BiGRU distilled;
//  7. the cut and the BiGRU with sequence-level KD for 4× the updates (whether training length bounds them).
// The grid runs seed 1 of everything first, then the other seeds. Every model is scored on the test split
// (BLEU, chrF, greedy and beam 5, sentences/s); the full grid ends by re-measuring the speeds in interleaved
// rounds. Each training run and score is a resumable stage in the run folder: run it again after Ctrl-C and it
// continues. The full run (and the gpu one) writes
// BENCHMARKS.md "quality" ("quality-gpu"); --quick (≈ 5 min) only prints its table.
//
// Usage: npm run bench:quality [-- --quick] [--lang de] [--run DIR] [--device cuda --precision bf16]
//        [--preset full|gpu|quick] (default: quick with --quick, gpu with --device cuda, else full)
//        [--only main,cut,intermediate,long,knobs,bigru] (parts of the grid; the teacher always)
//        [--report] (no training: the table from the runs finished so far, written as partial)
//        [--speed] (no training: re-measures the speed of the teacher and each group interleaved, then --report)
'use strict';
const fs = require('fs');
const path = require('path');
const { ROOT, DIST, arg, machineLine, median, writeSection, runMain } = require('./common');
const {
  loadModel,
  readDataInfo,
  readSplit,
  prepareData,
  trainTokenizer,
  trainTeacher,
  distillStudent,
  loadTrainingData,
  stage,
  buildTeacherCache,
  distillSequences,
  evaluateTranslation,
  inverseSqrt,
  version,
  allocatorInfo,
  Teacher,
  Batch,
  tidy,
  DISTILL_DEFAULTS,
} = require(DIST);

const PRESETS = {
  full: {
    // Messages up to 50 characters (menu items, labels, short sentences: about 20k pairs) and a 2k vocabulary:
    // on 2 cores a 6-6 × 256 teacher then sees ~20 epochs in an hour, enough for validation BLEU to level off,
    // and a student run of 1,000 updates takes minutes, so the grid of ~60 runs fits an afternoon. Longer
    // messages (the v1 run's 150 characters) left the teacher far from converged after 15 minutes.
    data: { maxChars: 50, valid: 500, test: 1000, vocabSize: 2000 },
    teacher: { embDim: 256, nHeads: 4, encoderLayers: 6, decoderLayers: 6, dropout: 0.3, attentionDropout: 0.1 },
    teacherTraining: { lr: 1.5e-3, warmup: 500, maxMinutes: 75, validateEvery: 300, patience: 4, maxTokens: 3072 },
    scratch: { embDim: 256, nHeads: 4, encoderLayers: 3, decoderLayers: 1, dropout: 0.1, attentionDropout: 0.1 },
    cut: { encoderLayers: 6, decoderLayers: 1, strategy: 'last' },
    bigru: { embDim: 256, hiddenSize: 256, encoderLayers: 1, decoderLayers: 1, dropout: 0.1 },
    // lr 2e-3 with 200 warm-up updates left a 3-1 post-norm student at 0.9 test BLEU after 1,000 updates
    // (its loss stalled at ~4.5); the teacher's gentler schedule shape trains it.
    student: { updates: 1000, lr: 1e-3, warmup: 300, maxTokens: 1536 },
    seeds: [1, 2, 3],
    validSentences: 300,
  },
  // With --device cuda: every gettext message up to the library's 200 characters (~33k training pairs), an 8k
  // vocabulary and a 6-6 × 512 teacher, the scale of the papers' small settings; each run is minutes on a GPU.
  // Students twice as long on 4k-token batches: about 8 epochs, as the CPU grid's 1,000 updates are about 5.
  // The students' shapes and the seeds are the full grid's (filled in below).
  gpu: {
    data: { maxChars: 200, valid: 1000, test: 2000, vocabSize: 8000 },
    teacher: { embDim: 512, nHeads: 8, encoderLayers: 6, decoderLayers: 6, dropout: 0.3, attentionDropout: 0.1 },
    teacherTraining: { lr: 1e-3, warmup: 1000, maxMinutes: 30, validateEvery: 500, patience: 5, maxTokens: 4096 },
    student: { updates: 2000, lr: 1e-3, warmup: 300, maxTokens: 4096 },
    validSentences: 500,
  },
  quick: {
    data: { maxChars: 80, valid: 100, test: 200, vocabSize: 800, maxPairs: 4000 },
    teacher: { embDim: 64, nHeads: 2, encoderLayers: 2, decoderLayers: 2, dropout: 0.1, attentionDropout: 0.1 },
    teacherTraining: { lr: 3e-3, warmup: 50, maxMinutes: 1.5, validateEvery: 60, patience: 2, maxTokens: 2048 },
    scratch: { embDim: 32, nHeads: 2, encoderLayers: 1, decoderLayers: 1, dropout: 0.1, attentionDropout: 0.1 },
    cut: { encoderLayers: 2, decoderLayers: 1, strategy: 'last' },
    bigru: { embDim: 32, hiddenSize: 32, encoderLayers: 1, decoderLayers: 1, dropout: 0.1 },
    student: { updates: 25, lr: 3e-3, warmup: 5, maxTokens: 2048 },
    seeds: [1, 2],
    validSentences: 50,
  },
};

/** The defaults every KD run starts from (the library's: lib/loss/options.ts, lib/train/distill-options.ts). */
const KD = { alpha: 0.5, temperature: 2, topK: 8, labelSmoothing: 0.1, seqBeam: 5 };
const WAYS = {
  ce: { label: 'no teacher', mode: 'none' },
  online: { label: 'word-level KD, online', mode: 'online' },
  offline: { label: `word-level KD, offline top-${KD.topK}`, mode: 'offline' },
  sequence: { label: 'sequence-level KD', mode: 'sequence', kd: { alpha: 0 } },
  seqword: { label: 'sequence-level + word-level KD', mode: 'sequence', kd: { alpha: KD.alpha } },
};

for (const key of ['scratch', 'cut', 'bigru', 'seeds']) PRESETS.gpu[key] = PRESETS.full[key];

const log = (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)));

function options() {
  const device = arg('--device', undefined);
  const preset = arg('--preset', process.argv.includes('--quick') ? 'quick' : device?.startsWith('cuda') ? 'gpu' : 'full');
  if (!PRESETS[preset]) throw new Error(`--preset: expected one of ${Object.keys(PRESETS).join(', ')}, got '${preset}'`);
  const p = { ...PRESETS[preset], preset, lang: arg('--lang', 'de'), device, precision: arg('--precision', undefined) };
  p.run = path.resolve(arg('--run', path.join(ROOT, 'runs', 'quality-v2', `${preset}-${p.lang}`)));
  p.only = new Set(arg('--only', 'main,cut,intermediate,long,knobs,bigru').split(','));
  p.wholeGrid = !process.argv.includes('--only');
  p.reportOnly = process.argv.includes('--report') || process.argv.includes('--speed');
  p.speed = process.argv.includes('--speed');
  return p;
}

async function corpus(p) {
  const dir = path.join(p.run, 'data');
  const { vocabSize, ...split } = p.data;
  if (!fs.existsSync(path.join(dir, 'data.json'))) await prepareData({ out: dir, tgtLang: p.lang, seed: 0, ...split });
  if (!fs.existsSync(path.join(dir, 'tokenizer.model'))) await trainTokenizer({ data: dir, out: path.join(dir, 'tokenizer.model'), vocabSize });
  const info = readDataInfo(dir);
  return { dir, info, test: await readSplit(dir, 'test') };
}

const device = (p) => ({ ...(p.device ? { device: p.device } : {}), ...(p.precision ? { precision: p.precision } : {}) });
const summary = (r) => ({ steps: r.steps, epochs: r.epoch, seconds: r.seconds, tokens: r.tokens, stoppedBy: r.stoppedBy, best: r.best });

async function teacherStage(p, data) {
  const out = path.join(p.run, 'models', 'teacher.safetensors');
  const t = p.teacherTraining;
  const { value } = await stage(p.run, 'train-teacher', async () => {
    log(
      `teacher: ${p.teacher.encoderLayers}-${p.teacher.decoderLayers} × ${p.teacher.embDim}, early stopping on valid BLEU (patience ${t.patience}), at most ${t.maxMinutes} min`
    );
    const r = await trainTeacher({
      data: data.dir,
      run: path.join(p.run, 'teacher'),
      out,
      model: p.teacher,
      valid: { sentences: p.validSentences },
      training: {
        optimizer: { lr: t.lr },
        schedule: inverseSqrt({ lr: t.lr, warmupUpdates: t.warmup }),
        batching: { maxTokens: t.maxTokens },
        labelSmoothing: KD.labelSmoothing,
        seed: 0,
        logEvery: 50,
        validateEvery: t.validateEvery,
        patience: t.patience,
        maxSeconds: t.maxMinutes * 60,
        log: (l) => log(`teacher: ${l}`),
        ...device(p),
      },
    });
    return summary(r.result);
  });
  return { file: out, training: value };
}

/** The teacher's one-off work for offline and sequence-level KD (shared by every student): timed. */
async function teacherWork(p, data, way, files) {
  return (
    await stage(p.run, `teacher-${way}`, async () => {
      const teacher = await Teacher.load(files.teacher);
      if (p.device) teacher.to(p.device);
      const { train, tokenizer } = await loadTrainingData(data.dir);
      const started = Date.now();
      const progress = (what) => (done, total) => done % 2000 < 64 && log(`${what}: ${done}/${total}`);
      if (way === 'offline') {
        await buildTeacherCache({
          teacher,
          pairs: train,
          k: KD.topK,
          tokenizer: tokenizer.serialize(),
          file: files.cache,
          onProgress: progress('offline KD cache'),
        });
      } else {
        await distillSequences(
          teacher,
          train.map((x) => x.src),
          { beamSize: KD.seqBeam, batchSize: 64, out: files.sequences, onProgress: progress('sequence-level KD') }
        );
      }
      return { seconds: (Date.now() - started) / 1000, bytes: fs.statSync(way === 'offline' ? files.cache : files.sequences).size };
    })
  ).value;
}

/**
 * How much of the teacher's probability its top-k keep, and its entropy, at T = 1 and at the KD temperature,
 * on the first 64 training pairs (target tokens only): what offline top-k KD, which renormalises over the k,
 * leaves of the teacher's distribution.
 */
async function teacherMass(p, data, files) {
  return (
    await stage(p.run, 'teacher-mass', async () => {
      const teacher = (await Teacher.load(files.teacher)).eval();
      const { train } = await loadTrainingData(data.dir);
      const pairs = train.slice(0, 64);
      const batch = Batch.from({ src: pairs.map((x) => x.src), tgt: pairs.map((x) => x.tgt) });
      const logits = await teacher.forwardAsync(batch);
      const out = { pairs: pairs.length, k: KD.topK };
      for (const T of [1, KD.temperature]) {
        out[`T${T}`] = tidy(() => {
          const lp = logits.div(T).logSoftmax(-1);
          const prob = lp.exp();
          const keep = batch.tgtOut.ne(teacher.padIndex).to('float32');
          const n = keep.sum().item();
          return {
            entropyNats: prob.mul(lp).sum(-1).neg().mul(keep).sum().item() / n,
            topKMass: prob.topk(KD.topK, { dim: -1 }).values.sum(-1).mul(keep).sum().item() / n,
          };
        });
      }
      logits.dispose();
      return out;
    })
  ).value;
}

/**
 * One student run: `spec` (the student), `way` (WAYS key), `seed`, and overrides of the KD options and the
 * training options. Returns its training summary and test scores (both stages, so a rerun skips them).
 */
async function studentRun(p, data, files, name, { spec, way, seed, kd = {}, training = {} }) {
  if (p.reportOnly) return finished(p, name);
  const out = path.join(p.run, 'models', `${name}.safetensors`);
  const w = WAYS[way];
  if (way === 'offline' || way === 'sequence' || way === 'seqword') await teacherWork(p, data, way === 'offline' ? 'offline' : 'sequence', files);
  const s = p.student;
  const { value: trained } = await stage(p.run, `train-${name}`, async () => {
    log(`${name}: ${training.maxSteps ?? s.updates} updates, ${w.label}, seed ${seed}`);
    const r = await distillStudent({
      teacher: files.teacher,
      student: spec,
      data: data.dir,
      run: path.join(p.run, 'students', name),
      out,
      mode: w.mode,
      kd: { alpha: KD.alpha, temperature: KD.temperature, topK: KD.topK, cacheFile: files.cache, sequenceFile: files.sequences, ...w.kd, ...kd },
      valid: { sentences: p.validSentences },
      training: {
        optimizer: { lr: s.lr },
        schedule: inverseSqrt({ lr: s.lr, warmupUpdates: s.warmup }),
        batching: { maxTokens: s.maxTokens },
        labelSmoothing: KD.labelSmoothing,
        seed,
        logEvery: 100,
        validateEvery: s.updates,
        maxSteps: s.updates,
        log: (l) => log(`${name}: ${l}`),
        ...device(p),
        ...training,
      },
    });
    return summary(r.result);
  });
  return { name, training: trained, test: await score(p, name, out, data) };
}

/** Test BLEU/chrF, greedy and beam 5, speed and size. */
async function score(p, name, file, data) {
  return (
    await stage(p.run, `test-${name}`, async () => {
      const model = (await loadModel(file)).eval();
      const { tokenizer } = await loadTrainingData(data.dir);
      const base = {
        sources: data.test.map((x) => x.src),
        references: data.test.map((x) => x.tgt),
        tokenizer,
        batchSize: 32,
        ...(p.device ? { device: p.device } : {}),
      };
      const out = { parameters: model.numParameters(), bytes: fs.statSync(file).size };
      for (const beamSize of [1, 5]) {
        const s = await evaluateTranslation(model, { ...base, beamSize });
        out[beamSize === 1 ? 'greedy' : 'beam5'] = { bleu: s.bleu, chrf: s.chrf, sentencesPerSecond: s.sentencesPerSecond };
      }
      log(`${name}: test beam-5 BLEU ${out.beam5.bleu.toFixed(2)}, chrF ${out.beam5.chrf.toFixed(2)}; greedy ${out.greedy.bleu.toFixed(2)}`);
      return out;
    })
  ).value;
}

/** A run's recorded training and test stages, or undefined when it has not finished (--report). */
function finished(p, name) {
  const read = (stageName) => {
    const file = path.join(p.run, `${stageName}.json`);
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
  };
  const training = read(`train-${name}`);
  const test = read(`test-${name}`);
  return training && test ? { name, training, test } : undefined;
}

/** Runs `spec` over the seeds; the group's runs named `${name}-s${seed}` (finished ones only under --report). */
async function seeds(p, data, files, name, run) {
  const runs = [];
  for (const seed of p.seeds) runs.push(await studentRun(p, data, files, `${name}-s${seed}`, { ...run, seed }));
  return runs.filter(Boolean);
}

/** Training overrides for a student at `factor` × the students' learning rate (same warm-up). */
const lrTimes = (p, factor) => ({
  optimizer: { lr: factor * p.student.lr },
  schedule: inverseSqrt({ lr: factor * p.student.lr, warmupUpdates: p.student.warmup }),
});
const bigruLr2 = (p) => lrTimes(p, 2);
/** The BiGRU's name in the table at `factor` × the students' learning rate. */
const bigruAt = (p, factor) => `BiGRU, lr ${factor * p.student.lr}`;

/** The BiGRU variants: each one change against the default, then the changes that helped, combined. */
const bigruVariants = (p) => [
  { id: 'bahdanau', label: 'Bahdanau (additive) attention', change: { attention: 'bahdanau' } },
  { id: 'untied', label: 'output layer not tied to the embeddings', change: { tieEmbeddings: false } },
  { id: 'dropout3', label: 'dropout 0.3', change: { dropout: 0.3 } },
  { id: 'enc2', label: '2 encoder layers', change: { encoderLayers: 2 } },
  { id: 'dec2', label: '2 decoder layers', change: { decoderLayers: 2 } },
  // Recurrent students are often trained hotter than transformers.
  { id: 'lr2x', label: `learning rate ${2 * p.student.lr} (2×)`, training: bigruLr2(p) },
  // 2× gained 12 BLEU: whether hotter still gains more.
  { id: 'lr4x', label: `learning rate ${4 * p.student.lr} (4×)`, training: lrTimes(p, 4) },
];

/** The students of the grid, over `p.seeds`; the groups of finished runs for the table. */
async function grid(p, data, files) {
  const groups = []; // { part, model, way, runs, note }
  const add = (part, model, way, runs, note) => {
    const done = runs.filter(Boolean);
    if (done.length > 0) groups.push({ part, model, way, runs: done, note });
  };
  const scratch = { kind: 'transformer', ...p.scratch };
  const cut = { kind: 'cut', ...p.cut };
  const bigru = { kind: 'bigru', ...p.bigru };

  // The most telling parts first, so a run stopped part-way has already answered the main question.
  const mainRuns = async (model, spec, tag, { training, offlineKd, oneSeed = false } = {}) => {
    const q = oneSeed ? { ...p, seeds: p.seeds.slice(0, 1) } : p;
    for (const way of Object.keys(WAYS)) {
      const kd = way === 'offline' ? offlineKd : undefined;
      const label = kd?.temperature ? `${WAYS[way].label}, T = ${kd.temperature}` : WAYS[way].label;
      add('main', model, label, await seeds(q, data, files, `${tag}-${way}`, { spec, way, training, kd }), oneSeed ? 'one seed' : undefined);
    }
  };
  if (p.only.has('main')) await mainRuns('transformer 3-1 (scratch)', scratch, 'scratch');
  if (p.only.has('cut')) {
    for (const way of ['ce', 'online', 'sequence'])
      add('cut', `cut ${p.cut.encoderLayers}-${p.cut.decoderLayers}`, WAYS[way].label, await seeds(p, data, files, `cut-${way}`, { spec: cut, way }));
  }
  if (p.only.has('main')) {
    // The variants found the BiGRU undertrained at the students' lr (2×: +12 BLEU): one seed at that lr, and every
    // seed at 2×, with offline KD at T = 1, the library's offline default since the knobs (T = 2 taught it nothing).
    await mainRuns(bigruAt(p, 1), bigru, 'bigru', { oneSeed: true });
    await mainRuns(bigruAt(p, 2), bigru, 'bigru-lr2', { training: bigruLr2(p), offlineKd: { temperature: DISTILL_DEFAULTS.offlineTemperature } });
  }
  if (p.only.has('intermediate')) {
    const both = { intermediate: { hidden: 1, attention: 1 } };
    add(
      'intermediate',
      'transformer 3-1 (scratch)',
      'online + hidden + attention',
      await seeds(p, data, files, 'scratch-online-inter', { spec: scratch, way: 'online', kd: both })
    );
    add(
      'intermediate',
      `cut ${p.cut.encoderLayers}-${p.cut.decoderLayers}`,
      'online + hidden + attention',
      await seeds(p, data, files, 'cut-online-inter', { spec: cut, way: 'online', kd: both })
    );
    for (const [id, kd] of Object.entries({ hidden: { intermediate: { hidden: 1 } }, attention: { intermediate: { attention: 1 } } })) {
      add(
        'intermediate',
        'transformer 3-1 (scratch)',
        `online + ${id} only`,
        [await studentRun(p, data, files, `scratch-online-${id}-s1`, { spec: scratch, way: 'online', seed: 1, kd })],
        'one seed'
      );
    }
  }
  if (p.only.has('knobs')) {
    /** @type {Array<[string, string, string, object, object?]>} id, label, way, kd, training */
    const knobs = [
      // Offline first: these decide offline KD's default temperature.
      ['off-T1', 'offline top-8, T = 1', 'offline', { temperature: 1 }],
      ['off-k32', 'offline top-32', 'offline', { topK: 32, cacheFile: path.join(p.run, 'teacher-top32.cache') }],
      ['T4', 'online, T = 4', 'online', { temperature: 4 }],
      ['a25', 'online, alpha 0.25', 'online', { alpha: 0.25 }],
      ['a90', 'online, alpha 0.9', 'online', { alpha: 0.9 }],
      ['ls0', 'online, no label smoothing', 'online', {}, { labelSmoothing: 0 }],
    ];
    // Renormalised over its top 8 at T = 2, the teacher's softened distribution loses most of its mass (its
    // entropy at T = 2 is several nats), so offline KD at T = 2 asks for a far sharper student than online KD
    // does; the BiGRU learned less with it than without a teacher. T = 1 keeps most of the mass in the top 8.
    add(
      'knobs',
      bigruAt(p, 1),
      'offline top-8, T = 1',
      [await studentRun(p, data, files, 'bigru-off-T1-s1', { spec: bigru, way: 'offline', seed: 1, kd: { temperature: 1 } })],
      'one seed'
    );
    // Against online KD's seed 1 (its lowest of three), T = 1 gained 1.9 and the alpha schedule 2.7: every seed
    // for both, to decide the defaults. Over three seeds T = 1 was within the spread, so T stays 2.
    add(
      'knobs',
      'transformer 3-1 (scratch)',
      'online, T = 1',
      await seeds(p, data, files, 'scratch-T1', { spec: scratch, way: 'online', kd: { temperature: 1 } })
    );
    const schedule = { alpha: 0.9, alphaSchedule: { to: 0.1, steps: p.student.updates } };
    add(
      'knobs',
      'transformer 3-1 (scratch)',
      'online, alpha 0.9 → 0.1 over the run',
      await seeds(p, data, files, 'scratch-asched', { spec: scratch, way: 'online', kd: schedule })
    );
    for (const [id, label, way, kd, training] of knobs) {
      add(
        'knobs',
        'transformer 3-1 (scratch)',
        label,
        [await studentRun(p, data, files, `scratch-${id}-s1`, { spec: scratch, way, seed: 1, kd, training })],
        'one seed'
      );
    }
  }
  if (p.only.has('bigru')) {
    const base = await studentRun(p, data, files, 'bigru-ce-s1', { spec: bigru, way: 'ce', seed: 1 });
    const helped = {};
    const helpedTraining = {};
    let allDone = Boolean(base);
    for (const v of bigruVariants(p)) {
      const r =
        base &&
        (await studentRun(p, data, files, `bigru-${v.id}-ce-s1`, { spec: { ...bigru, ...v.change }, way: 'ce', seed: 1, training: v.training }));
      if (!r) {
        allDone = false;
        continue;
      }
      add('bigru', `BiGRU: ${v.label}`, WAYS.ce.label, [r], `one seed; default ${base.test.beam5.bleu.toFixed(2)}`);
      if (r.test.beam5.bleu > base.test.beam5.bleu + 0.3) Object.assign(v.change ? helped : helpedTraining, v.change ?? v.training);
    }
    const changes = [
      ...Object.keys(helped).map((k) => `${k} ${JSON.stringify(helped[k])}`),
      ...(helpedTraining.optimizer ? [`lr ${helpedTraining.optimizer.lr}`] : []),
    ];
    // Only a change of the model is trained again here: the main grid already has the default BiGRU at both
    // learning rates, every way and seed.
    if (allDone && Object.keys(helped).length > 0) {
      const best = { ...bigru, ...helped };
      const label = `BiGRU with ${changes.join(', ')}`;
      for (const way of ['ce', 'sequence'])
        add('bigru', label, WAYS[way].label, await seeds(p, data, files, `bigru-best-${way}`, { spec: best, way, training: helpedTraining }));
    }
  }

  if (p.only.has('long')) {
    // Whether 1,000 updates, rather than the way of teaching, hold the cut and the BiGRU back: each again with
    // sequence-level KD (the cut's best way at 1,000), four times as long. One seed.
    const updates = 4 * p.student.updates;
    const long = { maxSteps: updates, validateEvery: updates };
    add(
      'long',
      bigruAt(p, 2),
      `sequence-level KD, ${updates} updates`,
      [
        await studentRun(p, data, files, 'bigru-lr2-sequence-long-s1', {
          spec: bigru,
          way: 'sequence',
          seed: 1,
          training: { ...bigruLr2(p), ...long },
        }),
      ],
      'one seed'
    );
    add(
      'long',
      `cut ${p.cut.encoderLayers}-${p.cut.decoderLayers}`,
      `sequence-level KD, ${updates} updates`,
      [await studentRun(p, data, files, 'cut-sequence-long-s1', { spec: cut, way: 'sequence', seed: 1, training: long })],
      'one seed'
    );
    // The BiGRU's long run with sequence-level KD came within 2 BLEU of the teacher: the same length without a
    // teacher says how much of that is KD and how much is length.
    add(
      'long',
      bigruAt(p, 2),
      `no teacher, ${updates} updates`,
      [await studentRun(p, data, files, 'bigru-lr2-ce-long-s1', { spec: bigru, way: 'ce', seed: 1, training: { ...bigruLr2(p), ...long } })],
      'one seed'
    );
  }

  return groups;
}

async function main() {
  const p = options();
  fs.mkdirSync(path.join(p.run, 'models'), { recursive: true });
  const started = Date.now();
  log(`quality run v2 (${p.preset}) in ${path.relative(process.cwd(), p.run) || '.'}`);
  const data = await corpus(p);
  log(`corpus: ${data.info.counts.train} train / ${data.info.counts.valid} valid / ${data.info.counts.test} test pairs`);
  const files = { cache: path.join(p.run, 'teacher-topk.cache'), sequences: path.join(p.run, 'sequence-kd.jsonl') };
  if (p.reportOnly && !finished(p, 'teacher')) {
    log('the teacher has not finished training and testing yet: nothing to report');
    return;
  }
  const teacher = await teacherStage(p, data);
  files.teacher = teacher.file;
  const teacherScore = await score(p, 'teacher', teacher.file, data);
  const mass = await teacherMass(p, data, files);
  // Every question gets one seed's answer before any gets its other seeds: a run stopped part-way (this grid is
  // hours on 2 cores) has then compared every model and way once. Runs already done are only read back.
  if (!p.reportOnly && p.seeds.length > 1) await grid({ ...p, seeds: p.seeds.slice(0, 1) }, data, files);
  const groups = await grid(p, data, files);
  // The finished full grid ends with the interleaved speed rounds (minutes, against hours of training); a part
  // run with --only does not, so parts run one after another re-measure once, at the end.
  if (p.speed || (!p.reportOnly && p.preset !== 'quick' && p.wholeGrid)) await measureSpeed(p, data, groups);
  const body = report(p, data, teacher, teacherScore, groups, readSpeed(p), mass);
  fs.writeFileSync(path.join(p.run, 'results.md'), body + '\n');
  console.log(`\n${body}\n`);
  // A run under way (--report) is written too, marked as partial, so BENCHMARKS.md never shows an older setting.
  const heading =
    p.preset === 'gpu' ? '## Quality run on a GPU (`npm run bench:quality -- --device cuda`)' : '## Quality run (`npm run bench:quality`)';
  const partial = p.reportOnly ? '\n\n**Partial**: the runs finished so far; the grid continues with `npm run bench:quality` (resumable).' : '';
  if (p.preset !== 'quick') writeSection(p.preset === 'gpu' ? 'quality-gpu' : 'quality', `${heading}${partial}\n\n${body}`);
  log(`done in ${((Date.now() - started) / 60000).toFixed(1)} min (this call); run folder ${p.run}`);
}

const SPEED_ROUNDS = 5;

/**
 * --speed: beam-5 and greedy speed of the teacher and of each group's first finished run, measured in
 * interleaved rounds (teacher, student, student, ..., then again) with nothing else training, over the whole
 * test set. The per-run speeds are taken at the end of each training run, at different times and under
 * whatever else ran then; these give the table's speed columns and the speed-up findings when present.
 */
async function measureSpeed(p, data, groups) {
  const { tokenizer } = await loadTrainingData(data.dir);
  const names = ['teacher', ...new Set(groups.map((g) => g.runs[0].name))];
  const models = new Map();
  for (const name of names) models.set(name, (await loadModel(path.join(p.run, 'models', `${name}.safetensors`))).eval());
  const base = {
    sources: data.test.map((x) => x.src),
    references: data.test.map((x) => x.tgt),
    tokenizer,
    batchSize: 32,
    ...(p.device ? { device: p.device } : {}),
  };
  const seen = Object.fromEntries(names.map((n) => [n, { beam5: [], greedy: [] }]));
  for (let round = 1; round <= SPEED_ROUNDS; round++) {
    for (const name of names) {
      for (const beamSize of [5, 1]) {
        const r = await evaluateTranslation(models.get(name), { ...base, beamSize });
        seen[name][beamSize === 5 ? 'beam5' : 'greedy'].push(r.sentencesPerSecond);
      }
    }
    log(`speed round ${round}/${SPEED_ROUNDS}: teacher beam 5 ${seen.teacher.beam5[round - 1].toFixed(1)} sent/s`);
  }
  const out = { rounds: SPEED_ROUNDS, measuredAt: new Date().toISOString(), models: seen };
  fs.writeFileSync(path.join(p.run, 'speed.json'), JSON.stringify(out, null, 1) + '\n');
  return out;
}

function readSpeed(p) {
  const file = path.join(p.run, 'speed.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
}

/** `ref`'s runs with the seeds of `g`'s, in order; undefined when `ref` lacks one. */
function sameSeeds(g, ref) {
  const seedOf = (name) => name.slice(name.lastIndexOf('-s'));
  const same = ref && g.runs.map((r) => ref.runs.find((o) => seedOf(o.name) === seedOf(r.name)));
  return same && same.every(Boolean) ? same : undefined;
}

/** Mean test BLEU of `runs` minus that of `refRuns`, and whether the gap exceeds the larger seed spread. */
function gap(runs, refRuns) {
  const x = runs.map((r) => r.test.beam5.bleu);
  const y = refRuns.map((r) => r.test.beam5.bleu);
  const d = mean(x) - mean(y);
  const verdict = x.length < 2 ? 'one seed' : Math.abs(d) > Math.max(std(x), std(y)) ? (d > 0 ? 'helps' : 'hurts') : "within the seeds' spread";
  return { d, verdict, signed: `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(2)}` };
}

/** The table (mean ± std over seeds) and the findings, computed from the numbers. */
function report(p, data, teacher, t, groups, measured, mass) {
  const f = (x, d = 1) => x.toFixed(d);
  // Sentences/s: the interleaved medians (--speed) where they cover a model, else the mean of the runs' own
  // end-of-run measurements (marked †), each against the teacher's of the same kind.
  const interleaved = (name) =>
    measured?.models[name] && { beam5: median(measured.models[name].beam5), greedy: median(measured.models[name].greedy), interleaved: true };
  const teacherRate = interleaved('teacher') ?? { beam5: t.beam5.sentencesPerSecond, greedy: t.greedy.sentencesPerSecond, interleaved: false };
  const speedOf = (g) => {
    const own = interleaved(g.runs[0].name) ?? {
      beam5: mean(g.runs.map((x) => x.test.beam5.sentencesPerSecond)),
      greedy: mean(g.runs.map((x) => x.test.greedy.sentencesPerSecond)),
      interleaved: false,
    };
    const teacherOf = own.interleaved ? teacherRate : { beam5: t.beam5.sentencesPerSecond, greedy: t.greedy.sentencesPerSecond };
    return { ...own, t5: teacherOf.beam5, tg: teacherOf.greedy };
  };
  const dagger = (x) => (x.interleaved ? '' : ' †');
  const ms = (xs, d = 1) => (xs.length > 1 ? `${f(mean(xs), d)} ± ${f(std(xs), d)}` : f(xs[0], d));
  const lines = [
    '| part | model | trained how | seeds | beam-5 BLEU | beam-5 chrF | greedy BLEU | parameters | size MB | beam-5 sent/s (× teacher) | greedy sent/s (× teacher) | training s |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| teacher | ${p.teacher.encoderLayers}-${p.teacher.decoderLayers} × ${p.teacher.embDim} | ${teacher.training.steps} updates, stopped by ${teacher.training.stoppedBy} | 1 | ${f(t.beam5.bleu)} | ${f(t.beam5.chrf)} | ${f(t.greedy.bleu)} | ` +
      `${f(t.parameters / 1e6)}M | ${f(t.bytes / 2 ** 20)} | ${f(teacherRate.beam5)}${dagger(teacherRate)} | ${f(teacherRate.greedy)}${dagger(teacherRate)} | ${f(teacher.training.seconds, 0)} |`,
  ];
  for (const g of groups) {
    const r = g.runs;
    const b5 = r.map((x) => x.test.beam5.bleu);
    const sp = speedOf(g);
    lines.push(
      `| ${g.part} | ${g.model} | ${g.way} | ${r.length} | ${ms(b5, 2)} | ${ms(r.map((x) => x.test.beam5.chrf))} | ${ms(r.map((x) => x.test.greedy.bleu))} | ` +
        `${f(r[0].test.parameters / 1e6)}M | ${f(r[0].test.bytes / 2 ** 20)} | ${f(sp.beam5)} (${f(sp.beam5 / sp.t5, 2)}×)${dagger(sp)} | ${f(sp.greedy)} (${f(sp.greedy / sp.tg, 2)}×)${dagger(sp)} | ` +
        `${f(mean(r.map((x) => x.training.seconds)), 0)} |`
    );
  }
  // Findings: each KD way against the same model's no-teacher runs, as a difference of means with the seeds' spread.
  const findings = [];
  for (const model of [...new Set(groups.filter((g) => g.part !== 'knobs').map((g) => g.model))]) {
    const mine = groups.filter((g) => g.model === model && g.part !== 'knobs');
    const base = mine.find((g) => g.way === WAYS.ce.label);
    if (!base) continue;
    const baseBleu = mean(base.runs.map((x) => x.test.beam5.bleu));
    for (const g of mine.filter((x) => x !== base)) {
      const seedsWord = `seed${g.runs.length > 1 ? 's' : ''}`;
      if (g.part === 'intermediate') {
        // Intermediate-layer KD is added on top of online KD: its effect is against online KD with the same seeds.
        const same = sameSeeds(
          g,
          mine.find((o) => o.part !== 'intermediate' && o.way === WAYS.online.label)
        );
        if (same)
          findings.push(
            `- ${model}, ${g.way}: ${gap(g.runs, same).signed} BLEU against online KD alone with the same ${seedsWord} (${gap(g.runs, same).verdict})`
          );
      }
      // A long KD run against the same model's long run without a teacher, when there is one: the same length.
      const longBase =
        g.part === 'long' && !g.way.startsWith(WAYS.ce.label) && mine.find((o) => o.part === 'long' && o.way.startsWith(WAYS.ce.label));
      const sameLength = longBase && sameSeeds(g, longBase);
      if (sameLength)
        findings.push(
          `- ${model}, ${g.way}: ${gap(g.runs, sameLength).signed} BLEU against no teacher for as many updates (${gap(g.runs, sameLength).verdict})`
        );
      const { signed, verdict } = gap(g.runs, base.runs);
      findings.push(`- ${model}, ${g.way}: ${signed} BLEU against no teacher (${f(baseBleu, 2)}) — ${verdict}`);
    }
  }
  // A knob changes one setting of online or offline KD: its effect is against that way's default, same seeds.
  for (const g of groups.filter((x) => x.part === 'knobs')) {
    const way = g.way.startsWith('offline') ? WAYS.offline.label : WAYS.online.label;
    const ref = groups.find((o) => o.part === 'main' && o.model === g.model && o.way === way);
    const same = sameSeeds(g, ref);
    if (!same) continue;
    const { signed, verdict } = gap(g.runs, same);
    findings.push(
      `- knob, ${g.model}, ${g.way}: ${signed} BLEU against ${way} as in the main grid, same seed${g.runs.length > 1 ? 's' : ''} (${verdict})`
    );
  }
  const best = groups
    .filter((g) => g.part !== 'knobs')
    .map((g) => {
      const sp = speedOf(g);
      return { g, bleu: mean(g.runs.map((r) => r.test.beam5.bleu)), speedup: sp.beam5 / sp.t5, interleaved: sp.interleaved };
    });
  for (const kind of ['cut', 'BiGRU']) {
    const mine = best.filter((x) => x.g.model.startsWith(kind));
    if (mine.length === 0) continue;
    // A mean over seeds before one seed's luck: the best of the groups with the most seeds.
    const most = Math.max(...mine.map((x) => x.g.runs.length));
    const top = mine.filter((x) => x.g.runs.length === most).reduce((a, b) => (b.bleu > a.bleu ? b : a));
    findings.push(
      `- best ${kind}: ${top.g.model}, ${top.g.way}: ${f((100 * top.bleu) / t.beam5.bleu, 1)} % of the teacher's beam-5 BLEU at ${f(top.speedup, 2)}× its beam-5 speed${top.interleaved ? ' (interleaved medians)' : ' (end-of-run speeds †)'}`
    );
  }
  const pct = (x) => `${f(100 * x, 1)} %`;
  findings.push(
    `- the teacher's top ${mass.k} hold ${pct(mass.T1.topKMass)} of its probability at T = 1 (entropy ${f(mass.T1.entropyNats, 2)} nats) and ` +
      `${pct(mass[`T${KD.temperature}`].topKMass)} at T = ${KD.temperature} (${f(mass[`T${KD.temperature}`].entropyNats, 2)} nats), over the target tokens of ${mass.pairs} training pairs; ` +
      'offline top-k KD renormalises the teacher over those k'
  );
  const s = p.student;
  return [
    `Data: gettext catalogs of this machine, English → ${p.lang} (${data.info.source}), messages up to ${p.data.maxChars} characters, split once (seed 0): ` +
      `${data.info.counts.train} training pairs, ${data.info.counts.valid} valid, ${data.info.counts.test} test; SentencePiece unigram, ${p.data.vocabSize} pieces. ` +
      `Teacher: ${p.teacher.encoderLayers}-${p.teacher.decoderLayers} transformer × ${p.teacher.embDim}, ${p.teacher.nHeads} heads, dropout ${p.teacher.dropout}, ` +
      `lr ${p.teacherTraining.lr} (inverse sqrt, warm-up ${p.teacherTraining.warmup}), early stopping on greedy valid BLEU (${p.validSentences} sentences, every ${p.teacherTraining.validateEvery} updates, patience ${p.teacherTraining.patience}). ` +
      `Students: ${s.updates} updates each on the same batches (≤ ${s.maxTokens} padded tokens), lr ${s.lr} (warm-up ${s.warmup}), label smoothing ${KD.labelSmoothing}; ` +
      `KD defaults alpha ${KD.alpha}, T ${KD.temperature}, offline top-${KD.topK} (at T ${KD.temperature}, but T ${DISTILL_DEFAULTS.offlineTemperature} for the BiGRU at 2× lr, as the knobs decided), sequence-level targets from the teacher's beam ${KD.seqBeam}. ` +
      `Transformer from scratch: ${p.scratch.encoderLayers}-${p.scratch.decoderLayers} × ${p.scratch.embDim}; BiGRU ${p.bigru.embDim}/${p.bigru.hiddenSize}, Luong attention, tied output layer. ` +
      `Test: ${data.test.length} sentences, corpus BLEU (13a) and chrF; speed in batches of 32 with tokenization. Seeds ${p.seeds.join(', ')}: mean ± sample standard deviation.`,
    '',
    `Machine: ${machineLine(version(), { 'CPU allocator': allocatorInfo().cpu })}${p.device ? `; device ${p.device}${p.precision ? `, ${p.precision}` : ''}` : ''}.`,
    '',
    ...lines,
    '',
    measured
      ? `Speed: median of ${measured.rounds} interleaved rounds (teacher and each group's first run in turn, nothing else training; \`--speed\`, ${measured.measuredAt.slice(0, 10)}); † marks rows measured once at the end of their training run instead.`
      : 'Speed † : measured once at the end of each training run, at different times and loads (`--speed` re-measures them interleaved).',
    '',
    ...findings,
  ].join('\n');
}

/** Where a quality run keeps what the speed benches read (bench/quality-speed.js, bench/fast-inference.js). */
const DEFAULT_RUN = path.join(ROOT, 'runs', 'quality-v2', 'full-de');
const runFiles = (run) => ({ data: path.join(run, 'data'), tokenizer: path.join(run, 'data', 'tokenizer.model'), models: path.join(run, 'models') });

module.exports = { WAYS, DEFAULT_RUN, runFiles };

if (require.main === module) runMain(main);
