// Runs the built `xlm-kd` command (dist/lib/cli/index.js) in a child process for the CLI tests: its exit code
// and both streams, whether it succeeded or not.
import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';

/** The built command's entry point. */
export const CLI = path.join(__dirname, '..', '..', 'lib', 'cli', 'index.js');

/** What a run of the command returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

const execFileP = promisify(execFile);

/** Runs `xlm-kd args…` (one LibTorch thread, so tests running side by side do not fight over cores). */
export async function runCli(args: string[], timeoutMs = 240000): Promise<CliRun> {
  try {
    const r = await execFileP(process.execPath, [CLI, ...args], {
      encoding: 'utf8',
      timeout: timeoutMs,
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}
