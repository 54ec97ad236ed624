/**
 * launchRanks: torchrun's local launcher for Node scripts. Starts `nproc` copies of a command on this machine
 * with RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set (for several machines,
 * `nnodes` and `nodeRank` as torchrun's), prefixes each line they print with its rank, and when one rank
 * fails gives the others a grace period to fail by themselves (their collectives fail at once when a peer's
 * socket closes, and they say which operation failed), then kills what is left (a frozen rank, one stuck
 * in a collective until the group timeout), so the launcher exits with the failure instead of waiting.
 */
import { type ChildProcess, spawn } from 'child_process';
import * as net from 'net';
import * as os from 'os';
import * as readline from 'readline';

/** Options of {@link launchRanks}. */
export interface LaunchOptions {
  /** Processes on this machine (>= 1). */
  nproc: number;
  /** The program and its arguments, run with this Node (`process.execPath`). */
  args: string[];
  /** Machines in the run (default 1) and this machine's index among them (default 0), as torchrun. */
  nnodes?: number;
  /** This machine's index among the `nnodes` (default 0). */
  nodeRank?: number;
  /** Where rank 0 serves the rendezvous (default 127.0.0.1; give an address the other machines reach). */
  masterAddr?: string;
  /** Its port (default: a free port with one machine, 29500 with several). */
  masterPort?: number;
  /** Extra environment of every rank (on top of this process's). */
  env?: NodeJS.ProcessEnv;
  /** Where the ranks' prefixed lines go (default this process's streams). */
  stdout?: NodeJS.WritableStream;
  /** Where the ranks' prefixed error lines go (default this process's stderr). */
  stderr?: NodeJS.WritableStream;
  /** After a failure, ms the remaining ranks get to end by themselves before they are killed (default 3000). */
  killAfterMs?: number;
}

/** How a launch ended. */
export interface LaunchResult {
  /** 0 when every rank exited 0; else the first failure's code (128 + signal number for a signal). */
  exitCode: number;
  /** Each local rank's exit code or signal. */
  ranks: Array<{ rank: number; code: number | null; signal: NodeJS.Signals | null }>;
  /** The first rank that failed (its global rank), if any. */
  failedRank?: number;
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`launchRanks: option '${name}' must be an integer >= ${min}, got ${String(v)}`);
}

/** Runs the ranks of this machine to the end; see the file header. */
export async function launchRanks(opts: LaunchOptions): Promise<LaunchResult> {
  const nnodes = opts.nnodes ?? 1;
  const nodeRank = opts.nodeRank ?? 0;
  checkInt('nproc', opts.nproc, 1);
  checkInt('nnodes', nnodes, 1);
  checkInt('nodeRank', nodeRank, 0);
  if (nodeRank >= nnodes) throw new RangeError(`launchRanks: option 'nodeRank' must be below nnodes (${nnodes}), got ${nodeRank}`);
  if (!Array.isArray(opts.args) || opts.args.length === 0) throw new TypeError("launchRanks: option 'args' must name the program to run");
  const masterAddr = opts.masterAddr ?? '127.0.0.1';
  const masterPort = opts.masterPort ?? (nnodes === 1 ? await freePort() : 29500);
  const world = nnodes * opts.nproc;
  const out = opts.stdout ?? process.stdout;
  const err = opts.stderr ?? process.stderr;
  const killAfterMs = opts.killAfterMs ?? 3000;
  // As torchrun: ranks share the cores unless told otherwise.
  const threads = String(Math.max(1, Math.floor(os.availableParallelism() / opts.nproc)));

  const children: ChildProcess[] = [];
  let failedRank: number | undefined;
  let exitCode = 0;
  let killTimer: NodeJS.Timeout | undefined;
  // SIGKILL, not SIGTERM: a rank whose group has failed can neither save nor stop cleanly.
  const endOthers = () => {
    killTimer = setTimeout(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, killAfterMs);
  };
  // Ctrl-C and SIGTERM reach the ranks (they save a checkpoint and stop); the launcher waits for them.
  const forward = (signal: NodeJS.Signals) => () => {
    for (const c of children) if (c.exitCode === null) c.kill(signal);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  try {
    const ranks = await Promise.all(
      Array.from({ length: opts.nproc }, (_, local) => {
        const rank = nodeRank * opts.nproc + local;
        const env: NodeJS.ProcessEnv = {
          OMP_NUM_THREADS: threads,
          ...process.env,
          ...opts.env,
          RANK: String(rank),
          LOCAL_RANK: String(local),
          WORLD_SIZE: String(world),
          LOCAL_WORLD_SIZE: String(opts.nproc),
          GROUP_RANK: String(nodeRank),
          MASTER_ADDR: masterAddr,
          MASTER_PORT: String(masterPort),
        };
        const child = spawn(process.execPath, opts.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        const prefix = `[rank ${rank}] `;
        const pipe = (from: NodeJS.ReadableStream, to: NodeJS.WritableStream) =>
          new Promise<void>((done) => {
            const lines = readline.createInterface({ input: from, crlfDelay: Infinity });
            lines.on('line', (line) => to.write(prefix + line + '\n'));
            lines.on('close', done);
          });
        const piped = Promise.all([pipe(child.stdout, out), pipe(child.stderr, err)]);
        child.on('error', (e) => {
          err.write(`${prefix}could not start: ${e.message}\n`);
        });
        const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (code, signal) => resolve([code, signal])));
        // The rank's end is reported after its last lines; a throw here rejects launchRanks (an async 'close'
        // listener would have left it an unhandled rejection, and this promise pending).
        return Promise.all([closed, piped]).then(([[code, signal]]): LaunchResult['ranks'][number] => {
          if ((code !== 0 || signal) && failedRank === undefined) {
            failedRank = rank;
            exitCode = code ?? 128 + (os.constants.signals[signal!] ?? 0);
            err.write(`${prefix}exited with ${signal ? `signal ${signal}` : `code ${code}`}; the other ranks are ended in ${killAfterMs / 1000} s\n`);
            endOthers();
          }
          return { rank, code, signal };
        });
      })
    );
    return { exitCode, ranks, failedRank };
  } finally {
    if (killTimer) clearTimeout(killTimer);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
