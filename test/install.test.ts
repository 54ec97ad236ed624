// The packed package as a user installs it: `npm pack`, then `npm install <tarball>` into an empty project
// with no compiler on PATH and LibTorch only in a virtualenv outside the project — found through that
// virtualenv's python3 on PATH, and again through LIBTORCH — then a Teacher forward and a beam search. A
// LibTorch of another version gives one clear error naming both versions and the rebuild command. The
// prebuild's dynamic section holds no path (no RPATH/RUNPATH).
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFile, spawnSync } from 'child_process';
import { promisify } from 'util';

const root = path.resolve(__dirname, '..', '..');
const torchDir = spawnSync(
  path.join(root, '.venv', 'bin', 'python'),
  ['-c', 'import importlib.util as u; print(u.find_spec("torch").submodule_search_locations[0])'],
  {
    encoding: 'utf8',
  }
).stdout.trim();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-install-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
const execFileP = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
async function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  try {
    const r = await execFileP(cmd, args, { ...opts, encoding: 'utf8', timeout: 400000, maxBuffer: 64 * 2 ** 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** A PATH with node, npm and sh only (no cc, g++, make), plus `extra` folders first. */
function bareEnv(extra: string[], more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const bin = path.join(tmp, 'bin');
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(bin);
    const npmCli = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
    fs.writeFileSync(
      path.join(bin, 'npm'),
      `#!/bin/sh\nexec "${process.execPath}" "${fs.existsSync(npmCli) ? npmCli : spawnSync('sh', ['-c', 'command -v npm']).stdout.toString().trim()}" "$@"\n`,
      { mode: 0o755 }
    );
  }
  const env: NodeJS.ProcessEnv = { HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, PATH: [...extra, bin].join(':'), ...more };
  return env;
}

const SCRIPT = `
const x = require('xlm-kd-torch');
x.manualSeed(0);
const teacher = x.Teacher.create({ vocabSize: 30, embDim: 16, nHeads: 2, encoderLayers: 1, decoderLayers: 1 }).eval();
const batch = x.Batch.from({ src: [[5, 6, 7], [8, 9]], tgt: [[10, 11], [12]] });
const logits = x.noGrad(() => teacher.forward(batch));
x.beamSearch(teacher, x.Batch.from({ src: [[5, 6, 7]] }), { beamSize: 3, maxLength: 5 }).then((hyps) => {
  const best = hyps[0][0];
  console.log(JSON.stringify({ addon: x.loadedAddonPath(), shape: logits.shape, sum: logits.sum().item(), tokens: best.tokens, score: best.score }));
});`;

let project = '';
let tarball = '';

test.serial('npm pack, then npm install into an empty project without a compiler: the prebuild is used as is', async (t) => {
  t.true(
    fs.existsSync(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`)),
    'no prebuild: run scripts/setup.sh (or npm run prebuild) first'
  );
  t.truthy(torchDir, '.venv has no torch: run scripts/setup.sh');
  const pack = await run('npm', ['pack', '--pack-destination', tmp, '--json'], { cwd: root, env: process.env });
  t.is(pack.code, 0, pack.stderr);
  const [info] = JSON.parse(pack.stdout) as Array<{ filename: string; size: number; unpackedSize: number; entryCount: number }>;
  tarball = path.join(tmp, info.filename);
  t.log(
    `tarball ${info.filename}: ${(info.size / 2 ** 20).toFixed(1)} MB packed, ${(info.unpackedSize / 2 ** 20).toFixed(1)} MB unpacked, ${info.entryCount} files`
  );

  // A virtualenv outside the project whose only package is torch (linked from .venv: same files, no download).
  const venv = path.join(tmp, 'venv');
  t.is(spawnSync('python3', ['-m', 'venv', '--without-pip', venv]).status, 0);
  const site = spawnSync(path.join(venv, 'bin', 'python3'), ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], {
    encoding: 'utf8',
  }).stdout.trim();
  fs.symlinkSync(torchDir, path.join(site, 'torch'));

  project = path.join(tmp, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true }));
  const env = bareEnv([path.join(venv, 'bin')]);
  t.not(
    spawnSync('sh', ['-c', 'command -v cc || command -v gcc || command -v g++ || command -v make'], { env }).status,
    0,
    'a compiler is on the bare PATH'
  );
  const started = Date.now();
  const install = await run('npm', ['install', '--no-package-lock', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', tarball], {
    cwd: project,
    env,
  });
  t.log(`npm install without a compiler: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  t.is(install.code, 0, install.stderr + install.stdout);
  t.regex(
    install.stdout + install.stderr,
    /xlm-kd-torch: using the prebuilt addon for LibTorch \d+\.\d+\.\d+ \(cpu\), found at .* \(from python3 on PATH/
  );
  const installed = path.join(project, 'node_modules', 'xlm-kd-torch');
  t.false(fs.existsSync(path.join(installed, 'build')), 'nothing was compiled');

  const r = await run('node', ['-e', SCRIPT], { cwd: project, env });
  t.is(r.code, 0, r.stderr);
  type Probe = { addon: string; shape: number[]; sum: number; tokens: number[]; score: number };
  const out = JSON.parse(r.stdout.trim()) as Probe;
  t.true(out.addon.startsWith(path.join(installed, 'prebuilds')), `loaded ${out.addon}`);
  t.deepEqual(out.shape, [2, 3, 30]);
  // The same numbers as this checkout gives (same seed, same LibTorch).
  const here = await run(process.execPath, ['-e', SCRIPT], { cwd: root, env: process.env });
  t.is(here.code, 0, here.stderr);
  const ref = JSON.parse(here.stdout.trim()) as Probe;
  t.deepEqual([out.sum, out.tokens, out.score], [ref.sum, ref.tokens, ref.score]);
  t.true(Number.isFinite(out.score));

  const readelf = spawnSync('readelf', ['-d', out.addon], { encoding: 'utf8' });
  if (readelf.status === 0) {
    t.log(
      readelf.stdout
        .split('\n')
        .filter((l) => /NEEDED|RPATH|RUNPATH/.test(l))
        .map((l) => l.trim())
        .join('\n')
    );
    t.notRegex(readelf.stdout, /RPATH|RUNPATH/);
  }
});

test.serial('the same install finds LibTorch through LIBTORCH, with no Python on PATH', async (t) => {
  t.truthy(project, 'the install test ran first');
  const r = await run('node', ['-e', SCRIPT], { cwd: project, env: bareEnv([], { LIBTORCH: torchDir }) });
  t.is(r.code, 0, r.stderr);
  t.deepEqual((JSON.parse(r.stdout.trim()) as { shape: number[] }).shape, [2, 3, 30]);
  const doctor = await run('node', [path.join(project, 'node_modules', '.bin', 'xlm-kd'), 'doctor'], {
    cwd: project,
    env: bareEnv([], { LIBTORCH: torchDir }),
  });
  t.is(doctor.code, 0, doctor.stderr);
  t.regex(doctor.stdout, /LibTorch: \d+\.\d+\.\d+ \(CPU\) at .*\n {2}found through: LIBTORCH/);
  t.regex(doctor.stdout, /prebuilds.*built against LibTorch \d+\.\d+\.\d+ \(cpu\), matches/);
  t.regex(doctor.stdout, /Addon: loads from /);
});

test.serial('a LibTorch of another version is one clear error naming both and the rebuild command', async (t) => {
  t.truthy(project, 'the install test ran first');
  // A fake LibTorch 2.1.0: the real libraries behind a version header that says 2.1.0.
  const fake = path.join(tmp, 'libtorch-2.1.0');
  fs.mkdirSync(path.join(fake, 'include', 'torch', 'headeronly'), { recursive: true });
  fs.writeFileSync(
    path.join(fake, 'include', 'torch', 'headeronly', 'version.h'),
    '#define TORCH_VERSION_MAJOR 2\n#define TORCH_VERSION_MINOR 1\n#define TORCH_VERSION_PATCH 0\n'
  );
  fs.symlinkSync(path.join(torchDir, 'lib'), path.join(fake, 'lib'));
  const r = await run('node', ['-e', SCRIPT], { cwd: project, env: bareEnv([], { LIBTORCH: fake }) });
  t.not(r.code, 0);
  t.regex(r.stderr, /built against LibTorch \d+\.\d+\.\d+ \(CPU\), but found LibTorch 2\.1\.0 \(CPU\) at .*libtorch-2\.1\.0 \(from LIBTORCH\)/);
  t.regex(r.stderr, /npm rebuild xlm-kd-torch/);
  t.notRegex(r.stderr, /undefined symbol|Segmentation/);
});
