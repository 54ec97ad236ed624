/**
 * The demo: the main job end to end on real text that every Debian machine has (its gettext catalogs,
 * English→German by default) — corpus, tokenizer, a teacher, a student cut from its layers and a BiGRU
 * student both distilled from it, all three evaluated on the held-out test split — ending in one table
 * (BLEU, chrF, parameters, size, decoding speed, speed-up) and a BLEU-against-speed chart. Every stage
 * resumes: run it again after Ctrl-C and it continues. The loss and training knobs it does not name are the
 * library's defaults (LOSS_DEFAULTS, TRAINING_DEFAULTS, CUT_DEFAULTS, BIGRU_DEFAULTS).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SentencePiece } from '../data/sentencepiece';
import { formatComparison, type ModelComparison, plotComparison, scoreModel } from '../eval/compare';
import { writeFileAtomic } from '../io/atomic-write';
import { loadModel } from '../models/load';
import { setNumThreads, version } from '../tensor/runtime';
import { resolveDevice } from '../tensor/device';
import type { Device } from '../tensor/dtype';
import type { TrainingOptions } from '../train/options';
import { inverseSqrt } from '../train/schedule';
import { readDataInfo, readSplit } from './data-folder';
import { PREPARE_DATA_DEFAULTS, prepareData, resolvePrepareData } from './prepare-data';
import { type OptionNamer, OptionReader, optionNames } from '../common/options';
import { stage } from './stage';
import { distillStudent, type StudentSpec } from './student';
import { trainTeacher } from './teacher';
import { trainTokenizer } from './tokenizer';

/** The sizes of one demo run. */
export interface Preset {
  maxPairs?: number;
  /** Longest sentence kept, in characters: short UI messages are learnt in minutes on 2 cores. */
  maxChars: number;
  valid: number;
  test: number;
  vocabSize: number;
  teacher: { encoderLayers: number; decoderLayers: number; embDim: number; nHeads: number; dropout: number };
  bigru: { embDim: number; hiddenSize: number };
  minutes: number;
  maxTokens: number;
  lr: number;
  warmup: number;
  validSentences: number;
}

/** The two sizes of the demo: the full run (about 10 minutes on 2 cores) and --quick (about 1). */
export const DEMO_PRESETS: Readonly<Record<'full' | 'quick', Readonly<Preset>>> = {
  full: {
    maxChars: 40,
    valid: 300,
    test: 500,
    vocabSize: 1000,
    teacher: { encoderLayers: 4, decoderLayers: 4, embDim: 128, nHeads: 4, dropout: 0.1 },
    bigru: { embDim: 128, hiddenSize: 128 },
    minutes: 8,
    maxTokens: 1024,
    lr: 3e-3,
    warmup: 50,
    validSentences: 150,
  },
  quick: {
    maxChars: 40,
    maxPairs: 2000,
    valid: 50,
    test: 100,
    vocabSize: 600,
    teacher: { encoderLayers: 2, decoderLayers: 2, embDim: 64, nHeads: 2, dropout: 0.1 },
    bigru: { embDim: 64, hiddenSize: 64 },
    minutes: 0.5,
    maxTokens: 1024,
    lr: 3e-3,
    warmup: 20,
    validSentences: 30,
  },
};

/** What {@link demo} takes. */
export interface DemoOptions {
  /** A smaller, faster run (a tiny teacher, 2000 pairs, half a minute of training in all). */
  quick?: boolean;
  /** Source language (default en). */
  srcLang?: string;
  /** Target language, a gettext locale of this machine (default de). */
  tgtLang?: string;
  /** The run folder; running again continues it (default runs/demo-[quick-]SRC-TGT). */
  run?: string;
  /** Training minutes in all (teacher 60 %, each student 20 %). */
  minutes?: number;
  /** LibTorch's intra-op threads (default: LibTorch's). */
  threads?: number;
  /** Where the models train and decode (default cpu). */
  device?: Device;
  /** Stage lines (default console.log). */
  log?: (line: string) => void;
}

