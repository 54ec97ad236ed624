#!/usr/bin/env node
// The demo as a benchmark: `xlm-kd demo` from scratch in a fresh run folder (runs/bench-demo[-quick]), timed,
// its table (teacher, cut student, BiGRU student on the held-out test split) written into BENCHMARKS.md
// section "demo" — the figures the README's quick start shows. Not a side-by-side: PyTorch has no demo.
//
// Usage: node bench/demo.js [--quick]
'use strict';
const fs = require('fs');
const path = require('path');
const { ROOT, DIST, QUICK, machineLine, runMain, report } = require('./common');
const { demo } = require(path.join(DIST, 'cli', 'demo.js'));

async function main() {
  const { version, allocatorInfo, formatComparison } = require(DIST);
  const run = path.join(ROOT, 'runs', `bench-demo${QUICK ? '-quick' : ''}`);
  fs.rmSync(run, { recursive: true, force: true });
  const started = Date.now();
  const r = await demo({ quick: QUICK, run });
  const minutes = (Date.now() - started) / 60000;
  const md = [
    '## The demo (`npm run demo`, timed from scratch by `npm run bench`)',
    '',
    `\`xlm-kd demo\`${QUICK ? ' --quick' : ''} in a fresh run folder: the gettext catalogs (English → German), a SentencePiece tokenizer, a teacher, ` +
      'a student cut from it (all encoder layers, the top decoder layer) and a BiGRU student, both distilled online (alpha 0.5, T 2), ' +
      `the three evaluated on the held-out test split. Wall time ${minutes.toFixed(1)} min in all. ${r.about}.`,
    '',
    `Machine: ${machineLine(version(), { 'CPU allocator': allocatorInfo().cpu })}.`,
    '',
    formatComparison(r.rows, { markdown: true }),
  ].join('\n');
  report('demo', md);
}

runMain(main);
