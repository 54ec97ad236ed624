#!/usr/bin/env node
// One measured process of bench/data.js, started fresh so that its clock and memory start at zero:
//   node bench/data-probe.js SPEC.json
// SPEC.mode:
//   train    from process start to the trainer's first update (and to SPEC.updates updates or SPEC.seconds s) on a
//            data folder's token store, with memory at each stage: /proc/self/status RssAnon / RssFile, and from
//            /proc/self/smaps the Rss and Pss of the mappings under SPEC.tokensDir (the store's shared pages). Run
//            by launchRanks (WORLD_SIZE > 1) each rank joins ProcessGroup.init() and trains data-parallel. With
//            SPEC.pairs (a control run) it trains on those pairs in memory instead of the store.
//   batcher  the batch producer alone on one thread: Batcher over the store, plan(0), then toBatch on 'cpu' for
//            SPEC.seconds s.
//   seqkd    sequence-level KD's resume with nothing left to do: builds (once) a complete sparse store of the
//            training pairs' size (the train.tgt sentences as stand-in translations), times distillSequences on
//            it, then again with garbage appended to the part's .bin (the truncation path), then with an odd
//            number of garbage bytes.
//   stats    each split's stores: count, totalTokens, id width, vocabulary (so that the parent maps no store).
// Writes its result as JSON to SPEC.result (SPEC.result + '.r<rank>.json' for a rank of several).
'use strict';
const fs = require('fs');
const path = require('path');

/** Seconds since this process started (performance.timeOrigin is set when Node starts). */
const sinceStart = () => performance.now() / 1000;

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const RANK = Number(process.env.RANK ?? 0);
const WORLD = Number(process.env.WORLD_SIZE ?? 1);

