#!/usr/bin/env node
// The quality table's speed columns side by side with the PyTorch reference: greedy and beam-5 sentences/s of
// the quality run's trained models (runs/quality-v2/full-de, made by `npm run bench:quality`) on its test
// sentences, ours (lib/decode) against the plain-PyTorch decoder (bench/reference/beam.py) on the same ids,
// batches, threads and allocator settings (the tuned reference), in rounds that alternate which side goes
// first; medians with spread. Writes its table into BENCHMARKS.md (section "quality-speed"). When the run's
// models are not there it says how to make them and exits with the "skipped" code (bench/common.js SKIPPED).
//
// Usage: node bench/quality-speed.js [--run DIR] [--models teacher,cut-ce-s1,...] [--rounds N] [--quick]
//        (default: the teacher and the first no-teacher run of each architecture, whose speed the others share;
//        --quick: those on the first 64 test sentences, one round, writes nothing; needs dist/, the addon, the .venv)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ROOT, DIST, QUICK, SKIPPED, arg, median, spread, machineLine, referenceEnvs, describeEnv, runMain, report } = require('./common');
const { decodeOurs, decodeReference, agreement } = require('./decoding');
const { WAYS, DEFAULT_RUN, runFiles } = require('./quality');

const { SentencePiece, loadModel, readSplit, version, allocatorInfo } = require(DIST);

const RUN = path.resolve(arg('--run', DEFAULT_RUN));
const FILES = runFiles(RUN);
const ROUNDS = Number(arg('--rounds', QUICK ? '1' : '3'));
const SENTENCES = QUICK ? 64 : Infinity;
const BATCH = 32; // the quality run's evaluation batch
const BEAM = 5;
// One model per architecture (its speed does not depend on how it was taught), in the quality table's order.
const DEFAULT_MODELS = ['teacher', 'scratch-ce-s1', 'cut-ce-s1', 'bigru-lr2-ce-s1'];

const shown = (p) => (p.startsWith(ROOT + path.sep) ? path.relative(ROOT, p) : p);

/** What the run folder must hold; undefined when it does, else what is missing. */
function missing(run) {
  const files = runFiles(run);
  const need = [path.join(files.data, 'data.json'), path.join(files.data, 'test.src'), files.tokenizer, files.models].filter(
    (f) => !fs.existsSync(f)
  );
  if (need.length) return need.map((f) => path.relative(run, f)).join(', ');
  if (!fs.readdirSync(files.models).some((f) => f.endsWith('.safetensors'))) return 'models/*.safetensors';
  return undefined;
}

function modelNames(run) {
  const have = fs
    .readdirSync(runFiles(run).models)
    .filter((f) => f.endsWith('.safetensors'))
    .map((f) => f.replace(/\.safetensors$/, ''));
  const wanted = arg('--models', DEFAULT_MODELS.join(',')).split(',');
  const names = wanted.filter((n) => have.includes(n));
  if (names.length === 0) throw new Error(`--models ${wanted}: none of them in ${shown(run)}/models (there: ${have.join(', ')})`);
  return names;
}

/** The model ("6-1 cut", "BiGRU", "transformer 3-1") and how it was trained, from its run name (bench/quality.js). */
function describe(name, model) {
  const c = model.config;
  const label =
    name === 'teacher'
      ? 'teacher'
      : name.startsWith('cut-')
        ? `${c.encoderLayers}-${c.decoderLayers} cut`
        : name.startsWith('bigru')
          ? 'BiGRU'
          : `transformer ${c.encoderLayers}-${c.decoderLayers}`;
  const way = Object.keys(WAYS).find((w) => name.includes(`-${w}-`));
  return { label, way: way ? WAYS[way].label : name === 'teacher' ? '–' : name };
}

