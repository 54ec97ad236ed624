// Mixed precision on the CPU, where every machine can check it: bf16 autocast (LibTorch's CPU autocast) keeps the
// teacher's outputs and the fused loss near float32, trains (the loss falls) and resumes bit-identically after
// kill -9; the autocast scope restores the thread's state; fp16's dynamic loss scale (GradScaler) follows
// torch.amp.GradScaler's rules and travels in checkpoints.
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import { autocast, Batch, CheckpointStore, distillLoss, manualSeed, resolvePrecision, Teacher, tidy, train } from '../lib';
import { native } from '../lib/native';
import { GradScaler, GRAD_SCALER_DEFAULTS } from '../lib/train/grad-scaler';
import { checkKillResume, tmpDir } from './helpers/resume';
import { toyCopyPairs, toyTeacherConfig } from './helpers/toy-training';

test('bf16 autocast on the CPU: the teacher computes in bfloat16, its logits and the fused loss stay near float32', (t) => {
  manualSeed(3);
  const teacher = Teacher.create({ ...toyTeacherConfig, dropout: 0, attentionDropout: 0 }).eval();
  const pairs = toyCopyPairs(8, 1);
  const batch = Batch.from({ src: pairs.map((p) => p.src), tgt: pairs.map((p) => p.tgt) });
  const fp32 = teacher.forward(batch);
  const bf16 = autocast('bf16', 'cpu', () => teacher.forward(batch));
  t.is(fp32.dtype, 'float32');
  t.is(bf16.dtype, 'bfloat16', 'the output projection ran in bfloat16');
  const scale = Number(fp32.abs().max().item());
  const diff = tidy(() => Number(bf16.to('float32').sub(fp32).abs().max().item()));
  t.log(`logits: max |bf16 - fp32| ${diff.toExponential(2)} (max |logit| ${scale.toFixed(2)})`);
  t.true(diff < 0.05 * Math.max(1, scale), 'bf16 keeps about 2-3 significant digits');
  t.true(diff > 0, 'the forward really ran in lower precision');
  const y = batch.tgtOut;
  const l32 = Number(distillLoss(fp32, fp32.detach(), y, { alpha: 0 }).loss.item());
  const l16 = Number(distillLoss(bf16, bf16.detach(), y, { alpha: 0 }).loss.item());
  t.log(`cross-entropy: fp32 ${l32.toFixed(5)}, from bf16 logits ${l16.toFixed(5)}`);
  t.true(Math.abs(l16 - l32) < 1e-2 * Math.max(1, l32));
});

// Serial: a training step elsewhere in this process holds autocast on the JS thread while it runs (see autocast()).
test.serial('autocast restores the thread state after a sync and an async body, and after a throw', async (t) => {
  const off = native().autocastState();
  t.false(off.cpu);
  autocast('bf16', 'cpu', () => t.true(native().autocastState().cpu));
  t.deepEqual(native().autocastState(), off);
  await autocast('bf16', 'cpu', async () => {
    await new Promise((r) => setImmediate(r));
    t.is(native().autocastState().cpuDtype, 'bfloat16');
  });
  t.deepEqual(native().autocastState(), off);
  t.throws(
    () =>
      autocast('bf16', 'cpu', () => {
        throw new Error('inside');
      }),
    { message: 'inside' }
  );
  t.deepEqual(native().autocastState(), off);
  t.is(
    autocast('fp32', 'cpu', () => native().autocastState().cpu),
    false,
    "'fp32' autocasts nothing"
  );
  t.throws(() => resolvePrecision('train', 'half'), {
    instanceOf: TypeError,
    message: "train: option 'precision' must be one of 'fp32', 'bf16', 'fp16', got \"half\"",
  });
});

