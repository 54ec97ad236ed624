#!/usr/bin/env node
// Moses/XLM preprocessing speed: lib/data/moses's xlmPreprocess (one JS thread) against the perl/python chain
// it ports (get-data-nmt.sh's pipeline, all its processes pinned to one core with taskset), on the golden
// inputs (test/golden/moses/<lang>.in: gettext strings + hard cases), repeated to a few seconds of work.
// Usage: node bench/moses.js [--moses DIR] [--wmt16 DIR] [--repeat N] [--seconds S]
//   DIR: mosesdecoder's scripts/ folder and a wmt16-scripts checkout (as tools/make-moses-golden.sh takes);
//   without --moses only our figures are printed. Needs `npm run build:ts` first.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { arg, intArg } = require('./common');

const ROOT = path.resolve(__dirname, '..');
const { xlmPreprocess } = require(path.join(ROOT, 'dist', 'lib', 'data', 'moses'));
const GOLDEN = path.join(ROOT, 'test', 'golden', 'moses');
const LANGS = ['en', 'de', 'fr', 'ro', 'es'];
const moses = arg('--moses', process.env.MOSES_SCRIPTS);
const wmt16 = arg('--wmt16', process.env.WMT16_SCRIPTS);
const repeat = intArg('--repeat', 20, 1);
const seconds = Number(arg('--seconds', '3'));
const python = process.env.PYTHON ?? (fs.existsSync(path.join(ROOT, '.venv/bin/python')) ? path.join(ROOT, '.venv/bin/python') : 'python3');

const inputs = Object.fromEntries(
  LANGS.map((lg) => [
    lg,
    fs
      .readFileSync(path.join(GOLDEN, `${lg}.in`), 'utf8')
      .split('\n')
      .slice(0, -1),
  ])
);
const all = LANGS.flatMap((lg) => inputs[lg]);
const meanChars = all.reduce((n, s) => n + s.length, 0) / all.length;
console.log(`input: ${all.length} sentences (${LANGS.join(', ')} golden .in), mean ${meanChars.toFixed(1)} chars`);
console.log(`machine: ${os.cpus()[0].model}, node ${process.version}`);

function ours() {
  // Warm up (regex compilation, prefix lists), then whole passes until `seconds` have gone.
  for (const lg of LANGS) for (const s of inputs[lg]) xlmPreprocess(s, lg);
  let n = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds) {
    for (const lg of LANGS) for (const s of inputs[lg]) xlmPreprocess(s, lg);
    n += all.length;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  return n / elapsed;
}

function perl() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'moses-bench-'));
  const T = path.join(moses, 'tokenizer');
  const pin = spawnSync('taskset', ['-c', '0', 'true']).status === 0 ? 'taskset -c 0 ' : '';
  let lines = 0;
  let wall = 0;
  try {
    for (const lg of LANGS) {
      const file = path.join(tmp, `${lg}.in`);
      fs.writeFileSync(file, (inputs[lg].join('\n') + '\n').repeat(repeat));
      const ro = lg === 'ro' && wmt16;
      const romanian = ro ? `| ${python} ${wmt16}/preprocess/normalise-romanian.py | ${python} ${wmt16}/preprocess/remove-diacritics.py ` : '';
      const cmd =
        `${pin}bash -c 'perl ${T}/replace-unicode-punctuation.perl < ${file} | perl ${T}/normalize-punctuation.perl -l ${lg} ` +
        `| perl ${T}/remove-non-printing-char.perl ${romanian}| perl ${T}/tokenizer.perl -l ${lg} -no-escape -q > /dev/null'`;
      const t0 = process.hrtime.bigint();
      const r = spawnSync('bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
      wall += Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.status !== 0) throw new Error(`perl chain failed for ${lg}: ${r.stderr.toString()}`);
      lines += inputs[lg].length * repeat;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { rate: lines / wall, lines, pinned: pin !== '' };
}

const rate = ours();
console.log(`xlmPreprocess (TypeScript, one thread): ${Math.round(rate)} sentences/s`);
if (moses) {
  const p = perl();
  console.log(
    `perl chain end to end (${p.pinned ? 'pinned to one core' : 'not pinned'}, ${p.lines} sentences, ` +
      `process start included): ${Math.round(p.rate)} sentences/s; ours is ${(rate / p.rate).toFixed(1)}x`
  );
} else {
  console.log('perl chain: not run (pass --moses DIR)');
}
