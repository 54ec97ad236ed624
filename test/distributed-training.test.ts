// Data-parallel training between real Node processes on loopback (lib/distributed + the trainer): 2 ranks with
// b sentences per batch end where 1 process with 2b ends (a teacher with cross-entropy, and a cut student
// distilled online, offline and sequence-level), both ranks bit-identical; a run resumes with its world size and refuses another; a
// killed or frozen rank stops the run with an error (the frozen one after the group timeout), the launcher
// exits non-zero, and the last checkpoint is intact; `xlm-kd train --nproc 2` runs and writes from rank 0 only.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFile } from 'child_process';
import { promisify } from 'util';
import { Writable } from 'stream';
import { launchRanks, loadTensors, shardOf, type Tensor } from '../lib';

const CHILD = path.join(__dirname, 'helpers', 'ddp-child.js');
const run = promisify(execFile);

function tmp(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `xkt-ddp-${name}-`));
}

function collector(): { stream: Writable; text: () => string } {
  let buf = '';
  return { stream: new Writable({ write: (c: Buffer, _e, done) => ((buf += c.toString()), done()) }), text: () => buf };
}

async function single(dir: string, mode: string, sentences: number, steps: number): Promise<void> {
  await run(process.execPath, [CHILD, dir, mode, String(sentences), String(steps)], { env: { ...process.env, OMP_NUM_THREADS: '1' } });
}

async function ranks(dir: string, mode: string, sentences: number, steps: number, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const out = collector();
  const err = collector();
  const started = Date.now();
  const r = await launchRanks({
    nproc: 2,
    args: [CHILD, dir, mode, String(sentences), String(steps), ...extra],
    env: { OMP_NUM_THREADS: '1', ...env },
    stdout: out.stream,
    stderr: err.stream,
    killAfterMs: 2000,
  });
  return { ...r, ms: Date.now() - started, stdout: out.text(), stderr: err.text() };
}

async function params(file: string): Promise<Map<string, Tensor>> {
  return (await loadTensors(file)).tensors;
}

/** Largest |a - b| over the tensors whose names pass `keep`. */
function maxDiff(a: Map<string, Tensor>, b: Map<string, Tensor>, keep: (name: string) => boolean = () => true): number {
  let m = 0;
  for (const [n, x] of a) {
    if (!keep(n)) continue;
    const y = b.get(n)!;
    const xs = x.toArray() as Float32Array;
    const ys = y.toArray() as Float32Array;
    for (let i = 0; i < xs.length; i++) m = Math.max(m, Math.abs(xs[i] - ys[i]));
  }
  return m;
}

// The key projections' biases get a gradient that is zero in exact arithmetic (softmax ignores a constant
// added to every score of a row), i.e. rounding noise, which Adam scales up to full-size steps of either sign.
const notKeyBias = (n: string) => !n.endsWith('k_lin.bias');

// 'offline' and 'sequence': rank 0 builds the teacher's top-k cache / translations, every rank reads them.
for (const mode of ['teacher', 'online', 'offline', 'sequence']) {
  test(`${mode}: 2 ranks with 4 sentences per batch end with the parameters of 1 process with 8`, async (t) => {
    const one = tmp(`${mode}-1`);
    const two = tmp(`${mode}-2`);
    await single(one, mode, 8, 6);
    const r = await ranks(two, mode, 4, 6);
    t.is(r.exitCode, 0, r.stderr);
    const [p1, r0, r1] = await Promise.all([
      params(path.join(one, 'final.rank0.safetensors')),
      params(path.join(two, 'final.rank0.safetensors')),
      params(path.join(two, 'final.rank1.safetensors')),
    ]);
    t.is(maxDiff(r0, r1), 0, 'the ranks must hold identical parameters');
    const d = maxDiff(p1, r0, notKeyBias);
    t.true(d < 2e-6, `max |diff| vs one process = ${d}`);
    // The logged losses are the whole update's (all ranks' tokens), as the single process logs them.
    const losses = (dir: string) =>
      fs
        .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; loss: number })
        .filter((m) => m.type === 'step')
        .map((m) => m.loss);
    const [l1, l2] = [losses(one), losses(two)];
    t.is(l2.length, 6);
    l1.forEach((l, i) => t.true(Math.abs(l - l2[i]) < 1e-5, `step ${i + 1}: ${l} vs ${l2[i]}`));
  });
}

