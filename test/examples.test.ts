// The runnable examples (examples/*.js): each one runs with --quick in a child process from the repo root, as
// a user runs it (`node examples/<name>.js --quick`, which loads the package's main), exits 0 and prints what
// it promises: numbers in range, files that exist with the sizes it reports, resumes that resume. Also: every
// example starts with a header comment naming its command, and examples/README.md lists every one.
// The examples run one after another (each is a few seconds of CPU), with their output in a temp folder.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readDistilledTargets } from '../lib';

const ROOT = path.resolve(__dirname, '..', '..');
const EXAMPLES = path.join(ROOT, 'examples');
const NAMES = ['tensor-tour', 'train-teacher', 'surgery-online-kd', 'offline-kd', 'sequence-kd', 'decode-evaluate', 'load-xlm-checkpoint'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-examples-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number | null;
  out: string;
  dir: string;
}

/** Runs `node examples/<name>.js --quick --out DIR [...extra]` from the repo root; stdout and stderr together. */
function runExample(name: string, extra: string[] = []): Promise<Run> {
  const dir = path.join(tmp, name);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join('examples', `${name}.js`), '--quick', '--out', dir, ...extra], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, dir });
    });
  });
}

/** Asserts exit code 0 (showing the output otherwise) and returns the output. */
async function ran(t: ExecutionContext, name: string, extra: string[] = []): Promise<Run> {
  const started = Date.now();
  const r = await runExample(name, extra);
  t.log(`${name} --quick: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  t.is(r.code, 0, `examples/${name}.js --quick failed:\n${r.out}`);
  return r;
}

/** The first capture group of `re` in `text`, failing the test when it is absent. */
function grab(t: ExecutionContext, text: string, re: RegExp, what: string): string {
  const m = re.exec(text);
  t.truthy(m, `${what}: no match for ${re} in:\n${text}`);
  return m ? m[1] : '';
}

const num = (t: ExecutionContext, text: string, re: RegExp, what: string): number => Number(grab(t, text, re, what));

/** The rows of compare()'s table: name -> { bleu, chrf, sentencesPerSecond }. */
function table(text: string): Map<string, { bleu: number; chrf: number; sps: number }> {
  const rows = new Map<string, { bleu: number; chrf: number; sps: number }>();
  const re = /^ {2}(\S.*?)\s+[\d.]+M params\s+BLEU\s+([\d.]+)\s+chrF\s+([\d.]+)\s+([\d.]+) sent\/s/gm;
  for (const m of text.matchAll(re)) rows.set(m[1], { bleu: Number(m[2]), chrf: Number(m[3]), sps: Number(m[4]) });
  return rows;
}

function checkTable(t: ExecutionContext, text: string, names: string[]): void {
  const rows = table(text);
  t.deepEqual([...rows.keys()], names, 'the comparison table lists the models in order');
  for (const [name, r] of rows) {
    t.true(r.bleu >= 0 && r.bleu <= 100 && r.chrf >= 0 && r.chrf <= 100, `${name}: BLEU ${r.bleu}, chrF ${r.chrf} in [0, 100]`);
    t.true(Number.isFinite(r.sps) && r.sps > 0, `${name}: ${r.sps} sentences/s`);
  }
}

/** A Python with torch, as load-xlm-checkpoint.js looks for one. */
function pythonWithTorch(): boolean {
  const probe = 'import importlib.util as u, sys; sys.exit(u.find_spec("torch") is None)';
  return [path.join(ROOT, '.venv', 'bin', 'python'), 'python3'].some((py) => spawnSync(py, ['-c', probe]).status === 0);
}

test('every example has a header comment with its command, and examples/README.md lists it', (t) => {
  const readme = fs.readFileSync(path.join(EXAMPLES, 'README.md'), 'utf8');
  for (const name of NAMES) {
    const src = fs.readFileSync(path.join(EXAMPLES, `${name}.js`), 'utf8');
    t.true(src.startsWith('// '), `${name}.js starts with a comment`);
    const header = src.slice(0, src.indexOf("'use strict'"));
    t.true(header.includes(`node examples/${name}.js`), `${name}.js: the header names the command`);
    t.true(readme.includes(`node examples/${name}.js`), `README.md lists ${name}.js`);
    t.regex(src, /require\('\.\.'\)/, `${name}.js loads the package as a user would`);
  }
  t.false(fs.existsSync(path.join(EXAMPLES, 'smoke.js')), 'smoke.js is replaced by tensor-tour.js');
});

test.serial('tensor-tour: autograd fits the line, tidy frees its temporaries, async matmul equals matmul, errors name the call', async (t) => {
  const { out } = await ran(t, 'tensor-tour');
  const w = num(t, out, /learned w = (-?[\d.]+)/, 'w');
  const b = num(t, out, /learned w = -?[\d.]+, b = (-?[\d.]+)/, 'b');
  t.true(Math.abs(w - 3) < 0.1 && Math.abs(b - 2) < 0.1, `w ${w}, b ${b}`);
  const before = num(t, out, /live tensors: (\d+) before tidy/, 'live before');
  const after = num(t, out, /live tensors: \d+ before tidy, (\d+) after/, 'live after');
  t.is(after, before + 1, 'tidy keeps only its result');
  t.true(num(t, out, /max \|diff\| ([\d.e+-]+)\)/, 'matmul diff') < 1e-3);
  t.regex(out, /^ {2}Error: matmul: /m);
  t.regex(out, /^ {2}TypeError: view: /m);
  t.regex(out, /\[\[7,10\],\[15,22\]\]/, 'a.matmul(a)');
});

test.serial('train-teacher: the second call resumes the first, the run folder is complete, the teacher is scored', async (t) => {
  const { out, dir } = await ran(t, 'train-teacher');
  const resumed = grab(t, out, /second call: resumed from (\S+),/, 'resume');
  t.is(resumed, path.join(dir, 'teacher-run', 'checkpoints', 'step-20'));
  t.regex(out, /first call: stopped by maxSteps at step 20\b/);
  t.regex(out, /second call: .* stopped by maxSteps at step 40\b/);
  const run = path.join(dir, 'teacher-run');
  const lines = fs
    .readFileSync(path.join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; step: number; loss: number; bleu: number });
  const valid = lines.filter((l) => l.type === 'valid');
  t.deepEqual(
    valid.map((l) => l.step),
    [5, 10, 15, 20, 25, 30, 35, 40],
    'one validation every 5 updates, none repeated by the resume'
  );
  t.true(valid.every((l) => Number.isFinite(l.loss) && l.bleu >= 0 && l.bleu <= 100));
  t.true(fs.readFileSync(path.join(run, 'curves.svg'), 'utf8').startsWith('<svg'));
  t.is((JSON.parse(fs.readFileSync(path.join(run, 'checkpoints', 'last.json'), 'utf8')) as { folder: string }).folder, 'step-40');
  for (const f of ['teacher.safetensors', 'tokenizer.model']) t.true(fs.existsSync(path.join(dir, f)), f);
  t.is(grab(t, out, /^teacher file: (\S+)$/m, 'teacher file'), path.join(dir, 'teacher.safetensors'));
  checkTable(t, out, ['teacher']);
});

test.serial('surgery-online-kd: the cut keeps the chosen layers and is smaller; online KD trains it; all three are scored', async (t) => {
  const { out, dir } = await ran(t, 'surgery-online-kd');
  t.regex(out, /layer map \(student layer i = teacher layer map\[i\]\): \{"encoder":\[0,1\],"decoder":\[1\]\}/);
  t.regex(out, /decoder\.attentions\.0\.q_lin\.weight\s+<- teacher decoder\.attentions\.1\.q_lin\.weight/);
  const teacherParams = num(t, out, /parameters: teacher (\d+), student/, 'teacher parameters');
  const studentParams = num(t, out, /parameters: teacher \d+, student (\d+)/, 'student parameters');
  t.true(studentParams < teacherParams, `${studentParams} < ${teacherParams}`);
  t.is(num(t, out, /online KD: (\d+) updates in/, 'updates'), 15);
  t.true(fs.existsSync(path.join(dir, 'cut-online-kd.safetensors')) && fs.existsSync(path.join(dir, 'cut-online-kd-run', 'metrics.jsonl')));
  checkTable(t, out, ['teacher', 'cut, before training', 'cut + online KD']);
});

test.serial('offline-kd: the cache file has the size its header implies and is reused; the BiGRU trains from it', async (t) => {
  const { out, dir } = await ran(t, 'offline-kd');
  const pairs = num(t, out, /^ {2}(\d+) pairs, \d+ target tokens x top-8/m, 'pairs');
  const rows = num(t, out, /^ {2}\d+ pairs, (\d+) target tokens x top-8/m, 'rows');
  t.true(pairs > 1000 && rows > pairs, `${pairs} pairs, ${rows} rows`);
  // 4096-byte header, then per target token 8 int32 ids and 8 float16 log-probs.
  t.is(fs.statSync(path.join(dir, 'teacher-topk.cache')).size, 4096 + rows * 8 * 6);
  t.regex(out, /a second buildTeacherCache with the same teacher, data and tokenizer keeps the file/);
  const probs = [...grab(t, out, /teacher's top-5 for it: (.*)$/m, 'top-5').matchAll(/ (0\.\d+)/g)].map((m) => Number(m[1]));
  t.is(probs.length, 5);
  t.true(
    probs.every((p, i) => p > 0 && p <= 1 && (i === 0 || p <= probs[i - 1] + 1e-3)),
    `top-5 probabilities in decreasing order: ${probs.join(',')}`
  );
  t.true(fs.existsSync(path.join(dir, 'bigru-offline-kd.safetensors')));
  checkTable(t, out, ['teacher', 'BiGRU + offline KD']);
});

test.serial('sequence-kd: one teacher translation per training source, a second call has nothing to do', async (t) => {
  const { out, dir } = await ran(t, 'sequence-kd');
  const n = num(t, out, /sequence-kd: (\d+) translations in/, 'translations');
  t.true(n >= 400 && n <= 600, `${n} translations: every k-th training pair, at most 600`);
  t.regex(out, new RegExp(`called again: ${n} already there, 0 translated`));
  const targets = readDistilledTargets(path.join(dir, 'sequence-kd'), n);
  t.is(targets.length, n);
  t.true(targets.every((r) => Array.isArray(r.tgt) && Number.isFinite(r.score)));
  t.is(num(t, out, /sequence KD: (\d+) updates in/, 'updates'), 15);
  checkTable(t, out, ['teacher', 'cut 1+1 + sequence KD']);
});

test.serial('decode-evaluate: n-best lists of 3, greedy and beam scores on the test split, sacreBLEU-style lines', async (t) => {
  const { out } = await ran(t, 'decode-evaluate');
  t.regex(out, /n-best sizes: 3, 3, 3\b/);
  for (const how of ['greedy', 'beam 5']) {
    const bleu = num(t, out, new RegExp(`^ {2}${how}: BLEU ([\\d.]+)`, 'm'), `${how} BLEU`);
    const sps = num(t, out, new RegExp(`^ {2}${how}: BLEU [\\d.]+ {2}chrF [\\d.]+ {2}([\\d.]+) sentences/s`, 'm'), `${how} speed`);
    t.true(bleu >= 0 && bleu <= 100 && sps > 0, `${how}: BLEU ${bleu}, ${sps} sentences/s`);
  }
  t.regex(out, /bleu\(hypotheses, \[references\]\): {2}BLEU = [\d.]+ [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ \(BP = /);
  t.regex(out, /chrf\(hypotheses, \[references\]\): {2}chrF2 = [\d.]+/);
  t.is((out.match(/^ {2}\[\d\] /gm) ?? []).length, 3, 'translate() returns the three sentences');
});

(pythonWithTorch() ? test.serial : test.skip)(
  'load-xlm-checkpoint: a synthetic Facebook checkpoint converts, keeps its names and values, and runs',
  async (t) => {
    const { out, dir } = await ran(t, 'load-xlm-checkpoint');
    t.regex(out, /Parameter names: (\d+) in the teacher's state dict, \1 in the checkpoint; missing 0, extra 0/);
    t.true(num(t, out, /largest relative difference of a tensor sum against the checkpoint: ([\d.e+-]+)/, 'difference') < 1e-6);
    t.regex(out, /Teacher\.load: 2\+2 layers, 32 wide, 4 heads, vocabulary 120, 2 language embedding/);
    t.regex(out, /logits \[1,8,120\], all finite: true/);
    t.regex(out, /metadata: source xlm-trainer, languages \["en", ?"fr"\]/);
    t.regex(out, /^ {2}decoder\.encoder_attn\.0\.k_lin\.weight\s+\[32,32\]$/m);
    for (const f of ['synthetic-xlm.pth', 'xlm-teacher.safetensors', 'xlm-vocab.txt']) t.true(fs.existsSync(path.join(dir, f)), f);
    t.is(fs.readFileSync(path.join(dir, 'xlm-vocab.txt'), 'utf8').split('\n')[1], '</s>');
  }
);