/** What the demo found. */
export interface DemoResult {
  /** The run folder (absolute). */
  run: string;
  /** One row per model: teacher, cut student, BiGRU student. */
  rows: ModelComparison[];
  /** The rows as a text table. */
  table: string;
  /** Path of the BLEU-against-speed chart (SVG). */
  plot: string;
  /** Test sentences, languages and decoding settings the table is about. */
  about: string;
}

/** Checks the demo's options (the CLI names its flags through `names`); the language pair as prepareData checks it. */
export function checkDemoOptions(where: string, o: DemoOptions, names: OptionNamer = optionNames): void {
  const r = new OptionReader(where, o, ['quick', 'srcLang', 'tgtLang', 'run', 'minutes', 'threads', 'device', 'log'], names);
  r.boolean('quick', false);
  r.number('minutes', undefined, { min: 0, above: true });
  r.integer('threads', undefined, 1);
  if (o.device !== undefined) resolveDevice(where, o.device, 'device', names);
  resolvePrepareData(where, { out: '-', srcLang: o.srcLang, tgtLang: o.tgtLang }, names);
}

/** Runs (or resumes) the demo; resolves when the table is ready. */
export async function demo(o: DemoOptions = {}): Promise<DemoResult> {
  checkDemoOptions('demo', o);
  const p = DEMO_PRESETS[o.quick ? 'quick' : 'full'];
  const srcLang = o.srcLang ?? PREPARE_DATA_DEFAULTS.srcLang;
  const tgtLang = o.tgtLang ?? PREPARE_DATA_DEFAULTS.tgtLang;
  const run = path.resolve(o.run ?? path.join('runs', `demo-${o.quick ? 'quick-' : ''}${srcLang}-${tgtLang}`));
  const minutes = o.minutes ?? p.minutes;
  const log = o.log ?? ((l: string) => console.log(l));
  if (o.threads !== undefined) setNumThreads(o.threads);
  const started = Date.now();
  const STAGES = 6;
  const header = (i: number, what: string) => log(`\n[${i}/${STAGES}] ${what}  (${((Date.now() - started) / 1000).toFixed(0)} s in)`);
  fs.mkdirSync(path.join(run, 'models'), { recursive: true });
  log(`xlm-kd demo: ${srcLang} -> ${tgtLang}, run folder ${run}${fs.existsSync(path.join(run, 'data', 'data.json')) ? ' (continuing)' : ''}`);

  const dataDir = path.join(run, 'data');
  header(
    1,
    `corpus: gettext catalogs (messages of at most ${p.maxChars} characters), cleaned and split into train / ${p.valid} valid / ${p.test} test`
  );
  const info = fs.existsSync(path.join(dataDir, 'data.json'))
    ? readDataInfo(dataDir)
    : await prepareData({ out: dataDir, srcLang, tgtLang, valid: p.valid, test: p.test, maxPairs: p.maxPairs, maxChars: p.maxChars });
  log(`${info.counts.train} training pairs from ${info.source}`);

  const tokPath = path.join(dataDir, 'tokenizer.model');
  header(2, `tokenizer: SentencePiece unigram, ${p.vocabSize} pieces, both sides`);
  const tokenizer = fs.existsSync(tokPath)
    ? SentencePiece.load(tokPath)
    : (await trainTokenizer({ data: dataDir, out: tokPath, vocabSize: p.vocabSize })).tokenizer;
  log(`${tokenizer.vocabSize} pieces in ${tokPath}`);

  const training = (share: number): Omit<TrainingOptions, 'data'> => ({
    maxSeconds: minutes * 60 * share,
    batching: { maxTokens: p.maxTokens, seed: 0 },
    optimizer: { lr: p.lr, betas: [0.9, 0.98] },
    schedule: inverseSqrt({ lr: p.lr, warmupUpdates: p.warmup }),
    seed: 0,
    handleSignals: true,
    device: o.device,
  });
  const valid = { sentences: p.validSentences, beam: 1 };
  const files = {
    teacher: path.join(run, 'models', 'teacher.safetensors'),
    cut: path.join(run, 'models', 'student-cut.safetensors'),
    bigru: path.join(run, 'models', 'student-bigru.safetensors'),
  };
  const t = p.teacher;

  header(3, `teacher: ${t.encoderLayers}-${t.decoderLayers} transformer, ${t.embDim} wide, ${(minutes * 0.6).toFixed(1)} min of training`);
  const teacherDone = await stage(run, 'teacher.done', async () => {
    const r = await trainTeacher({ data: dataDir, run: path.join(run, 'teacher'), out: files.teacher, model: t, training: training(0.6), valid });
    return { steps: r.result.steps, seconds: r.result.seconds, best: r.result.best };
  });
  log(`teacher: ${teacherDone.value.steps} updates${teacherDone.cached ? ' (done earlier)' : ''}`);

  const students: Array<{ name: string; file: string; spec: StudentSpec; what: string }> = [
    {
      name: 'cut',
      file: files.cut,
      spec: { kind: 'cut' },
      what: `cut student: the teacher's ${t.encoderLayers} encoder layers and its top decoder layer, online KD`,
    },
    {
      name: 'bigru',
      file: files.bigru,
      spec: { kind: 'bigru', ...p.bigru, encoderLayers: 1, decoderLayers: 1 },
      what: `BiGRU student (${p.bigru.embDim}/${p.bigru.hiddenSize}, from scratch), online KD`,
    },
  ];
  for (const [i, s] of students.entries()) {
    header(4 + i, `${s.what}, ${(minutes * 0.2).toFixed(1)} min`);
    const done = await stage(run, `student-${s.name}.done`, async () => {
      const r = await distillStudent({
        teacher: files.teacher,
        student: s.spec,
        data: dataDir,
        run: path.join(run, `student-${s.name}`),
        out: s.file,
        mode: 'online',
        training: training(0.2),
        valid,
      });
      for (const note of r.notes) log(`${s.name} student: ${note}`);
      return { steps: r.result.steps, seconds: r.result.seconds, best: r.result.best };
    });
    log(`${s.name} student: ${done.value.steps} updates${done.cached ? ' (done earlier)' : ''}`);
  }

  const test = await readSplit(dataDir, 'test');
  const decode = { sources: test.map((x) => x.src), references: test.map((x) => x.tgt), tokenizer, beamSize: 5, batchSize: 32, device: o.device };
  header(6, `test: ${test.length} held-out sentences, beam 5, batches of 32, each model in turn`);
  const rows: ModelComparison[] = [];
  for (const [name, file] of [
    ['teacher', files.teacher],
    ['cut student', files.cut],
    ['BiGRU student', files.bigru],
  ] as const) {
    const { value } = await stage(run, `test-${path.basename(file, '.safetensors')}`, async () =>
      scoreModel({ name, model: await loadModel(file), file }, decode)
    );
    value.speedup = rows.length ? value.sentencesPerSecond / rows[0].sentencesPerSecond : 1;
    rows.push(value);
    log(`${name}: BLEU ${value.bleu.toFixed(2)}, chrF ${value.chrf.toFixed(2)}, ${value.sentencesPerSecond.toFixed(1)} sentences/s`);
  }
  const table = formatComparison(rows);
  const plot = path.join(run, 'bleu-vs-speed.svg');
  await plotComparison(rows, plot, `${srcLang} → ${tgtLang}: BLEU against decoding speed`);
  const v = version();
  const about = `${test.length} test sentences ${srcLang} -> ${tgtLang} (gettext), beam 5, batches of 32, LibTorch ${v.libtorch}, ${v.threads} threads`;
  await writeFileAtomic(path.join(run, 'results.md'), `${about}\n\n${formatComparison(rows, { markdown: true })}\n`);
  await writeFileAtomic(path.join(run, 'results.json'), JSON.stringify({ about, rows: rows.map(({ hypotheses: _, ...r }) => r) }, null, 1) + '\n');
  log(`\ndone in ${((Date.now() - started) / 60000).toFixed(1)} min (this call)`);
  return { run, rows, table, plot, about };
}
