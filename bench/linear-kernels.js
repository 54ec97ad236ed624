#!/usr/bin/env node
// Which prepacked kernel a decode step's linear layers should use (fbgemm or oneDNN: measured, not guessed):
// bench/reference/linear_kernels.py times plain float32, oneDNN prepacked, MKL prepacked (for the same
// and for another row count) and fbgemm int8 on the shapes of the quality run's 6-1 student (256 wide, FFN
// 1024, vocabulary 8000, its shortlist ~2000) at a beam-5 step's ~115 rows and an encoder batch's 640 rows.
// Writes BENCHMARKS.md section "linear-kernels". Usage: node bench/linear-kernels.js [--quick]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { DIST, PY, REFERENCE, QUICK, machineLine, referenceEnvs, report, runMain } = require('./common');
const { spawnSync } = require('child_process');
const { version, allocatorInfo } = require(DIST);

const SHAPES = [
  [115, 256, 256],
  [115, 256, 1024],
  [115, 1024, 256],
  [115, 256, 2000],
  [115, 256, 8000],
  [640, 256, 256],
  [640, 256, 1024],
];

function main() {
  const info = version();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linear-kernels-'));
  try {
    const spec = path.join(dir, 'spec.json');
    fs.writeFileSync(spec, JSON.stringify({ shapes: QUICK ? SHAPES.slice(0, 2) : SHAPES, threads: info.threads, repeats: QUICK ? 20 : 200 }));
    const r = spawnSync(PY, [path.join(REFERENCE, 'linear_kernels.py'), spec], { encoding: 'utf8', env: referenceEnvs(allocatorInfo()).tuned });
    if (r.status !== 0) throw new Error(`linear_kernels.py failed:\n${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    const kernels = ['float32', 'onednn', 'mkl_same_rows', 'mkl_other_rows', 'int8'];
    const md = [
      '## Linear-layer kernels for decoding (`node bench/linear-kernels.js`)',
      '',
      'One linear layer (rows × in × out), microseconds per call (median of one timed loop after warm-up), the kernels ' +
        'LibTorch ships: plain float32 (MKL sgemm, which repacks the weight each call); oneDNN prepacked float32 ' +
        '(`mkldnn::_reorder_linear_weight` once, any row count: `model.prepack()`); MKL prepacked float32 ' +
        '(`mkl::_mkl_reorder_linear_weight` packs for one row count; a call with another falls back to the plain product, ' +
        'so it cannot serve decoding, whose row count changes every step); fbgemm int8 with dynamic activations ' +
        `(\`model.quantize()\`). ${info.threads} threads, the tuned allocator settings.`,
      '',
      `Machine: ${machineLine(info, { 'CPU allocator': allocatorInfo().cpu })}.`,
      '',
      '| rows × in × out | float32 | oneDNN prepacked | MKL prepacked, same rows | MKL prepacked, other rows | int8 (fbgemm) |',
      '|---|---:|---:|---:|---:|---:|',
      ...Object.entries(out).map(([shape, k]) => `| ${shape.replace(/x/g, ' × ')} | ${kernels.map((n) => k[n].toFixed(0)).join(' | ')} |`),
      '',
    ].join('\n');
    report('linear-kernels', md);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
