#!/usr/bin/env node
// The data path at the scale of a real training set (issue 31), on one corpus, each stage in its own process:
//   1. a WMT14-sized corpus (bench/make-corpus.js; context, not a target);
//   2. `xlm-kd data` on it: wall seconds and peak RSS, the pairs kept;
//   3. `xlm-kd tokenizer` (8,000 pieces, the default sample): seconds, peak RSS, how much text it trained on;
//   4. the token store (`xlm-kd data --store-only`): seconds, peak RSS, bytes a token and a sentence;
//   5. train to the first update in a fresh process (bench/data-probe.js): seconds from process start, and the
//      data's memory (RssAnon grown since the model was made + Rss of the store's mapped pages); again after
//      200 updates or 30 s;
//   6. the same with 2 ranks (launchRanks, ProcessGroup): each rank's private memory, the store's pages once;
//   7. the batch producer on one core: plan(0), then toBatch for ~10 s (padded target tokens/s);
//   8. sequence-level KD's resume of a complete sparse store (nothing left to translate), and of one with
//      garbage appended to its .bin.
// Peak RSS and wall time of a child come from `/usr/bin/time -f '%e %M'` (else from polling /proc/PID/status
// VmHWM). Reports measured numbers only, with issue 31's targets beside them for reference, on stdout and in
// BENCHMARKS.md section "data" (not with --quick).
//
// Usage: npm run bench:data -- [--lines 4500000] [--dir DIR] [--keep] [--quick]
//   --lines N  corpus lines (default 4,500,000, WMT14 en-de's size; --quick: 50,000)
//   --dir DIR  where the corpus, data folder and stores go (default OS tmpdir/xkt-bench-data, --quick:
//              xkt-bench-data-quick); a corpus / data folder made there by an earlier --keep run with the same
//              --lines is reused (its recorded measurements are reported, marked as such)
//   --keep     leave DIR's files (default: removed at the end)
//   --quick    50,000 lines, shorter probes, nothing written to BENCHMARKS.md
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { ROOT, DIST, QUICK, arg, intArg, machineLine, runMain, report } = require('./common');

const USAGE = `Usage: npm run bench:data -- [--lines 4500000] [--dir DIR] [--keep] [--quick]

Times the data path on one generated corpus: xlm-kd data, xlm-kd tokenizer, the token store, train to the
first update (1 and 2 ranks), the batch producer, sequence-level KD's resume. Writes BENCHMARKS.md section
"data" (not with --quick).

  --lines N   corpus lines (default 4500000; --quick 50000)
  --dir DIR   working folder (default ${path.join(os.tmpdir(), 'xkt-bench-data')}; --quick ${path.join(os.tmpdir(), 'xkt-bench-data-quick')});
              a corpus and data folder left there by a --keep run with the same --lines are reused
  --keep      keep the working folder's files
  --quick     small and short; writes nothing
`;

const LINES = intArg('--lines', QUICK ? 50_000 : 4_500_000, 5000);
const DIR = path.resolve(arg('--dir', path.join(os.tmpdir(), QUICK ? 'xkt-bench-data-quick' : 'xkt-bench-data')));
const KEEP = process.argv.includes('--keep');
const CORPUS = path.join(DIR, 'corpus');
const DATA = path.join(DIR, 'data');
const TOKENS = path.join(DATA, 'tokens');
const TOKENIZER = path.join(DATA, 'tokenizer.model');
const SEQKD = path.join(DIR, 'seqkd');
const PROBE_DIR = path.join(DIR, 'probe');
const RECORD = path.join(DIR, 'bench-data.json');
const CLI = path.relative(ROOT, path.join(DIST, 'cli', 'index.js'));
const PROBE = path.relative(ROOT, path.join(__dirname, 'data-probe.js'));
const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((f) => fs.existsSync(f));

const VOCAB = 8000;
const MAX_TOKENS = 4096;
const TEACHER = { embDim: 256, nHeads: 4, encoderLayers: 2, decoderLayers: 2 };
const UPDATES = 200;
const TRAIN_SECONDS = QUICK ? 5 : 30;
const BATCH_SECONDS = QUICK ? 2 : 10;
// What launchRanks gives each of 2 ranks unless the environment says otherwise.
const RANK_THREADS = process.env.OMP_NUM_THREADS ?? String(Math.max(1, Math.floor(os.availableParallelism() / 2)));

/** Every command this run started, as it can be typed again (from the repository root). */
const commands = [];

