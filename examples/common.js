// Shared by the examples (not an example itself): command-line flags, the data every example uses (the
// machine's gettext catalogs, English -> German, with a SentencePiece tokenizer), a small teacher trained in
// seconds when none is given, and a side-by-side evaluation table.
//
// Data: the short UI messages (<= 40 characters) of /usr/share/locale/de/LC_MESSAGES/*.mo, split once with
// seed 0 into train / valid (200) / test (300) by the pipeline's data stage (prepareData). --quick keeps every 12th training pair and a 400-piece
// vocabulary; both forms use the same valid and test pairs, so a teacher from one never saw the other's test.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const util = require('util');
const {
  Teacher,
  SentencePiece,
  train,
  evaluateTranslation,
  inverseSqrt,
  prepareData,
  readDataInfo,
  readSplit,
  tokenizePairs,
  manualSeed,
  setNumThreads,
  version,
} = require('..');

/** Sizes of the two forms: the default (an example in about two minutes) and --quick (seconds). */
const PRESETS = {
  full: {
    name: 'full',
    trainEvery: 1,
    vocabSize: 1000,
    teacher: { embDim: 128, nHeads: 4, encoderLayers: 2, decoderLayers: 2, dropout: 0.1, attentionDropout: 0.1 },
    bigru: { embDim: 128, hiddenSize: 128, encoderLayers: 1, decoderLayers: 1, dropout: 0.1 },
    teacherSteps: 600,
    teacherSeconds: 60,
    studentSteps: 300,
    studentSeconds: 30,
    bigruSteps: 600,
    sequencePairs: 9000,
    lr: 3e-3,
    warmup: 50,
    maxTokens: 1024,
    validSentences: 100,
    testSentences: 300,
    logEvery: 100,
  },
  quick: {
    name: 'quick',
    trainEvery: 12,
    vocabSize: 400,
    teacher: { embDim: 32, nHeads: 2, encoderLayers: 2, decoderLayers: 2, dropout: 0.1, attentionDropout: 0.1 },
    bigru: { embDim: 32, hiddenSize: 32, encoderLayers: 1, decoderLayers: 1, dropout: 0.1 },
    teacherSteps: 30,
    teacherSeconds: 4,
    studentSteps: 15,
    studentSeconds: 3,
    bigruSteps: 15,
    sequencePairs: 600,
    lr: 5e-3,
    warmup: 10,
    maxTokens: 1024,
    validSentences: 20,
    testSentences: 40,
    logEvery: 10,
  },
};

const started = Date.now();

/** The flags of parseArgs, for the examples' usage lines. */
const FLAGS = '[--quick] [--out DIR] [--threads N] [--lang de]';
const TEACHER_FLAGS = '[--teacher FILE [--tokenizer FILE]]';

/** A line with the seconds since the example started. */
function log(line) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);
}

/**
 * Parses the command line: the flags every example takes (--quick, --out DIR, --teacher FILE, --tokenizer FILE,
 * --lang L, --threads N, --help) plus `extra` (util.parseArgs option specs), and positional arguments when allowed.
 * `usage` is printed for --help and bad flags. `trains`: the example trains models (it says what --quick means).
 */
function parseArgs(usage, extra = {}, { positionals = false, trains = true } = {}) {
  let parsed;
  try {
    parsed = util.parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        out: { type: 'string' },
        teacher: { type: 'string' },
        tokenizer: { type: 'string' },
        lang: { type: 'string', default: 'de' },
        threads: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        ...extra,
      },
      allowPositionals: positionals,
    });
  } catch (err) {
    console.error(`${err.message}\n\n${usage}`);
    process.exit(2);
  }
  if (parsed.values.help) {
    console.log(usage);
    process.exit(0);
  }
  // LibTorch's intra-op threads. Models this small gain little from a second thread, and on a busy machine
  // threads that wait for each other lose a lot, so --quick uses one unless told otherwise.
  const threads = parsed.values.threads !== undefined ? Number(parsed.values.threads) : parsed.values.quick ? 1 : undefined;
  if (threads !== undefined) {
    if (!Number.isInteger(threads) || threads < 1) {
      console.error(`--threads must be an integer >= 1, got ${parsed.values.threads}\n\n${usage}`);
      process.exit(2);
    }
    setNumThreads(threads);
  }
  const info = version();
  log(`LibTorch ${info.libtorch}, ${info.threads} thread${info.threads === 1 ? '' : 's'}${info.cuda ? `, CUDA ${info.cudaVersion}` : ''}`);
  if (parsed.values.quick && trains) log('--quick: tiny models and a few updates, so the scores only show that every step runs');
  return { ...parsed.values, positionals: parsed.positionals, preset: PRESETS[parsed.values.quick ? 'quick' : 'full'] };
}

