// The kill -9 resume check the training tests share: one uninterrupted run of test/helpers/train-child.js, then
// the same run killed at three random moments and resumed each time; both must end with the same parameters
// and the same metrics, step by step.
import type { ExecutionContext } from 'ava';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadTensors, MetricsLog, type Tensor, tidy } from '../../lib';

const child = path.join(__dirname, 'train-child.js');

export const tmpDir = (prefix = 'train-test-') => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

export function maxDiff(a: Map<string, Tensor>, b: Map<string, Tensor>): number {
  let worst = 0;
  for (const [name, t] of a)
    worst = Math.max(
      worst,
      tidy(() => t.sub(b.get(name)!.to(t.device)).abs().max().item() as number)
    );
  return worst;
}

/** One run of train-child.js (`args`: mode, maxSteps and its optional device and precision), killed after `killAfterMs`. */
export async function runChild(dir: string, args: string[], killAfterMs?: number): Promise<'done' | 'killed'> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, dir, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    p.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal === 'SIGKILL') resolve('killed');
      else if (code === 0) resolve('done');
      else reject(new Error(`train-child exited ${code}:\n${stderr}`));
    });
  });
}

/** Asserts that a run killed three times and resumed ends as the uninterrupted one: parameters and losses. */
export async function checkKillResume(t: ExecutionContext, mode: string, steps: number, extra: string[] = []): Promise<void> {
  const plain = tmpDir();
  const t0 = Date.now();
  t.is(await runChild(plain, [mode, String(steps), ...extra]), 'done');
  const duration = Date.now() - t0;
  const resumed = tmpDir();
  const kills: number[] = [];
  for (let k = 0; k < 3; k++) {
    const at = Math.round(600 + Math.random() * Math.max(duration - 600, 100));
    kills.push(at);
    await runChild(resumed, [mode, String(steps), ...extra], at);
  }
  t.is(await runChild(resumed, [mode, String(steps), ...extra]), 'done');
  const a = (await loadTensors(path.join(plain, 'final.safetensors'))).tensors;
  const b = (await loadTensors(path.join(resumed, 'final.safetensors'))).tensors;
  const diff = maxDiff(a, b);
  const stepLines = (dir: string) => MetricsLog.read(path.join(dir, 'metrics.jsonl')).filter((l) => l.type === 'step');
  const la = stepLines(plain);
  const lb = stepLines(resumed);
  t.log(`uninterrupted run ${duration} ms; killed after ${kills.join(', ')} ms; max |param diff| ${diff}`);
  t.is(diff, 0);
  t.deepEqual(
    lb.map((l) => l.step),
    la.map((l) => l.step),
    'metrics.jsonl: every step once, in order'
  );
  t.deepEqual(
    lb.map((l) => l.loss),
    la.map((l) => l.loss),
    'the same losses at every step'
  );
}