const plural = (n, word) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
const count = (n) => Math.round(n).toLocaleString('en-US');
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`;
const kbMib = (kb) => mib(kb * 1024);
const secs = (s) => (s >= 120 ? `${(s / 60).toFixed(1)} min (${s.toFixed(0)} s)` : `${s.toFixed(s < 10 ? 2 : 1)} s`);
const quote = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/**
 * Runs `node ARGS` from the repository root, timed from outside: wall seconds and peak RSS (kB) by
 * /usr/bin/time, else by polling /proc/PID/status. Its stdout is echoed (prefixed) and returned; stderr passes through.
 */
function runTimed(label, args, { env = {}, prefix = [] } = {}) {
  const timeFile = path.join(PROBE_DIR, `time-${commands.length}.txt`);
  const envText = Object.entries(env)
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  const argv = [...prefix, process.execPath, ...args];
  commands.push(`${envText}${TIME ? "/usr/bin/time -f '%e %M' " : ''}${[...prefix, 'node', ...args].map(quote).join(' ')}`);
  console.log(`\n[${label}] ${commands[commands.length - 1]}`);
  return new Promise((resolve, reject) => {
    const spawnedMs = performance.timeOrigin + performance.now();
    const started = process.hrtime.bigint();
    const child = TIME
      ? spawn(TIME, ['-o', timeFile, '-f', '%e %M', ...argv], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn(argv[0], argv.slice(1), { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let peakKB = 0;
    const poll = TIME
      ? undefined
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) peakKB = Math.max(peakKB, Number(m[1]));
          } catch {
            // exited
          }
        }, 50);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d.toString().replace(/^(?=.)/gm, `  ${label}> `));
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (poll) clearInterval(poll);
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${label} failed (exit ${code}): ${commands[commands.length - 1]}`));
      let seconds = wall;
      if (TIME) {
        const [e, m] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
        seconds = e;
        peakKB = m;
      }
      resolve({ seconds, peakKB, stdout: out, spawnedMs });
    });
  });
}

const PEAK_HOW = TIME
  ? "`/usr/bin/time -f '%e %M'` around the child (peak RSS: the largest of the process and any child it waited for)"
  : 'the parent polling /proc/PID/status VmHWM every 50 ms (no /usr/bin/time here)';

function readRecord() {
  try {
    return JSON.parse(fs.readFileSync(RECORD, 'utf8'));
  } catch {
    return {};
  }
}

function saveRecord(rec) {
  fs.writeFileSync(RECORD, JSON.stringify(rec, null, 1));
}

const fileSize = (f) => (fs.existsSync(f) ? fs.statSync(f).size : -1);

/** Step 1: the corpus, made or reused. */
async function corpusStep(rec) {
  const files = [path.join(CORPUS, 'corpus.en'), path.join(CORPUS, 'corpus.de')];
  const c = rec.corpus;
  if (c && c.lines === LINES && files.every((f, i) => fileSize(f) === c.bytesEach[i])) {
    console.log(`\n[corpus] reusing ${CORPUS}: ${count(LINES)} lines made ${c.date}`);
    commands.push(`# reused ${CORPUS}, made ${c.date} by: ${c.command}`);
    return { ...c, reused: true };
  }
  fs.rmSync(CORPUS, { recursive: true, force: true });
  fs.rmSync(DATA, { recursive: true, force: true });
  const r = await runTimed('corpus', [path.relative(ROOT, path.join(__dirname, 'make-corpus.js')), '--out', CORPUS, '--lines', String(LINES)]);
  const bytesEach = files.map((f) => fs.statSync(f).size);
  const made = {
    lines: LINES,
    bytesEach,
    bytes: bytesEach[0] + bytesEach[1],
    seconds: r.seconds,
    peakKB: r.peakKB,
    date: new Date().toISOString(),
    command: commands[commands.length - 1],
  };
  Object.keys(rec).forEach((k) => delete rec[k]);
  rec.corpus = made;
  saveRecord(rec);
  return made;
}

/** Step 2: `xlm-kd data` on the corpus, run or reused. */
async function dataStep(rec, corpus) {
  const d = rec.data;
  if (d && d.corpusDate === corpus.date && fs.existsSync(path.join(DATA, 'data.json'))) {
    console.log(`\n[data] reusing ${DATA}, made ${d.date}`);
    commands.push(`# reused ${DATA} (without its tokenizer and token store), made ${d.date} by: ${d.command}`);
    return { ...d, reused: true, info: JSON.parse(fs.readFileSync(path.join(DATA, 'data.json'), 'utf8')) };
  }
  fs.rmSync(DATA, { recursive: true, force: true });
  const r = await runTimed('data', [CLI, 'data', '--src', path.join(CORPUS, 'corpus.en'), '--tgt', path.join(CORPUS, 'corpus.de'), '--out', DATA]);
  const info = JSON.parse(fs.readFileSync(path.join(DATA, 'data.json'), 'utf8'));
  rec.data = {
    seconds: r.seconds,
    peakKB: r.peakKB,
    date: new Date().toISOString(),
    corpusDate: corpus.date,
    command: commands[commands.length - 1],
  };
  saveRecord(rec);
  return { ...rec.data, info };
}

