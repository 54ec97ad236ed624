#!/usr/bin/env node
// Quality run: what distillation buys on real text. On the machine's gettext catalogs (English -> German by
// default): held-out valid/test splits, a SentencePiece tokenizer, a teacher trained for a stated time, then
// a 6-1 cut student and a BiGRU student, each trained for the same number of updates four ways: no teacher
// (plain cross-entropy), word-level KD online, word-level KD offline (top-k cache) and sequence-level KD.
// Every model is scored on the test split (BLEU and chrF, greedy and beam 5) with its size and decoding
// speed. Everything lands in a run folder; run it again after Ctrl-C and it continues where it stopped.
// The full run writes its table into BENCHMARKS.md (section "quality"); --quick only prints it.
//
// Usage: npm run bench:quality [-- --quick] [--lang de] [--run DIR] [--teacher-minutes M] [--student-steps S]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ROOT, DIST, machineLine, writeSection, runMain } = require('./common');
const {
  Teacher, loadModel, readDataInfo, readSplit, prepareData, trainTokenizer, trainTeacher, distillStudent, loadTrainingData, stage,
  buildTeacherCache, distillSequences, evaluateTranslation, inverseSqrt, version, allocatorInfo,
} = require(DIST);

/** Sizes of the two presets: the full run (about an hour on 2 cores) and a smoke run (a few minutes). */
const PRESETS = {
  full: {
    maxPairs: undefined, valid: 500, test: 1000, vocabSize: 8000,
    teacher: { embDim: 256, nHeads: 4, encoderLayers: 6, decoderLayers: 6, dropout: 0.1, attentionDropout: 0.1 },
    // The top decoder layer: its output is what the tied projection reads (layer 0 alone left the student
    // ignoring its source after 400 updates). Also 'spread''s pick for one layer now; named for clarity.
    cut: { encoderLayers: 6, decoderLayers: 1, strategy: 'last' },
    bigru: { embDim: 256, hiddenSize: 256, encoderLayers: 1, decoderLayers: 1, dropout: 0.1 },
    teacherMinutes: 15, teacherWarmup: 100, studentSteps: 400, studentWarmup: 50, lr: 1e-3, maxTokens: 2048,
    validEvery: 200, validSentences: 200,
  },
  quick: {
    maxPairs: 3000, valid: 100, test: 200, vocabSize: 1000,
    teacher: { embDim: 64, nHeads: 2, encoderLayers: 2, decoderLayers: 2, dropout: 0.1, attentionDropout: 0.1 },
    cut: { encoderLayers: 2, decoderLayers: 1, strategy: 'last' },
    bigru: { embDim: 64, hiddenSize: 64, encoderLayers: 1, decoderLayers: 1, dropout: 0.1 },
    teacherMinutes: 1, teacherWarmup: 50, studentSteps: 30, studentWarmup: 10, lr: 2e-3, maxTokens: 2048,
    validEvery: 50, validSentences: 50,
  },
};
const WAYS = [
  { id: 'ce', label: 'no teacher (cross-entropy)', short: 'no teacher' },
  { id: 'online', label: 'word-level KD, online', short: 'online KD' },
  { id: 'offline', label: 'word-level KD, offline top-8 cache', short: 'offline KD' },
  { id: 'sequence', label: 'sequence-level KD (teacher beam 5)', short: 'sequence KD' },
];
const KD = { alpha: 0.5, temperature: 2, topK: 8, labelSmoothing: 0.1, seqBeam: 5 };

function options(argv) {
  const flag = (name) => argv.includes(name);
  const value = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const preset = flag('--quick') ? 'quick' : 'full';
  const p = { ...PRESETS[preset], preset, lang: value('--lang') ?? 'de' };
  if (value('--teacher-minutes') !== undefined) p.teacherMinutes = Number(value('--teacher-minutes'));
  if (value('--student-steps') !== undefined) p.studentSteps = Number(value('--student-steps'));
  if (!(p.teacherMinutes > 0) || !(Number.isInteger(p.studentSteps) && p.studentSteps > 0)) {
    throw new Error('--teacher-minutes must be > 0 and --student-steps a whole number > 0');
  }
  p.run = path.resolve(value('--run') ?? path.join(ROOT, 'runs', 'quality', `${preset}-${p.lang}`));
  return p;
}

