#!/usr/bin/env node
// clang-format over native/ (.cc, .h, .cu) with the checked-in .clang-format: `--check` lists the files that
// differ and exits 1 (what `npm run lint` runs), `--write` formats them in place (what `npm run fix` runs).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const mode = process.argv[2];
if (mode !== '--check' && mode !== '--write') {
  console.error('usage: node scripts/format-native.js --check|--write');
  process.exit(2);
}
const files = [];
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.(cc|h|cu)$/.test(e.name)) files.push(p);
  }
};
walk(path.join(root, 'native'));
const bin = require.resolve('clang-format/index.js');
const args = mode === '--write' ? ['-i', ...files] : ['--dry-run', '--Werror', ...files];
const r = spawnSync(process.execPath, [bin, '--style=file', ...args], { cwd: root, encoding: 'utf8' });
if (r.status !== 0) {
  const named = [...new Set([...(r.stderr ?? '').matchAll(/^(\S+?):\d+:\d+: error/gm)].map((m) => path.relative(root, m[1])))];
  console.error(
    named.length > 0 ? `clang-format: ${named.length} file(s) not formatted (npm run fix formats them):\n  ${named.join('\n  ')}` : r.stderr
  );
  process.exit(1);
}
if (mode === '--check') console.log(`clang-format: ${files.length} native files formatted`);