/** Step 3: the tokenizer. */
async function tokenizerStep() {
  fs.rmSync(TOKENIZER, { force: true });
  const r = await runTimed('tokenizer', [CLI, 'tokenizer', '--data', DATA, '--out', TOKENIZER, '--vocab-size', String(VOCAB)]);
  const m = /trained on ([\d,]+) of ([\d,]+) sentences/.exec(r.stdout);
  if (!m) throw new Error(`xlm-kd tokenizer printed no "trained on X of Y sentences" line:\n${r.stdout}`);
  return {
    ...r,
    line: r.stdout
      .trim()
      .split('\n')
      .find((l) => l.includes('trained on')),
    used: Number(m[1].replace(/,/g, '')),
    seen: Number(m[2].replace(/,/g, '')),
  };
}

/** Step 4: the token store, and its size from the files and the stores' counts. */
async function storeStep(T) {
  fs.rmSync(TOKENS, { recursive: true, force: true });
  const r = await runTimed('store', [CLI, 'data', '--out', DATA, '--tokenizer', TOKENIZER, '--store-only']);
  // Counts from TokenStore in a child: a store mapped by this process would count in the probes' Pss.
  const spec = { mode: 'stats', dataDir: DATA, result: path.join(PROBE_DIR, 'stats.result.json') };
  const file = await writeSpec('stats', spec);
  commands.push(`node ${PROBE} ${file}   # ${file}: ${JSON.stringify(spec)}`);
  const st = spawnSync(process.execPath, [PROBE, file], { cwd: ROOT, stdio: 'inherit' });
  if (st.status !== 0) throw new Error(`reading the stores' counts failed (exit ${st.status})`);
  const stores = JSON.parse(fs.readFileSync(spec.result, 'utf8')).stores;
  const splits = ['train', 'valid', 'test'].map((split) => {
    const sides = ['src', 'tgt'].map((side) => {
      const base = T.storeBase(DATA, split, side);
      return { ...stores[`${split}.${side}`], idx: fs.statSync(`${base}.idx`).size, bin: fs.statSync(`${base}.bin`).size };
    });
    const sum = (k) => sides[0][k] + sides[1][k];
    return {
      split,
      pairs: sides[0].count,
      sentences: sum('count'),
      tokens: sum('tokens'),
      idx: sum('idx'),
      bin: sum('bin'),
      tokenBytes: sides[0].tokenBytes,
      vocabSize: sides[0].vocabSize,
    };
  });
  const all = ['sentences', 'tokens', 'idx', 'bin'].reduce((o, k) => ({ ...o, [k]: splits.reduce((n, s) => n + s[k], 0) }), { split: 'all' });
  const onDisk = fs.readdirSync(TOKENS).reduce((n, f) => n + fs.statSync(path.join(TOKENS, f)).size, 0);
  return { ...r, splits, all, onDisk, vocabSize: splits[0].vocabSize };
}

const perToken = (s) => (s.idx + s.bin - 12 * s.sentences) / s.tokens;

async function writeSpec(name, spec) {
  const file = path.join(PROBE_DIR, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ dist: DIST, ...spec }));
  return file;
}

/** The probe's spec for training from the built store (steps 5 and 6), its result written to `result`. */
function storeTrainSpec(vocabSize, result) {
  return {
    mode: 'train',
    dataDir: DATA,
    tokenizer: TOKENIZER,
    tokensDir: fs.realpathSync(TOKENS),
    vocabSize,
    config: TEACHER,
    maxTokens: MAX_TOKENS,
    updates: UPDATES,
    seconds: TRAIN_SECONDS,
    result,
  };
}

/** Step 5: train to the first update, one process. */
async function trainProbe(vocabSize) {
  const spec = { ...storeTrainSpec(vocabSize, path.join(PROBE_DIR, 'train-1.result.json')), firstPairs: true };
  const file = await writeSpec('train-1', spec);
  const r = await runTimed('train, 1 process', [PROBE, file]);
  commands[commands.length - 1] += `   # ${file}: ${JSON.stringify(spec)}`;
  const res = JSON.parse(fs.readFileSync(spec.result, 'utf8'));
  return { ...r, res, fromSpawn: res.timeOriginMs + 1000 * res.times.firstUpdate - r.spawnedMs };
}

