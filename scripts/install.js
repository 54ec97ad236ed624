#!/usr/bin/env node
// The package's install script (npm runs it on `npm install xlm-kd-torch`). A prebuild that matches the
// LibTorch found here (scripts/libtorch.js) is used as it is: nothing is compiled. Otherwise it says in one
// paragraph what a source build needs and runs one (node-gyp with binding.gyp). With no LibTorch at all it
// only explains: the package is installed and loads once LibTorch can be found (`npx xlm-kd doctor`).
// In a git checkout it does nothing: scripts/setup.sh builds there.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { locateLibtorch, buildRecord, HOW_TO_PROVIDE } = require('./libtorch');

const root = path.resolve(__dirname, '..');
const say = (text) => process.stdout.write(`xlm-kd-torch: ${text}\n`);

function prebuildRecords() {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.libtorch.json'))
    .map((f) => ({ file: path.join(dir, f), record: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) }));
}

function main() {
  if (fs.existsSync(path.join(root, '.git'))) {
    say('a git checkout: nothing built here (scripts/setup.sh builds the addon)');
    return 0;
  }
  const lt = locateLibtorch();
  if (lt.error) {
    say(`installed, but ${lt.error} (tried: ${lt.tried.join('; ')}). It will load once LibTorch can be found.\n${HOW_TO_PROVIDE}`);
    return 0;
  }
  const want = buildRecord(lt.root);
  const prebuilds = prebuildRecords();
  const match = prebuilds.find((p) => p.record.version === want.version && p.record.flavour === want.flavour);
  if (match) {
    say(`using the prebuilt addon for LibTorch ${want.version} (${want.flavour}), found at ${lt.root} (from ${lt.from}); nothing to compile`);
    return 0;
  }
  const have = prebuilds.map((p) => `${p.record.version} (${p.record.flavour})`).join(', ') || 'none for this platform';
  say(
    `no prebuilt addon matches LibTorch ${want.version} (${want.flavour}) at ${lt.root} (from ${lt.from}); prebuilds: ${have}. ` +
      'Building from source now. This needs a C++17 compiler (g++ >= 9), make, python3 (for node-gyp), the ' +
      "SentencePiece development files (Debian/Ubuntu: apt-get install g++ make python3 libsentencepiece-dev) and LibTorch's " +
      'headers (part of every PyTorch and LibTorch download). It takes a few minutes.'
  );
  // npm tells its lifecycle scripts where its own node-gyp is; otherwise one on PATH.
  const nodeGyp = process.env.npm_config_node_gyp;
  const r = nodeGyp
    ? spawnSync(process.execPath, [nodeGyp, 'rebuild'], { cwd: root, stdio: 'inherit' })
    : spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    say(
      `the source build failed (exit ${r.status}); see above for what was missing. Run \`npx xlm-kd doctor\` after fixing it, then \`npm rebuild xlm-kd-torch\`.`
    );
    return 1;
  }
  fs.writeFileSync(path.join(root, 'build', 'Release', 'xlm_kd_torch.libtorch.json'), JSON.stringify(want) + '\n');
  say('built from source');
  return 0;
}

process.exit(main());
