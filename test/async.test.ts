// Heavy native calls run off the JS thread: the event loop keeps ticking while they work.
import test from 'ava';
import { execFile } from 'child_process';
import { promisify } from 'util';
import * as path from 'path';
import { randn, manualSeed, tidy } from '../lib';

test('matmulAsync keeps the event loop responsive and matches matmul', async (t) => {
  manualSeed(0);
  const n = 2048; // ~17 GFLOP: a few hundred ms on 2 cores
  const a = randn([n, n]);
  const b = randn([n, n]);

  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const started = Date.now();
  const pending = a.matmulAsync(b);
  const c = await pending;
  const elapsed = Date.now() - started;
  const asyncTicks = ticks;

  // The same product on the JS thread blocks the loop: no tick can run meanwhile.
  ticks = 0;
  const expected = a.matmul(b);
  const ticksDuringSync = ticks;
  clearInterval(timer);
  t.is(ticksDuringSync, 0);
  t.log(`async matmul: ${elapsed} ms, ${asyncTicks} timer ticks while awaiting`);
  t.true(
    asyncTicks >= Math.min(3, Math.floor(elapsed / 20)),
    `timer should tick while the async matmul runs (got ${asyncTicks} ticks in ${elapsed} ms)`
  );
  const maxDiff = tidy(() => c.sub(expected).abs().max().item() as number);
  t.true(maxDiff < 1e-3);
});

test('inputs disposed while the async work runs stay alive for the worker', async (t) => {
  const a = randn([512, 512]);
  const b = a.clone();
  const pending = a.matmulAsync(b);
  const expected = a.matmul(b);
  a.dispose();
  b.dispose();
  const c = await pending;
  t.true((tidy(() => c.sub(expected).abs().max().item()) as number) < 1e-3);
});

test('async errors reject with a named Error instead of crashing', async (t) => {
  const a = randn([2, 3]);
  await t.throwsAsync(() => a.matmulAsync(a), { message: /matmulAsync: .*shapes cannot be multiplied/ });
});

// A child process: load the library, run parallel work on the JS thread and on the compute thread, then idle.
const probe = `
const L = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib'))});
(async () => {
  const a = L.randn([256, 256]);
  a.matmul(a).dispose();
  (await a.matmulAsync(a)).dispose();
  const t0 = process.cpuUsage();
  setTimeout(() => {
    const u = process.cpuUsage(t0);
    console.log(JSON.stringify({ policy: process.env.OMP_WAIT_POLICY, spin: process.env.GOMP_SPINCOUNT, idleCpuMs: (u.user + u.system) / 1000 }));
  }, 500);
})();`;

// Asynchronous, so the event-loop test above keeps its ticks.
async function runProbe(env: Record<string, string | undefined>): Promise<{ policy?: string; spin?: string; idleCpuMs: number }> {
  const clean = { ...process.env };
  delete clean.OMP_WAIT_POLICY;
  delete clean.GOMP_SPINCOUNT;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', probe], { encoding: 'utf8', env: { ...clean, ...env } });
  return JSON.parse(stdout.trim()) as { policy?: string; spin?: string; idleCpuMs: number };
}

test('OpenMP waits actively between parallel regions but idle threads sleep; a user setting wins', async (t) => {
  const tuned = await runProbe({});
  t.is(tuned.policy, 'ACTIVE');
  t.is(tuned.spin, '300000');
  // Half a second of idling after parallel work costs almost no CPU (an endless spin would cost ~500 ms).
  t.true(tuned.idleCpuMs < 150, `idle CPU ${tuned.idleCpuMs} ms`);
  const user = await runProbe({ OMP_WAIT_POLICY: 'PASSIVE' });
  t.is(user.policy, 'PASSIVE');
  t.is(user.spin, undefined);
});
