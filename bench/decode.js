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
// Usage: npm run bench:decode [-- --work DIR] [--repeats N] [--quick]   (DIR keeps the trained models and
//        sentences between runs; --quick: small models, 64 sentences, one run per side, writes nothing;
//        needs dist/ and the addon, and the .venv)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { DIST, QUICK, arg, median, machineLine, referenceEnvs, describeEnv, runMain, report } = require('./common');
const { runReference, decodeOurs, decodeReference, agreement } = require('./decoding');

const { Teacher, Student, manualSeed, version, setNumThreads, allocatorInfo } = require(DIST);

const V = QUICK ? 1000 : 8000;
const TEACHER = QUICK
  ? { vocabSize: V, embDim: 64, nHeads: 2, encoderLayers: 2, decoderLayers: 2, dropout: 0, attentionDropout: 0 }
  : { vocabSize: V, embDim: 256, nHeads: 4, encoderLayers: 6, decoderLayers: 6, dropout: 0, attentionDropout: 0 };
const STUDENT_CUT = { encoderLayers: TEACHER.encoderLayers, decoderLayers: 1 };
const TEACHER_STEPS = QUICK ? 100 : 500;
const STUDENT_STEPS = QUICK ? 100 : 600;
const SENTENCES = QUICK ? 64 : 500;
const REPEATS = Number(arg('--repeats', QUICK ? '1' : '3'));
const BATCH = 32;
const BEAM = 5;

const range = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;

/** Trains (or reuses) the copy-task model at `file`, starting from `initial`. */
function trained(initial, file, steps) {
  if (!fs.existsSync(file)) runReference('copy_task.py', ['train', '--model', initial, '--steps', String(steps), '--out', file]);
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
      runReference('copy_task.py', ['sample', '--vocab', String(V), '--n', String(SENTENCES), '--seed', '1', '--out', srcFile]);
    }
    const sources = JSON.parse(fs.readFileSync(srcFile, 'utf8'));
    const srcTokens = sources.reduce((n, s) => n + s.length, 0);

    const envs = referenceEnvs(allocatorInfo());
    const loadBefore = os.loadavg()[0];
    const rows = [];
    for (const [name, model, file] of [
      [`teacher ${TEACHER.encoderLayers}-${TEACHER.decoderLayers}`, teacher, teacherFile],
      [`student ${STUDENT_CUT.encoderLayers}-${STUDENT_CUT.decoderLayers} (cut, fine-tuned)`, student, studentFile],
    ]) {
      const opts = { batchSize: BATCH, threads: version().threads };
      for (const beam of [1, BEAM]) {
        await decodeOurs(model, sources.slice(0, BATCH), beam, BATCH); // warm-up
        // Alternating runs, medians: the machine's speed drifts, and every side sees the same drift.
        const oursRuns = [];
        const refRuns = [];
        const installedRuns = [];
        for (let r = 0; r < REPEATS; r++) {
          oursRuns.push(await decodeOurs(model, sources, beam, BATCH));
          refRuns.push(decodeReference(file, srcFile, beam, dir, envs.tuned, opts));
          installedRuns.push(decodeReference(file, srcFile, beam, dir, envs.installed, opts));
        }
        const ours = oursRuns[0];
        const ref = refRuns[0];
        const oursSeconds = median(oursRuns.map((x) => x.seconds));
        const refSeconds = median(refRuns.map((x) => x.seconds));
        const { same, scoreDiff } = agreement(ours, ref);
        const exact = ours.hyps.filter((h, i) => JSON.stringify(h) === JSON.stringify(sources[i])).length;
        const outTokens = ours.hyps.reduce((n, h) => n + h.length, 0);
        const row = {
          name,
          mode: beam === 1 ? 'greedy' : `beam ${beam}`,
          ours: sources.length / oursSeconds,
          ref: sources.length / refSeconds,
          same,
          scoreDiff,
          exact,
          oursAll: oursRuns.map((x) => sources.length / x.seconds),
          refAll: refRuns.map((x) => sources.length / x.seconds),
          installed: sources.length / median(installedRuns.map((x) => x.seconds)),
          installedAll: installedRuns.map((x) => sources.length / x.seconds),
          lengthRatio: outTokens / srcTokens,
        };
        rows.push(row);
        console.log(
          `${name} ${row.mode}: ours ${row.ours.toFixed(1)} sent/s, reference tuned ${row.ref.toFixed(1)} sent/s, ` +
            `as installed ${row.installed.toFixed(1)} sent/s ` +
            `(${(row.ours / row.ref).toFixed(2)}×); same output ${same}/${sources.length}, max |score diff| ${scoreDiff.toExponential(1)}`
        );
      }
    }
    const loadAfter = os.loadavg()[0];
    const beamRows = rows.filter((r) => r.mode !== 'greedy');
    const teacherCfg = teacher.config;
    const md = [
      '## Decoding speed (`npm run bench:decode`)',
      '',
      `${SENTENCES} source sentences (${srcTokens} tokens, 3–30 each), decoded with greedy search and beam ${BEAM} ` +
        "(length penalty 1, max length 1.5·|src| + 10, XLM's stopping rule) by ours (`greedy`, `beamSearch`) and by the " +
        'plain-PyTorch reference decoder (bench/reference/beam.py), on the same weights, in the same length-sorted batches ' +
        `of ${BATCH} sentences, 2 threads each, ${REPEATS} runs per side alternating ours / reference tuned / reference as ` +
        'installed (ours after a one-batch warm-up); the table gives the median run and, in brackets, the slowest and ' +
        `fastest. The reference runs as installed and tuned (${describeEnv(envs.tuned)}: the allocator settings our addon ` +
        'runs with, see docs/reference.md "Memory"); the speed-up is against the tuned reference. Sentences/second ' +
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
      ...rows.map(
        (r) =>
          `| ${r.name} | ${r.mode} | ${r.ours.toFixed(1)} (${range(r.oursAll)}) | ${r.installed.toFixed(1)} (${range(r.installedAll)}) | ` +
          `${r.ref.toFixed(1)} (${range(r.refAll)}) | ${(r.ours / r.ref).toFixed(2)}× | ` +
          `${r.same}/${SENTENCES} | ${r.lengthRatio.toFixed(2)} | ${r.exact}/${SENTENCES} |`
      ),
      '',
      `Goal: at least 2× the tuned reference at beam ${BEAM} on the CPU — ` +
        beamRows.map((r) => `${r.name}: ${(r.ours / r.ref).toFixed(2)}× (${r.ours / r.ref >= 2 ? 'met' : 'not met'})`).join('; ') +
        '.',
      '',
    ].join('\n');
    report('decode', md, started);
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
