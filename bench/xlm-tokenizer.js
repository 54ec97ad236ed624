#!/usr/bin/env node
// XLM's tokenizer speed: Moses preprocessing alone (xlmPreprocess) and the whole encode (Moses + fastBPE + the
// dictionary: XlmTokenizer.encode) on one JS thread, and encodeFlatAsync over every core; against the reference
// tools on the same sentences: the perl/python chain XLM runs (get-data-nmt.sh), then `fast applybpe` with the same
// codes and vocabulary, every process pinned to one core (taskset), process starts included.
// Input: the golden Moses inputs (test/golden/moses/<lang>.in: gettext strings + hard cases) of en, de, fr, ro, es,
// with the codes and vocabulary learnt on the demo corpus (test/golden/fast-bpe).
// Usage: node bench/xlm-tokenizer.js [--moses DIR] [--wmt16 DIR] [--fast EXE] [--repeat N] [--seconds S]
//   DIR: mosesdecoder's scripts/ folder and a wmt16-scripts checkout (as tools/make-moses-golden.sh takes);
//   EXE: fastBPE's `fast` (tools/make-bpe-golden.sh builds one); without them only our figures are printed.
//   Needs `npm run build:ts` first; writes BENCHMARKS.md section xlm-tokenizer.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { arg, intArg, report, runMain } = require('./common');

const ROOT = path.resolve(__dirname, '..');
const { xlmPreprocess, XlmTokenizer } = require(path.join(ROOT, 'dist', 'lib'));
const GOLDEN = path.join(ROOT, 'test', 'golden');
const LANGS = ['en', 'de', 'fr', 'ro', 'es'];
const moses = arg('--moses', process.env.MOSES_SCRIPTS);
const wmt16 = arg('--wmt16', process.env.WMT16_SCRIPTS);
const fast = arg('--fast', process.env.FASTBPE);
const repeat = intArg('--repeat', 20, 1);
const seconds = Number(arg('--seconds', '3'));
const python = process.env.PYTHON ?? (fs.existsSync(path.join(ROOT, '.venv/bin/python')) ? path.join(ROOT, '.venv/bin/python') : 'python3');
const codes = path.join(GOLDEN, 'fast-bpe', 'codes');
const vocab = path.join(GOLDEN, 'fast-bpe', 'vocab');

const lines = (file) => fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
const inputs = Object.fromEntries(LANGS.map((lg) => [lg, lines(path.join(GOLDEN, 'moses', `${lg}.in`))]));
const all = LANGS.flatMap((lg) => inputs[lg]);
const meanChars = all.reduce((n, s) => n + s.length, 0) / all.length;
const tokenizer = XlmTokenizer.fromFiles({
  codes: { text: fs.readFileSync(codes, 'utf8'), name: codes },
  vocab: { text: fs.readFileSync(vocab, 'utf8'), name: vocab },
});

/** Sentences a second of `fn(sentence, lang)` over every input: a warm-up pass, then whole passes for `seconds`. */
function rate(fn) {
  for (const lg of LANGS) for (const s of inputs[lg]) fn(s, lg);
  let n = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds) {
    for (const lg of LANGS) for (const s of inputs[lg]) fn(s, lg);
    n += all.length;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  return n / elapsed;
}

/** encodeFlatAsync (worker threads, one per core) over the inputs repeated `repeat` times, a language at a time. */
async function offThread() {
  const per = Object.fromEntries(LANGS.map((lg) => [lg, Array.from({ length: repeat }, () => inputs[lg]).flat()]));
  for (const lg of LANGS) await tokenizer.encodeFlatAsync(per[lg].slice(0, 1000), { lang: lg });
  const t0 = process.hrtime.bigint();
  for (const lg of LANGS) await tokenizer.encodeFlatAsync(per[lg], { lang: lg });
  return (all.length * repeat) / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** The reference chain, `withBpe` adding fastBPE, on every input repeated `repeat` times, pinned to one core. */
function reference(withBpe) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xlm-tok-bench-'));
  const T = path.join(moses, 'tokenizer');
  const pin = spawnSync('taskset', ['-c', '0', 'true']).status === 0 ? 'taskset -c 0 ' : '';
  let wall = 0;
  try {
    for (const lg of LANGS) {
      const file = path.join(tmp, `${lg}.in`);
      fs.writeFileSync(file, (inputs[lg].join('\n') + '\n').repeat(repeat));
      const romanian =
        lg === 'ro' && wmt16 ? `| ${python} ${wmt16}/preprocess/normalise-romanian.py | ${python} ${wmt16}/preprocess/remove-diacritics.py ` : '';
      const tok = path.join(tmp, `${lg}.tok`);
      const bpe = withBpe ? ` && ${fast} applybpe ${tmp}/${lg}.bpe ${tok} ${codes} ${vocab}` : '';
      const cmd =
        `${pin}bash -c 'perl ${T}/replace-unicode-punctuation.perl < ${file} | perl ${T}/normalize-punctuation.perl -l ${lg} ` +
        `| perl ${T}/remove-non-printing-char.perl ${romanian}| perl ${T}/tokenizer.perl -l ${lg} -no-escape -q > ${tok}${bpe}'`;
      const t0 = process.hrtime.bigint();
      const r = spawnSync('bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
      wall += Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.status !== 0) throw new Error(`the reference chain failed for ${lg}: ${r.stderr.toString()}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { rate: (all.length * repeat) / wall, pinned: pin !== '' };
}

async function main() {
  const started = Date.now();
  const about = `${all.length} sentences (golden .in of ${LANGS.join(', ')}), mean ${meanChars.toFixed(1)} characters; codes: 2,000 merges`;
  console.log(`input: ${about}`);
  const rows = [
    ['Moses preprocessing (`xlmPreprocess`), one JS thread', rate((s, lg) => xlmPreprocess(s, lg))],
    ['Moses + fastBPE + ids (`XlmTokenizer.encode`), one JS thread', rate((s, lg) => tokenizer.encode(s, { lang: lg }))],
    [`the same off the JS thread (\`encodeFlatAsync\`, ${os.availableParallelism()} worker threads)`, await offThread()],
  ];
  if (moses) {
    const p = reference(false);
    rows.push([`perl chain (${p.pinned ? 'one core' : 'not pinned'}, process starts included)`, p.rate]);
    if (fast) rows.push([`perl chain + \`fast applybpe\` (${p.pinned ? 'one core' : 'not pinned'})`, reference(true).rate]);
  }
  for (const [what, r] of rows) console.log(`${what}: ${Math.round(r).toLocaleString('en-US')} sentences/s`);
  const md = [
    "## XLM's tokenizer: Moses + fastBPE (`npm run bench:xlm-tokenizer`)",
    '',
    `${os.cpus()[0].model.trim()} (${os.availableParallelism()} cores), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. Input: ${about}. Ours: the same sentences in whole passes for ${seconds} s after a warm-up pass; the reference: the`,
    `inputs ${repeat} times over through the scripts XLM's get-data-nmt.sh runs (mosesdecoder, wmt16-scripts for ro) and fastBPE.`,
    '',
    '| what | sentences/s |',
    '| --- | ---: |',
    ...rows.map(([what, r]) => `| ${what} | ${Math.round(r).toLocaleString('en-US')} |`),
  ].join('\n');
  report('xlm-tokenizer', md, started);
}

runMain(main);
