#!/usr/bin/env node
// The translation service under load (BENCHMARKS.md "serve"): the demo's cut student served by `xlm-kd serve`
// (its own process), float32 and int8 + shortlist, beam 5, one sentence per request from the demo's test set,
// driven by autocannon at concurrency 1, 8, 32 and 128, for each batching mode: request batching (the
// default), continuous, and none (each request decoded alone: a naive server). Against offline translate() over the
// same sentences in batches of 32 (the ceiling) and a lone sentence's decoding time. Rounds are interleaved
// across modes; cells report medians with their spread. Then a soak: the default batching at concurrency 32 for
// --soak-minutes (default 10), RSS after the first minute and at the end.
// The load generator shares the 2 cores with the server: a real deployment would not, so these are floors.
//
// Usage: node bench/serve.js [--quick] [--rounds N] [--seconds S] [--soak-minutes M] [--run runs/demo-en-de]
//        [--concurrency 1,8,32,128] [--modes continuous,request,none] [--models float32,int8] (subsets for exploring)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const autocannon = require('autocannon');
const { DIST, ROOT, QUICK, SKIPPED, arg, median, spread, machineLine, runMain, report } = require('./common');
const T = require(DIST);

const RUN = path.resolve(ROOT, arg('--run', 'runs/demo-en-de'));
const ROUNDS = Number(arg('--rounds', QUICK ? '1' : '3'));
const SECONDS = Number(arg('--seconds', QUICK ? '3' : '10'));
const SOAK_MINUTES = Number(arg('--soak-minutes', QUICK ? '0.1' : '10'));
const list = (name, fallback) =>
  arg(name, fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const CONCURRENCY = list('--concurrency', QUICK ? '1,8' : '1,8,32,128').map(Number);
const MODES = list('--modes', 'continuous,request,none');
const MODELS = list('--models', 'float32,int8');
// Extra `xlm-kd serve` flags for every server (exploring settings): --serve-flags "--join-ratio 0.5".
const SERVE_FLAGS = arg('--serve-flags', '').split(' ').filter(Boolean);
// Continuous batching at its best setting measured here: joins at most every 20 ms unless 0.6 × the running
// sentences wait (joining every step copies the decoder state every step).
const MODE_FLAGS = { continuous: ['--max-wait-ms', '20', '--join-ratio', '0.6'] };
const BEAM = 5;
const DEFAULT_MODE = T.SERVE_DEFAULTS.batching;
const CLI = path.join(DIST, 'cli', 'index.js');

const rssMb = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

/** The two model files: the cut student as it is, and with a shortlist recorded (served int8). */
function prepareModels(dir) {
  const models = path.join(RUN, 'models');
  fs.copyFileSync(path.join(models, 'tokenizer.model'), path.join(dir, 'tokenizer.model'));
  const file = path.join(dir, 'student-cut.safetensors');
  fs.copyFileSync(path.join(models, 'student-cut.safetensors'), file);
  const r = spawnSync(process.execPath, [CLI, 'shortlist', '--model', file, '--data', path.join(RUN, 'data')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`xlm-kd shortlist failed: ${r.stderr}`);
  return {
    float32: { label: 'float32', file, flags: ['--no-shortlist'] },
    int8: { label: 'int8 + shortlist', file, flags: ['--int8'] },
  };
}

/** Starts `xlm-kd serve`; resolves to { url, pid, stop() } once it listens. */
function startServer(model, batching) {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--model',
      `cut=${model.file}`,
      '--port',
      '0',
      '--beam',
      String(BEAM),
      '--batching',
      batching,
      '--max-queue',
      '4096',
      ...model.flags,
      ...(MODE_FLAGS[batching] ?? []),
      ...SERVE_FLAGS,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] }
  );
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /at (http:\/\/\S+) /.exec(err);
      if (!m) return;
      clearInterval(timer);
      resolve({
        url: m[1],
        pid: child.pid,
        stop: () =>
          new Promise((res) => {
            child.on('exit', (code) => res(code));
            child.kill('SIGTERM');
          }),
      });
    }, 50);
    child.on('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`xlm-kd serve exited ${code}: ${err}`));
    });
  });
}

/** autocannon at `connections` for `seconds`, each request one sentence (cycling through the test set). */
async function load(url, sentences, connections, seconds) {
  let next = 0;
  const result = await autocannon({
    url: `${url}/translate`,
    connections,
    duration: seconds,
    timeout: 120,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ q: sentences[next++ % sentences.length] }) }),
      },
    ],
  });
  return {
    sentencesPerSecond: result['2xx'] / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.errors + result.timeouts + result.non2xx,
  };
}

