// `xlm-kd distill`'s recipes as a user runs them (a child process, a small gettext en-de data folder, a tiny
// teacher, 2 updates): a from-scratch transformer student with its sizes, the alpha schedule and the
// intermediate-layer terms reaching the library (the saved config, the run's config.json); each flag refused
// with one line and exit 2 where it does not apply; evaluate's and bench's rows named by NAME=FILE or by the
// run folder; the note for a student that beats its teacher.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { type CliRun, runCli } from './helpers/cli';
import { loadModel, teacherWeakerNote, type TransformerStudent } from '../lib';
import { namedModels } from '../lib/cli/model-names';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-recipes-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
const f = (...p: string[]) => path.join(tmp, ...p);
const cli = (...args: string[]) => runCli(args);
const ok = (r: CliRun) => (r.code === 0 ? '' : `exit ${r.code}: ${r.stderr}`);

const TRAIN = ['--max-tokens', '512', '--warmup', '2', '--valid-sentences', '5', '--threads', '1'];

test.serial('setup: a data folder, a tokenizer and a teacher of 2 updates', async (t) => {
  let r = await cli('data', '--out', f('data'), '--max-pairs', '200', '--valid', '10', '--test', '10');
  t.is(r.code, 0, ok(r));
  r = await cli('tokenizer', '--data', f('data'), '--out', f('data', 'tokenizer.model'), '--vocab-size', '200');
  t.is(r.code, 0, ok(r));
  r = await cli('train', '--data', f('data'), '--run', f('teacher'), '--layers', '2-2', '--dim', '32', '--heads', '2', '--max-steps', '2', ...TRAIN);
  t.is(r.code, 0, ok(r));
});

test.serial('distill --student transformer with its sizes, an alpha schedule and intermediate-layer KD', async (t) => {
  const r = await cli(
    'distill',
    '--teacher',
    f('teacher', 'model.safetensors'),
    '--data',
    f('data'),
    '--run',
    f('runs', 'scratch'),
    '--student',
    'transformer',
    '--student-layers',
    '1-1',
    '--student-dim',
    '16',
    '--student-heads',
    '2',
    '--alpha',
    '0.9',
    '--alpha-to',
    '0.1',
    '--alpha-steps',
    '2',
    '--hidden-kd',
    '1',
    '--attention-kd',
    '0.5',
    '--layer-map',
    'enc=1;dec=0',
    '--max-steps',
    '2',
    ...TRAIN
  );
  t.is(r.code, 0, ok(r));
  // The summary says how the teacher scores on the same validation sentences.
  t.regex(r.stdout, /transformer student, online KD, 2 updates.*best valid [\d.]+ at update \d+.*\(teacher [\d.]+\)/);
  const student = (await loadModel(f('runs', 'scratch', 'model.safetensors'))) as TransformerStudent;
  t.is(student.kind, 'xlm-scratch-student');
  t.like(student.config, { encoderLayers: 1, decoderLayers: 1, embDim: 16, nHeads: 2 });
  const config = JSON.parse(fs.readFileSync(f('runs', 'scratch', 'config.json'), 'utf8')) as Record<string, unknown>;
  t.like(config, {
    alpha: 0.9,
    alphaSchedule: { to: 0.1, steps: 2 },
    intermediate: { hidden: 1, attention: 0.5, layerMap: { encoder: [1], decoder: [0] } },
  });
});

test.serial('distill --student transformer without sizes takes the library defaults (3-1 × 256, 4 heads)', async (t) => {
  const r = await cli(
    'distill',
    '--teacher',
    f('teacher', 'model.safetensors'),
    '--data',
    f('data'),
    '--run',
    f('runs', 'default-sizes'),
    '--student',
    'transformer',
    '--max-steps',
    '1',
    ...TRAIN
  );
  t.is(r.code, 0, ok(r));
  const student = (await loadModel(f('runs', 'default-sizes', 'model.safetensors'))) as TransformerStudent;
  t.like(student.config, { encoderLayers: 3, decoderLayers: 1, embDim: 256, nHeads: 4 });
});

test('distill refuses each recipe flag where it does not apply: one line naming it, exit 2', async (t) => {
  const base = ['distill', '--teacher', 't', '--data', 'x', '--run', 'y', '--max-steps', '3'];
  const cases: Array<[string[], RegExp]> = [
    [['--mode', 'offline', '--hidden-kd', '1'], /--hidden-kd\/--attention-kd needs .*--mode must be 'online' or 'sequence', not 'offline'/],
    [['--mode', 'offline', '--attention-kd', '1'], /--hidden-kd\/--attention-kd needs .*--mode must be 'online' or 'sequence'/],
    [['--student', 'bigru', '--hidden-kd', '1'], /--hidden-kd needs a transformer student .*not --student bigru/],
    [['--student', 'bigru', '--student-dim', '64'], /--student-dim is for --student transformer, not --student bigru/],
    [['--student', 'cut', '--student-heads', '2'], /--student-heads is for --student transformer, not --student cut/],
    [['--student', 'transformer', '--bigru-hidden', '64'], /--bigru-hidden is for --student bigru, not --student transformer/],
    [['--student', 'cut', '--bigru-layers', '1-1'], /--bigru-layers is for --student bigru, not --student cut/],
    [['--student', 'transformer', '--strategy', 'first'], /--strategy is for --student cut, not --student transformer/],
    [['--student', 'bigru', '--student-layers', '2-1'], /--student-layers is for --student cut or --student transformer, not --student bigru/],
    [['--student', 'transformer', '--student-dim', '30'], /--student-dim \(30\) must be divisible by --student-heads \(4\)/],
    [['--top-k', '4'], /--top-k applies to --mode offline only, not online/],
    [['--mode', 'sequence', '--top-k', '4'], /--top-k applies to --mode offline only, not sequence/],
    [['--alpha-to', '1.5'], /--alpha-to must be a number in \[0, 1\]/],
    [['--alpha-to', '0.1', '--alpha-steps', '0'], /--alpha-steps must be an integer >= 1/],
    [['--alpha-steps', '10'], /--alpha-to must be the final alpha/],
    [['--hidden-kd', '1', '--layer-map', '0,1/1'], /--layer-map must be enc=LIST;dec=LIST .* got '0,1\/1'/],
    [['--layer-map', 'enc=0;dec=1'], /--layer-map is given but both terms are off: set --hidden-kd or --attention-kd above 0/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(...base, ...args);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message, args.join(' '));
    t.is(r.stderr.split('\n').filter(Boolean).length, 1, args.join(' '));
  }
});

