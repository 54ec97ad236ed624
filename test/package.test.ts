// The package surface: CommonJS main + types (what tslab needs), the ESM entry through "exports", and
// declaration files with no `any` at the public surface.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  main: string;
  types: string;
  exports: Record<string, { import: string }>;
};

test('main, types and the ESM entry exist and export the same names', (t) => {
  t.true(fs.existsSync(path.join(root, pkg.main)));
  t.true(fs.existsSync(path.join(root, pkg.types)));
  const esm = path.join(root, pkg.exports['.'].import);
  t.true(fs.existsSync(esm));
  const script = `
    import * as esm from ${JSON.stringify(esm)};
    import { createRequire } from 'module';
    const cjs = createRequire(import.meta.url)(${JSON.stringify(path.join(root, pkg.main))});
    const a = esm.tensor([[1, 2], [3, 4]], { dtype: 'float32' });
    console.log(JSON.stringify({ esm: Object.keys(esm).filter((k) => k !== 'default').sort(), cjs: Object.keys(cjs).sort(), sum: a.sum().item() }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { esm: string[]; cjs: string[]; sum: number };
  t.deepEqual(out.esm, out.cjs);
  t.is(out.sum, 10);
  for (const name of ['Tensor', 'tensor', 'tidy', 'noGrad', 'Batch', 'beamSearch', 'greedy', 'bleu', 'chrf']) {
    t.true(out.cjs.includes(name), `exports ${name}`);
  }
});

test('the public declaration files never use `any`', (t) => {
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.d.ts')) {
        fs.readFileSync(p, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (!/^\s*(\*|\/\/|\/\*)/.test(line) && /(:\s*any\b|<any>|any\[\]|\bas any\b)/.test(line))
              offenders.push(`${path.relative(root, p)}:${i + 1}: ${line.trim()}`);
          });
      }
    }
  };
  walk(path.join(root, 'dist', 'lib'));
  t.deepEqual(offenders, []);
});

test("the README's API tour type-checks against the package's declarations", (t) => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const tour = readme.split('## The API in 30 lines')[1]?.match(/```ts\n([\s\S]*?)```/)?.[1];
  t.truthy(tour, 'README has the API tour');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-tour-'));
  try {
    // Imported by name, as a user writes it; the name maps to this checkout's declarations.
    fs.writeFileSync(
      path.join(dir, 'tour.ts'),
      tour!.replace(/from "xlm-kd-torch"/g, `from ${JSON.stringify(path.join(root, 'dist', 'lib'))}`) + '\nexport {};\n'
    );
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--target',
        'es2022',
        '--module',
        'es2022',
        '--moduleResolution',
        'node',
        '--skipLibCheck',
        '--types',
        'node',
        '--typeRoots',
        path.join(root, 'node_modules', '@types'),
        path.join(dir, 'tour.ts'),
      ],
      { encoding: 'utf8' }
    );
    t.is(r.status, 0, r.stdout + r.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
