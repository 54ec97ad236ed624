// The `xlm-kd` subcommands end to end on a small real corpus (gettext en-de): data -> tokenizer -> train ->
// cut -> distill (online, offline, sequence) -> evaluate -> bench -> import-xlm (weights only; with XLM's tokenizer:
// xlm-import.test.ts), each as a user runs it
// (a child process); their files checked by loading them; evaluate's BLEU/chrF against sacreBLEU; usage
// errors one line with exit 2; a run resumes, and refuses another run's checkpoint.
import test from 'ava';
import { type CliRun, runCli } from './helpers/cli';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { type CutStudent, loadModel, readDistilledTargets, Teacher } from '../lib';
import { referenceUnavailable, runPythonCode } from './helpers/python';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-cli-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
const f = (...p: string[]) => path.join(tmp, ...p);

const cli = (...args: string[]) => runCli(args);
const ok = (r: CliRun) => (r.code === 0 ? '' : `exit ${r.code}: ${r.stderr}`);
const lines = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '').length;

const TRAIN = ['--max-tokens', '512', '--warmup', '2', '--lr', '1e-3', '--valid-sentences', '10', '--threads', '1'];

test.serial('data: gettext en-de into a data folder of three splits that pair line by line', async (t) => {
  const r = await cli('data', '--out', f('data'), '--max-pairs', '700', '--valid', '20', '--test', '30');
  t.is(r.code, 0, ok(r));
  const info = JSON.parse(fs.readFileSync(f('data', 'data.json'), 'utf8')) as {
    counts: Record<string, number>;
    srcLang: string;
    text: Record<string, unknown>;
  };
  t.deepEqual(info.counts, { train: 650, valid: 20, test: 30 });
  t.is(info.srcLang, 'en');
  for (const split of ['train', 'valid', 'test']) t.is(lines(f('data', `${split}.src`)), lines(f('data', `${split}.tgt`)));
  t.is(lines(f('data', 'train.src')), 650);
  t.regex(r.stdout, /en -> de from gettext \(\d+ catalogs\): 650 train, 20 valid, 30 test pairs/);
  // Every data folder names its text by size and hash (what a token store built from it records).
  for (const [name, rec] of Object.entries(info.text)) {
    const bytes = fs.readFileSync(f('data', name));
    t.deepEqual(rec, { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }, name);
  }
  t.is(Object.keys(info.text).length, 6);
});

test.serial('tokenizer, then train a teacher that resumes and refuses another run', async (t) => {
  let r = await cli('tokenizer', '--data', f('data'), '--out', f('data', 'tokenizer.model'), '--vocab-size', '300');
  t.is(r.code, 0, ok(r));
  t.regex(r.stdout, /300 pieces/);
  const args = ['train', '--data', f('data'), '--run', f('teacher'), '--layers', '2-2', '--dim', '32', '--heads', '2', '--max-steps', '6', ...TRAIN];
  r = await cli(...args);
  t.is(r.code, 0, ok(r));
  t.regex(r.stdout, /teacher, 6 updates/);
  const teacher = await Teacher.load(f('teacher', 'model.safetensors'));
  t.like(teacher.config, { encoderLayers: 2, decoderLayers: 2, embDim: 32, vocabSize: 300 });
  t.true(fs.existsSync(f('teacher', 'tokenizer.model')));
  t.true(fs.existsSync(f('teacher', 'metrics.jsonl')));
  // Again: it resumes from the last checkpoint and has nothing left to do.
  r = await cli(...args);
  t.is(r.code, 0, ok(r));
  t.regex(r.stdout, /teacher, 6 updates/);
  // Another model in the same run folder is refused, nothing overwritten.
  r = await cli(...args.map((a) => (a === '32' ? '48' : a)));
  t.is(r.code, 1);
  t.regex(r.stderr, /^xlm-kd train: .*checkpoint of another run/);
  t.is(r.stderr.trim().split('\n').length, 1);
});