test('model names: NAME=FILE, else the run folder of RUN/model.safetensors, else the file name; clashes get more path', (t) => {
  const names = (...v: string[]) => namedModels(v).map((m) => m.name);
  t.deepEqual(names('runs/cut-kd/model.safetensors', 'runs/gru/model.safetensors', 'x/int8.safetensors'), ['cut-kd', 'gru', 'int8']);
  t.deepEqual(names('best=runs/a/model.safetensors', 'runs/a/model.safetensors'), ['best', 'a']);
  t.deepEqual(names('a/cut/model.safetensors', 'b/cut/model.safetensors'), ['a/cut', 'b/cut']);
  t.deepEqual(names('cut=x.safetensors', 'runs/cut/model.safetensors'), ['cut', 'runs/cut']);
  t.deepEqual(names('m.safetensors', 'm.safetensors'), ['m', 'm (2)']);
  t.deepEqual(namedModels(['t=a/b.safetensors'])[0], { name: 't', file: 'a/b.safetensors' });
  t.throws(() => namedModels(['a=x.safetensors', 'a=y.safetensors']), { message: /two models are named 'a'/ });
  t.throws(() => namedModels(['a=']), { message: /no file after '='/ });
});

test.serial('evaluate and bench name rows by NAME=FILE or by the run folder, with more path where two would clash', async (t) => {
  const model = f('runs', 'scratch', 'model.safetensors');
  for (const side of ['a', 'b']) {
    fs.mkdirSync(f(side, 'student'), { recursive: true });
    for (const file of ['model.safetensors', 'tokenizer.model']) fs.copyFileSync(f('runs', 'scratch', file), f(side, 'student', file));
  }
  let r = await cli(
    'evaluate',
    '--model',
    f('teacher', 'model.safetensors'),
    '--model',
    `mine=${model}`,
    '--model',
    f('a', 'student', 'model.safetensors'),
    '--model',
    f('b', 'student', 'model.safetensors'),
    '--data',
    f('data'),
    '--beam',
    '1',
    '--max-sentences',
    '3'
  );
  t.is(r.code, 0, ok(r));
  const names = r.stdout
    .trim()
    .split('\n')
    .slice(2)
    .map((l) => l.split(/\s{2,}/)[0].trim());
  t.deepEqual(names, ['teacher', 'mine', 'a/student', 'b/student']);
  r = await cli(
    'bench',
    '--model',
    `fast=${model}`,
    '--model',
    f('teacher', 'model.safetensors'),
    '--data',
    f('data'),
    '--beam',
    '1',
    '--batch-size',
    '4',
    '--sentences',
    '4',
    '--rounds',
    '1'
  );
  t.is(r.code, 0, ok(r));
  const rows = r.stdout
    .trim()
    .split('\n')
    .filter((l) => /^\S+\s+1\s+4\s/.test(l))
    .map((l) => l.split(/\s+/)[0]);
  t.deepEqual(rows, ['fast', 'teacher']);
});

test('the note for a student that beats its teacher on validation, and none otherwise', (t) => {
  const note = teacherWeakerNote(21.304, 19.8);
  t.is(
    note,
    'the student (BLEU 21.30) beats its teacher (BLEU 19.80) on validation: the teacher is undertrained for this data; ' +
      'train it longer (--patience, --max-minutes), try the alpha schedule (--alpha-to 0.1 --alpha-steps N), or sequence-level KD (--mode sequence)'
  );
  t.is(teacherWeakerNote(19.8, 21.3), undefined);
  // Equal as printed is not "beats".
  t.is(teacherWeakerNote(20.001, 20.004), undefined);
  t.is(teacherWeakerNote(0, 0), undefined);
});

test("--help prints each command its own --lr and --warmup defaults: the trainer's for train, the student kind's for distill", async (t) => {
  const [train, distill] = await Promise.all([cli('train', '--help'), cli('distill', '--help')]);
  t.regex(train.stdout, /--lr X +peak learning rate \(default 0\.0005\)/);
  t.regex(train.stdout, /--warmup N .*\(default 4000\)/);
  t.regex(distill.stdout, /cut and transformer 0\.001 over 300 warm-up updates, BiGRU 0\.004 over 100\)/);
  t.regex(distill.stdout, /--lr X +peak learning rate \(default: the student kind's, above\)/);
  t.notRegex(distill.stdout, /default 0\.0005|default 4000/);
});
