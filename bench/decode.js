#!/usr/bin/env node
// Decoding speed: sentences per second for greedy and beam 5 over the same 500 sentences with the same
// weights, ours (lib/decode: batched on the device, finished sentences leave the batch) against the
// plain-PyTorch reference decoder (bench/reference/beam.py: the same search rules, all rows kept until the
// batch is done, Python bookkeeping), for a teacher and a student cut from it. Both sides get the same
// length-sorted batches of 32 and 2 threads; each run is checked for giving the same hypotheses.
// Writes its table into BENCHMARKS.md between <!-- bench:decode:start --> and <!-- bench:decode:end -->.
//
// The models stop on their own: they are trained for a few hundred steps on a copy task
// (bench/reference/copy_task.py), since random weights never emit </s> and would only time max-length loops.
//
// Usage: npm run bench:decode [-- --work DIR]   (DIR keeps the trained models and sentences between runs;
//        needs dist/ and the addon, and the .venv)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { USER_ENV, DIST, PY, REFERENCE, msSince, median, machineLine, writeSection, referenceEnvs, describeEnv } = require('./common');

const { Teacher, Student, Batch, manualSeed, version, setNumThreads, allocatorInfo } = require(DIST);
const { beamSearch, greedy } = require(path.join(DIST, 'decode'));

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const V = 8000;
const TEACHER = { vocabSize: V, embDim: 256, nHeads: 4, encoderLayers: 6, decoderLayers: 6, dropout: 0, attentionDropout: 0 };
const STUDENT_CUT = { encoderLayers: 6, decoderLayers: 1 };
const TEACHER_STEPS = 500;
const STUDENT_STEPS = 600;
const SENTENCES = 500;
const REPEATS = Number(arg('--repeats', '3'));
const BATCH = 32;
const BEAM = 5;

const range = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;

