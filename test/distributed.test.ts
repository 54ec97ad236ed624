// ProcessGroup on c10d + Gloo between real Node processes on loopback, started the way torchrun starts them
// (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, LOCAL_RANK): allReduce (sum, avg, max, min), broadcast,
// allGather and barrier against values worked by hand; a peer killed with SIGKILL fails the survivor's
// collective quickly with an error naming the operation and the rank; bad options are clear errors.
import test from 'ava';
import * as path from 'path';
import { spawn } from 'child_process';
import { freePort, ProcessGroup } from '../lib';

const CHILD = path.join(__dirname, 'helpers', 'dist-child.js');

interface RankOut {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: Record<string, unknown> | undefined;
  stderr: string;
}

async function launch(world: number, scenario: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<RankOut[]> {
  const port = await freePort();
  const children: Array<ReturnType<typeof spawn>> = [];
  return Promise.all(
    Array.from(
      { length: world },
      (_, rank) =>
        new Promise<RankOut>((resolve) => {
          const env = {
            ...process.env,
            ...extraEnv,
            RANK: String(rank),
            WORLD_SIZE: String(world),
            LOCAL_RANK: String(rank),
            MASTER_ADDR: '127.0.0.1',
            MASTER_PORT: String(port),
            OMP_NUM_THREADS: '1',
          };
          const child = spawn(process.execPath, [CHILD, scenario], { env });
          children.push(child);
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('close', (code, signal) => {
            // A stopped (frozen) rank never ends by itself: once one rank is done, the rest are ended.
            if (scenario === 'peer-freezes') for (const c of children) if (c !== child && c.exitCode === null) c.kill('SIGKILL');
            const line = stdout.trim().split('\n').pop();
            resolve({ code, signal, out: line ? (JSON.parse(line) as Record<string, unknown>) : undefined, stderr });
          });
        })
    )
  );
}

test('two ranks: allReduce, broadcast, allGather and barrier give the hand-worked values', async (t) => {
  const ranks = await launch(2, 'collectives');
  for (const [rank, r] of ranks.entries()) {
    t.is(r.code, 0, r.stderr);
    t.like(r.out, {
      rank,
      worldSize: 2,
      localRank: rank,
      sum: [1 + 2, 10 + 20],
      avg: [(1 + 2) / 2],
      max: [2],
      min: [-3],
      bcast: [7, 8, 9],
      gather: [
        [0, 0],
        [1, 1],
      ],
    });
  }
});

test("a peer killed with SIGKILL fails the survivor's collective at once, naming the operation and the rank", async (t) => {
  const [zero, one] = await launch(2, 'peer-dies');
  t.is(one.signal, 'SIGKILL');
  t.is(zero.code, 0, zero.stderr);
  const out = zero.out as { error: string | null; ms: number };
  t.truthy(out.error, 'the allReduce should have failed');
  t.regex(out.error!, /^distAllReduceAsync: allReduce failed on rank 0 of 2: /);
  t.true(out.ms < 10000, `took ${out.ms} ms (the group timeout is 20 s)`);
});

test("a frozen peer (SIGSTOP) fails the survivor's collective after the group timeout, not before", async (t) => {
  const started = Date.now();
  const [zero] = await launch(2, 'peer-freezes', { XKT_TEST_TIMEOUT_MS: '3000' });
  t.is(zero.code, 0, zero.stderr);
  const out = zero.out as { error: string | null; ms: number };
  t.truthy(out.error, 'the allReduce should have failed');
  t.regex(out.error!, /^distAllReduceAsync: allReduce failed on rank 0 of 2: .*[Tt]imed out/);
  t.true(out.ms >= 2500 && out.ms < 15000, `failed after ${out.ms} ms (timeout 3000 ms)`);
  t.true(Date.now() - started < 60000, 'the survivor exited');
});

test('bad options are clear errors before any connection', async (t) => {
  await t.throwsAsync(ProcessGroup.init({ rank: 2, worldSize: 2, masterPort: 29999 }), {
    message: /argument 'options\.rank' must be an integer in \[0, 1\]/,
  });
  await t.throwsAsync(ProcessGroup.init({ rank: 0, worldSize: 1, masterPort: 70000 }), {
    message: /argument 'options\.masterPort' must be an integer in \[1, 65535\]/,
  });
  const saved = process.env.WORLD_SIZE;
  process.env.WORLD_SIZE = 'two';
  try {
    await t.throwsAsync(ProcessGroup.init(), { message: /environment variable WORLD_SIZE must be a whole number, got 'two'/ });
  } finally {
    if (saved === undefined) delete process.env.WORLD_SIZE;
    else process.env.WORLD_SIZE = saved;
  }
});

test('a group of one works without peers', async (t) => {
  const pg = await ProcessGroup.init({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: await freePort(), timeoutMs: 10000 });
  const { tensor } = await import('../lib');
  const x = tensor([1, 2, 3], { dtype: 'float32' });
  await pg.allReduce(x, 'avg');
  t.deepEqual(x.tolist(), [1, 2, 3]);
  t.deepEqual(
    (await pg.allGather(x)).map((g) => g.tolist()),
    [[1, 2, 3]]
  );
  // The Reducer over one rank: the gradient of sum(w * w) is 2w, averaged over one rank = itself.
  const { DataParallel } = await import('../lib');
  const w = tensor([1, -2, 3], { dtype: 'float32', requiresGrad: true });
  const dp = await DataParallel.create(pg, new Map([['w', w]]));
  const loss = w.mul(w).sum();
  await dp.prepareForBackward([loss]);
  await loss.backwardAsync();
  t.deepEqual(w.grad!.tolist(), [2, -4, 6]);
  dp.dispose();
  await t.throwsAsync(DataParallel.create(pg, new Map([['x', x]])), { message: /argument 'params' has no tensor that requires grad/ });
  pg.destroy();
  await t.throwsAsync(pg.barrier(), { message: /the group was destroyed/ });
});
