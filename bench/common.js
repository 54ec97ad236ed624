// Shared by the benchmark scripts: paths, timing helpers, the machine description that heads each table,
// the .venv's Python (the PyTorch reference), and writing a section of BENCHMARKS.md between its markers.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

// The environment before the addon loads (it tunes libgomp through OMP_WAIT_POLICY / GOMP_SPINCOUNT, see
// lib/native.ts): the PyTorch reference runs in the environment the user gave, not in ours.
const USER_ENV = { ...process.env };

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'lib');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const REFERENCE = path.join(ROOT, 'bench', 'reference');

/** Milliseconds since a `process.hrtime.bigint()` mark. */
function msSince(start) {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Median (the upper one for an even count). */
function median(xs) {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** One line naming the machine, the libraries and the load, for the head of a table. */
function machineLine(info, extra = {}) {
  const cpus = os.cpus();
  const parts = [
    `${cpus.length} × ${cpus[0] ? cpus[0].model.trim() : 'unknown CPU'}, ${(os.totalmem() / 2 ** 20).toFixed(0)} MB RAM`,
    `LibTorch ${info.libtorch} (${info.threads} intra-op threads, MKL ${info.mkl}, OpenMP ${info.openmp})`,
    ...Object.entries(extra).map(([k, v]) => `${k} ${v}`),
    `Node ${process.version}`,
    new Date().toISOString().slice(0, 10),
  ];
  return parts.join('; ');
}

/** Runs inline Python with bench/reference on sys.path; returns the last stdout line parsed as JSON. */
function pythonJson(code) {
  const prelude = `import sys; sys.path.insert(0, ${JSON.stringify(REFERENCE)})\n`;
  const r = spawnSync(PY, ['-c', prelude + code], { encoding: 'utf8', cwd: ROOT, maxBuffer: 64 << 20, env: USER_ENV });
  if (r.status !== 0) throw new Error(`reference failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** Replaces the text between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->` (appends if absent). */
function writeSection(name, body, file = path.join(ROOT, 'BENCHMARKS.md')) {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${start}\n${body}\n${end}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) {
    text = text.slice(0, i) + section + text.slice(j + end.length);
  } else {
    text = text.replace(/\s*$/, '\n\n') + section + '\n';
  }
  fs.writeFileSync(file, text);
  console.log(`wrote ${path.relative(ROOT, file)} (section ${name})`);
}

module.exports = { USER_ENV, ROOT, DIST, PY, REFERENCE, msSince, median, machineLine, pythonJson, writeSection };
