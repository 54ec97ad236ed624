// The prebuild in prebuilds/ loads in a fresh copy of the package with no build/ folder and no compiler
// step: only the files package.json ships plus the runtime dependency node-gyp-build.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';

const root = path.resolve(__dirname, '..', '..');
const torchDir = spawnSync(
  path.join(root, '.venv', 'bin', 'python'),
  ['-c', 'import importlib.util as u; print(u.find_spec("torch").submodule_search_locations[0])'],
  {
    encoding: 'utf8',
  }
).stdout.trim();
const hasPrebuild = fs.existsSync(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`));

(hasPrebuild ? test : test.skip)(
  `loads the prebuild from prebuilds/ in a fresh copy${hasPrebuild ? '' : ' (skipped: run `npm run prebuild` first)'}`,
  (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-prebuild-'));
    try {
      for (const entry of ['package.json', 'prebuilds', 'scripts', path.join('dist', 'lib')]) {
        fs.cpSync(path.join(root, entry), path.join(dir, entry), { recursive: true });
      }
      fs.cpSync(path.join(root, 'node_modules', 'node-gyp-build'), path.join(dir, 'node_modules', 'node-gyp-build'), {
        recursive: true,
      });
      const script = `
        const x = require('./dist/lib');
        const a = x.tensor([[1, 2], [3, 4]], { dtype: 'float32' });
        console.log(JSON.stringify({ addon: x.loadedAddonPath(), product: a.matmul(a).tolist() }));`;
      // The copy has no .venv: LibTorch comes from LIBTORCH, as for a user with LibTorch elsewhere.
      const env: NodeJS.ProcessEnv = { ...process.env, LIBTORCH: torchDir };
      delete env.XLM_KD_TORCH_ADDON;
      const r = spawnSync(process.execPath, ['-e', script], { cwd: dir, env, encoding: 'utf8' });
      t.is(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim()) as { addon: string; product: number[][] };
      t.true(out.addon.startsWith(path.join(dir, 'prebuilds')), `loaded ${out.addon}`);
      t.deepEqual(out.product, [
        [7, 10],
        [15, 22],
      ]);
      t.false(fs.existsSync(path.join(dir, 'build')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
);

test('a missing addon gives one explanatory error', (t) => {
  const script = `try { require('./dist/lib').zeros([1]); } catch (e) { console.log(e.message); }`;
  const r = spawnSync(process.execPath, ['-e', script], {
    cwd: root,
    env: { ...process.env, XLM_KD_TORCH_ADDON: '/nonexistent/addon.node' },
    encoding: 'utf8',
  });
  t.regex(r.stdout, /Could not load the xlm-kd-torch native addon/);
  t.regex(r.stdout, /\/nonexistent\/addon\.node: not found/);
  t.regex(r.stdout, /LibTorch found: LibTorch \d+\.\d+\.\d+ \(CPU\) at /);
  t.regex(r.stdout, /Possible solutions/);
});
