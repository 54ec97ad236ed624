// `xlm-kd demo --quick` as a user runs it: Ctrl-C while the teacher trains stops with a saved checkpoint
// (exit 130, "run the same command again"), the same command continues from there and ends with the table
// of five models (the teacher; each student with and without it, and the KD gain), the chart and the models; a
// third run only prints the table again; and a fresh run in another folder prints the same table's BLEU,
// chrF and KD gain to the digit (every stage is bounded by updates, and the resumed run lost nothing).
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { loadModel } from '../lib';

const root = path.resolve(__dirname, '..', '..');
const CLI = path.join(root, 'dist', 'lib', 'cli', 'index.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-demo-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
const run = path.join(tmp, 'run');

/** Runs the demo; `interruptWhen` sends SIGINT once stdout matches it. */
function demo(interruptWhen?: RegExp, folder = run): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'demo', '--quick', '--run', folder], { env: { ...process.env, OMP_NUM_THREADS: '2' } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (interruptWhen && !sent && interruptWhen.test(stdout)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test.serial('Ctrl-C during the teacher, then the same command continues and prints the table', async (t) => {
  const first = await demo(/\[3\/6\] teacher[\s\S]*step 10\/\d+ \|/);
  t.is(first.code, 130, first.stderr);
  t.regex(first.stderr, /^xlm-kd demo: stopped at update \d+, checkpoint saved in .*teacher; run the same command again to continue\n$/);
  t.false(fs.existsSync(path.join(run, 'teacher.done.json')));

  const second = await demo();
  t.is(second.code, 0, second.stderr);
  t.regex(second.stdout, /\(continuing\)/);
  t.regex(second.stdout, /resuming from .*teacher.*checkpoints.*step-\d+ \(step \d+/);
  const table = second.stdout
    .split('\n')
    .filter((l) => /^(teacher|cut student|BiGRU student)\b.*\s+[\d.]+\s+[\d.]+\s+(–|[+−][\d.]+)\s+[\d.]+M/.test(l));
  t.is(table.length, 5, second.stdout);
  t.regex(second.stdout, /cut student: .*BLEU [\d.]+ with the teacher \(\d+ % of its [\d.]+\), [\d.]+ without/);
  t.regex(second.stdout, /KD (pays for it|makes no clear difference here|does not pay for it)/);
  const results = JSON.parse(fs.readFileSync(path.join(run, 'results.json'), 'utf8')) as {
    rows: Array<{ name: string; bleu: number; chrf: number; kdGain?: number; speedup: number }>;
  };
  t.deepEqual(
    results.rows.map((r) => r.name),
    ['teacher', 'cut student, KD', 'cut student, no teacher', 'BiGRU student, KD', 'BiGRU student, no teacher']
  );
  t.is(results.rows[1].kdGain, results.rows[1].bleu - results.rows[2].bleu);
  t.is(results.rows[3].kdGain, results.rows[3].bleu - results.rows[4].bleu);
  // The printed table is the saved one: BLEU and speed-up of every row.
  results.rows.forEach((r, i) => {
    t.true(table[i].includes(` ${r.bleu.toFixed(1)} `));
    t.true(table[i].endsWith(`${r.speedup.toFixed(2)}×`));
  });
  t.is(results.rows[0].speedup, 1);
  t.true(fs.readFileSync(path.join(run, 'bleu-vs-speed.svg'), 'utf8').includes('BiGRU student'));
  for (const m of ['teacher', 'student-cut', 'student-cut-no-teacher', 'student-bigru', 'student-bigru-no-teacher'])
    t.truthy(await loadModel(path.join(run, 'models', `${m}.safetensors`)));

  const third = await demo();
  t.is(third.code, 0, third.stderr);
  t.regex(third.stdout, /teacher: \d+ updates \(done earlier\)/);
  t.notRegex(third.stdout, /step 10\/\d+ \|/);

  // Reproducible: a fresh run elsewhere gives the same scores as the interrupted-and-resumed one.
  const fresh = await demo(undefined, path.join(tmp, 'fresh'));
  t.is(fresh.code, 0, fresh.stderr);
  const again = JSON.parse(fs.readFileSync(path.join(tmp, 'fresh', 'results.json'), 'utf8')) as typeof results;
  t.deepEqual(
    again.rows.map((r) => [r.name, r.bleu, r.chrf, r.kdGain]),
    results.rows.map((r) => [r.name, r.bleu, r.chrf, r.kdGain])
  );
});
