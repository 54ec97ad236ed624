// Training a teacher with train(): a small XLM transformer learns English -> German from the machine's gettext
// catalogs, with validation loss/BLEU/chrF during training and a run folder (config.json, metrics.jsonl,
// curves.svg, checkpoints/). The run is done in two calls, the second the same call with a larger step
// budget: it resumes exactly from the first one's checkpoint (weights, optimizer, RNG, data cursor), as a run
// stopped by Ctrl-C (handleSignals) or a crash would. The teacher and its tokenizer land in the output folder,
// ready for the other examples (run them with the same --out, or pass --teacher FILE).
//
//   node examples/train-teacher.js [--quick] [--out DIR] [--steps N] [--seconds S] [--threads N] [--lang de]
'use strict';
const fs = require('fs');
const path = require('path');
const { Teacher, MetricsLog, train, manualSeed } = require('..');
const { FLAGS, log, fmt, parseArgs, outDir, loadData, trainingOptions, compare, run } = require('./common');

const USAGE = `usage: node examples/train-teacher.js ${FLAGS} [--steps N] [--seconds S]`;

run(async () => {
  const args = parseArgs(USAGE, { steps: { type: 'string' }, seconds: { type: 'string' } });
  const p = args.preset;
  const steps = args.steps ? Number(args.steps) : p.name === 'quick' ? 40 : 800;
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`--steps must be an integer >= 2, got ${args.steps}`);
  const seconds = args.seconds ? Number(args.seconds) : p.name === 'quick' ? 10 : 90;
  if (!(seconds > 0)) throw new Error(`--seconds must be a number > 0, got ${args.seconds}`);
  const out = outDir(args, 'train-teacher');
  log(`output folder: ${out}`);
  const data = await loadData(args, out);

  manualSeed(0);
  const teacher = Teacher.create({ vocabSize: data.tok.vocabSize, ...p.teacher });
  log(
    `teacher: ${p.teacher.encoderLayers}+${p.teacher.decoderLayers} layers, ${p.teacher.embDim} wide, ${p.teacher.nHeads} heads, ` +
      `${(teacher.numParameters() / 1e6).toFixed(2)}M parameters`
  );

  const runDir = path.join(out, 'teacher-run');
  const options = {
    ...trainingOptions(args, data, runDir, 'train'),
    validateEvery: Math.max(1, Math.round(steps / 8)), // loss + greedy BLEU/chrF on the valid sentences
    handleSignals: true, // Ctrl-C stops after the current update and saves a checkpoint
  };

  // First call: half the budget (think of it as a run that was stopped), then the same call with the full one.
  // Whichever limit comes first ends a call; training seconds count across calls, as steps do.
  log(`training for ${steps} updates or ${seconds} s of training, in two calls`);
  const first = await train(teacher, { ...options, maxSteps: (steps / 2) | 0, maxSeconds: seconds / 2 });
  log(`first call: stopped by ${first.stoppedBy} at step ${first.steps}`);
  const second = await train(teacher, { ...options, maxSteps: steps, maxSeconds: seconds });
  log(`second call: resumed from ${second.resumedFrom ?? '(nothing: a fresh run)'}, stopped by ${second.stoppedBy} at step ${second.steps}`);

  // What the run folder holds.
  const metrics = MetricsLog.read(path.join(runDir, 'metrics.jsonl'));
  const valids = metrics.filter((m) => m.type === 'valid');
  const stepsLogged = metrics.filter((m) => m.type === 'step');
  console.log('\nValidation during training (metrics.jsonl):');
  for (const v of valids)
    console.log(
      `  step ${String(v.step).padStart(4)}  loss ${fmt(v.loss, 3)}  ppl ${fmt(v.perplexity, 1).padStart(6)}  BLEU ${fmt(v.bleu).padStart(6)}  chrF ${fmt(v.chrf).padStart(6)}${v.best ? '  (best)' : ''}`
    );
  console.log(
    `  training loss: ${fmt(stepsLogged[0]?.loss, 3)} at step ${stepsLogged[0]?.step} -> ${fmt(stepsLogged.at(-1)?.loss, 3)} at step ${stepsLogged.at(-1)?.step}`
  );
  const last = JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoints', 'last.json'), 'utf8'));
  const best = JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoints', 'best.json'), 'utf8'));
  console.log('\nRun folder:');
  for (const f of ['config.json', 'metrics.jsonl', 'curves.svg']) console.log(`  ${path.join(runDir, f)}`);
  console.log(`  checkpoints: ${fs.readdirSync(path.join(runDir, 'checkpoints')).sort().join(', ')}`);
  console.log(`  last.json -> ${JSON.stringify(last)}, best.json -> ${JSON.stringify(best)}`);

  // The final weights as a model file, and the held-out test set with beam search.
  const teacherFile = path.join(out, 'teacher.safetensors');
  await teacher.save(teacherFile);
  const reloaded = await Teacher.load(teacherFile);
  await compare([{ name: 'teacher', model: reloaded }], data, { beamSize: 5 });
  console.log(`\nteacher file: ${teacherFile}`);
  console.log(`tokenizer file: ${data.tokenizerFile}`);
  console.log(
    `Use it in the other examples: node examples/surgery-online-kd.js${args.quick ? ' --quick' : ''} --out ${out}   (or --teacher ${teacherFile})`
  );
  console.log('Run this example again with the same --out DIR and train() resumes from the last checkpoint (nothing is left to do).');
});