/**
 * Step 5b: the control of step 5: the same model trained for one update on the pairs of the store run's first
 * batch, from memory (no store): the same batch shape, so its RssAnon growth is the first update's own memory.
 */
async function controlProbe(vocabSize, pairs) {
  const spec = { mode: 'train', vocabSize, config: TEACHER, maxTokens: MAX_TOKENS, updates: 1, result: path.join(PROBE_DIR, 'control.result.json') };
  const file = await writeSpec('control', { ...spec, pairs });
  await runTimed('train, control', [PROBE, file]);
  commands[commands.length - 1] +=
    `   # ${file}: ${JSON.stringify({ ...spec, pairs: `<the ${pairs.length} pairs of the store run's first batch>` })}`;
  return { res: JSON.parse(fs.readFileSync(spec.result, 'utf8')) };
}

/** Step 6: the same probe as 2 ranks. */
async function ranksProbe(T, vocabSize) {
  const spec = storeTrainSpec(vocabSize, path.join(PROBE_DIR, 'train-2.result'));
  const file = await writeSpec('train-2', spec);
  const env = { GLOO_SOCKET_IFNAME: 'lo' };
  commands.push(
    `node -e "require('./dist/lib').launchRanks({ nproc: 2, args: ['${PROBE}', '${file}'], env: ${JSON.stringify(env).replace(/"/g, "'")} })"   # ${file}: ${JSON.stringify(spec)}`
  );
  console.log(`\n[train, 2 ranks] ${commands[commands.length - 1]}`);
  const started = process.hrtime.bigint();
  const r = await T.launchRanks({ nproc: 2, args: [PROBE, file], env });
  if (r.exitCode !== 0) throw new Error(`the 2-rank probe failed (exit ${r.exitCode})`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const ranks = [0, 1].map((k) => JSON.parse(fs.readFileSync(`${spec.result}.r${k}.json`, 'utf8')));
  return { seconds, ranks };
}

/** Step 7: the batch producer on one core. */
async function batcherProbe() {
  const spec = {
    mode: 'batcher',
    dataDir: DATA,
    tokenizer: TOKENIZER,
    maxTokens: MAX_TOKENS,
    seconds: BATCH_SECONDS,
    result: path.join(PROBE_DIR, 'batcher.result.json'),
  };
  const file = await writeSpec('batcher', spec);
  const r = await runTimed('batcher', [PROBE, file], { env: { OMP_NUM_THREADS: '1' }, prefix: TASKSET ? ['taskset', '-c', '0'] : [] });
  commands[commands.length - 1] += `   # ${file}: ${JSON.stringify(spec)}`;
  return { ...r, res: JSON.parse(fs.readFileSync(spec.result, 'utf8')) };
}

/** Step 8: sequence-level KD's resume. */
async function seqkdProbe() {
  fs.rmSync(SEQKD, { recursive: true, force: true });
  fs.mkdirSync(SEQKD, { recursive: true });
  const spec = {
    mode: 'seqkd',
    dataDir: DATA,
    tokenizer: TOKENIZER,
    out: path.join(SEQKD, 'targets'),
    result: path.join(PROBE_DIR, 'seqkd.result.json'),
  };
  const file = await writeSpec('seqkd', spec);
  const r = await runTimed('seqkd', [PROBE, file]);
  commands[commands.length - 1] += `   # ${file}: ${JSON.stringify(spec)}`;
  return { ...r, res: JSON.parse(fs.readFileSync(spec.result, 'utf8')) };
}

/** The data memory of a train probe: RssAnon grown since the model was made, plus the store's mapped pages. */
function dataMemory(res, at) {
  const m = res.memory;
  const anonKB = m[at].RssAnon - m.model.RssAnon;
  const store = m[at].store ?? { rssKB: 0, pssKB: 0 };
  return { anonKB, storeRssKB: store.rssKB, storePssKB: store.pssKB, totalKB: anonKB + store.rssKB };
}

/** A store snapshot's Rss per mapped file, largest first. */
function byFile(store) {
  return (
    Object.entries(store.rssByFile)
      .sort((a, b) => b[1] - a[1])
      .map(([f, kb]) => `${f} ${kbMib(kb)}`)
      .join(', ') || 'none mapped'
  );
}

function stageRows(res, label) {
  const m = res.memory;
  const stages = ['start', 'model', 'data', 'first', 'end'].filter((k) => m[k]);
  return stages.map((k) => {
    const s = m[k];
    const st = s.store ? [kbMib(s.store.rssKB), kbMib(s.store.pssKB)] : ['—', '—'];
    return `| ${label} | ${s.at} | ${s.seconds.toFixed(2)} | ${kbMib(s.RssAnon)} | ${kbMib(s.RssFile)} | ${st[0]} | ${st[1]} | ${kbMib(s.pssKB)} |`;
  });
}

async function main() {
  if (process.argv.includes('--help') || process.argv.includes('-h')) return void process.stdout.write(USAGE);
  const startedMs = Date.now();
  const loadBefore = os.loadavg()[0];
  fs.mkdirSync(PROBE_DIR, { recursive: true });
  const T = require(DIST);
  const rec = readRecord();
  try {
    const corpus = await corpusStep(rec);
    const data = await dataStep(rec, corpus);
    const tok = await tokenizerStep();
    const store = await storeStep(T);
    const one = await trainProbe(store.vocabSize);
    const control = await controlProbe(store.vocabSize, one.res.firstPairs);
    const two = await ranksProbe(T, store.vocabSize);
    const bat = await batcherProbe();
    const kd = await seqkdProbe();
    const md = render({ corpus, data, tok, store, one, control, two, bat, kd, loadBefore, info: T.version() });
    report('data', md, startedMs);
  } finally {
    if (!KEEP) {
      for (const p of [CORPUS, DATA, SEQKD, PROBE_DIR, RECORD]) fs.rmSync(p, { recursive: true, force: true });
      try {
        fs.rmdirSync(DIR);
      } catch {
        // not empty: other files were there before
      }
    } else {
      fs.rmSync(PROBE_DIR, { recursive: true, force: true });
      console.log(`kept ${DIR}`);
    }
  }
}

function render({ corpus, data, tok, store, one, control, two, bat, kd, loadBefore, info }) {
  const counts = data.info.counts;
  const dropped =
    Object.entries(data.info.dropped ?? {})
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${count(n)}`)
      .join(', ') || 'none';
  const reusedNote = (x, what) => (x.reused ? ` (reused: measured when ${what} was made in ${DIR}, ${x.date.slice(0, 10)})` : '');
  const train = store.splits.find((s) => s.split === 'train');
  const m1 = dataMemory(one.res, 'first');
  const m1data = dataMemory(one.res, 'data');
  const m1end = dataMemory(one.res, 'end');
  // The first update's own memory (the control run), and the data's net of it.
  const c1 = dataMemory(control.res, 'first');
  const net1 = m1.totalKB - c1.anonKB;
  const sameShape = control.res.firstPlan.size === one.res.firstPlan.size && control.res.firstPlan.paddedTokens === one.res.firstPlan.paddedTokens;
  const r = two.ranks;
  const priv = r.map((x) => x.memory.first.RssAnon - x.memory.model.RssAnon);
  const privData = r.map((x) => x.memory.data.RssAnon - x.memory.model.RssAnon);
  // The store's pages once: the ranks' Pss of the store mappings add up to the Rss of their union when nothing else maps them.
  const storeOnce = r.reduce((n, x) => n + x.memory.first.store.pssKB, 0);
  const storeOnceData = r.reduce((n, x) => n + x.memory.data.store.pssKB, 0);
  const inAll = priv[0] + priv[1] + storeOnce;
  const inAllData = privData[0] + privData[1] + storeOnceData;
  const rank0 = priv[0] + r[0].memory.first.store.rssKB;
  const pssSum = r.reduce((n, x) => n + x.memory.first.pssKB, 0);
  const b = bat.res;
  const k = kd.res;
  const firstUpdate = one.res.times.firstUpdate;

  const lines = [
    `## The data path on a corpus of ${count(corpus.lines)} lines (\`npm run bench:data\`)`,
    '',
    `One generated corpus through every stage of the data path (issue 31), each stage in its own process; wall time and peak ` +
      `RSS of a stage from ${PEAK_HOW}. Issue 31's targets stand beside the measured figures for reference. MiB = 2^20 bytes.`,
    '',
    `Machine: ${machineLine(info)}; nproc ${os.availableParallelism()}; Linux ${os.release()}; ` +
      `1-min load average ${loadBefore.toFixed(1)} before / ${os.loadavg()[0].toFixed(1)} after.`,
    '',
    `Corpus (context, not a target): bench/make-corpus.js, ${count(corpus.lines)} lines a side, ${mib(corpus.bytes)} of text ` +
      `(${mib(corpus.bytesEach[0])} English, ${mib(corpus.bytesEach[1])} German) in ${secs(corpus.seconds)}${reusedNote(corpus, 'the corpus')}.`,
    '',
    '| stage | measured | issue 31 target |',
    '|---|---|---|',
    `| \`xlm-kd data\` (stream, clean, split)${data.reused ? ' ¹' : ''} | ${secs(data.seconds)}, peak RSS ${kbMib(data.peakKB)}; kept ${count(counts.train)} train, ` +
      `${count(counts.valid)} valid, ${count(counts.test)} test pairs (dropped: ${dropped}) | ≤ 60 s, ≤ 500 MB |`,
    `| \`xlm-kd tokenizer\`, ${VOCAB} pieces, default sample | ${secs(tok.seconds)}, peak RSS ${kbMib(tok.peakKB)}; trained on ${count(tok.used)} of ${count(tok.seen)} sentences | ≤ 4 min, ≤ 4 GB |`,
    `| token store (\`xlm-kd data --store-only\`, all splits) | ${secs(store.seconds)}, peak RSS ${kbMib(store.peakKB)}; ${mib(store.onDisk)} on disk for ` +
      `${count(store.all.tokens)} tokens in ${count(store.all.sentences)} sentences: ${perToken(store.all).toFixed(3)} bytes a token + 12 a sentence ` +
      `(${((store.all.idx + store.all.bin) / store.all.tokens).toFixed(3)} a token with the index) | ≤ 2.1 bytes a token + 12 a sentence |`,
    `| train to the first update, 1 process | ${secs(firstUpdate)} from process start (data loaded at ${secs(one.res.times.dataLoaded)}, the update itself ` +
      `${secs(firstUpdate - one.res.times.trainCalled)}); data memory ${kbMib(m1.totalKB)} = RssAnon +${kbMib(m1.anonKB)} since the model was made + store pages ` +
      `${kbMib(m1.storeRssKB)}, of which the update's own (control run) ${kbMib(c1.anonKB)}: ${kbMib(net1)} for the data; ${kbMib(m1data.totalKB)} once loaded and planned, before training | ≤ 10 s, ≤ 200 MB |`,
    `| 2 ranks (\`launchRanks\`, \`ProcessGroup\`) | at the first update in all ${kbMib(inAll)} = ${(inAll / m1.totalKB).toFixed(2)}× the 1-process data memory ` +
      `(${(inAll / rank0).toFixed(2)}× rank 0's ${kbMib(rank0)}; the update's own memory included); loaded and planned, before training: ${kbMib(inAllData)} = ` +
      `${(inAllData / m1data.totalKB).toFixed(2)}× the 1-process ${kbMib(m1data.totalKB)} | ≤ 1.3× one rank's |`,
    `| batch producer, 1 thread on 1 core | ${count(b.tgtPadded / b.seconds)} padded target tokens/s, ${count(b.sentences / b.seconds)} sentences/s | ≥ 1M padded target tokens/s |`,
    `| sequence-level KD resume, nothing left (${count(k.pairs)} sources) | ${secs(k.complete.seconds)} (written ${count(k.complete.written)}, resumed ${count(k.complete.resumed)}) | ≤ 10 s |`,
    '',
    ...(data.reused
      ? [
          `¹ ${reusedNote(data, 'the data folder')
            .trim()
            .replace(/^\(|\)$/g, '')}.`,
          '',
        ]
      : []),
    '### Token store',
    '',
    `Sizes from the files; tokens and sentences from \`TokenStore\` (\`totalTokens\`, \`count\`) of each side. A sentence costs ` +
      `12 bytes of index (uint32 size + int64 offset), each index file a 4 KiB header; ids are ${train.tokenBytes}-byte ` +
      `(vocabulary ${count(store.vocabSize)}).`,
    '',
    '| split | pairs | tokens (both sides) | .idx bytes | .bin bytes | bytes / token (all) | bytes / sentence (all) | (bytes − 12 × sentences) / tokens |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...[...store.splits, { ...store.all, pairs: store.splits.reduce((n, s) => n + s.pairs, 0) }].map(
      (s) =>
        `| ${s.split} | ${count(s.pairs)} | ${count(s.tokens)} | ${count(s.idx)} | ${count(s.bin)} | ${((s.idx + s.bin) / s.tokens).toFixed(3)} | ` +
        `${((s.idx + s.bin) / s.sentences).toFixed(2)} | ${perToken(s).toFixed(3)} |`
    ),
    '',
    '### Train to the first update',
    '',
    `bench/data-probe.js in a fresh process: \`Teacher.create\` (${TEACHER.encoderLayers}-${TEACHER.decoderLayers} layers × ${TEACHER.embDim}, ` +
      `${TEACHER.nHeads} heads, vocabulary ${count(store.vocabSize)}), then \`loadTrainingData\` on the built store, a \`Batcher\` ` +
      `(maxTokens ${MAX_TOKENS}, seed 0, planned once here) passed to \`train\` (Adam, defaults, \`logEvery: 1\`), until ${UPDATES} updates ` +
      `or ${TRAIN_SECONDS} s of training. Seconds from process start (\`performance.timeOrigin\`, module loading included): modules ` +
      `${one.res.times.modulesLoaded.toFixed(2)}, data loaded ${one.res.times.dataLoaded.toFixed(2)}, \`train\` called ` +
      `${one.res.times.trainCalled.toFixed(2)}, first update ${firstUpdate.toFixed(2)} (${(one.fromSpawn / 1000).toFixed(2)} from the parent's spawn); ` +
      `${plural(one.res.steps, 'update')} in ${one.res.trainSeconds.toFixed(1)} s of training (${count(one.res.tokensPerSecond)} target tokens/s), ` +
      `stopped by ${one.res.stoppedBy}; peak RSS of the process ${kbMib(one.peakKB)}.`,
    '',
    `Data memory = RssAnon at a stage − RssAnon once the model was made (before any data was read) + Rss of the mappings ` +
      `of files under data/tokens (/proc/self/smaps; the store's page-cache pages, shared by every process mapping them). ` +
      `At the first update it also holds that update's gradients, Adam moments and the allocator's cached activations; ` +
      `"data loaded" (after \`loadTrainingData\`, the Batcher and its plan of epoch 0) is the data side alone.`,
    '',
    `The control run separates the two: the same model and options, trained for one update on the ${count(control.res.firstPlan.size)} pairs of the store ` +
      `run's first batch held in memory (no store; first batch ${control.res.firstPlan.size} × ${control.res.firstPlan.paddedTokens / control.res.firstPlan.size} ` +
      `vs the store run's ${one.res.firstPlan.size} × ${one.res.firstPlan.paddedTokens / one.res.firstPlan.size}${sameShape ? ', the same shape' : ', NOT the same shape'}), ` +
      `reached its first update at ${secs(control.res.times.firstUpdate)} from process start.`,
    '',
    `Store Rss by file at the first update: ${byFile(one.res.memory.first.store)}.`,
    '',
    "| data memory at | RssAnon growth | store Rss | data memory | net of the control run's RssAnon growth |",
    '|---|---:|---:|---:|---:|',
    `| data loaded, batcher planned | ${kbMib(m1data.anonKB)} | ${kbMib(m1data.storeRssKB)} | ${kbMib(m1data.totalKB)} | |`,
    `| first update | ${kbMib(m1.anonKB)} | ${kbMib(m1.storeRssKB)} | ${kbMib(m1.totalKB)} | ${kbMib(net1)} |`,
    `| after ${plural(one.res.steps, 'update')} | ${kbMib(m1end.anonKB)} | ${kbMib(m1end.storeRssKB)} | ${kbMib(m1end.totalKB)} | |`,
    `| control run: first update | ${kbMib(c1.anonKB)} | — | | |`,
    '',
    '### Two ranks',
    '',
    `The same probe started by \`launchRanks({ nproc: 2 })\` (OMP_NUM_THREADS=${RANK_THREADS} each, GLOO_SOCKET_IFNAME=lo), ` +
      `each rank joining \`ProcessGroup.init()\` and passing the group to \`train\`: first update at ` +
      `${r.map((x) => `${x.times.firstUpdate.toFixed(2)} s`).join(' / ')} from process start (rank 0 / 1), ${secs(two.seconds)} for the launch. ` +
      `Private data memory = RssAnon growth since the model was made. The store's mappings are the same page-cache pages in both ranks, ` +
      `so "in all" counts them once: the sum of the ranks' Pss of those mappings (Pss splits a shared page between the processes mapping ` +
      `it, so the sum is the Rss of their union); Σ Pss (smaps_rollup) of the two ranks, everything included, is ${kbMib(pssSum)}.`,
    '',
    '| at | rank 0 private | rank 1 private | rank 0 store Rss | rank 1 store Rss | store pages once (Σ Pss) | in all | vs 1 process | vs rank 0 |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| data loaded, batcher planned | ${kbMib(privData[0])} | ${kbMib(privData[1])} | ${kbMib(r[0].memory.data.store.rssKB)} | ${kbMib(r[1].memory.data.store.rssKB)} | ` +
      `${kbMib(storeOnceData)} | ${kbMib(inAllData)} | ${(inAllData / m1data.totalKB).toFixed(2)}× | ${(inAllData / (privData[0] + r[0].memory.data.store.rssKB)).toFixed(2)}× |`,
    `| first update | ${kbMib(priv[0])} | ${kbMib(priv[1])} | ${kbMib(r[0].memory.first.store.rssKB)} | ${kbMib(r[1].memory.first.store.rssKB)} | ` +
      `${kbMib(storeOnce)} | ${kbMib(inAll)} | ${(inAll / m1.totalKB).toFixed(2)}× | ${(inAll / rank0).toFixed(2)}× |`,
    '',
    '<details><summary>Every stage of the probes (seconds from process start; memory from /proc/self/status, smaps, smaps_rollup)</summary>',
    '',
    '| probe | stage | s | RssAnon | RssFile | store Rss | store Pss | Pss (process) |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...stageRows(one.res, '1 process'),
    ...stageRows(control.res, 'control'),
    ...r.flatMap((x) => stageRows(x, `rank ${x.rank} of 2`)),
    '',
    '</details>',
    '',
    '### Batch producer',
    '',
    `bench/data-probe.js with OMP_NUM_THREADS=1, \`setNumThreads(1)\` (LibTorch threads: ${b.threads})${TASKSET ? ', pinned to core 0 (`taskset -c 0`)' : ''}: ` +
      `\`new Batcher(train store, { maxTokens: ${MAX_TOKENS} })\` over ${count(b.pairs)} pairs (${count(b.kept)} kept) in ${b.ctorMs.toFixed(0)} ms, ` +
      `\`plan(0)\` in ${b.planMs.toFixed(0)} ms (${count(b.plans)} batches), then \`toBatch(plan, 'cpu')\` and \`dispose()\` for ${b.seconds.toFixed(1)} s after 20 ` +
      `warm-up batches: ${count(b.batches)} batches${b.wrapped ? ' (the plan was run through more than once)' : ''}, ${count(b.sentences)} sentences.`,
    '',
    '| padded target tokens/s (B × tgtOut width) | padded source tokens/s | real target tokens/s | sentences/s | batches/s |',
    '|---:|---:|---:|---:|---:|',
    `| ${count(b.tgtPadded / b.seconds)} | ${count(b.srcPadded / b.seconds)} | ${count(b.tgtReal / b.seconds)} | ${count(b.sentences / b.seconds)} | ${count(b.batches / b.seconds)} |`,
    '',
    '### Sequence-level KD resume',
    '',
    `A complete sparse store of ${count(k.pairs)} translations (part \`targets.r0\`; the train.tgt sentences as stand-ins), written with ` +
      `\`AppendableTokenStore.put\` in batches of ${count(k.build.putBatch ?? 0)} entries ` +
      `${k.build.seconds !== undefined ? `in ${secs(k.build.seconds)} (setup, not a target)` : '(reused)'}: .idx ${mib(k.storeBytes.idx)}, .bin ${mib(k.storeBytes.bin)}, ` +
      `.values ${mib(k.storeBytes.values)}. Then \`distillSequences\` (a 1-1 × 32 Teacher, vocabulary ${count(k.vocab)}, greedy, batch 32) with that store ` +
      `as \`out\`, timed around the call, in one process.`,
    '',
    '| case | seconds | written | resumed | .bin after |',
    '|---|---:|---:|---:|---|',
    `| complete | ${k.complete.seconds.toFixed(2)} | ${count(k.complete.written)} | ${count(k.complete.resumed)} | unchanged |`,
    `| complete + ${count(k.garbage.appendedBytes)} bytes of garbage appended to the .bin | ${k.garbage.seconds.toFixed(2)} | ${count(k.garbage.written)} | ${count(k.garbage.resumed)} | ` +
      `${k.garbage.binBytesAfter === k.garbage.binBytesBefore ? 'truncated back to its ids' : `${count(k.garbage.binBytesAfter)} bytes (was ${count(k.garbage.binBytesBefore)})`} |`,
    k.oddGarbage.error
      ? `| complete + ${k.oddGarbage.appendedBytes} bytes of garbage (not a whole id) | — | — | — | refused: ${k.oddGarbage.error.replace(/\|/g, '\\|')} |`
      : `| complete + ${k.oddGarbage.appendedBytes} bytes of garbage (not a whole id) | ${k.oddGarbage.seconds.toFixed(2)} | ${count(k.oddGarbage.written)} | ${count(k.oddGarbage.resumed)} | ` +
        `${k.oddGarbage.binBytesAfter === k.garbage.binBytesBefore ? 'truncated back to its ids' : `${count(k.oddGarbage.binBytesAfter)} bytes (was ${count(k.garbage.binBytesBefore)})`} |`,
    '',
    'Commands (from the repository root; DIR = ' + DIR + '):',
    '',
    '```',
    `node bench/data.js ${process.argv.slice(2).map(quote).join(' ')}`.trim(),
    ...commands,
    '```',
  ];
  return lines.join('\n');
}

runMain(main);
