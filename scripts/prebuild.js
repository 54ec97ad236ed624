#!/usr/bin/env node
// Builds prebuilds/linux-x64/*.node with prebuildify (node-gyp + binding.gyp) in a scratch copy of the
// package, so the node-gyp build never wipes cmake-js's build/ folder (and its precompiled header).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
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
process.exit(r.status === null ? 1 : r.status);
