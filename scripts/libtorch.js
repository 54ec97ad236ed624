#!/usr/bin/env node
// Finds the LibTorch this package builds against and runs with, and answers the build systems' questions
// about it. One place decides, so cmake-js (CMakeLists.txt), node-gyp (binding.gyp), the install script and
// the runtime loader (lib/native/load.ts) agree.
//
// Order: $LIBTORCH (a LibTorch root), $Torch_DIR (its share/cmake/Torch folder), the `torch` package of the
// project's virtualenv (.venv), the `torch` package of the `python3` on PATH (as tch-rs's
// LIBTORCH_USE_PYTORCH), then the usual install places (/opt/libtorch, /usr/local/libtorch,
// /usr/lib/libtorch, ~/libtorch). Usage: node scripts/libtorch.js <root|include|lib|cuda|version|flavour|
// cxx11abi|sources|libs|describe|json>
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const projectRoot = path.resolve(__dirname, '..');

const HOW_TO_PROVIDE =
  'xlm-kd-torch needs LibTorch >= 2.1 (the C++ library inside every PyTorch). Provide it in one of these ways:\n' +
  '  1. LIBTORCH=/path/to/libtorch (the folder that holds lib/, and include/ to build)\n' +
  '  2. Torch_DIR=/path/to/libtorch/share/cmake/Torch\n' +
  '  3. a project virtualenv with PyTorch: python3 -m venv .venv && .venv/bin/pip install torch\n' +
  '  4. PyTorch for the python3 on PATH: pip install torch (or activate the virtualenv that has it)\n' +
  '  5. LibTorch unpacked in /opt/libtorch, /usr/local/libtorch, /usr/lib/libtorch or ~/libtorch';

function fail(message) {
  const err = new Error(`${message}\n${HOW_TO_PROVIDE}`);
  err.libtorchMissing = true;
  throw err;
}

// The folder of the `torch` package a Python would import, found without importing it (fast, and torch's
// own dependencies need not be installed).
function pythonTorchRoot(python) {
  try {
    const out = execFileSync(
      python,
      [
        '-c',
        "import importlib.util as u; s = u.find_spec('torch'); print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')",
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20000 }
    );
    return out.trim() || null;
  } catch {
    return null;
  }
}

const USUAL_PLACES = ['/opt/libtorch', '/usr/local/libtorch', '/usr/lib/libtorch', path.join(require('os').homedir(), 'libtorch')];

const looksLikeLibtorch = (root) => fs.existsSync(path.join(root, 'lib', 'libtorch_cpu.so')) || fs.existsSync(path.join(root, 'include', 'torch'));

/**
 * The LibTorch root (holds lib/, and include/ for builds) and where it came from, or { error, tried } when
 * there is none. An explicit LIBTORCH or Torch_DIR that does not point at LibTorch is an error, not skipped.
 */
function locateLibtorch() {
  const tried = [];
  for (const [name, root] of [
    ['LIBTORCH', process.env.LIBTORCH],
    ['Torch_DIR', process.env.Torch_DIR && path.resolve(process.env.Torch_DIR, '..', '..', '..')],
  ]) {
    if (!root) continue;
    if (!looksLikeLibtorch(root))
      return { error: `${name} is set but ${root} does not look like LibTorch (no lib/libtorch_cpu.so)`, tried: [`${name}=${root}`] };
    return { root: path.resolve(root), from: name };
  }
  tried.push('LIBTORCH and Torch_DIR: unset');
  const venvPython = path.join(projectRoot, '.venv', 'bin', 'python');
  if (fs.existsSync(venvPython)) {
    const root = pythonTorchRoot(venvPython);
    if (root && looksLikeLibtorch(root)) return { root, from: '.venv (PyTorch package)' };
    tried.push(`${venvPython}: no torch package`);
  } else tried.push(`${path.join(projectRoot, '.venv')}: none`);
  const root = pythonTorchRoot('python3');
  if (root && looksLikeLibtorch(root)) return { root, from: 'python3 on PATH (PyTorch package)' };
  tried.push(root === null ? 'python3 on PATH: none, or no torch package' : `python3 on PATH: torch at ${root} has no lib/libtorch_cpu.so`);
  for (const place of USUAL_PLACES) {
    if (looksLikeLibtorch(place)) return { root: place, from: 'a usual place' };
  }
  tried.push(`${USUAL_PLACES.join(', ')}: none`);
  return { error: 'LibTorch was not found', tried };
}

