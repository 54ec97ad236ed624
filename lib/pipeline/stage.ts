/**
 * Resumable stages of a long job (the demo, the quality benchmark): a finished stage leaves `<name>.json` in the run folder
 * with its result, written atomically, so a rerun after Ctrl-C skips what was done and repeats at most the
 * stage that was interrupted (training stages also resume inside, from their checkpoints).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic-write';

/** Runs `work` unless `<dir>/<name>.json` holds its result already; returns the result either way. */
export async function stage<T>(dir: string, name: string, work: () => Promise<T>): Promise<{ value: T; cached: boolean }> {
  const file = path.join(dir, `${name}.json`);
  if (fs.existsSync(file)) return { value: JSON.parse(fs.readFileSync(file, 'utf8')) as T, cached: true };
  const value = await work();
  fs.mkdirSync(dir, { recursive: true });
  await writeFileAtomic(file, JSON.stringify(value, null, 1) + '\n');
  return { value, cached: false };
}
