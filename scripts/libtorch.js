#!/usr/bin/env node
// Finds the LibTorch this package builds against and answers the build systems' questions about it.
// One place decides, so cmake-js (CMakeLists.txt), node-gyp (binding.gyp) and the runtime loader agree.
//
// Order: $LIBTORCH (a LibTorch root), $Torch_DIR (its share/cmake/Torch folder), then the `torch`
// package of the project's virtualenv (.venv). Usage: node scripts/libtorch.js <root|include|lib|cuda|
// version|cxx11abi|sources|describe>
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const projectRoot = path.resolve(__dirname, '..');

function fail(message) {
  const err = new Error(
    `${message}\nxlm-kd-torch needs LibTorch >= 2.1. Provide it in one of three ways:\n` +
      '  1. LIBTORCH=/path/to/libtorch (the folder that holds include/ and lib/)\n' +
      '  2. Torch_DIR=/path/to/libtorch/share/cmake/Torch\n' +
      '  3. a project virtualenv with PyTorch: python3 -m venv .venv && .venv/bin/pip install torch'
  );
  err.libtorchMissing = true;
  throw err;
}

function venvTorchRoot() {
  const python = path.join(projectRoot, '.venv', 'bin', 'python');
  if (!fs.existsSync(python)) return null;
  try {
    const out = execFileSync(python, ['-c', 'import torch, os; print(os.path.dirname(torch.__file__))'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim();
  } catch {
    return null;
  }
}

/** The LibTorch root (holds include/ and lib/) and where it came from. */
function findLibtorch() {
  const candidates = [];
  if (process.env.LIBTORCH) candidates.push({ root: process.env.LIBTORCH, from: 'LIBTORCH' });
  if (process.env.Torch_DIR) {
    candidates.push({ root: path.resolve(process.env.Torch_DIR, '..', '..', '..'), from: 'Torch_DIR' });
  }
  for (const c of candidates) {
    if (!fs.existsSync(path.join(c.root, 'include', 'torch'))) {
      fail(`${c.from} is set but ${c.root} does not look like LibTorch (no include/torch).`);
    }
    return { root: path.resolve(c.root), from: c.from };
  }
  const venv = venvTorchRoot();
  if (venv) return { root: venv, from: '.venv (PyTorch package)' };
  fail('LibTorch was not found: LIBTORCH and Torch_DIR are unset and .venv has no torch package.');
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
  return 'unknown';
}

function hasCuda(root) {
  return fs.existsSync(path.join(root, 'lib', 'libtorch_cuda.so'));
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

module.exports = { findLibtorch, readVersion, hasCuda };

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
      describe: () => `LibTorch ${version} at ${root} (from ${from}${hasCuda(root) ? ', with CUDA' : ', CPU only'})`,
    };
    if (!answers[what]) fail(`unknown question '${what}'`);
    process.stdout.write(answers[what]() + '\n');
  } catch (err) {
    process.stderr.write(err.message + '\n');
    process.exit(1);
  }
}