/** locateLibtorch() for builds: throws the explanatory error when there is none. */
function findLibtorch() {
  const found = locateLibtorch();
  if (found.error) fail(`${found.error} (tried: ${found.tried.join('; ')}).`);
  return found;
}

function readVersion(root) {
  // The header moved in 2.9 (headeronly/); older releases keep it under csrc/api.
  const headers = [
    path.join(root, 'include', 'torch', 'headeronly', 'version.h'),
    path.join(root, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'version.h'),
  ];
  for (const header of headers) {
    if (!fs.existsSync(header)) continue;
    const text = fs.readFileSync(header, 'utf8');
    const part = (name) => (text.match(new RegExp(`#define TORCH_VERSION_${name}\\s+(\\d+)`)) || [])[1];
    if (part('MAJOR') !== undefined) return `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
  }
  // No headers (a runtime-only install): LibTorch's build-version file, or the PyTorch package's version.py.
  const buildVersion = path.join(root, 'build-version');
  if (fs.existsSync(buildVersion)) return fs.readFileSync(buildVersion, 'utf8').trim().split('+')[0];
  const versionPy = path.join(root, 'version.py');
  if (fs.existsSync(versionPy)) {
    const m = fs.readFileSync(versionPy, 'utf8').match(/__version__\s*=\s*['"]([\d.]+)/);
    if (m) return m[1];
  }
  return 'unknown';
}

function hasCuda(root) {
  return fs.existsSync(path.join(root, 'lib', 'libtorch_cuda.so'));
}

/** 'cuda' or 'cpu': which LibTorch build this is (an addon built against one does not load against the other). */
function flavour(root) {
  return hasCuda(root) ? 'cuda' : 'cpu';
}

/** What an addon built against `root` records beside itself (<addon>.libtorch.json), and the loader checks. */
function buildRecord(root) {
  return { version: readVersion(root), flavour: flavour(root), cxx11abi: cxx11abi(root) };
}

function cxx11abi(root) {
  // Every LibTorch >= 2.7 uses the new ABI; older pre-cxx11 builds say so in their cmake config.
  const cfg = path.join(root, 'share', 'cmake', 'Caffe2', 'Caffe2Config.cmake');
  const torchCfg = path.join(root, 'share', 'cmake', 'Torch', 'TorchConfig.cmake');
  for (const f of [torchCfg, cfg]) {
    if (!fs.existsSync(f)) continue;
    const m = fs.readFileSync(f, 'utf8').match(/_GLIBCXX_USE_CXX11_ABI=([01])/);
    if (m) return m[1];
  }
  return '1';
}

function sources(kind) {
  const out = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith(kind)) out.push(path.relative(projectRoot, p));
    }
  };
  walk(path.join(projectRoot, 'native'));
  return out.sort();
}

function checkVersion(version) {
  const m = version.match(/^(\d+)\.(\d+)/);
  if (m && (Number(m[1]) < 2 || (Number(m[1]) === 2 && Number(m[2]) < 1))) {
    fail(`Found LibTorch ${version}; version 2.1 or newer is required.`);
  }
}

module.exports = { HOW_TO_PROVIDE, locateLibtorch, findLibtorch, readVersion, hasCuda, flavour, buildRecord, USUAL_PLACES };

if (require.main === module) {
  try {
    const what = process.argv[2] || 'describe';
    const { root, from } = findLibtorch();
    const version = readVersion(root);
    checkVersion(version);
    const answers = {
      root: () => root,
      include: () => [path.join(root, 'include'), path.join(root, 'include', 'torch', 'csrc', 'api', 'include')].join(' '),
      lib: () => path.join(root, 'lib'),
      cuda: () => (hasCuda(root) ? '1' : '0'),
      version: () => version,
      cxx11abi: () => cxx11abi(root),
      sources: () => sources('.cc').join(' '),
      libs: () => {
        const libs = ['-lc10', '-ltorch_cpu', '-ltorch'];
        if (hasCuda(root)) libs.push('-ltorch_cuda', '-lc10_cuda');
        return libs.join(' ');
      },
      flavour: () => flavour(root),
      json: () => JSON.stringify(buildRecord(root)),
      describe: () => `LibTorch ${version} at ${root} (from ${from}${hasCuda(root) ? ', with CUDA' : ', CPU only'})`,
    };
    if (!answers[what]) fail(`unknown question '${what}'`);
    process.stdout.write(answers[what]() + '\n');
  } catch (err) {
    process.stderr.write(err.message + '\n');
    process.exit(1);
  }
}
