#!/usr/bin/env node
// Packs what a GPU machine lacks into .gpu/ (git ignores it), following ../shared/GPU.md: this machine's node
// (xz), Debian's SentencePiece (libraries and headers), and the node_modules the addon build, the CUDA tests
// (ava) and the benchmark need at run time. With dist/ (npm run build:ts) it is what `scripts/check-gpu.sh`
// needs there; the device tool carries `.gpu` and `dist` beside the working tree. Prints the bundle's size.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const out = path.join(root, '.gpu');
const RUNTIME = ['ava', '@ava/typescript', 'node-addon-api', 'node-api-headers', 'node-gyp-build', 'cli-progress'];

/** The packages `names` need, found as Node resolves them from the project root. */
function closure(names) {
  const seen = new Set();
  const visit = (name, from) => {
    for (let dir = from; ; dir = path.dirname(dir)) {
      const p = path.join(dir, 'node_modules', name);
      if (fs.existsSync(path.join(p, 'package.json'))) {
        if (seen.has(p)) return;
        seen.add(p);
        const pkg = JSON.parse(fs.readFileSync(path.join(p, 'package.json'), 'utf8'));
        for (const d of Object.keys(pkg.dependencies ?? {})) visit(d, p);
        return;
      }
      if (path.dirname(dir) === dir) throw new Error(`gpu-bundle: ${name} (needed from ${from}) is not installed; run npm ci first`);
    }
  };
  for (const n of names) visit(n, root);
  return [...seen];
}

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, 'spm', 'lib'), { recursive: true });
fs.mkdirSync(path.join(out, 'spm', 'include'), { recursive: true });
execFileSync('sh', ['-c', `xz -6 -T1 -c "$(command -v node)" > "${path.join(out, 'node.xz')}"`]);
for (const f of fs.readdirSync('/usr/lib/x86_64-linux-gnu').filter((n) => n.startsWith('libsentencepiece'))) {
  fs.cpSync(path.join('/usr/lib/x86_64-linux-gnu', f), path.join(out, 'spm', 'lib', f), { dereference: false, verbatimSymlinks: true });
}
for (const f of fs.readdirSync('/usr/include').filter((n) => n.startsWith('sentencepiece')))
  fs.copyFileSync(path.join('/usr/include', f), path.join(out, 'spm', 'include', f));
for (const p of closure(RUNTIME)) fs.cpSync(p, path.join(out, path.relative(root, p)), { recursive: true, verbatimSymlinks: true });
const du = (p) => Number(execFileSync('du', ['-sb', p]).toString().split('\t')[0]);
const dist = path.join(root, 'dist');
if (!fs.existsSync(dist)) console.log('gpu-bundle: dist/ is missing: run npm run build:ts before taking the tree to the GPU machine');
console.log(
  `.gpu: ${(du(out) / 2 ** 20).toFixed(1)} MiB (node, SentencePiece, ${closure(RUNTIME).length} packages); dist: ${fs.existsSync(dist) ? (du(dist) / 2 ** 20).toFixed(1) : 0} MiB`
);
