// FastBpe.apply speed on the golden Moses-tokenized lines (test/golden/fast-bpe/{en,de}.tok, with the golden codes
// and vocab), one thread: warm cache, first pass after clearCache(), and no cache; optionally fastBPE's own
// `fast applybpe` on the same lines for comparison.
//
//   node bench/fast-bpe.js [--rounds 20] [--fast PATH_TO_fast]   (after npm run build:ts)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { FastBpe } = require('../dist/lib/data/fast-bpe');

const GOLDEN = path.join(__dirname, '..', 'test', 'golden', 'fast-bpe');

/** The value after `name` on the command line, else `fallback`. */
function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** Sentences per second of `fn` over `lines`, the best of `rounds` passes (`before` runs untimed before each). */
function rate(lines, rounds, fn, before = () => {}) {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    before();
    const t0 = process.hrtime.bigint();
    for (const s of lines) fn(s);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return lines.length / best;
}

/** Seconds of one `fast applybpe` run (best of `rounds`), pinned to CPU 0 when taskset exists. */
function fastSeconds(fast, input, rounds) {
  const out = path.join(os.tmpdir(), `fast-bpe-bench-${process.pid}.bpe`);
  const pin = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const argv = ['applybpe', out, input, path.join(GOLDEN, 'codes'), path.join(GOLDEN, 'vocab')];
    const t0 = process.hrtime.bigint();
    const res = pin ? spawnSync('taskset', ['-c', '0', fast, ...argv]) : spawnSync(fast, argv);
    if (res.status !== 0) throw new Error(`${fast} failed: ${String(res.stderr)}`);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  fs.rmSync(out, { force: true });
  return best;
}

function main() {
  const rounds = Number(arg('--rounds', '20'));
  const lines = ['en.tok', 'de.tok'].flatMap((f) => fs.readFileSync(path.join(GOLDEN, f), 'utf8').split('\n').slice(0, -1));
  const load = () => FastBpe.load(path.join(GOLDEN, 'codes'), path.join(GOLDEN, 'vocab'));
  const bpe = load();
  const noCache = FastBpe.load(path.join(GOLDEN, 'codes'), path.join(GOLDEN, 'vocab'), { cacheSize: 0 });
  const words = lines.reduce((n, s) => n + s.split(' ').length, 0);
  console.log(
    `${lines.length} sentences, ${words} words (${(words / lines.length).toFixed(1)}/sentence), ${bpe.codesCount} codes; node ${process.version}`
  );
  const apply = (b) => (s) => b.apply(s);
  const warm = rate(lines, rounds, apply(bpe), () => {});
  const cold = rate(lines, rounds, apply(bpe), () => bpe.clearCache());
  const none = rate(lines, Math.max(1, rounds >> 2), apply(noCache));
  console.log(`FastBpe.apply, warm cache:               ${Math.round(warm)} sentences/s`);
  console.log(`FastBpe.apply, first pass (cache cleared): ${Math.round(cold)} sentences/s`);
  console.log(`FastBpe.apply, no cache (cacheSize 0):     ${Math.round(none)} sentences/s`);
  const fast = arg('--fast', undefined);
  if (fast) {
    const input = path.join(os.tmpdir(), `fast-bpe-bench-${process.pid}.tok`);
    fs.writeFileSync(input, lines.join('\n') + '\n');
    const empty = path.join(os.tmpdir(), `fast-bpe-bench-${process.pid}.empty`);
    fs.writeFileSync(empty, '\n');
    const total = fastSeconds(fast, input, 5);
    const startup = fastSeconds(fast, empty, 5);
    console.log(`fast applybpe (CPU 0), whole run:         ${Math.round(lines.length / total)} sentences/s (${(total * 1e3).toFixed(1)} ms)`);
    console.log(
      `fast applybpe, less its start (codes/vocab load, ${(startup * 1e3).toFixed(1)} ms): ${Math.round(lines.length / (total - startup))} sentences/s`
    );
    fs.rmSync(input, { force: true });
    fs.rmSync(empty, { force: true });
  }
  const t0 = process.hrtime.bigint();
  load();
  console.log(`FastBpe.load(codes, vocab): ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ms`);
}

main();