const log = (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** The data folder: cleaned gettext pairs split once into train / valid / test; later runs read it back. */
async function corpus(p) {
  const dir = path.join(p.run, 'data');
  if (!fs.existsSync(path.join(dir, 'data.json'))) {
    await prepareData({ out: dir, tgtLang: p.lang, valid: p.valid, test: p.test, maxPairs: p.maxPairs, seed: 0 });
  }
  if (!fs.existsSync(path.join(dir, 'tokenizer.model'))) {
    log(`tokenizer: SentencePiece unigram, ${p.vocabSize} pieces, on the training pairs (both sides)`);
    await trainTokenizer({ data: dir, out: path.join(dir, 'tokenizer.model'), vocabSize: p.vocabSize });
  }
  const info = readDataInfo(dir);
  return { dir, info, catalogs: info.source, test: await readSplit(dir, 'test') };
}

/** Training options every run shares (the loss knobs not named here are the library's defaults). */
function training(p, name, warmup) {
  return {
    optimizer: { lr: p.lr }, schedule: inverseSqrt({ lr: p.lr, warmupUpdates: warmup }), batching: { maxTokens: p.maxTokens },
    labelSmoothing: KD.labelSmoothing, seed: 0, logEvery: 25, validateEvery: p.validEvery, log: (l) => log(`${name}: ${l}`),
  };
}

const summary = (r) => ({ steps: r.steps, epochs: r.epoch, seconds: r.seconds, tokens: r.tokens, validBleu: r.lastValidation?.bleu });

async function teacherStage(p, data) {
  const out = path.join(p.run, 'models', 'teacher.safetensors');
  const { value } = await stage(p.run, 'train-teacher', async () => {
    log(`teacher: ${p.teacher.encoderLayers}-${p.teacher.decoderLayers} transformer, ${p.teacher.embDim} wide, ${p.teacherMinutes} min of training`);
    const r = await trainTeacher({
      data: data.dir, run: path.join(p.run, 'teacher'), out, model: p.teacher,
      training: { ...training(p, 'teacher', p.teacherWarmup), maxSeconds: p.teacherMinutes * 60 }, valid: { sentences: p.validSentences },
    });
    return summary(r.result);
  });
  return { file: out, training: value };
}

/** What the teacher does once for a distillation way, timed: the top-k cache or its translations. */
async function teacherWork(p, way, teacherFile, data, files) {
  if (way !== 'offline' && way !== 'sequence') return undefined;
  return (await stage(p.run, `teacher-${way}`, async () => {
    const teacher = await Teacher.load(teacherFile);
    const { train, tokenizer } = await loadTrainingData(data.dir);
    const started = process.hrtime.bigint();
    const progress = (what) => (done, total) => done % 3200 < 32 && log(`${what}: ${done}/${total}`);
    if (way === 'offline') {
      await buildTeacherCache({ teacher, pairs: train, k: KD.topK, tokenizer: tokenizer.serialize(), file: files.cache, onProgress: progress('offline KD cache') });
    } else {
      await distillSequences(teacher, train.map((x) => x.src), { beamSize: KD.seqBeam, batchSize: 64, out: files.sequences, onProgress: progress('sequence-level KD') });
    }
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, bytes: fs.statSync(way === 'offline' ? files.cache : files.sequences).size };
  })).value;
}

async function studentStage(p, kind, way, teacherFile, data, files) {
  const name = `${kind}-${way}`;
  const out = path.join(p.run, 'models', `${name}.safetensors`);
  const prep = await teacherWork(p, way, teacherFile, data, files);
  const { value } = await stage(p.run, `train-${name}`, async () => {
    log(`${name}: ${p.studentSteps} updates, ${WAYS.find((w) => w.id === way).label}`);
    const r = await distillStudent({
      teacher: teacherFile, student: kind === 'cut' ? { kind: 'cut', ...p.cut } : { kind: 'bigru', ...p.bigru }, data: data.dir,
      run: path.join(p.run, name), out, mode: way === 'ce' ? 'none' : way,
      kd: { alpha: way === 'sequence' ? 0 : KD.alpha, temperature: KD.temperature, topK: KD.topK, cacheFile: files.cache, sequenceFile: files.sequences, sequenceDecoding: { beamSize: KD.seqBeam } },
      training: { ...training(p, name, p.studentWarmup), maxSteps: p.studentSteps }, valid: { sentences: p.validSentences },
    });
    return { ...summary(r.result), prep };
  });
  return { file: out, training: value };
}