/** Offline translate() in batches of 32 over the test set (sentences/s), and a lone sentence's time (ms). */
async function offline(model, sentences) {
  const m = await T.loadModel(model.file, { inference: model.flags.includes('--int8') ? 'int8' : undefined });
  const tokenizer = T.SentencePiece.load(path.join(path.dirname(model.file), 'tokenizer.model'));
  const shortlist = model.flags.includes('--no-shortlist') ? { shortlist: false } : {};
  const opts = { tokenizer, beamSize: BEAM, batchSize: 32, ...shortlist };
  await T.translate(m, sentences.slice(0, 64), opts); // warm-up
  const batched = [];
  const lone = [];
  for (let r = 0; r < ROUNDS; r++) {
    let t0 = process.hrtime.bigint();
    await T.translate(m, sentences, opts);
    batched.push(sentences.length / (Number(process.hrtime.bigint() - t0) / 1e9));
    const times = [];
    for (const s of sentences.slice(0, QUICK ? 20 : 100)) {
      t0 = process.hrtime.bigint();
      await T.translate(m, [s], opts);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    lone.push(median(times));
  }
  return { batched, lone };
}

async function soak(model, sentences) {
  const server = await startServer(model, DEFAULT_MODE);
  const before = rssMb(server.pid);
  const minute = Math.min(60, SOAK_MINUTES * 60);
  const first = await load(server.url, sentences, 32, minute);
  const afterFirst = rssMb(server.pid);
  const rest = SOAK_MINUTES * 60 - minute;
  const second = rest > 0 ? await load(server.url, sentences, 32, rest) : first;
  const end = rssMb(server.pid);
  await server.stop();
  return { before, afterFirst, end, failed: first.failed + (rest > 0 ? second.failed : 0), sentencesPerSecond: second.sentencesPerSecond };
}

async function main() {
  if (!fs.existsSync(path.join(RUN, 'models', 'student-cut.safetensors'))) {
    console.log(`skipped: no ${path.relative(ROOT, RUN)}/models/student-cut.safetensors (run npm run demo first)`);
    process.exit(SKIPPED);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-bench-serve-'));
  try {
    const sentences = fs
      .readFileSync(path.join(RUN, 'data', 'test.src'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    const models = prepareModels(dir);
    const rows = [];
    const checks = [];
    for (const model of MODELS.map((m) => models[m])) {
      const ref = await offline(model, sentences);
      console.log(`${model.label}: offline ${spread(ref.batched)} sent/s, lone sentence ${spread(ref.lone)} ms`);
      const cells = {};
      for (let round = 0; round < ROUNDS; round++) {
        for (const mode of MODES) {
          const server = await startServer(model, mode);
          for (const c of CONCURRENCY) {
            const before = rssMb(server.pid);
            const r = await load(server.url, sentences, c, SECONDS);
            const key = `${mode} ${c}`;
            (cells[key] ??= []).push({ ...r, rssBefore: before, rssAfter: rssMb(server.pid) });
            console.log(
              `  round ${round + 1} ${mode} c=${c}: ${r.sentencesPerSecond.toFixed(1)} sent/s, p50 ${r.p50} ms, p99 ${r.p99} ms, failed ${r.failed}`
            );
          }
          await server.stop();
        }
      }
      const offlineMedian = median(ref.batched);
      const loneMedian = median(ref.lone);
      rows.push(`| ${model.label} | offline translate(), batches of 32 | — | ${spread(ref.batched)} | lone sentence ${spread(ref.lone)} ms | | | |`);
      for (const mode of MODES) {
        for (const c of CONCURRENCY) {
          const cs = cells[`${mode} ${c}`];
          const sps = cs.map((x) => x.sentencesPerSecond);
          const p50 = median(cs.map((x) => x.p50));
          rows.push(
            `| ${model.label} | ${mode} | ${c} | ${spread(sps)} | ${spread(
              cs.map((x) => x.p50),
              0
            )} | ${spread(
              cs.map((x) => x.p99),
              0
            )} | ` +
              `${((100 * median(sps)) / offlineMedian).toFixed(0)} % | ${median(cs.map((x) => x.rssBefore)).toFixed(0)} → ${median(cs.map((x) => x.rssAfter)).toFixed(0)} | ${cs.reduce((n, x) => n + x.failed, 0)} |`
          );
          if (mode === DEFAULT_MODE && c === 1)
            checks.push(
              `${model.label}: p50 at concurrency 1 is ${(p50 / loneMedian).toFixed(2)}× a lone sentence's decoding (${p50} vs ${loneMedian.toFixed(1)} ms; target ≤ 1.5×)`
            );
          if (mode === DEFAULT_MODE && c >= 32) {
            const naive = cells[`none ${c}`] && median(cells[`none ${c}`].map((x) => x.sentencesPerSecond));
            checks.push(
              `${model.label}: at concurrency ${c}, ${((100 * median(sps)) / offlineMedian).toFixed(0)} % of offline throughput (target ≥ 80 %)` +
                (naive ? `, ${(median(sps) / naive).toFixed(1)}× the server without batching` : '')
            );
          }
        }
      }
    }
    const s = SOAK_MINUTES > 0 ? await soak(models.float32, sentences) : undefined;
    const growth = s && (100 * (s.end - s.afterFirst)) / s.afterFirst;
    if (s)
      checks.push(
        `soak, float32, ${DEFAULT_MODE} batching, concurrency 32 for ${SOAK_MINUTES} min: RSS ${s.before.toFixed(0)} MB at start, ${s.afterFirst.toFixed(0)} MB after the first minute, ` +
          `${s.end.toFixed(0)} MB at the end (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} %; target within 10 %), ${s.failed} failed requests, ${s.sentencesPerSecond.toFixed(1)} sent/s`
      );

    const body = [
      '## Serving translations (`npm run bench:serve`)',
      '',
      `The demo's cut student (${path.relative(ROOT, RUN)}) served by \`xlm-kd serve\` in its own process, beam ${BEAM}, one sentence per request from its test set ` +
        `(${sentences.length} sentences, cycled), autocannon in the bench process for ${SECONDS} s per cell, ${ROUNDS} rounds interleaved across batching modes; ` +
        'medians (min–max). "of offline": sentences/s against offline `translate()` over the test set in batches of 32 in one process. ' +
        'The load generator shares the cores with the server.',
      '',
      `${machineLine(T.version())}`,
      '',
      '| model | batching | concurrency | sentences/s | p50 ms | p99 ms | of offline | server RSS MB before → after | failed |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      `Checks, for the default batching mode (${DEFAULT_MODE}):`,
      '',
      ...checks.map((c) => `- ${c}`),
    ].join('\n');
    report('serve', body);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
