// One rank of test/distributed.test.ts: joins the group from torchrun's environment variables and runs the
// scenario named by argv[2], printing one JSON line.
import { ProcessGroup, tensor } from '../../lib';

async function main(): Promise<void> {
  const pg = await ProcessGroup.init({ timeoutMs: Number(process.env.XKT_TEST_TIMEOUT_MS ?? 20000) });
  const r = pg.rank;
  const f32 = (v: number[]) => tensor(v, { dtype: 'float32' });
  if (process.argv[2] === 'collectives') {
    const sum = await pg.allReduce(f32([r + 1, 10 * (r + 1)]), 'sum');
    const avg = await pg.allReduce(f32([r + 1]), 'avg');
    const max = await pg.allReduce(f32([5 * r - 3]), 'max');
    const min = await pg.allReduce(f32([5 * r - 3]), 'min');
    const bcast = await pg.broadcast(f32(r === 1 ? [7, 8, 9] : [0, 0, 0]), 1);
    const gather = await pg.allGather(tensor([r, r * r], { dtype: 'int64' }));
    await pg.barrier();
    console.log(
      JSON.stringify({
        rank: r,
        worldSize: pg.worldSize,
        localRank: pg.localRank,
        sum: sum.tolist(),
        avg: avg.tolist(),
        max: max.tolist(),
        min: min.tolist(),
        bcast: bcast.tolist(),
        gather: gather.map((t) => t.tolist()),
      })
    );
  } else if (process.argv[2] === 'peer-dies' || process.argv[2] === 'peer-freezes') {
    await pg.barrier();
    if (r === 1) process.kill(process.pid, process.argv[2] === 'peer-dies' ? 'SIGKILL' : 'SIGSTOP');
    const started = Date.now();
    try {
      await pg.allReduce(f32(new Array<number>(1024).fill(1)), 'sum');
      console.log(JSON.stringify({ rank: r, error: null }));
    } catch (err) {
      console.log(JSON.stringify({ rank: r, error: (err as Error).message, ms: Date.now() - started }));
    }
  }
  process.exit(0);
}

main().catch((err) => {
  console.log(JSON.stringify({ fatal: (err as Error).message }));
  process.exit(1);
});