test.serial('train --nproc 2: two ranks, one run folder written by rank 0, output prefixed by rank', async (t) => {
  const args = [
    'train',
    '--data',
    f('data'),
    '--run',
    f('teacher-2ranks'),
    '--layers',
    '2-2',
    '--dim',
    '32',
    '--heads',
    '2',
    '--max-steps',
    '4',
    ...TRAIN,
  ];
  const r = await cli(...args, '--nproc', '2');
  t.is(r.code, 0, ok(r));
  t.regex(r.stdout, /^\[rank 0\] data-parallel over 2 ranks: \d+ of each epoch's \d+ batches per rank/m);
  t.regex(r.stdout, /^\[rank 0\] .*teacher, 4 updates/m);
  t.notRegex(r.stdout, /\[rank 1\]/);
  t.truthy(await Teacher.load(f('teacher-2ranks', 'model.safetensors')));
  // The run remembers its world size.
  const again = await cli(...args);
  t.is(again.code, 1);
  t.regex(again.stderr, /was written by a run of 2 rank\(s\); resume it with 2 \(this run has 1\)/);
  const bad = await cli(...args, '--nproc', '2', '--nnodes', '2', '--node-rank', '2');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--node-rank must be below --nnodes \(2\), got 2/);
});

test.serial('cut writes a student of the chosen teacher layers', async (t) => {
  const r = await cli(
    'cut',
    '--teacher',
    f('teacher', 'model.safetensors'),
    '--out',
    f('students', 'cut.safetensors'),
    '-e',
    '2',
    '-D',
    '1',
    '-s',
    'last'
  );
  t.is(r.code, 0, ok(r));
  t.regex(r.stdout, /encoder layers \[0, 1\], decoder layers \[1\]/);
  const s = (await loadModel(f('students', 'cut.safetensors'))) as CutStudent;
  t.deepEqual(s.layerMap, { encoder: [0, 1], decoder: [1] });
  t.true(fs.existsSync(f('students', 'tokenizer.model')));
});

test.serial('distill: online from the cut file, offline into a BiGRU, sequence-level into a fresh cut', async (t) => {
  const common = ['--teacher', f('teacher', 'model.safetensors'), '--data', f('data'), '--max-steps', '4', ...TRAIN];
  let r = await cli('distill', ...common, '--student', f('students', 'cut.safetensors'), '--mode', 'online', '--run', f('online'));
  t.is(r.code, 0, ok(r));
  t.regex(r.stdout, /file student, online KD, 4 updates/);
  r = await cli(
    'distill',
    ...common,
    '--student',
    'bigru',
    '--bigru-dim',
    '32',
    '--bigru-hidden',
    '32',
    '--mode',
    'offline',
    '--top-k',
    '4',
    '--run',
    f('offline')
  );
  t.is(r.code, 0, ok(r));
  t.true(fs.existsSync(f('offline', 'teacher-topk.cache')));
  t.is((await loadModel(f('offline', 'model.safetensors'))).kind, 'bigru-student');
  r = await cli('distill', ...common, '--student', 'cut', '--student-layers', '1-1', '--mode', 'sequence', '--run', f('sequence'));
  t.is(r.code, 0, ok(r));
  t.is(readDistilledTargets(f('sequence', 'sequence-kd'), 650).length, 650);
  const seq = (await loadModel(f('sequence', 'model.safetensors'))) as CutStudent;
  // 'spread' keeps the top layer when it keeps one.
  t.deepEqual(seq.layerMap, { encoder: [1], decoder: [1] });
});