/** Test-set BLEU/chrF and speed, greedy and beam 5, with the model's size. */
async function score(p, name, file, tokenizer, test) {
  return (await stage(p.run, `test-${name}`, async () => {
    const model = (await loadModel(file)).eval();
    const base = { sources: test.map((x) => x.src), references: test.map((x) => x.tgt), tokenizer, batchSize: 32 };
    const out = { parameters: model.numParameters(), bytes: fs.statSync(file).size };
    for (const beamSize of [1, 5]) {
      const s = await evaluateTranslation(model, { ...base, beamSize });
      out[beamSize === 1 ? 'greedy' : 'beam5'] = { bleu: s.bleu, chrf: s.chrf, sentencesPerSecond: s.sentencesPerSecond };
      log(`${name}: test ${beamSize === 1 ? 'greedy' : 'beam 5'} BLEU ${s.bleu.toFixed(2)}, chrF ${s.chrf.toFixed(2)}, ${s.sentencesPerSecond.toFixed(1)} sentences/s`);
    }
    return out;
  })).value;
}

function table(p, data, rows, teacherTraining, info) {
  const f = (x, d = 1) => x.toFixed(d);
  const teacher = rows[0];
  const lines = [
    '| model | trained how | parameters | size MB | updates | training s | tokens/s | teacher work s | its file MB | greedy BLEU | greedy chrF | beam 5 BLEU | beam 5 chrF | greedy sent/s | beam 5 sent/s | beam 5 vs teacher |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const t = r.training;
    lines.push(
      `| ${r.model} | ${r.way} | ${f(r.test.parameters / 1e6)}M | ${f(r.test.bytes / 2 ** 20)} | ${t.steps} | ${f(t.seconds, 0)} | ${f(t.tokens / t.seconds, 0)} | ` +
        `${t.prep ? f(t.prep.seconds, 0) : '–'} | ${t.prep ? f(t.prep.bytes / 2 ** 20) : '–'} | ${f(r.test.greedy.bleu)} | ${f(r.test.greedy.chrf)} | ` +
        `${f(r.test.beam5.bleu)} | ${f(r.test.beam5.chrf)} | ${f(r.test.greedy.sentencesPerSecond)} | ${f(r.test.beam5.sentencesPerSecond)} | ` +
        `${f(r.test.beam5.sentencesPerSecond / teacher.test.beam5.sentencesPerSecond, 2)}× |`
    );
  }
  const tc = p.teacher;
  // What the numbers say, computed from them so a rerun cannot leave stale words behind.
  const sign = (x) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;
  const findings = [];
  for (const model of [...new Set(rows.slice(1).map((r) => r.model))]) {
    const mine = rows.filter((r) => r.model === model);
    const base = mine[0].test.beam5.bleu;
    const gains = mine.slice(1).map((r) => `${WAYS.find((w) => w.label === r.way).short} ${sign(r.test.beam5.bleu - base)}`);
    const best = mine.reduce((a, b) => (b.test.beam5.bleu > a.test.beam5.bleu ? b : a));
    findings.push(
      `- ${model}: beam-5 BLEU against no teacher (${f(base)}): ${gains.join('; ')}. Best: ${best.way} at ${f(best.test.beam5.bleu)} BLEU, ` +
        `${f((100 * best.test.beam5.bleu) / teacher.test.beam5.bleu, 0)} % of the teacher's ${f(teacher.test.beam5.bleu)}, decoding ${f(best.test.beam5.sentencesPerSecond / teacher.test.beam5.sentencesPerSecond, 2)}× as fast.`
    );
  }
  return [
    '## Quality run (`npm run bench:quality`)',
    '',
    `Data: the gettext catalogs of this machine, English → ${p.lang} (${data.catalogs}), cleaned by \`loadGettextCorpus\` and split once at random (seed 0): ` +
      `${data.info.counts.train} training pairs, ${data.info.counts.valid} valid, ${data.info.counts.test} test. Tokenizer: SentencePiece unigram, ${p.vocabSize} pieces, trained on the training pairs. ` +
      `Teacher: ${tc.encoderLayers}-${tc.decoderLayers} XLM transformer, ${tc.embDim} wide, ${tc.nHeads} heads, dropout 0.1, trained ${p.teacherMinutes} min ` +
      `(${teacherTraining.steps} updates, ${f(teacherTraining.epochs, 0)} epochs). Students: the ${p.cut.encoderLayers}-${p.cut.decoderLayers} cut of the teacher ` +
      `(layer surgery: all encoder layers and the ${p.cut.strategy === 'last' ? 'top' : p.cut.strategy} decoder layer${p.cut.decoderLayers > 1 ? 's' : ''} are its start) and a BiGRU (${p.bigru.embDim}/${p.bigru.hiddenSize}, ${p.bigru.encoderLayers}+${p.bigru.decoderLayers} layers, Luong attention, from scratch), ` +
      `each trained ${p.studentSteps} updates four ways with the same batches (≤ ${p.maxTokens} padded tokens), Adam (0.9/0.98), lr ${p.lr} (inverse sqrt, warm-up ${p.studentWarmup}), label smoothing ${KD.labelSmoothing}, seed 0: ` +
      `plain cross-entropy; word-level KD online and offline (alpha ${KD.alpha}, T ${KD.temperature}; offline from the teacher's top-${KD.topK} per token); ` +
      `sequence-level KD (the teacher's beam-${KD.seqBeam} translations of the training sources as targets, cross-entropy). ` +
      `Test: ${data.test.length} sentences, sacreBLEU-compatible corpus BLEU (13a) and chrF, batches of 32; "training s" counts the updates only, ` +
      '"teacher work" is the one-off top-k cache or translation pass, and sentences/s includes tokenization.',
    '',
    `Machine: ${machineLine(info, { 'CPU allocator': allocatorInfo().cpu })}.`,
    '',
    ...lines,
    '',
    ...findings,
  ].join('\n');
}

