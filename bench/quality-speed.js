#!/usr/bin/env node
// The quality table's speed columns side by side with the PyTorch reference: greedy and beam-5 sentences/s of
// the quality run's trained models (runs/quality/full-de, made by `npm run bench:quality`) on its test
// sentences, ours (lib/decode) against the plain-PyTorch decoder (bench/reference/beam.py) on the same ids,
// batches, threads and allocator settings (the tuned reference), in rounds that alternate which side goes
// first; medians with spread. Writes its table into BENCHMARKS.md (section "quality-speed"). When the run's
// models are not there it says how to make them and exits with the "skipped" code (bench/common.js SKIPPED).
//
// Usage: node bench/quality-speed.js [--run DIR] [--models teacher,cut-ce,...] [--rounds N] [--quick]
//        (--quick: the first 64 test sentences, the teacher, cut-ce and bigru-ce, one round, writes nothing;
//        needs dist/ and the addon, and the .venv)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ROOT, DIST, QUICK, SKIPPED, arg, median, spread, machineLine, referenceEnvs, describeEnv, runMain, report } = require('./common');
const { decodeOurs, decodeReference, agreement } = require('./decoding');
const { WAYS } = require('./quality');

const { SentencePiece, loadModel, version, allocatorInfo } = require(DIST);

const RUN = path.resolve(arg('--run', path.join(ROOT, 'runs', 'quality', 'full-de')));
const ROUNDS = Number(arg('--rounds', QUICK ? '1' : '3'));
const SENTENCES = QUICK ? 64 : Infinity;
const BATCH = 32; // the quality run's evaluation batch
const BEAM = 5;
// The quality table's row order; other model files of the run follow in name order.
const ORDER = ['teacher', ...['cut', 'bigru'].flatMap((kind) => WAYS.map((w) => `${kind}-${w.id}`))];
const DEFAULT_MODELS = QUICK ? ['teacher', 'cut-ce', 'bigru-ce'] : undefined;

const shown = (p) => (p.startsWith(ROOT + path.sep) ? path.relative(ROOT, p) : p);

/** What the run folder must hold; undefined when it does, else what is missing. */
function missing(run) {
  const need = ['corpus.json', 'tokenizer.model', 'models'].filter((f) => !fs.existsSync(path.join(run, f)));
  if (need.length) return need.join(', ');
  if (!fs.readdirSync(path.join(run, 'models')).some((f) => f.endsWith('.safetensors'))) return 'models/*.safetensors';
  if (!(JSON.parse(fs.readFileSync(path.join(run, 'corpus.json'), 'utf8')).test?.length > 0)) return 'the test split in corpus.json';
  return undefined;
}

function modelNames(run) {
  const have = fs.readdirSync(path.join(run, 'models')).filter((f) => f.endsWith('.safetensors')).map((f) => f.replace(/\.safetensors$/, ''));
  const wanted = arg('--models', DEFAULT_MODELS?.join(','))?.split(',');
  const rank = (n) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  const names = have.filter((n) => !wanted || wanted.includes(n)).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  if (names.length === 0) throw new Error(`--models ${wanted}: none of them in ${shown(run)}/models (there: ${have.join(', ')})`);
  return names;
}

/** "6-1 cut" / "BiGRU" / "teacher" and how it was trained, as the quality table names them. */
function describe(name, model) {
  const [kind, way] = name.split(/-(.*)/);
  const c = model.config;
  const label = kind === 'cut' ? `${c.encoderLayers}-${c.decoderLayers} cut` : kind === 'bigru' ? 'BiGRU' : kind;
  return { label, way: WAYS.find((w) => w.id === way)?.label ?? (way || '–') };
}

async function main() {
  const why = missing(RUN);
  if (why) {
    console.log('quality-speed needs the quality run\'s trained models: make them with `npm run bench:quality` (about an hour ' +
      'on 2 cores), or for a smoke test `npm run bench:quality -- --quick` (runs/quality/quick-de, a few minutes) and then ' +
      '`--run runs/quality/quick-de` here or `npm run bench -- --quality-run runs/quality/quick-de`.');
    console.log(`quality-speed: skipped: ${shown(RUN)} lacks ${why}`);
    process.exit(SKIPPED);
  }
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quality-speed-'));
  try {
    const test = JSON.parse(fs.readFileSync(path.join(RUN, 'corpus.json'), 'utf8')).test.slice(0, SENTENCES);
    const tok = await SentencePiece.load(path.join(RUN, 'tokenizer.model'));
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
      const file = path.join(RUN, 'models', `${name}.safetensors`);
      const model = (await loadModel(file)).eval();
      const row = { name, ...describe(name, model) };
      for (const beam of [1, BEAM]) {
        await decodeOurs(model, sources.slice(0, BATCH), beam, BATCH); // warm-up
        const ours = [];
        const ref = [];
        for (let r = 0; r < ROUNDS; r++) {
          // Which side goes first turns every round, so neither always runs on the warmer machine.
          const sides = [async () => ours.push(await decodeOurs(model, sources, beam, BATCH)),
            async () => ref.push(decodeReference(file, srcFile, beam, dir, envs.tuned, opts))];
          if (r % 2) sides.reverse();
          for (const side of sides) await side();
        }
        const rate = (runs) => runs.map((x) => sources.length / x.seconds);
        const result = { ours: rate(ours), ref: rate(ref), ...agreement(ours[0], ref[0]) };
        row[beam === 1 ? 'greedy' : 'beam'] = result;
        console.log(`${name} ${beam === 1 ? 'greedy' : `beam ${beam}`}: ours ${median(result.ours).toFixed(1)} sent/s, ` +
          `PyTorch tuned ${median(result.ref).toFixed(1)} sent/s (${(median(result.ours) / median(result.ref)).toFixed(2)}×); ` +
          `same output ${result.same}/${sources.length}, max |score diff| ${result.scoreDiff.toExponential(1)}`);
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
        'in brackets. Sentences/s count decoding only, so they run higher than the quality table\'s, which include ' +
        'tokenization and were measured during the run. "Same output" compares the best hypothesis of every sentence.',
      '',
      `Machine: ${machineLine(info, { 'CPU allocator': alloc.cpu })}; 1-min load average ${loadBefore.toFixed(1)} before / ${os.loadavg()[0].toFixed(1)} after.`,
      '',
      '| model | trained how | greedy: ours sent/s | greedy: PyTorch tuned sent/s | greedy: ours vs tuned | beam 5: ours sent/s | beam 5: PyTorch tuned sent/s | beam 5: ours vs tuned | same output (greedy / beam 5) |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map((r) => `| ${r.label} | ${r.way} | ${cells(r.greedy)} | ${cells(r.beam)} | ${r.greedy.same} / ${r.beam.same} of ${sources.length} |`),
      '',
    ].join('\n');
    report('quality-speed', md, started);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
