// Layer surgery and online distillation: a student is cut from the teacher's own layers with
// Student.fromTeacher (all encoder layers, the top decoder layer: embeddings, positions and output layer are
// copies of the teacher's), then trained with distill({ mode: 'online' }): every batch the teacher, in eval
// mode beside it, gives its distribution and the loss mixes T²·KL to it with the label-smoothed
// cross-entropy. The test set then compares the teacher, the cut as it came out of surgery, and the distilled
// cut: BLEU, chrF, size and decoding speed. The student is saved with its layer map and loaded back.
//
//   node examples/surgery-online-kd.js [--quick] [--teacher FILE [--tokenizer FILE]] [--out DIR] [--threads N]
// (without --teacher a small teacher is trained first; examples/train-teacher.js makes a better one)
'use strict';
const path = require('path');
const { Student, distill, teacherNameFor } = require('..');
const { FLAGS, TEACHER_FLAGS, log, fmt, parseArgs, outDir, loadData, getTeacher, trainingOptions, compare, run } = require('./common');

const USAGE = `usage: node examples/surgery-online-kd.js ${FLAGS} ${TEACHER_FLAGS}`;

run(async () => {
  const args = parseArgs(USAGE);
  const p = args.preset;
  const out = outDir(args, 'surgery-online-kd');
  log(`output folder: ${out}`);
  const data = await loadData(args, out);
  const { teacher } = await getTeacher(args, data, out);
  const tc = teacher.config;

  // Surgery: which teacher layers the student keeps. A count picks layers by `strategy` ('spread' keeps the
  // first and last; one layer is the top one); a list names them, e.g. { encoderLayers: [0, 2, 5] }.
  const cut = { encoderLayers: tc.encoderLayers, decoderLayers: 1 };
  const student = Student.fromTeacher(teacher, cut);
  const asCut = Student.fromTeacher(teacher, cut); // a second copy, kept untrained for the comparison
  console.log(
    `\nLayer surgery: teacher ${tc.encoderLayers}+${tc.decoderLayers} layers -> student ${student.config.encoderLayers}+${student.config.decoderLayers}`
  );
  console.log(`  layer map (student layer i = teacher layer map[i]): ${JSON.stringify(student.layerMap)}`);
  console.log(
    `  parameters: teacher ${teacher.numParameters()}, student ${student.numParameters()} (${fmt((100 * student.numParameters()) / teacher.numParameters(), 0)} %)`
  );
  const names = [
    'encoder.embeddings.weight',
    `encoder.attentions.${tc.encoderLayers - 1}.q_lin.weight`,
    'decoder.attentions.0.q_lin.weight',
    'decoder.encoder_attn.0.k_lin.weight',
    'decoder.ffns.0.lin1.weight',
    'decoder.pred_layer.proj.bias',
  ];
  for (const n of names) console.log(`  ${n.padEnd(36)} <- teacher ${teacherNameFor(n, student.layerMap)}`);

  // Online distillation: alpha weighs the KD term against the cross-entropy on the references.
  log(`online KD: ${p.studentSteps} updates (or ${p.studentSeconds} s), alpha 0.5, temperature 2`);
  const runDir = path.join(out, 'cut-online-kd-run');
  const r = await distill({
    ...trainingOptions(args, data, runDir, 'student'),
    teacher,
    student,
    mode: 'online',
    alpha: 0.5,
    temperature: 2,
    maxSteps: p.studentSteps,
    maxSeconds: p.studentSeconds,
    validateEvery: Math.max(1, Math.round(p.studentSteps / 3)),
  });
  log(
    `online KD: ${r.steps} updates in ${r.seconds.toFixed(1)} s, best valid BLEU ${fmt(r.best?.score)} at step ${r.best?.step}; run folder ${runDir}`
  );

  const file = path.join(out, 'cut-online-kd.safetensors');
  await student.save(file);
  const back = await Student.load(file);
  console.log(`student file: ${file} (${back.kind}, layer map ${JSON.stringify(back.layerMap)} kept in its metadata)`);

  await compare(
    [
      { name: 'teacher', model: teacher },
      { name: 'cut, before training', model: asCut },
      { name: 'cut + online KD', model: back },
    ],
    data,
    { beamSize: 5 }
  );
});