const noSacrebleu = referenceUnavailable(['sacrebleu']);
test.serial(
  `evaluate: a table of two models, BLEU and chrF equal to sacreBLEU's${noSacrebleu ? ` (sacreBLEU check skipped: ${noSacrebleu})` : ''}`,
  async (t) => {
    const r = await cli(
      'evaluate',
      '--model',
      f('teacher', 'model.safetensors'),
      '--model',
      f('online', 'model.safetensors'),
      '--data',
      f('data'),
      '--beam',
      '2',
      '--json',
      f('eval.json'),
      '--plot',
      f('eval.svg'),
      '--max-sentences',
      '20'
    );
    t.is(r.code, 0, ok(r));
    const table = r.stdout.trim().split('\n');
    t.regex(table[0], /^model\s+BLEU\s+chrF\s+parameters\s+size MB\s+sent\/s\s+speed-up$/);
    t.is(table.length, 4);
    // Rows are named by their run folders (both files are model.safetensors).
    t.regex(table[2], /^teacher\s.*1\.00×$/);
    t.regex(table[3], /^online\s/);
    const out = JSON.parse(fs.readFileSync(f('eval.json'), 'utf8')) as {
      rows: Array<{ name: string; hypotheses: string[]; bleu: number; chrf: number }>;
    };
    t.is(out.rows.length, 2);
    t.true(fs.readFileSync(f('eval.svg'), 'utf8').includes('<svg'));
    if (noSacrebleu) return;
    const refs = fs.readFileSync(f('data', 'test.tgt'), 'utf8').split('\n').slice(0, 20);
    for (const row of out.rows) {
      const ref = JSON.parse(
        runPythonCode(
          `
import json, sys, sacrebleu
d = json.load(sys.stdin)
print(json.dumps([sacrebleu.corpus_bleu(d["hyp"], [d["ref"]]).score, sacrebleu.corpus_chrf(d["hyp"], [d["ref"]]).score]))`,
          JSON.stringify({ hyp: row.hypotheses, ref: refs })
        )
      ) as [number, number];
      t.true(Math.abs(row.bleu - ref[0]) < 1e-9, `${row.name} BLEU ${row.bleu} vs ${ref[0]}`);
      t.true(Math.abs(row.chrf - ref[1]) < 1e-9, `${row.name} chrF ${row.chrf} vs ${ref[1]}`);
    }
  }
);

test.serial(
  'shortlist and quantize: a model file that names its shortlist, an int8 copy; translate/evaluate/bench take --int8/--prepack/--no-shortlist',
  async (t) => {
    const model = f('online', 'model.safetensors');
    let r = await cli('shortlist', '--model', model, '--data', f('data'), '--per-source', '5', '--frequent', '20');
    t.is(r.code, 0, ok(r));
    t.regex(
      r.stdout,
      /model\.shortlist\.safetensors: 650 training pairs, 5 per source token, \d+ always; a batch of 32 training sources decodes over \d+ of 300 ids/
    );
    const loaded = await loadModel(model);
    t.truthy(loaded.shortlist, 'the model file names its shortlist');
    r = await cli('quantize', '--model', model, '--out', f('int8', 'online.safetensors'));
    t.is(r.code, 0, ok(r));
    t.regex(r.stdout, /online\.safetensors: int8, [\d.]+ MB \(float32 file [\d.]+ MB\)/);
    const q = await loadModel(f('int8', 'online.safetensors'));
    t.is(q.inference, 'int8');
    t.truthy(q.shortlist, 'the shortlist travels with the int8 copy');
    t.true(fs.existsSync(f('int8', 'tokenizer.model')));
    const src = f('data', 'test.src');
    for (const flags of [[], ['--no-shortlist'], ['--prepack']]) {
      r = await cli('translate', '--model', flags.length ? model : f('int8', 'online.safetensors'), '--input', src, '--beam', '2', ...flags);
      t.is(r.code, 0, ok(r));
      t.is(r.stdout.split('\n').length - 1, lines(src));
    }
    r = await cli('evaluate', '--model', model, '--data', f('data'), '--beam', '2', '--max-sentences', '10', '--int8');
    t.is(r.code, 0, ok(r));
    r = await cli(
      'bench',
      '--model',
      model,
      '--data',
      f('data'),
      '--beam',
      '1',
      '--batch-size',
      '8',
      '--sentences',
      '8',
      '--rounds',
      '1',
      '--int8',
      '--prepack'
    );
    t.is(r.code, 2);
    t.regex(r.stderr, /--int8 and --prepack exclude each other/);
  }
);

test.serial('bench: a row per model, beam and batch with medians and spread', async (t) => {
  const r = await cli(
    'bench',
    '--model',
    f('teacher', 'model.safetensors'),
    '--data',
    f('data'),
    '--beam',
    '1,2',
    '--batch-size',
    '8',
    '--sentences',
    '16',
    '--rounds',
    '2'
  );
  t.is(r.code, 0, ok(r));
  const rows = r.stdout
    .trim()
    .split('\n')
    .filter((l) => /^teacher\s+\d/.test(l));
  t.is(rows.length, 2, r.stdout);
  for (const row of rows) t.regex(row, /^teacher\s+[12]\s+8\s+[\d.]+ \([\d.]+-[\d.]+\)\s+\d+ \(\d+-\d+\)$/);
});

