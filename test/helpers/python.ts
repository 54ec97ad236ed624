// The .venv's Python (PyTorch reference) for parity tests: whether it is usable, and running its scripts.
import * as fs from 'fs';
import * as path from 'path';
import { execFile, spawnSync } from 'child_process';
import { promisify } from 'util';

export const root = path.resolve(__dirname, '..', '..', '..');
export const python = path.join(root, '.venv', 'bin', 'python');

/** Why the reference cannot run here, or undefined when it can (torch + safetensors importable). */
export function referenceUnavailable(modules = ['torch', 'safetensors']): string | undefined {
  if (!fs.existsSync(python)) return '.venv/bin/python is missing (run scripts/setup.sh)';
  const r = spawnSync(python, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `.venv lacks ${modules.join('/')}: ${r.stderr.trim().split('\n').pop()}`;
}

/** Runs a reference script (path relative to the repo) and returns its stdout; throws with stderr on failure. */
export function runPython(script: string, args: string[]): string {
  const r = spawnSync(python, [path.join(root, script), ...args], { encoding: 'utf8', cwd: root });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

const execFileP = promisify(execFile);

/** {@link runPython} without blocking: the in-process tests run meanwhile. */
export async function runPythonAsync(script: string, args: string[]): Promise<string> {
  try {
    return (await execFileP(python, [path.join(root, script), ...args], { encoding: 'utf8', cwd: root })).stdout;
  } catch (e) {
    const err = e as Error & { code?: number; stderr?: string };
    throw new Error(`${script} ${args.join(' ')} failed (${err.code}):\n${err.stderr ?? err.message}`, { cause: e });
  }
}

/** Runs inline Python code with the repo's bench/reference on sys.path. */
export function runPythonCode(code: string, input?: string): string {
  const prelude = `import sys; sys.path.insert(0, ${JSON.stringify(path.join(root, 'bench', 'reference'))})\n`;
  const r = spawnSync(python, ['-c', prelude + code], { encoding: 'utf8', cwd: root, input });
  if (r.status !== 0) throw new Error(`python failed:\n${r.stderr}`);
  return r.stdout;
}
