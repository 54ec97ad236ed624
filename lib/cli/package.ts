/** Where this package is installed (dist/lib/cli is three levels down) and its version, for the CLI. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const packageRoot = path.resolve(__dirname, '..', '..', '..');

export function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