async function main() {
  const p = options(process.argv.slice(2));
  fs.mkdirSync(path.join(p.run, 'models'), { recursive: true });
  const started = Date.now();
  log(`quality run (${p.preset}) in ${path.relative(process.cwd(), p.run) || '.'}`);
  const data = await corpus(p);
  const { counts } = data.info;
  log(`corpus: ${counts.train} train / ${counts.valid} valid / ${counts.test} test pairs`);
  const { tokenizer } = await loadTrainingData(data.dir);
  const files = { cache: path.join(p.run, 'teacher-topk.cache'), sequences: path.join(p.run, 'sequence-kd.jsonl') };
  const teacher = await teacherStage(p, data);
  const rows = [{ model: 'teacher', way: `${p.teacherMinutes} min`, training: teacher.training, test: await score(p, 'teacher', teacher.file, tokenizer, data.test) }];
  for (const kind of ['cut', 'bigru']) {
    for (const way of WAYS) {
      const s = await studentStage(p, kind, way.id, teacher.file, data, files);
      const label = kind === 'cut' ? `${p.cut.encoderLayers}-${p.cut.decoderLayers} cut` : 'BiGRU';
      rows.push({ model: label, way: way.label, training: s.training, test: await score(p, `${kind}-${way.id}`, s.file, tokenizer, data.test) });
    }
  }
  const body = table(p, data, rows, teacher.training, version());
  fs.writeFileSync(path.join(p.run, 'results.md'), body + '\n');
  console.log(`\n${body}\n`);
  if (p.preset === 'full') writeSection('quality', body);
  log(`done in ${((Date.now() - started) / 60000).toFixed(1)} min (this call); run folder ${p.run}`);
}

module.exports = { WAYS };

if (require.main === module) runMain(main);
