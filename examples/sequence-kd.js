// Sequence-level distillation (Kim & Rush 2016): the teacher translates every training source with beam
// search once (distillSequences streams them to a JSON-lines file, resumable), and its translations replace
// the references as the student's targets: distill({ mode: 'sequence', sequenceFile }) trains on them with
// plain cross-entropy (alpha 0). The student is a 1+1-layer cut of the teacher. Shown: some teacher targets
// beside the references, a second distillSequences call finding nothing left to do, and the test scores.
// The student sees fewer pairs than the corpus holds in its few hundred updates, so every k-th training pair is
// used, at most 9000 (600 with --quick), and only those are translated.
//
//   node examples/sequence-kd.js [--quick] [--teacher FILE [--tokenizer FILE]] [--beam 4] [--out DIR] [--threads N]
// (without --teacher a small teacher is trained first; examples/train-teacher.js makes a better one)
'use strict';
const path = require('path');
const { Student, distill, distillSequences, readDistilledTargets } = require('..');
const { FLAGS, TEACHER_FLAGS, log, fmt, parseArgs, outDir, loadData, getTeacher, trainingOptions, compare, run } = require('./common');

const USAGE = `usage: node examples/sequence-kd.js ${FLAGS} ${TEACHER_FLAGS} [--beam K]`;

run(async () => {
  const args = parseArgs(USAGE, { beam: { type: 'string', default: '4' } });
  const p = args.preset;
  const beamSize = Number(args.beam);
  const out = outDir(args, 'sequence-kd');
  log(`output folder: ${out}`);
  const data = await loadData(args, out);
  const { teacher } = await getTeacher(args, data, out);

  // 1. The teacher translates the training sources (token ids in, token ids out).
  const every = Math.ceil(data.train.length / p.sequencePairs);
  const pairs = data.train.filter((_, i) => i % every === 0);
  const text = data.text.train.filter((_, i) => i % every === 0);
  const sequenceFile = path.join(out, 'sequence-kd'); // a token store: sequence-kd.r0.idx/.bin/.values
  const sources = pairs.map((x) => x.src);
  let t0 = Date.now();
  let last = 0;
  const res = await distillSequences(teacher, sources, {
    out: sequenceFile,
    beamSize,
    batchSize: 64,
    onProgress: (done, total) => {
      if (done - last >= 4096 || done === total) log(`teacher translated ${done}/${total} training sources (beam ${beamSize})`);
      if (done - last >= 4096) last = done;
    },
  });
  const secs = (Date.now() - t0) / 1000;
  console.log(`\n${sequenceFile}: ${res.written} translations in ${secs.toFixed(1)} s (${fmt(res.written / secs, 0)} sentences/s)`);
  t0 = Date.now();
  const again = await distillSequences(teacher, sources, { out: sequenceFile, beamSize, batchSize: 64 });
  console.log(
    `  called again: ${again.resumed} already there, ${again.written} translated (${Date.now() - t0} ms): a killed run resumes the same way`
  );

  const targets = readDistilledTargets(sequenceFile, sources.length);
  const same = targets.filter((t, i) => t.tgt.join(' ') === pairs[i].tgt.join(' ')).length;
  const len = (xs) => xs.reduce((n, x) => n + x.length, 0) / xs.length;
  console.log(
    `  teacher output equals the reference for ${same}/${targets.length} pairs (${fmt((100 * same) / targets.length, 1)} %); ` +
      `mean length ${fmt(len(targets.map((t) => t.tgt)), 1)} pieces vs ${fmt(len(pairs.map((x) => x.tgt)), 1)} for the references`
  );
  const shown = text
    .map((_, i) => i)
    .filter((i) => /^[A-Za-z ]+$/.test(text[i].src))
    .slice(0, 4); // plain words, no format strings
  for (const i of shown) {
    console.log(
      `  "${text[i].src}"\n      reference: ${text[i].tgt}\n      teacher:   ${data.tok.decode(targets[i].tgt)} (score ${fmt(targets[i].score, 3)})`
    );
  }

  // 2. The student learns the teacher's translations (the file is complete, so nothing is translated again).
  const student = Student.fromTeacher(teacher, { encoderLayers: 1, decoderLayers: 1 });
  log(
    `student: ${student.config.encoderLayers}+${student.config.decoderLayers} layers cut from the teacher (layer map ${JSON.stringify(student.layerMap)}), ` +
      `${(student.numParameters() / 1e6).toFixed(2)}M parameters`
  );
  const runDir = path.join(out, 'cut-sequence-kd-run');
  const r = await distill({
    ...trainingOptions(args, data, runDir, 'student'),
    data: pairs,
    teacher,
    student,
    mode: 'sequence',
    sequenceFile,
    sequenceDecoding: { beamSize },
    maxSteps: p.studentSteps,
    maxSeconds: p.studentSeconds,
    validateEvery: Math.max(1, Math.round(p.studentSteps / 3)),
  });
  log(`sequence KD: ${r.steps} updates in ${r.seconds.toFixed(1)} s; run folder ${runDir}`);
  const file = path.join(out, 'cut-sequence-kd.safetensors');
  await student.save(file);
  console.log(`student file: ${file}`);

  await compare(
    [
      { name: 'teacher', model: teacher },
      { name: 'cut 1+1 + sequence KD', model: student },
    ],
    data,
    { beamSize }
  );
});