async function main() {
  const why = missing(RUN);
  if (why) {
    console.log(
      "quality-speed needs the quality run's trained models: make them with `npm run bench:quality` (about an hour " +
        'on 2 cores), or for a smoke test `npm run bench:quality -- --quick` (runs/quality-v2/quick-de, a few minutes) and then ' +
        '`--run runs/quality-v2/quick-de` here or `npm run bench -- --quality-run runs/quality-v2/quick-de`.'
    );
    console.log(`quality-speed: skipped: ${shown(RUN)} lacks ${why}`);
    process.exit(SKIPPED);
  }
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quality-speed-'));
  try {
    const test = (await readSplit(FILES.data, 'test')).slice(0, SENTENCES);
    const tok = await SentencePiece.load(FILES.tokenizer);
    // Empty sources are not decoded (translate() answers them without the model): left out on both sides.
    const sources = (await tok.encodeAsync(test.map((x) => x.src))).filter((ids) => ids.length > 0);
    const srcFile = path.join(dir, 'sources.json');
    fs.writeFileSync(srcFile, JSON.stringify(sources));
    const info = version();
    const alloc = allocatorInfo();
    const envs = referenceEnvs(alloc);
    const opts = { batchSize: BATCH, threads: info.threads };
    const loadBefore = os.loadavg()[0];
    const rows = [];
    for (const name of modelNames(RUN)) {
      const file = path.join(FILES.models, `${name}.safetensors`);
      const model = (await loadModel(file)).eval();
      const row = { name, ...describe(name, model) };
      for (const beam of [1, BEAM]) {
        await decodeOurs(model, sources.slice(0, BATCH), beam, BATCH); // warm-up
        const ours = [];
        const ref = [];
        for (let r = 0; r < ROUNDS; r++) {
          // Which side goes first turns every round, so neither always runs on the warmer machine.
          const sides = [
            async () => ours.push(await decodeOurs(model, sources, beam, BATCH)),
            async () => ref.push(decodeReference(file, srcFile, beam, dir, envs.tuned, opts)),
          ];
          if (r % 2) sides.reverse();
          for (const side of sides) await side();
        }
        const rate = (runs) => runs.map((x) => sources.length / x.seconds);
        const result = { ours: rate(ours), ref: rate(ref), ...agreement(ours[0], ref[0]) };
        row[beam === 1 ? 'greedy' : 'beam'] = result;
        console.log(
          `${name} ${beam === 1 ? 'greedy' : `beam ${beam}`}: ours ${median(result.ours).toFixed(1)} sent/s, ` +
            `PyTorch tuned ${median(result.ref).toFixed(1)} sent/s (${(median(result.ours) / median(result.ref)).toFixed(2)}×); ` +
            `same output ${result.same}/${sources.length}, max |score diff| ${result.scoreDiff.toExponential(1)}`
        );
      }
      rows.push(row);
    }
    const cells = (x) => `${spread(x.ours)} | ${spread(x.ref)} | ${(median(x.ours) / median(x.ref)).toFixed(2)}×`;
    const md = [
      '## Quality run: decoding speed against the PyTorch reference (`node bench/quality-speed.js`)',
      '',
      `The models of the quality run (${shown(RUN)}, section "quality") on its ${sources.length} non-empty test ` +
        `sentences, SentencePiece ids in memory, decoded with greedy search and beam ${BEAM} (length penalty 1, max length ` +
        '1.5·|src| + 10) by ours (`greedy`, `beamSearch`) and by the plain-PyTorch reference decoder (bench/reference/beam.py), ' +
        `on the same weights, in the same length-sorted batches of ${BATCH}, ${info.threads} threads each; the reference runs ` +
        `tuned (${describeEnv(envs.tuned)}: the allocator settings our addon runs with). ${ROUNDS} round${ROUNDS === 1 ? '' : 's'} per model and ` +
        'search, the side that goes first turning every round (ours after a one-batch warm-up); median round, slowest–fastest ' +
        "in brackets. Sentences/s count decoding only, so they run higher than the quality table's, which include " +
        'tokenization and were measured during the run. "Same output" compares the best hypothesis of every sentence.',
      '',
      `Machine: ${machineLine(info, { 'CPU allocator': alloc.cpu })}; 1-min load average ${loadBefore.toFixed(1)} before / ${os.loadavg()[0].toFixed(1)} after.`,
      '',
      '| model | trained how | greedy: ours sent/s | greedy: PyTorch tuned sent/s | greedy: ours vs tuned | beam 5: ours sent/s | beam 5: PyTorch tuned sent/s | beam 5: ours vs tuned | same output (greedy / beam 5) |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (r) => `| ${r.label} | ${r.way} | ${cells(r.greedy)} | ${cells(r.beam)} | ${r.greedy.same} / ${r.beam.same} of ${sources.length} |`
      ),
      '',
    ].join('\n');
    report('quality-speed', md, started);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
