// Decoding runs shared by bench/decode.js and bench/quality-speed.js: ours (lib/decode `greedy` / `beamSearch`)
// and the plain-PyTorch reference decoder (bench/reference/beam.py) over the same id lists, in the same
// length-sorted batches, each giving hypotheses and scores in input order and the decode-only seconds; and
// running a bench/reference script with its output streamed.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { USER_ENV, DIST, PY, REFERENCE, msSince } = require('./common');

const { Batch } = require(DIST);
const { beamSearch, greedy } = require(path.join(DIST, 'decode'));

/** Runs a script of bench/reference, streaming its stderr and echoing its stdout; throws when it fails. */
function runReference(script, args, env = USER_ENV) {
  const r = spawnSync(PY, [path.join(REFERENCE, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    env,
    maxBuffer: 16 << 20,
  });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} failed (${r.status})`);
  process.stdout.write(r.stdout);
  return r.stdout;
}

/**
 * Our side: batches of `batchSize` in ascending length order, as the reference makes them. beam 1 = greedy.
 * `opts` go to the decoder (e.g. a shortlist).
 */
async function decodeOurs(model, sources, beam, batchSize = 32, opts = {}) {
  const order = sources.map((_, i) => i).sort((a, b) => sources[a].length - sources[b].length || a - b);
  const hyps = new Array(sources.length);
  const scores = new Array(sources.length);
  const t0 = process.hrtime.bigint();
  for (let start = 0; start < order.length; start += batchSize) {
    const ids = order.slice(start, start + batchSize);
    const batch = Batch.from({ src: ids.map((i) => sources[i]) });
    const out = beam === 1 ? await greedy(model, batch, opts) : await beamSearch(model, batch, { ...opts, beamSize: beam });
    batch.dispose();
    out.forEach((h, k) => {
      hyps[ids[k]] = h[0].tokens;
      scores[ids[k]] = h[0].score;
    });
  }
  return { hyps, scores, seconds: msSince(t0) / 1000 };
}

/**
 * The reference on the sentences of `srcFile` (a JSON list of id lists) in its own process; beam 1 = greedy;
 * `int8`: torch.ao's dynamic quantization of the layers our quantize() converts.
 */
function decodeReference(modelFile, srcFile, beam, dir, env, { batchSize = 32, threads = 2, int8 = false } = {}) {
  const out = path.join(dir, `ref-${path.basename(modelFile)}-${beam}.json`);
  const args = [
    '--model',
    modelFile,
    '--src',
    srcFile,
    '--out',
    out,
    '--batch-size',
    String(batchSize),
    '--threads',
    String(threads),
    ...(int8 ? ['--int8'] : []),
  ];
  runReference('beam.py', beam === 1 ? [...args, '--greedy'] : [...args, '--beam', String(beam)], env);
  return JSON.parse(fs.readFileSync(out, 'utf8'));
}

/** How many sentences got the same best hypothesis on both sides, and the largest score difference. */
function agreement(a, b) {
  const same = a.hyps.filter((h, i) => JSON.stringify(h) === JSON.stringify(b.hyps[i])).length;
  const scoreDiff = Math.max(...a.scores.map((s, i) => Math.abs(s - b.scores[i])));
  return { same, scoreDiff };
}

module.exports = { runReference, decodeOurs, decodeReference, agreement };