/** Runs a script of bench/reference, streaming its output; throws when it fails. */
function reference(script, args, env = USER_ENV) {
  const r = spawnSync(PY, [path.join(REFERENCE, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} failed (${r.status})`);
  process.stdout.write(r.stdout);
  return r.stdout;
}

/** Our side: length-sorted batches of BATCH, as the reference does; returns hypotheses in input order. */
async function decodeOurs(model, sources, beam) {
  const order = sources.map((_, i) => i).sort((a, b) => sources[a].length - sources[b].length || a - b);
  const hyps = new Array(sources.length);
  const scores = new Array(sources.length);
  const t0 = process.hrtime.bigint();
  for (let start = 0; start < order.length; start += BATCH) {
    const ids = order.slice(start, start + BATCH);
    const batch = Batch.from({ src: ids.map((i) => sources[i]) });
    const out = beam === 1 ? await greedy(model, batch) : await beamSearch(model, batch, { beamSize: beam });
    batch.dispose();
    out.forEach((h, k) => {
      hyps[ids[k]] = h[0].tokens;
      scores[ids[k]] = h[0].score;
    });
  }
  return { hyps, scores, seconds: msSince(t0) / 1000 };
}

function decodeReference(modelFile, srcFile, beam, dir, env) {
  const out = path.join(dir, `ref-${path.basename(modelFile)}-${beam}.json`);
  const args = ['--model', modelFile, '--src', srcFile, '--out', out, '--batch-size', String(BATCH), '--threads', '2'];
  reference('beam.py', beam === 1 ? [...args, '--greedy'] : [...args, '--beam', String(beam)], env);
  return JSON.parse(fs.readFileSync(out, 'utf8'));
}

/** Trains (or reuses) the copy-task model at `file`, starting from `initial`. */
function trained(initial, file, steps) {
  if (!fs.existsSync(file)) reference('copy_task.py', ['train', '--model', initial, '--steps', String(steps), '--out', file]);
  return file;
}

async function main() {
  setNumThreads(2);
  const keep = arg('--work');
  const dir = keep ? path.resolve(keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'decode-bench-'));
  fs.mkdirSync(dir, { recursive: true });
  const started = Date.now();
  try {
    const initial = path.join(dir, 'teacher-init.safetensors');
    if (!fs.existsSync(initial)) {
      manualSeed(0);
      await Teacher.create(TEACHER).save(initial);
    }
    const teacherFile = trained(initial, path.join(dir, 'teacher.safetensors'), TEACHER_STEPS);
    const teacher = (await Teacher.load(teacherFile)).eval();
    const cutFile = path.join(dir, 'student-init.safetensors');
    if (!fs.existsSync(cutFile)) await Student.fromTeacher(teacher, STUDENT_CUT).save(cutFile);
    const studentFile = trained(cutFile, path.join(dir, 'student.safetensors'), STUDENT_STEPS);
    const student = (await Student.load(studentFile)).eval();
    const srcFile = path.join(dir, 'sources.json');
    if (!fs.existsSync(srcFile)) {
      reference('copy_task.py', ['sample', '--vocab', String(V), '--n', String(SENTENCES), '--seed', '1', '--out', srcFile]);
    }
    const sources = JSON.parse(fs.readFileSync(srcFile, 'utf8'));
    const srcTokens = sources.reduce((n, s) => n + s.length, 0);

    const envs = referenceEnvs(allocatorInfo());
    const loadBefore = os.loadavg()[0];
    const rows = [];
    for (const [name, model, file] of [
      ['teacher 6-6', teacher, teacherFile],
      [`student ${STUDENT_CUT.encoderLayers}-${STUDENT_CUT.decoderLayers} (cut, fine-tuned)`, student, studentFile],
    ]) {
      for (const beam of [1, BEAM]) {
        await decodeOurs(model, sources.slice(0, BATCH), beam); // warm-up
        // Alternating runs, medians: the machine's speed drifts, and every side sees the same drift.
        const oursRuns = [];
        const refRuns = [];
        const installedRuns = [];
        for (let r = 0; r < REPEATS; r++) {
          oursRuns.push(await decodeOurs(model, sources, beam));
          refRuns.push(decodeReference(file, srcFile, beam, dir, envs.tuned));
          installedRuns.push(decodeReference(file, srcFile, beam, dir, envs.installed));
        }
        const ours = oursRuns[0];
        const ref = refRuns[0];
        const oursSeconds = median(oursRuns.map((x) => x.seconds));
        const refSeconds = median(refRuns.map((x) => x.seconds));
        const same = ours.hyps.filter((h, i) => JSON.stringify(h) === JSON.stringify(ref.hyps[i])).length;
        const scoreDiff = Math.max(...ours.scores.map((s, i) => Math.abs(s - ref.scores[i])));
        const exact = ours.hyps.filter((h, i) => JSON.stringify(h) === JSON.stringify(sources[i])).length;
        const outTokens = ours.hyps.reduce((n, h) => n + h.length, 0);
        const row = {
          name, mode: beam === 1 ? 'greedy' : `beam ${beam}`,
          ours: sources.length / oursSeconds, ref: sources.length / refSeconds, same, scoreDiff, exact,
          oursAll: oursRuns.map((x) => sources.length / x.seconds), refAll: refRuns.map((x) => sources.length / x.seconds),
          installed: sources.length / median(installedRuns.map((x) => x.seconds)),
          installedAll: installedRuns.map((x) => sources.length / x.seconds),
          lengthRatio: outTokens / srcTokens,
        };
        rows.push(row);
        console.log(`${name} ${row.mode}: ours ${row.ours.toFixed(1)} sent/s, reference tuned ${row.ref.toFixed(1)} sent/s, ` +
          `as installed ${row.installed.toFixed(1)} sent/s ` +
          `(${(row.ours / row.ref).toFixed(2)}×); same output ${same}/${sources.length}, max |score diff| ${scoreDiff.toExponential(1)}`);
      }
    }
    const loadAfter = os.loadavg()[0];
    const beamRows = rows.filter((r) => r.mode !== 'greedy');
    const teacherCfg = teacher.config;
    const md = [
      '## Decoding speed (`npm run bench:decode`)',
      '',
      `${SENTENCES} source sentences (${srcTokens} tokens, 3–30 each), decoded with greedy search and beam ${BEAM} ` +
        '(length penalty 1, max length 1.5·|src| + 10, XLM\'s stopping rule) by ours (`greedy`, `beamSearch`) and by the ' +
        'plain-PyTorch reference decoder (bench/reference/beam.py), on the same weights, in the same length-sorted batches ' +
        `of ${BATCH} sentences, 2 threads each, ${REPEATS} runs per side alternating ours / reference tuned / reference as ` +
        'installed (ours after a one-batch warm-up); the table gives the median run and, in brackets, the slowest and ' +
        `fastest. The reference runs as installed and tuned (${describeEnv(envs.tuned)}: the allocator settings our addon ` +
        'runs with, see README "Memory"); the speed-up is against the tuned reference. Sentences/second ' +
        'count decoding only (models loaded, sentences in memory). "Same output" compares the best hypothesis of every ' +
        'sentence between the two sides.',
      '',
      `Models: a teacher (${teacherCfg.encoderLayers}-${teacherCfg.decoderLayers} layers, ${teacherCfg.embDim} wide, ` +
        `${teacherCfg.nHeads} heads, vocabulary ${V}, ${(teacher.numParameters() / 1e6).toFixed(1)}M parameters) and a ` +
        `${STUDENT_CUT.encoderLayers}-${STUDENT_CUT.decoderLayers} student cut from it (${(student.numParameters() / 1e6).toFixed(1)}M), ` +
        `trained for ${TEACHER_STEPS} and ${STUDENT_STEPS} steps on a copy task (bench/reference/copy_task.py: Zipf-distributed ` +
        'tokens over the whole vocabulary) so that they end their outputs with `</s>` as translation models do; random ' +
        'weights never would, and every hypothesis would run to the length cap.',
      '',
      `Machine: ${machineLine(version())}; 1-min load average ${loadBefore.toFixed(1)} before / ${loadAfter.toFixed(1)} after.`,
      '',
      '| model | search | ours: sentences/s | PyTorch, as installed: sentences/s | PyTorch, tuned: sentences/s | speed-up vs tuned | same output | output/source length | exact copies |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map((r) =>
        `| ${r.name} | ${r.mode} | ${r.ours.toFixed(1)} (${range(r.oursAll)}) | ${r.installed.toFixed(1)} (${range(r.installedAll)}) | ` +
          `${r.ref.toFixed(1)} (${range(r.refAll)}) | ${(r.ours / r.ref).toFixed(2)}× | ` +
          `${r.same}/${SENTENCES} | ${r.lengthRatio.toFixed(2)} | ${r.exact}/${SENTENCES} |`
      ),
      '',
      `Goal: at least 2× the tuned reference at beam ${BEAM} on the CPU — ` +
        beamRows.map((r) => `${r.name}: ${(r.ours / r.ref).toFixed(2)}× (${r.ours / r.ref >= 2 ? 'met' : 'not met'})`).join('; ') + '.',
      '',
    ].join('\n');
    console.log('\n' + md);
    console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
    writeSection('decode', md);
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
