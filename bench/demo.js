#!/usr/bin/env node
// The demo as a benchmark: `xlm-kd demo` from scratch in a fresh run folder (runs/bench-demo[-quick]), timed,
// its table (the teacher; the cut and the BiGRU student each with and without the teacher, and the KD gain, on the
// held-out test split) written into BENCHMARKS.md section "demo" — the figures the README's quick start shows.
// Not a side-by-side: PyTorch has no demo.
//
// Usage: node bench/demo.js [--quick]
'use strict';
const fs = require('fs');
const path = require('path');
const { ROOT, DIST, QUICK, machineLine, runMain, report } = require('./common');
const { demo, demoSummary } = require(path.join(DIST, 'pipeline', 'demo.js'));

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
    `\`xlm-kd demo\`${QUICK ? ' --quick' : ''} in a fresh run folder: the gettext catalogs (English → German), a SentencePiece tokenizer, a teacher ` +
      'trained until its validation BLEU stopped improving or it reached its cap of updates, a student cut from it (all encoder layers, the top decoder layer) and a BiGRU ' +
      'student, each trained as many updates with the teacher (online KD, alpha 0.5, T 2) and without it, the five evaluated on the held-out ' +
      `test split. Wall time ${minutes.toFixed(1)} min in all. ${r.about}.`,
    '',
    ...demoSummary(r.rows).map((l) => `    ${l.trim()}`),
    '',
    `Machine: ${machineLine(version(), { 'CPU allocator': allocatorInfo().cpu })}.`,
    '',
    formatComparison(r.rows, { markdown: true }),
  ].join('\n');
  report('demo', md);
}

runMain(main);