test('bf16 training on the CPU: the loss falls and the checkpoint records the precision', async (t) => {
  manualSeed(1);
  const model = Teacher.create(toyTeacherConfig);
  const dir = tmpDir();
  const losses: number[] = [];
  await train(model, {
    data: toyCopyPairs(200, 3),
    maxSteps: 40,
    runDir: dir,
    precision: 'bf16',
    optimizer: { lr: 3e-3 },
    schedule: () => 3e-3,
    batching: { maxTokens: 300 },
    log: null,
    logEvery: 1,
    onStep: (m) => losses.push(m.loss),
  });
  t.log(`bf16 loss ${losses[0].toFixed(3)} -> ${losses[losses.length - 1].toFixed(3)}`);
  t.true(losses[losses.length - 1] < 0.8 * losses[0]);
  t.true(losses.every(Number.isFinite));
  const parameters = model.parameters();
  t.true(
    parameters.every((p) => p.dtype === 'float32'),
    'master weights stay float32'
  );
  t.is((JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { precision: string }).precision, 'bf16');
});

test.serial('bf16 training: kill -9 at three random moments, resume each time: bit-identical to an uninterrupted run', (t) =>
  checkKillResume(t, 'teacher', 24, ['cpu', 'bf16'])
);

test('GradScaler: an overflow halves the scale, growthInterval clean updates double it, the state round-trips', (t) => {
  const s = new GradScaler();
  t.is(s.scale, GRAD_SCALER_DEFAULTS.initScale);
  s.update(true);
  t.is(s.scale, GRAD_SCALER_DEFAULTS.initScale / 2);
  for (let i = 0; i < GRAD_SCALER_DEFAULTS.growthInterval - 1; i++) s.update(false);
  t.is(s.scale, GRAD_SCALER_DEFAULTS.initScale / 2, 'one clean update short of the interval');
  s.update(false);
  t.is(s.scale, GRAD_SCALER_DEFAULTS.initScale);
  t.is(s.growthTracker, 0);
  s.update(false);
  const copy = new GradScaler();
  copy.loadStateDict(s.stateDict(), 'test');
  t.deepEqual([copy.scale, copy.growthTracker], [s.scale, 1]);
  t.throws(() => copy.loadStateDict(new Map(), 'step-3'), { message: /step-3 has no loss-scaler state/ });
});

test('fp16 training on the CPU: losses stay finite, the loss scale is checkpointed and a resumed run continues with it', async (t) => {
  manualSeed(2);
  const dir = tmpDir();
  const opts = {
    data: toyCopyPairs(120, 5),
    runDir: dir,
    precision: 'fp16' as const,
    optimizer: { lr: 3e-3 },
    schedule: () => 3e-3,
    batching: { maxTokens: 300 },
    log: null,
    logEvery: 1,
    saveEvery: 5,
  };
  const losses: number[] = [];
  const first = await train(Teacher.create(toyTeacherConfig), { ...opts, maxSteps: 10, onStep: (m) => losses.push(m.loss) });
  t.is(first.steps, 10);
  t.true(losses.every(Number.isFinite));
  const saved = await new CheckpointStore(dir).load('last');
  const state = saved!.state.tensors.get('scaler.state');
  t.truthy(state, 'the checkpoint holds the loss scale');
  const [scale, tracker] = Array.from(state!.toArray() as Float64Array);
  t.log(`loss scale after 10 updates: ${scale} (${first.skippedSteps} overflow(s) skipped), clean run ${tracker}`);
  // Each overflow halved the scale (growth needs 2000 clean updates); the run of clean updates is what followed the last.
  t.is(scale, GRAD_SCALER_DEFAULTS.initScale / 2 ** first.skippedSteps);
  t.true(tracker <= 10 && (first.skippedSteps > 0 || tracker === 10));
  const second = await train(Teacher.create(toyTeacherConfig), { ...opts, maxSteps: 12 });
  t.is(second.resumedFrom, saved!.folder);
  t.is(second.steps, 12);
  const after = (await new CheckpointStore(dir).load('last'))!.state.tensors.get('scaler.state')!;
  const [scale2, tracker2] = Array.from(after.toArray() as Float64Array);
  const overflows = second.skippedSteps - first.skippedSteps;
  // Resumed, not restarted: the scale went on from the saved one, and without an overflow the run of clean updates too.
  t.is(scale2, scale / 2 ** overflows);
  if (overflows === 0) t.is(tracker2, tracker + 2);
});
