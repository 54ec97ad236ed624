#!/usr/bin/env node
// Builds prebuilds/linux-x64/*.node with prebuildify (node-gyp + binding.gyp) in a scratch copy of the
// package, so the node-gyp build never wipes cmake-js's build/ folder (and its precompiled header).
// `--check-fresh` builds nothing: exit 0 when the prebuild is newer than every native source, else 1.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');

function newestSource(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...fs.readdirSync(p).map((e) => newestSource(path.join(p, e))));
}

if (process.argv.includes('--check-fresh')) {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const built = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.node')) : [];
  if (built.length === 0) process.exit(1);
  const builtAt = Math.min(...built.map((f) => fs.statSync(path.join(dir, f)).mtimeMs));
  const sources = ['native', 'third_party', 'binding.gyp', path.join('scripts', 'libtorch.js')].map((p) => newestSource(path.join(root, p)));
  process.exit(builtAt > Math.max(...sources) ? 0 : 1);
}
const scratch = path.join(root, 'build-gyp');
fs.rmSync(scratch, { recursive: true, force: true });
fs.mkdirSync(scratch, { recursive: true });
for (const entry of ['native', 'third_party', 'scripts', 'node_modules', 'binding.gyp', 'package.json', '.venv']) {
  if (fs.existsSync(path.join(root, entry))) fs.symlinkSync(path.join(root, entry), path.join(scratch, entry));
}
const prebuildify = path.join(root, 'node_modules', '.bin', 'prebuildify');
const args = ['--napi', '--strip', `--target=node@${process.versions.node}`, '--cwd', scratch, '--out', root];
const env = { ...process.env, JOBS: process.env.JOBS || String(require('os').cpus().length) };
// node-gyp needs Node's headers; on this kind of machine they are installed with node itself.
if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';
const r = spawnSync(prebuildify, args, { stdio: 'inherit', env, cwd: scratch });
if (r.status !== 0) process.exit(r.status === null ? 1 : r.status);
// What it was built against, beside each prebuild: the loader refuses another LibTorch with a clear error.
const { findLibtorch, buildRecord } = require('./libtorch');
const record = JSON.stringify(buildRecord(findLibtorch().root)) + '\n';
const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.node'))) {
  fs.writeFileSync(path.join(dir, f.replace(/\.node$/, '.libtorch.json')), record);
}
