#!/usr/bin/env node
// `npm run bench`: runs the benchmarks one after another, each in its own Node process (so one's memory does
// not disturb the next), with a progress line and the time each took, then a summary. A failing benchmark is
// reported and the others still run; the exit code is non-zero if any failed. The full form ends by writing
// the header of BENCHMARKS.md (bench/header.js); each benchmark writes its own section. --quick passes
// --quick to each (small sizes, few rounds) and nothing is written.
//
// Usage: npm run bench [-- --quick] [--only loss,decode] [--quality-run DIR]
//        --only: a subset, by name (see BENCHMARKS below; `quality`, the hour-long training run, only this way);
//        --quality-run: the quality run folder quality-speed reads (default runs/quality-v2/full-de).
'use strict';
const path = require('path');
const { spawn } = require('child_process');
const { ROOT, QUICK, SKIPPED, arg, runMain } = require('./common');

const BENCHMARKS = [
  { name: 'loss', script: 'loss.js' },
  { name: 'train', script: 'train.js' },
  { name: 'students', script: 'students.js' },
  { name: 'decode', script: 'decode.js' },
  { name: 'quality-speed', script: 'quality-speed.js', takesRun: true },
  { name: 'fast-inference', script: 'fast-inference.js', takesRun: true },
  { name: 'linear-kernels', script: 'linear-kernels.js' },
  { name: 'memory', script: 'memory.js' },
  { name: 'distributed', script: 'distributed.js' },
  { name: 'gpu', script: 'gpu.js' },
  { name: 'demo', script: 'demo.js' },
  { name: 'serve', script: 'serve.js' },
  { name: 'quality', script: 'quality.js', takesRun: true, byDefault: false },
];

const seconds = (start) => (Date.now() - start) / 1000;
const duration = (s) => (s >= 90 ? `${Math.floor(s / 60)} min ${(s % 60).toFixed(0)} s` : `${s.toFixed(0)} s`);
const stamp = () => new Date().toISOString().slice(11, 19);

function selected() {
  const only = arg('--only');
  if (only === undefined) return BENCHMARKS.filter((b) => b.byDefault !== false);
  const names = only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length || names.length === 0) {
    console.error(`bench: --only takes names from ${BENCHMARKS.map((b) => b.name).join(', ')}; got ${only}`);
    process.exit(2);
  }
  return BENCHMARKS.filter((b) => names.includes(b.name));
}

/** Runs one benchmark, its stdout passed through (the last line kept), its stderr straight to ours. */
function runOne(bench, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, bench.script), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let last = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      const lines = chunk
        .toString()
        .split('\n')
        .filter((l) => l.trim());
      if (lines.length) last = lines[lines.length - 1];
    });
    child.on('error', (err) => resolve({ code: 1, last: err.message }));
    child.on('close', (code, signal) => resolve({ code: code ?? 1, signal, last }));
  });
}

async function main() {
  const list = selected();
  const qualityRun = arg('--quality-run');
  const started = Date.now();
  const results = [];
  console.log(`bench: ${list.map((b) => b.name).join(', ')}${QUICK ? ' (--quick: smoke run, BENCHMARKS.md is not written)' : ''}`);
  for (const [i, bench] of list.entries()) {
    const args = [...(QUICK ? ['--quick'] : []), ...(bench.takesRun && qualityRun ? ['--run', qualityRun] : [])];
    const tag = `[${stamp()}] [${i + 1}/${list.length}] ${bench.name}`;
    console.log(`\n${tag}: node bench/${bench.script} ${args.join(' ')}`.trimEnd());
    const t0 = Date.now();
    const { code, signal, last } = await runOne(bench, args);
    const status = code === 0 ? 'ok' : code === SKIPPED ? 'skipped' : 'failed';
    const why = status === 'ok' ? '' : signal ? `killed by ${signal}` : status === 'failed' ? `exit code ${code}` : last.replace(/^.*skipped: /, '');
    results.push({ name: bench.name, status, seconds: seconds(t0), why });
    console.log(`${tag}: ${status} in ${duration(seconds(t0))}${why ? ` (${why})` : ''}`);
  }
  const total = seconds(started);
  console.log(`\nbench summary${QUICK ? ' (--quick)' : ''}, ${duration(total)} in all:`);
  for (const r of results)
    console.log(`  ${r.name.padEnd(14)} ${r.status.padEnd(8)} ${duration(r.seconds).padStart(12)}${r.why ? `  ${r.why}` : ''}`);
  const failed = results.filter((r) => r.status === 'failed');
  if (!QUICK && results.some((r) => r.status === 'ok')) {
    const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
    try {
      require('./header').writeHeader({ command, results, seconds: total });
    } catch (err) {
      console.error(`bench: writing the header of BENCHMARKS.md failed: ${err.message}`);
      failed.push({ name: 'header' });
    }
  }
  if (failed.length) {
    console.error(`bench: ${failed.length} failed: ${failed.map((r) => r.name).join(', ')}`);
    process.exitCode = 1;
  }
}

runMain(main);