/** Fields of /proc/self/status in kB. */
function status() {
  const out = {};
  for (const line of fs.readFileSync('/proc/self/status', 'utf8').split('\n')) {
    const m = /^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** Rss and Pss (kB) of this process's mappings of files under `dir`, and how many such mappings. */
function mappedUnder(dir) {
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  let inside = false;
  let file;
  const r = { rssKB: 0, pssKB: 0, mappings: 0, rssByFile: {} };
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    // A mapping's header: "start-end perms offset dev inode [path]".
    const head = /^[0-9a-f]+-[0-9a-f]+\s+\S+\s+\S+\s+\S+\s+\d+\s*(.*)$/.exec(line);
    if (head) {
      inside = head[1].startsWith(prefix);
      if (inside) {
        r.mappings++;
        file = path.basename(head[1]);
        r.rssByFile[file] ??= 0;
      }
      continue;
    }
    if (!inside) continue;
    const m = /^(Rss|Pss):\s+(\d+) kB/.exec(line);
    if (!m) continue;
    r[m[1] === 'Rss' ? 'rssKB' : 'pssKB'] += Number(m[2]);
    if (m[1] === 'Rss') r.rssByFile[file] += Number(m[2]);
  }
  return r;
}

/** Pss of the whole process (kB), from /proc/self/smaps_rollup. */
function pssAll() {
  const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/smaps_rollup', 'utf8'));
  return m ? Number(m[1]) : undefined;
}

/** Memory at a stage of the run. */
function snapshot(at) {
  const s = status();
  const store = spec.tokensDir ? mappedUnder(spec.tokensDir) : undefined;
  return { at, seconds: sinceStart(), ...s, pssKB: pssAll(), store };
}

function writeResult(result) {
  const file = WORLD > 1 ? `${spec.result}.r${RANK}.json` : spec.result;
  fs.writeFileSync(file, JSON.stringify({ rank: RANK, worldSize: WORLD, ...result }, null, 1));
}

async function trainProbe() {
  const started = snapshot('start');
  const lib = require(spec.dist);
  const loaded = sinceStart();
  const group = WORLD > 1 ? await lib.ProcessGroup.init() : undefined;
  const joined = sinceStart();
  lib.manualSeed(0);
  const model = lib.Teacher.create({ ...spec.config, vocabSize: spec.vocabSize });
  const afterModel = snapshot('model created');
  const notices = [];
  // The control run (spec.pairs): no store, only the pairs of the store run's first batch, in memory, so that its
  // first update has the same shape and its memory growth is the training's alone.
  const source = spec.pairs ? spec.pairs : (await lib.loadTrainingData(spec.dataDir, spec.tokenizer, {}, (l) => notices.push(l))).train;
  const dataLoaded = sinceStart();
  // The trainer's own Batcher (seed 0, the trainer's default seed), built and planned here so that the data side's
  // memory can be read before the first update allocates gradients, optimizer state and activations.
  const batcher = new lib.Batcher(source, { maxTokens: spec.maxTokens, seed: 0 });
  let plans = batcher.plan(0);
  const batches = plans.length;
  const firstPlan = { size: plans[0].size, paddedTokens: plans[0].paddedTokens };
  // The first batch's pairs, for the control run (spec.firstPairs).
  const firstPairs = spec.firstPairs ? Array.from(plans[0].view, (i) => batcher.pair(i)) : undefined;
  const afterData = snapshot('data loaded, batcher planned');
  // eslint-disable-next-line no-useless-assignment -- drops the plans so that the memory after them is measured without them
  plans = undefined;
  let first;
  let lastStep;
  const trainCalled = sinceStart();
  const r = await lib.train(model, {
    data: batcher,
    group,
    maxSteps: spec.updates,
    maxSeconds: spec.seconds,
    logEvery: 1,
    log: null,
    progressBar: false,
    seed: 0,
    onStep: (m) => {
      if (m.type !== 'step') return;
      lastStep = m;
      if (first === undefined) first = snapshot('first update');
    },
  });
  const end = snapshot(`after ${r.steps} update${r.steps === 1 ? '' : 's'}`);
  group?.destroy();
  writeResult({
    mode: 'train',
    control: Boolean(spec.pairs),
    pairs: source.size ?? source.length,
    kept: batcher.size,
    batches,
    firstPlan,
    notices,
    times: { modulesLoaded: loaded, groupJoined: joined, dataLoaded, trainCalled, firstUpdate: first?.seconds, end: end.seconds },
    timeOriginMs: performance.timeOrigin,
    steps: r.steps,
    stoppedBy: r.stoppedBy,
    trainSeconds: r.seconds,
    tokens: r.tokens,
    tokensPerSecond: lastStep ? r.tokens / r.seconds : undefined,
    memory: { start: started, model: afterModel, data: afterData, first, end },
    firstPairs,
  });
}

async function batcherProbe() {
  const lib = require(spec.dist);
  lib.setNumThreads(1);
  const threads = lib.version().threads;
  const data = await lib.loadTrainingData(spec.dataDir, spec.tokenizer);
  let t = performance.now();
  const batcher = new lib.Batcher(data.train, { maxTokens: spec.maxTokens, seed: 0 });
  const ctorMs = performance.now() - t;
  t = performance.now();
  const plans = batcher.plan(0);
  const planMs = performance.now() - t;
  // Warm-up: the first batches pay for lazily compiled code.
  for (const p of plans.slice(0, 20)) batcher.toBatch(p, 'cpu').dispose();
  let batches = 0;
  let sentences = 0;
  let tgtPadded = 0;
  let srcPadded = 0;
  let tgtReal = 0;
  t = performance.now();
  const limitMs = spec.seconds * 1000;
  let k = 20;
  while (performance.now() - t < limitMs) {
    if (k >= plans.length) k = 0;
    const p = plans[k++];
    const b = batcher.toBatch(p, 'cpu');
    batches++;
    sentences += b.size;
    tgtPadded += b.size * b.tgtOut.shape[1];
    srcPadded += b.size * b.src.shape[1];
    for (const i of p.view) tgtReal += batcher.targetTokens(i);
    b.dispose();
  }
  const ms = performance.now() - t;
  writeResult({
    mode: 'batcher',
    threads,
    pairs: data.train.size,
    kept: batcher.size,
    plans: plans.length,
    ctorMs,
    planMs,
    batches,
    sentences,
    tgtPadded,
    srcPadded,
    tgtReal,
    seconds: ms / 1000,
    wrapped: batches > plans.length - 20,
  });
}

async function seqkdProbe() {
  const lib = require(spec.dist);
  const data = await lib.loadTrainingData(spec.dataDir, spec.tokenizer);
  const train = data.train;
  const N = train.size;
  const hash = data.tokenizer.hash;
  const vocab = data.tokenizer.vocabSize;
  const part = `${spec.out}.r0`;
  const out = { mode: 'seqkd', pairs: N, vocab };
  // The complete store, built once: the tgt side's sentences copied in batches of 65,536 entries.
  if (!fs.existsSync(`${part}.idx`)) {
    const t = performance.now();
    const store = lib.AppendableTokenStore.open(part, N, lib.tokenBytesFor(vocab), {
      tokenizer: hash,
      vocabSize: vocab,
      madeBy: 'bench/data.js stand-in',
    });
    const BATCH = 65536;
    for (let s = 0; s < N; s += BATCH) {
      const e = Math.min(N, s + BATCH);
      let total = 0;
      for (let i = s; i < e; i++) total += train.tgtLength(i);
      const ids = new Int32Array(total);
      const entries = [];
      for (let i = s, at = 0; i < e; i++) {
        const n = train.tgtLength(i);
        train.copyTgt(i, ids, at);
        entries.push({ index: i, ids: ids.subarray(at, at + n) });
        at += n;
      }
      store.put(entries);
    }
    store.close();
    out.build = { seconds: (performance.now() - t) / 1000, entries: N, putBatch: BATCH };
  } else {
    out.build = { reused: true };
  }
  const binFile = `${part}.bin`;
  const sizes = () => ({ idx: fs.statSync(`${part}.idx`).size, bin: fs.statSync(binFile).size, values: fs.statSync(`${part}.values`).size });
  out.storeBytes = sizes();
  lib.manualSeed(0);
  const teacher = lib.Teacher.create({ vocabSize: vocab, embDim: 32, nHeads: 2, encoderLayers: 1, decoderLayers: 1 });
  const resume = async () => {
    const t = performance.now();
    const r = await lib.distillSequences(teacher, train, { out: spec.out, beamSize: 1, batchSize: 32, tokenizerHash: hash });
    return { seconds: (performance.now() - t) / 1000, written: r.written, resumed: r.resumed };
  };
  out.complete = await resume();
  // A killed run's ids past the last entry: 1 MiB of garbage (a whole number of ids), dropped on reopen.
  const before = fs.statSync(binFile).size;
  fs.appendFileSync(binFile, Buffer.alloc(1 << 20, 0xab));
  out.garbage = { appendedBytes: 1 << 20, ...(await resume()), binBytesAfter: fs.statSync(binFile).size, binBytesBefore: before };
  // An odd number of bytes (a write cut inside an id).
  fs.appendFileSync(binFile, Buffer.alloc(3, 0xcd));
  try {
    out.oddGarbage = { appendedBytes: 3, ...(await resume()), binBytesAfter: fs.statSync(binFile).size };
  } catch (e) {
    out.oddGarbage = { appendedBytes: 3, error: String(e && e.message ? e.message : e) };
  }
  fs.truncateSync(binFile, before);
  out.endSeconds = sinceStart();
  writeResult(out);
}

/** The stores' counts (done here so that the parent never maps the store and skews the probes' Pss). */
async function statsProbe() {
  const lib = require(spec.dist);
  const out = {};
  for (const split of ['train', 'valid', 'test']) {
    for (const side of ['src', 'tgt']) {
      const s = lib.TokenStore.open(lib.storeBase(spec.dataDir, split, side));
      out[`${split}.${side}`] = { count: s.count, tokens: s.totalTokens, tokenBytes: s.tokenBytes, vocabSize: s.meta.vocabSize };
    }
  }
  writeResult({ mode: 'stats', stores: out });
}

const MODES = { train: trainProbe, batcher: batcherProbe, seqkd: seqkdProbe, stats: statsProbe };

Promise.resolve()
  .then(() => {
    if (!MODES[spec.mode]) throw new Error(`bench/data-probe.js: unknown mode '${spec.mode}'`);
    return MODES[spec.mode]();
  })
  .catch((e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
  });