const noTorch = referenceUnavailable(['torch']);
(noTorch ? test.skip : test.serial)(`import-xlm converts a (synthetic) Facebook checkpoint${noTorch ? ` (skipped: ${noTorch})` : ''}`, async (t) => {
  runPythonCode(`
import torch, test_reference as tr
c = {"vocabSize": 41, "embDim": 32, "nHeads": 4, "encoderLayers": 2, "decoderLayers": 1, "nLangs": 1}
model = tr.perturbed_model(c, seed=3)
cfg = model.config
torch.save({"encoder": tr.xlm_state_dict(model.encoder, cfg), "decoder": tr.xlm_state_dict(model.decoder, cfg),
            "params": tr.xlm_params(cfg), "dico_id2word": dict(enumerate(tr.vocab_for(cfg)))}, ${JSON.stringify(f('fb.pth'))})`);
  const r = await cli('import-xlm', '--checkpoint', f('fb.pth'), '--out', f('fb', 'teacher.safetensors'));
  t.is(r.code, 0, ok(r));
  t.regex(r.stdout, /XLM teacher, 2-1 layers, 32 wide, 4 heads, 41 words.*; no --codes given, so no tokenizer/);
  t.deepEqual(fs.readdirSync(f('fb')), ['teacher.safetensors']);
  const bad = await cli('import-xlm', '--checkpoint', f('data', 'train.src'), '--out', f('fb', 'x.safetensors'));
  t.is(bad.code, 1);
  t.regex(bad.stderr, /^xlm-kd import-xlm: the converter failed: /);
});

for (const cmd of ['data', 'tokenizer', 'train', 'cut', 'distill', 'translate', 'evaluate', 'bench', 'import-xlm', 'demo', 'shortlist', 'quantize']) {
  test(`${cmd}: --help exits 0; an unknown flag exits 2 with one line`, async (t) => {
    const help = await cli(cmd, '--help');
    t.is(help.code, 0, ok(help));
    t.true(help.stdout.startsWith(`Usage: xlm-kd ${cmd}`));
    const bad = await cli(cmd, '--no-such-flag');
    t.is(bad.code, 2);
    t.regex(bad.stderr, new RegExp(`^xlm-kd ${cmd}: .*no-such-flag.* \\(see xlm-kd ${cmd} --help\\)\\n$`));
  });
}

test('usage errors name the flag and what it expects', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['data'], /--out is required/],
    [['train', '--data', 'x', '--run', 'y'], /say when to stop: --max-steps, --max-epochs or --max-minutes/],
    [['train', '--data', 'x', '--run', 'y', '--max-steps', '0'], /--max-steps must be an integer >= 1, got number 0/],
    [
      ['train', '--data', 'x', '--run', 'y', '--max-steps', '3', '--layers', '6'],
      /--layers must be ENCODER-DECODER layer counts such as 6-1, got '6'/,
    ],
    [
      ['distill', '--teacher', 't', '--data', 'x', '--run', 'y', '--max-steps', '3', '--mode', 'fast'],
      /--mode must be one of online, offline, sequence, got 'fast'/,
    ],
    [
      ['distill', '--teacher', 't', '--data', 'x', '--run', 'y', '--max-steps', '3', '--alpha', '2'],
      /--alpha must be a number in \[0, 1\], got number 2/,
    ],
    [['cut', '--teacher', 't', '--out', 'o', '-e', 'a,b'], /--encoder-layers must be a count or a comma-separated list/],
    [['evaluate', '--model', 'm'], /give --data DIR, or --src FILE and --ref FILE/],
    [['data', '--out', 'o', '--src-lang', 'de', '--tgt-lang', 'fr'], /--src-lang or --tgt-lang must be en \(got de -> fr\)/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(...args);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message);
    t.is(r.stderr.split('\n').filter(Boolean).length, 1);
  }
  const missing = await cli('train', '--data', f('nope'), '--run', f('r'), '--max-steps', '1');
  t.is(missing.code, 1);
  t.regex(missing.stderr, /cannot read --data .*nope: no such folder/);
});
