// Offline distillation into a BiGRU student: the teacher runs once over the training pairs and
// buildTeacherCache writes its top-k log-probabilities for every target token to a file (int32 ids + float16
// log-probs, a header with hashes of the data, teacher and tokenizer and a checksum; resumable, and a stale
// cache is refused). distill({ mode: 'offline', cacheFile }) then streams it back batch by batch into the
// sparse distillation loss: the teacher does no work while the student trains. The student is a bidirectional
// GRU encoder with an attentional GRU decoder (Student.bigru), trained from scratch over the teacher's
// vocabulary. The test set compares the two.
// The temperature is 1 here: with only the top-k kept (renormalised), T = 2 spreads the teacher evenly over
// those k pieces, and T² weighs that term up; a BiGRU starting from scratch then did not learn at all in our
// runs (its cross-entropy stayed flat), while at T = 1 it learns as with online KD.
//
//   node examples/offline-kd.js [--quick] [--teacher FILE [--tokenizer FILE]] [--top-k 8] [--temperature 1] [--out DIR] [--threads N]
// (without --teacher a small teacher is trained first; examples/train-teacher.js makes a better one)
'use strict';
const fs = require('fs');
const path = require('path');
const { Batcher, Student, TeacherCache, buildTeacherCache, distill, manualSeed } = require('..');
const { FLAGS, TEACHER_FLAGS, log, fmt, parseArgs, outDir, loadData, getTeacher, trainingOptions, compare, run } = require('./common');

const USAGE = `usage: node examples/offline-kd.js ${FLAGS} ${TEACHER_FLAGS} [--top-k K] [--temperature T]`;

run(async () => {
  const args = parseArgs(USAGE, { 'top-k': { type: 'string', default: '8' }, temperature: { type: 'string', default: '1' } });
  const p = args.preset;
  const k = Number(args['top-k']);
  const temperature = Number(args.temperature);
  const out = outDir(args, 'offline-kd');
  log(`output folder: ${out}`);
  const data = await loadData(args, out);
  const { teacher } = await getTeacher(args, data, out);

  // The cache is indexed by the pairs a Batcher keeps, so the same Batcher feeds the cache and the training.
  const batcher = new Batcher(data.train, { maxTokens: p.maxTokens, seed: 0 });
  const cacheFile = path.join(out, 'teacher-topk.cache');
  const source = { teacher, pairs: batcher.pairs, k, tokenizer: data.tok.serialize() };
  let t0 = Date.now();
  const header = await buildTeacherCache({
    ...source,
    file: cacheFile,
    batchSize: 64,
    onProgress: (done, total) => (done === total || done % 2048 < 64) && log(`teacher cache: ${done}/${total} pairs`),
  });
  const seconds = (Date.now() - t0) / 1000;
  console.log(`\nTeacher cache ${cacheFile}:`);
  console.log(
    `  ${header.pairs} pairs, ${header.rows} target tokens x top-${header.k} = ${(header.bytes / 2 ** 20).toFixed(2)} MB, built in ${seconds.toFixed(1)} s`
  );
  console.log(
    `  (the full distributions would be ${header.rows} x ${header.vocabSize} float32 = ${((header.rows * header.vocabSize * 4) / 2 ** 20).toFixed(1)} MB)`
  );
  console.log(
    `  header: format ${header.format}, data ${header.dataHash.slice(0, 12)}…, teacher ${header.teacherHash.slice(0, 12)}…, tokenizer ${header.tokenizerHash.slice(0, 12)}…, checksum ${header.checksum.slice(0, 12)}…`
  );
  t0 = Date.now();
  await buildTeacherCache({ ...source, file: cacheFile });
  console.log(`  a second buildTeacherCache with the same teacher, data and tokenizer keeps the file (${Date.now() - t0} ms)`);

  // What the cache holds: the teacher's top entries for the first target token of the first pair.
  const cache = TeacherCache.open(cacheFile, source);
  const pair = batcher.pairs[0];
  const top = cache.sparseTeacher([0], pair.tgt.length + 1);
  const ids = top.indices.toArray();
  const lps = top.logProbs.toArray();
  cache.close();
  console.log(
    `  pair 0: "${data.tok.decode(pair.src)}" -> "${data.tok.decode(pair.tgt)}"; reference first piece '${data.tok.idToPiece(pair.tgt[0])}'`
  );
  console.log(
    `  teacher's top-${Math.min(5, k)} for it: ${Array.from({ length: Math.min(5, k) }, (_, j) => `'${data.tok.idToPiece(ids[j])}' ${Math.exp(lps[j]).toFixed(3)}`).join(', ')}`
  );
  top.indices.dispose();
  top.logProbs.dispose();

  manualSeed(1);
  const student = Student.bigru({ vocabSize: teacher.vocabSize, ...p.bigru });
  log(
    `BiGRU student: ${p.bigru.embDim}-dim embeddings, ${p.bigru.hiddenSize} hidden, ${(student.numParameters() / 1e6).toFixed(2)}M parameters (teacher ${(teacher.numParameters() / 1e6).toFixed(2)}M)`
  );
  log(`offline KD: ${p.bigruSteps} updates (or ${p.studentSeconds} s), alpha 0.5, temperature ${temperature}, top-${k} teacher from the cache`);
  const runDir = path.join(out, 'bigru-offline-kd-run');
  const r = await distill({
    ...trainingOptions(args, data, runDir, 'student'),
    data: batcher,
    teacher,
    student,
    mode: 'offline',
    cacheFile,
    topK: k,
    tokenizerModel: source.tokenizer,
    alpha: 0.5,
    temperature,
    maxSteps: p.bigruSteps,
    maxSeconds: p.studentSeconds,
    validateEvery: Math.max(1, Math.round(p.bigruSteps / 3)),
  });
  log(`offline KD: ${r.steps} updates in ${r.seconds.toFixed(1)} s; run folder ${runDir}`);
  const file = path.join(out, 'bigru-offline-kd.safetensors');
  await student.save(file);
  console.log(`student file: ${file} (${fmt(fs.statSync(file).size / 2 ** 20)} MB)`);

  await compare(
    [
      { name: 'teacher', model: teacher },
      { name: 'BiGRU + offline KD', model: await Student.load(file) },
    ],
    data,
    { beamSize: 5 }
  );
});
