// Heavy native calls run off the JS thread: the event loop keeps ticking while they work.
import test from 'ava';
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
  t.true(asyncTicks >= Math.min(3, Math.floor(elapsed / 20)), `timer should tick while the async matmul runs (got ${asyncTicks} ticks in ${elapsed} ms)`);
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
