/**
 * The multi-process side of `xlm-kd train` and `xlm-kd distill`: `--nproc N` relaunches the same command as N
 * ranks on this machine (lib/distributed/launch.ts, torchrun's variables; `--nnodes`/`--node-rank`/
 * `--master-addr` for several machines), and a rank started that way, or by torchrun itself, joins the
 * process group the trainer then uses. Rank 0 alone writes the run folder and prints the result.
 */
import * as path from 'node:path';
import { launchRanks } from '../distributed/launch';
import { ProcessGroup } from '../distributed/process-group';
import { type FlagValues, int, str } from './args';
import { type CliIO, UsageError } from './io';

/** parseArgs specs of the flags. */
export const rankFlagSpecs = {
  nproc: { type: 'string' },
  nnodes: { type: 'string' },
  'node-rank': { type: 'string' },
  'master-addr': { type: 'string' },
  'master-port': { type: 'string' },
  'rank-timeout': { type: 'string' },
} as const;

/** Their help text. */
export const rankFlagsHelp = `Several processes (data-parallel; gradients averaged by PyTorch's c10d Reducer):
      --nproc N            ranks on this machine (default 1); each trains on its share of the batches
      --nnodes N           machines in the run (default 1), each running this command with --nproc
      --node-rank K        this machine's index in [0, nnodes) (default 0; machine 0 serves the rendezvous)
      --master-addr HOST   machine 0's address as the others reach it (default 127.0.0.1)
      --master-port P      its rendezvous port (default: a free one with one machine, 29500 with several)
      --rank-timeout S     seconds a rank waits for the others before the run stops with an error
                           (default 300); validation and teacher caches on rank 0 must fit in it
`;

/** True in a process started as one rank of several (by --nproc or by torchrun). */
function isRank(): boolean {
  return Number(process.env.WORLD_SIZE ?? '1') > 1;
}

/**
 * With `--nproc`/`--nnodes` in a process that is not yet a rank, runs `before` and then `command args` as the
 * ranks of this machine and resolves to the launcher's exit code; otherwise resolves to undefined (run here).
 */
export async function launchIfAsked(
  v: FlagValues,
  command: string,
  args: string[],
  io: CliIO,
  before?: () => Promise<void>
): Promise<number | undefined> {
  const nproc = int(v, 'nproc', 1) ?? 1;
  const nnodes = int(v, 'nnodes', 1) ?? 1;
  if (isRank() || (nproc === 1 && nnodes === 1)) return undefined;
  const nodeRank = int(v, 'node-rank', 0) ?? 0;
  if (nodeRank >= nnodes) throw new UsageError(`--node-rank must be below --nnodes (${nnodes}), got ${nodeRank}`);
  const masterPort = int(v, 'master-port', 1);
  if (masterPort !== undefined && masterPort > 65535) throw new UsageError(`--master-port must be a port number, got ${masterPort}`);
  const timeout = int(v, 'rank-timeout', 1);
  // Work every rank would otherwise repeat or race at (building the token store) is done once, here.
  await before?.();
  const r = await launchRanks({
    nproc,
    nnodes,
    nodeRank,
    masterAddr: str(v, 'master-addr'),
    masterPort,
    args: [path.join(__dirname, 'index.js'), command, ...args],
    env: timeout === undefined ? {} : { XLM_KD_DIST_TIMEOUT_MS: String(timeout * 1000) },
    stdout: io.stdout,
    stderr: io.stderr,
  });
  return r.exitCode;
}

/** In a rank, joins the group from the environment (the --rank-timeout applies); undefined in a single process. */
export async function joinGroup(v: FlagValues): Promise<ProcessGroup | undefined> {
  if (!isRank()) return undefined;
  const timeout = int(v, 'rank-timeout', 1);
  return ProcessGroup.init(timeout === undefined ? {} : { timeoutMs: timeout * 1000 });
}
