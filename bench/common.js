// Shared by the benchmark scripts: paths, command-line options, timing helpers, the machine description that
// heads each table, the .venv's Python (the PyTorch reference), and writing a section of BENCHMARKS.md between
// its markers.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

// The environment before the addon loads (it tunes libgomp through OMP_WAIT_POLICY / GOMP_SPINCOUNT, see
// lib/native/load.ts): the PyTorch reference runs in the environment the user gave, not in ours.
const USER_ENV = { ...process.env };

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'lib');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const REFERENCE = path.join(ROOT, 'bench', 'reference');

/** The value after `name` on the command line (`--rounds 3`), else `fallback`. */
function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** A bad command line: one line naming the script and exit 2, not a stack trace. */
function usageError(message) {
  console.error(`${path.relative(ROOT, process.argv[1] ?? 'bench')}: ${message} (see --help)`);
  process.exit(2);
}

/** An integer flag (`--lines 100000`) of at least `min`, else `fallback`; a clear error naming the flag otherwise. */
function intArg(name, fallback, min) {
  const raw = arg(name, undefined);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(v) || v < min) usageError(`${name} must be an integer >= ${min}, got '${raw}'`);
  return v;
}

/** `--quick`: the smoke form every benchmark has (small sizes, few rounds); it prints its table, writes nothing. */
const QUICK = process.argv.includes('--quick');

/** Exit code of a benchmark that cannot run here and says why (bench/index.js lists it as skipped). */
const SKIPPED = 77;

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

/**
 * mimalloc from third_party/ built as an LD_PRELOAD library (malloc override on), once, for the tuned
 * reference: the same allocator code the addon links.
 */
function mimallocPreload() {
  const src = path.join(ROOT, 'third_party', 'mimalloc');
  const out = path.join(ROOT, 'build', 'bench', 'libmimalloc-preload.so');
  const stamp = (p) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : -1);
  if (stamp(out) < stamp(path.join(src, 'src', 'static.c'))) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const args = [
      '-O2',
      '-shared',
      '-fPIC',
      '-DMI_MALLOC_OVERRIDE',
      '-DMI_DEBUG=0',
      '-DNDEBUG',
      `-I${path.join(src, 'include')}`,
      path.join(src, 'src', 'static.c'),
      '-o',
      out,
      '-lpthread',
    ];
    const r = spawnSync('cc', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building ${out} failed:\n${r.stderr}`);
  }
  return out;
}

/**
 * The two environments every PyTorch reference runs in. 'installed': the user's environment as it is.
 * 'tuned': the settings this package gives LibTorch (docs/reference.md "Memory"): THP_MEM_ALLOC_ENABLE=1, the same
 * mimalloc with the addon's options in force (`allocatorInfo()` of the loaded addon), preloaded, and the
 * same OpenMP wait policy.
 * Headline ratios are against 'tuned'.
 */
function referenceEnvs(alloc) {
  // The OpenMP wait policy our loader sets (lib/native/load.ts tuneOpenMp) too, unless the user set one.
  const omp =
    USER_ENV.OMP_WAIT_POLICY === undefined && USER_ENV.GOMP_SPINCOUNT === undefined ? { OMP_WAIT_POLICY: 'ACTIVE', GOMP_SPINCOUNT: '300000' } : {};
  const tuned = { ...USER_ENV, ...omp, THP_MEM_ALLOC_ENABLE: '1' };
  if (alloc.cpu === 'mimalloc') {
    tuned.LD_PRELOAD = [mimallocPreload(), USER_ENV.LD_PRELOAD].filter(Boolean).join(':');
    tuned.MIMALLOC_PURGE_DELAY = String(alloc.purgeDelayMs);
    tuned.MIMALLOC_ALLOW_THP = alloc.transparentHugePages ? '1' : '0';
  }
  return { installed: USER_ENV, tuned };
}

/** How a reference environment differs from the user's, for the notes under a table. */
function describeEnv(env) {
  const keys = ['THP_MEM_ALLOC_ENABLE', 'LD_PRELOAD', 'MIMALLOC_PURGE_DELAY', 'MIMALLOC_ALLOW_THP', 'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'];
  const diff = keys.filter((k) => env[k] !== USER_ENV[k]).map((k) => `${k}=${k === 'LD_PRELOAD' ? path.relative(ROOT, env[k]) : env[k]}`);
  return diff.length ? diff.join(' ') : 'the environment as given';
}

/** "median (min–max)" of a list of numbers. */
function spread(xs, digits = 1) {
  const s = [...xs].sort((a, b) => a - b);
  return `${median(s).toFixed(digits)} (${s[0].toFixed(digits)}–${s[s.length - 1].toFixed(digits)})`;
}

/** Runs inline Python with bench/reference on sys.path; returns the last stdout line parsed as JSON. */
function pythonJson(code, env = USER_ENV) {
  const prelude = `import sys; sys.path.insert(0, ${JSON.stringify(REFERENCE)})\n`;
  const r = spawnSync(PY, ['-c', prelude + code], { encoding: 'utf8', cwd: ROOT, maxBuffer: 64 << 20, env });
  if (r.status !== 0) throw new Error(`reference failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/**
 * Replaces the text between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`; a new section is
 * appended, or with `first` put right under the file's title. A --quick run never writes.
 */
function writeSection(name, body, file = path.join(ROOT, 'BENCHMARKS.md'), { first = false } = {}) {
  if (QUICK) {
    console.log(`--quick: ${path.relative(ROOT, file)} not written (section ${name})`);
    return;
  }
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${start}\n${body}\n${end}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) {
    text = text.slice(0, i) + section + text.slice(j + end.length);
  } else if (first) {
    const title = text.match(/^# .*\n+/);
    const at = title ? title[0].length : 0;
    text = text.slice(0, at) + section + '\n\n' + text.slice(at);
  } else {
    text = text.replace(/\s*$/, '\n\n') + section + '\n';
  }
  fs.writeFileSync(file, text);
  console.log(`wrote ${path.relative(ROOT, file)} (section ${name})`);
}

/**
 * The end of a benchmark: prints its table (and, given the start in ms, how long it took), then writes it into
 * BENCHMARKS.md as section `name` (not with --quick).
 */
function report(name, md, startedMs) {
  console.log('\n' + md);
  if (startedMs !== undefined) console.log(`(${((Date.now() - startedMs) / 1000).toFixed(0)} s)`);
  writeSection(name, md);
}

/** Runs a benchmark's main (sync or async): a failure prints its stack and exits 1 (bench/index.js reports it). */
function runMain(main) {
  Promise.resolve()
    .then(main)
    .catch((e) => {
      console.error(e && e.stack ? e.stack : e);
      process.exit(1);
    });
}

module.exports = {
  USER_ENV,
  ROOT,
  DIST,
  PY,
  REFERENCE,
  QUICK,
  SKIPPED,
  arg,
  intArg,
  usageError,
  msSince,
  median,
  spread,
  machineLine,
  pythonJson,
  writeSection,
  referenceEnvs,
  describeEnv,
  report,
  runMain,
};
