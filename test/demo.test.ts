// `xlm-kd demo --quick` as a user runs it: Ctrl-C while the teacher trains stops with a saved checkpoint
// (exit 130, "run the same command again"), the same command continues from there and ends with the table
// of three models, the chart and the models; a third run only prints the table again.
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
function demo(interruptWhen?: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'demo', '--quick', '--run', run], { env: { ...process.env, OMP_NUM_THREADS: '2' } });
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
  const first = await demo(/\[3\/6\] teacher[\s\S]*step 10 \|/);
  t.is(first.code, 130, first.stderr);
  t.regex(first.stderr, /^xlm-kd demo: stopped at update \d+, checkpoint saved in .*teacher; run the same command again to continue\n$/);
  t.false(fs.existsSync(path.join(run, 'teacher.done.json')));

  const second = await demo();
  t.is(second.code, 0, second.stderr);
  t.regex(second.stdout, /\(continuing\)/);
  t.regex(second.stdout, /resuming from .*teacher.*checkpoints.*step-\d+ \(step \d+/);
  const table = second.stdout.split('\n').filter((l) => /^(teacher|cut student|BiGRU student)\s+[\d.]+\s+[\d.]+\s+[\d.]+M/.test(l));
  t.is(table.length, 3, second.stdout);
  const results = JSON.parse(fs.readFileSync(path.join(run, 'results.json'), 'utf8')) as {
    rows: Array<{ name: string; bleu: number; speedup: number }>;
  };
  t.deepEqual(
    results.rows.map((r) => r.name),
    ['teacher', 'cut student', 'BiGRU student']
  );
  // The printed table is the saved one: BLEU and speed-up of every row.
  results.rows.forEach((r, i) => {
    t.true(table[i].includes(` ${r.bleu.toFixed(1)} `));
    t.true(table[i].endsWith(`${r.speedup.toFixed(2)}×`));
  });
  t.is(results.rows[0].speedup, 1);
  t.true(fs.readFileSync(path.join(run, 'bleu-vs-speed.svg'), 'utf8').includes('BiGRU student'));
  for (const m of ['teacher', 'student-cut', 'student-bigru']) t.truthy(await loadModel(path.join(run, 'models', `${m}.safetensors`)));

  const third = await demo();
  t.is(third.code, 0, third.stderr);
  t.regex(third.stdout, /teacher: \d+ updates \(done earlier\)/);
  t.notRegex(third.stdout, /step 10 \|/);
});