test('a 2-rank run stopped and resumed ends bit-identical to an uninterrupted one; another world size is refused', async (t) => {
  const straight = tmp('straight');
  const resumed = tmp('resumed');
  t.is((await ranks(straight, 'online', 4, 6)).exitCode, 0);
  t.is((await ranks(resumed, 'online', 4, 3)).exitCode, 0);
  const again = await ranks(resumed, 'online', 4, 6);
  t.is(again.exitCode, 0, again.stderr);
  for (const rank of [0, 1]) {
    const [a, b] = await Promise.all([
      params(path.join(straight, `final.rank${rank}.safetensors`)),
      params(path.join(resumed, `final.rank${rank}.safetensors`)),
    ]);
    t.is(maxDiff(a, b), 0, `rank ${rank}`);
  }
  const err = await t.throwsAsync(single(resumed, 'online', 8, 9));
  t.regex(String((err as Error & { stdout?: string }).stdout), /was written by a run of 2 rank\(s\); resume it with 2 \(this run has 1\)/);
});

for (const [fault, timeoutMs] of [
  ['die-at-step', 20000],
  ['freeze-at-step', 3000],
] as const) {
  test(`a rank that ${fault === 'die-at-step' ? 'is killed (SIGKILL)' : 'freezes (SIGSTOP)'} stops the run with an error; the last checkpoint is intact`, async (t) => {
    const dir = tmp(fault);
    const r = await ranks(dir, 'teacher', 4, 12, [fault, '3'], { XKT_TEST_TIMEOUT_MS: String(timeoutMs) });
    t.not(r.exitCode, 0);
    t.log(`${r.ms} ms: ${r.stdout.trim()} | ${r.stderr.trim()}`);
    // Rank 0 names what failed and where.
    t.regex(r.stdout, /\[rank 0\] \{"error":"(train: rank 0 of 2: .* failed|.*failed on rank 0 of 2)/, r.stdout + r.stderr);
    if (fault === 'die-at-step') {
      t.is(r.failedRank, 1);
      t.true(r.ms < 15000, `took ${r.ms} ms`);
    } else {
      // Not before the group timeout; the launcher then kills the frozen rank.
      t.true(r.ms >= timeoutMs && r.ms < timeoutMs + 15000, `took ${r.ms} ms`);
      t.is(r.ranks[1].signal, 'SIGKILL');
    }
    const last = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoints', 'last.json'), 'utf8')) as { folder: string };
    const weights = await loadTensors(path.join(dir, 'checkpoints', last.folder, 'model.safetensors')).catch(() => undefined);
    t.truthy(weights, JSON.stringify(last));
  });
}

test('shardOf: every worldSize-th batch from the rank, the same count on every rank', (t) => {
  const plans = [0, 1, 2, 3, 4, 5, 6];
  t.deepEqual(shardOf(plans, 0, 3), [0, 3]);
  t.deepEqual(shardOf(plans, 1, 3), [1, 4]);
  t.deepEqual(shardOf(plans, 2, 3), [2, 5]);
  t.deepEqual(shardOf(plans, 0, 1), plans);
  t.deepEqual(shardOf([0], 1, 2), []);
});

test('launchRanks: bad options are clear errors before anything starts', async (t) => {
  await t.throwsAsync(launchRanks({ nproc: 0, args: [CHILD] }), { message: /option 'nproc' must be an integer >= 1, got 0/ });
  await t.throwsAsync(launchRanks({ nproc: 1, nnodes: 2, nodeRank: 2, args: [CHILD] }), {
    message: /option 'nodeRank' must be below nnodes \(2\), got 2/,
  });
  await t.throwsAsync(launchRanks({ nproc: 1, args: [] }), { message: /option 'args' must name the program to run/ });
});