/** The example's output folder: --out DIR, else a new folder under the system's temp directory. */
function outDir(args, name) {
  const dir = args.out ? path.resolve(args.out) : fs.mkdtempSync(path.join(os.tmpdir(), `xlm-kd-${name}-`));
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * English -> args.lang pairs from gettext, split into train / valid / test text pairs (see the header) by the
 * pipeline's data stage, once per --out folder (out/data-LANG, read back by later runs).
 */
async function loadText(args, out) {
  const p = args.preset;
  const dir = path.join(out, `data-${args.lang}`);
  if (!fs.existsSync(path.join(dir, 'data.json'))) await prepareData({ out: dir, tgtLang: args.lang, maxChars: 40, valid: 200, test: 300, seed: 0 });
  const info = readDataInfo(dir);
  const trainText = (await readSplit(dir, 'train')).filter((_, i) => i % p.trainEvery === 0);
  const [valid, test] = [await readSplit(dir, 'valid'), await readSplit(dir, 'test')];
  log(`corpus: ${info.source}, English -> ${args.lang}: ${trainText.length} training pairs, ${valid.length} valid, ${test.length} test`);
  return { dir, train: trainText, valid, test: test.slice(0, p.testSentences) };
}

/**
 * The data of an example: text pairs, a tokenizer (--tokenizer FILE, else tokenizer.model beside --teacher FILE,
 * else out/tokenizer.model from an earlier run with this --out, else trained here on both sides of the training
 * pairs and saved there) and token-id pairs.
 * Returns { text, tok, tokenizerFile, train, valid, test }: `valid` is the trainer's ValidationData (loss and
 * BLEU), `test` holds { sources, references } for evaluateTranslation.
 */
async function loadData(args, out) {
  const text = await loadText(args, out);
  let tokenizerFile = args.tokenizer ?? (args.teacher ? path.join(path.dirname(args.teacher), 'tokenizer.model') : undefined);
  if (!tokenizerFile && fs.existsSync(path.join(out, 'tokenizer.model'))) tokenizerFile = path.join(out, 'tokenizer.model');
  let tok;
  if (tokenizerFile) {
    if (!fs.existsSync(tokenizerFile))
      throw new Error(`no tokenizer at ${tokenizerFile}: pass --tokenizer FILE (the one the teacher was trained with)`);
    tok = SentencePiece.load(tokenizerFile);
    log(`tokenizer: ${tokenizerFile} (${tok.vocabSize} pieces)`);
  } else {
    tokenizerFile = path.join(out, 'tokenizer.model');
    tok = await SentencePiece.train({
      sentences: text.train.flatMap((x) => [x.src, x.tgt]),
      vocabSize: args.preset.vocabSize,
      hardVocabLimit: false,
      numThreads: 1,
      modelPath: tokenizerFile,
    });
    log(`tokenizer: SentencePiece unigram with ${tok.vocabSize} pieces trained on the training pairs -> ${tokenizerFile}`);
  }
  const valid = text.valid;
  return {
    text,
    tok,
    tokenizerFile,
    train: await tokenizePairs(tok, text.train),
    valid: {
      pairs: await tokenizePairs(tok, valid),
      sources: valid.map((x) => x.src),
      references: valid.map((x) => x.tgt),
      tokenizer: tok,
      maxSentences: args.preset.validSentences,
    },
    test: { sources: text.test.map((x) => x.src), references: text.test.map((x) => x.tgt) },
  };
}

/** Options every training run of the examples shares (teacher and students). */
function trainingOptions(args, data, runDir, who) {
  const p = args.preset;
  return {
    data: data.train,
    valid: data.valid,
    runDir,
    batching: { maxTokens: p.maxTokens },
    optimizer: { lr: p.lr },
    schedule: inverseSqrt({ lr: p.lr, warmupUpdates: p.warmup }),
    logEvery: p.logEvery,
    log: (line) => log(`${who}: ${line}`),
    seed: 0,
  };
}

/**
 * The teacher of an example: --teacher FILE (e.g. made by train-teacher.js), else out/teacher.safetensors from an
 * earlier run with this --out, else a small one trained here for a few seconds (--quick) or about a minute and
 * saved there. Returned in eval mode.
 */
async function getTeacher(args, data, out) {
  const file = path.join(out, 'teacher.safetensors');
  const given = args.teacher ?? (fs.existsSync(file) ? file : undefined);
  if (given) {
    const teacher = await Teacher.load(given);
    log(`teacher: ${given} (${(teacher.numParameters() / 1e6).toFixed(2)}M parameters)`);
    if (teacher.vocabSize < data.tok.vocabSize)
      throw new Error(`the teacher has ${teacher.vocabSize} ids but the tokenizer ${data.tok.vocabSize}: pass the teacher's own --tokenizer`);
    return { teacher: teacher.eval(), file: given };
  }
  const p = args.preset;
  manualSeed(0);
  const teacher = Teacher.create({ vocabSize: data.tok.vocabSize, ...p.teacher });
  log(
    `teacher: none given (--teacher FILE), training a ${p.teacher.encoderLayers}+${p.teacher.decoderLayers}-layer, ${p.teacher.embDim}-wide one ` +
      `(${(teacher.numParameters() / 1e6).toFixed(2)}M parameters) for ${p.teacherSteps} updates or ${p.teacherSeconds} s`
  );
  const r = await train(teacher, {
    ...trainingOptions(args, data, path.join(out, 'teacher-run'), 'teacher'),
    maxSteps: p.teacherSteps,
    maxSeconds: p.teacherSeconds,
  });
  await teacher.save(file);
  log(`teacher: ${r.steps} updates in ${r.seconds.toFixed(1)} s, valid BLEU ${fmt(r.lastValidation?.bleu)} -> ${file}`);
  return { teacher: teacher.eval(), file };
}

const fmt = (x, digits = 2) => (typeof x === 'number' ? x.toFixed(digits) : '–');

/**
 * Translates the test sentences with each model (beam `beamSize`) and prints one row per model:
 * `  name  parameters  BLEU x  chrF y  z sent/s  speed-up`. Returns the rows (the first is the reference).
 */
async function compare(models, data, { beamSize = 5 } = {}) {
  const rows = [];
  const width = Math.max(...models.map((m) => m.name.length));
  console.log(`\nTest set: ${data.test.sources.length} sentences, beam ${beamSize}`);
  for (const { name, model } of models) {
    model.eval();
    const s = await evaluateTranslation(model, { ...data.test, tokenizer: data.tok, beamSize, batchSize: 32 });
    const row = {
      name,
      parameters: model.numParameters(),
      bleu: s.bleu,
      chrf: s.chrf,
      sentencesPerSecond: s.sentencesPerSecond,
      hypotheses: s.hypotheses,
    };
    row.speedup = rows.length ? row.sentencesPerSecond / rows[0].sentencesPerSecond : 1;
    rows.push(row);
    console.log(
      `  ${name.padEnd(width)}  ${(row.parameters / 1e6).toFixed(2).padStart(6)}M params  BLEU ${fmt(row.bleu).padStart(6)}  ` +
        `chrF ${fmt(row.chrf).padStart(6)}  ${fmt(row.sentencesPerSecond, 1).padStart(7)} sent/s  ${fmt(row.speedup)}x`
    );
  }
  return rows;
}

/** Runs an example's main() and turns a rejection into a message and exit code 1. */
function run(main) {
  main().then(
    () => log('done'),
    (err) => {
      console.error(err && err.stack ? err.stack : err);
      process.exit(1);
    }
  );
}

module.exports = {
  PRESETS,
  FLAGS,
  TEACHER_FLAGS,
  log,
  fmt,
  parseArgs,
  outDir,
  loadText,
  tokenizePairs,
  loadData,
  trainingOptions,
  getTeacher,
  compare,
  run,
};
