// Intermediate-layer distillation (lib/loss/intermediate.ts, lib/train/intermediate-kd.ts): the hidden-state and
// attention terms against hand-worked numbers, the uniform layer map, what forwardInternalsAsync records, and
// distill with `intermediate` — it trains a narrower from-scratch student through a learned projection that is
// checkpointed and resumed exactly, and refuses what it cannot do with errors naming the option.
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { attentionLoss, Batch, BiGruStudent, distill, hiddenStateLoss, manualSeed, noGrad, Student, Teacher, tensor, uniformLayerMap } from '../lib';
import { lengthMask } from '../lib/loss/intermediate';
import { toyCopyPairs, toyTeacherConfig } from './helpers/toy-training';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-intermediate-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));
const close = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

test('hidden-state term: Σ over real positions of mean_d (W·h_s − h_t)², by hand', (t) => {
  // One layer, batch 1, 2 positions (the second a pad), student width 2, teacher width 3.
  const hs = tensor(
    [
      [
        [1, 2],
        [5, 5],
      ],
    ],
    { dtype: 'float32' }
  );
  const ht = tensor(
    [
      [
        [0, 1, 3],
        [9, 9, 9],
      ],
    ],
    { dtype: 'float32' }
  );
  const W = tensor(
    [
      [1, 0],
      [0, 1],
      [1, 1],
    ],
    { dtype: 'float32' }
  ); // W·h_s = [1, 2, 3] at position 0
  const mask = lengthMask(tensor([1], { dtype: 'int64' }), 2);
  t.deepEqual(mask.tolist(), [[1, 0]]);
  // Position 0: (1-0)² + (2-1)² + (3-3)² = 2, mean over 3 = 2/3; position 1 masked.
  t.true(close(hiddenStateLoss([hs], [ht], [0], mask, W).item() as number, 2 / 3));
  // Same widths, no projection, two student layers mapped onto teacher layers 1 and 0.
  const a = tensor([[[1, 1]]], { dtype: 'float32' });
  const b = tensor([[[0, 3]]], { dtype: 'float32' });
  const t0 = tensor([[[1, 1]]], { dtype: 'float32' });
  const t1 = tensor([[[2, 2]]], { dtype: 'float32' });
  const one = lengthMask(tensor([1], { dtype: 'int64' }), 1);
  // a vs t1: ((1-2)² + (1-2)²)/2 = 1; b vs t0: ((0-1)² + (3-1)²)/2 = 2.5.
  t.true(close(hiddenStateLoss([a, b], [t0, t1], [1, 0], one).item() as number, 3.5));
});

test('attention term: Σ over real queries of mean_heads KL(p_t ‖ p_s), heads averaged when counts differ, by hand', (t) => {
  // [B=1, H=2, Q=2, K=2]; query 1 is a pad.
  const ps = tensor([
    [
      [
        [0.5, 0.5],
        [0.9, 0.1],
      ],
      [
        [0.25, 0.75],
        [0.5, 0.5],
      ],
    ],
  ]);
  const pt = tensor([
    [
      [
        [0.75, 0.25],
        [0.1, 0.9],
      ],
      [
        [0.25, 0.75],
        [0.5, 0.5],
      ],
    ],
  ]);
  const mask = lengthMask(tensor([1], { dtype: 'int64' }), 2);
  const kl = (p: number[], q: number[]) => p.reduce((s, pi, i) => s + (pi > 0 ? pi * Math.log(pi / q[i]) : 0), 0);
  // Head 0, query 0: KL([.75,.25] ‖ [.5,.5]); head 1 identical distributions: 0. Mean over heads.
  const want = (kl([0.75, 0.25], [0.5, 0.5]) + 0) / 2;
  t.true(close(attentionLoss([ps], [pt], [0], mask).item() as number, want));
  // A key the teacher gives no weight adds nothing (log 0 never taken).
  const zs = tensor([[[[0.5, 0.5]]]]);
  const zt = tensor([[[[1, 0]]]]);
  const one = lengthMask(tensor([1], { dtype: 'int64' }), 1);
  t.true(close(attentionLoss([zs], [zt], [0], one).item() as number, Math.log(2)));
  // Student 1 head, teacher 2 heads: the teacher's heads are averaged first.
  const s1 = tensor([[[[0.5, 0.5]]]]);
  const t2 = tensor([[[[0.9, 0.1]], [[0.5, 0.5]]]]);
  t.true(close(attentionLoss([s1], [t2], [0], one).item() as number, kl([0.7, 0.3], [0.5, 0.5])));
});

test('uniform layer map: each student layer onto the teacher layer at its depth, the last onto the last', (t) => {
  t.deepEqual(uniformLayerMap(3, 6), [1, 3, 5]);
  t.deepEqual(uniformLayerMap(1, 6), [5]);
  t.deepEqual(uniformLayerMap(2, 3), [1, 2]);
  t.deepEqual(uniformLayerMap(4, 4), [0, 1, 2, 3]);
});

test('forwardInternalsAsync: logits as forward, the last decoder layer as forwardHidden, distributions over real keys', async (t) => {
  manualSeed(3);
  const m = Teacher.create({ vocabSize: 30, embDim: 16, nHeads: 2, encoderLayers: 2, decoderLayers: 2 }).eval();
  const batch = Batch.from({
    src: [
      [5, 6, 7, 8],
      [9, 10],
    ],
    tgt: [[11, 12, 13], [14]],
  });
  const x = await m.forwardInternalsAsync(batch, { hidden: true, attention: true });
  noGrad(() => {
    t.true((x.logits.sub(m.forward(batch)).abs().max().item() as number) < 1e-6);
    t.true((x.decoderHidden[1].sub(m.forwardHidden(batch)).abs().max().item() as number) < 1e-6);
  });
  t.is(x.encoderHidden.length, 2);
  t.deepEqual(x.encoderSelfAttention[0].shape, [2, 2, 6, 6]);
  t.deepEqual(x.decoderSelfAttention[1].shape, [2, 2, 4, 4]);
  t.deepEqual(x.crossAttention[0].shape, [2, 2, 4, 6]);
  // Rows are distributions; sentence 1's source has 4 real positions (2 ids + framing), its pads get nothing.
  const rows = x.crossAttention[0].sum(-1).reshape([-1]).tolist() as number[];
  t.true(rows.every((v) => Math.abs(v - 1) < 1e-5));
  t.true((x.crossAttention[0].narrow(0, 1, 1).narrow(3, 4, 2).abs().sum().item() as number) === 0);
  // Decoder self-attention is causal: nothing above the diagonal.
  t.true((x.decoderSelfAttention[0].narrow(2, 0, 1).narrow(3, 1, 3).abs().sum().item() as number) === 0);
  // Nothing asked, nothing recorded.
  const bare = await m.forwardInternalsAsync(batch, {});
  t.is(bare.encoderHidden.length + bare.crossAttention.length, 0);
  const gru = BiGruStudent.create({ vocabSize: 30, embDim: 8, hiddenSize: 8 });
  await t.throwsAsync(() => gru.forwardInternalsAsync(batch, { hidden: true }), { message: /does not expose its layers/ });
});

function toyTeacher(): Teacher {
  manualSeed(7);
  return Teacher.create(toyTeacherConfig).eval();
}

test.serial('distill with intermediate: a narrower scratch student trains through a learned projection, and resumes exactly', async (t) => {
  const teacher = toyTeacher();
  const data = toyCopyPairs(120, 5);
  const make = () => {
    manualSeed(11);
    return Student.transformer({ ...toyTeacherConfig, embDim: 16, encoderLayers: 1, decoderLayers: 1 });
  };
  const opts = (runDir: string) => ({
    teacher,
    data,
    runDir,
    maxSteps: 6,
    saveEvery: 3,
    batching: { maxTokens: 200 },
    log: null,
    seed: 2,
    logEvery: 1,
    intermediate: { hidden: 1, attention: 1 },
  });
  const whole = make();
  const losses: number[] = [];
  await distill({ ...opts(path.join(dir, 'whole')), student: whole, onStep: (m) => losses.push(m.loss) });
  t.true(losses.every(Number.isFinite));
  t.true(losses[losses.length - 1] < losses[0], `the loss falls: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'whole', 'config.json'), 'utf8')) as { intermediate: { layerMap: unknown } };
  t.deepEqual(config.intermediate.layerMap, { encoder: [1], decoder: [1] });

  // Stopped after 3 updates, then resumed: the same weights as the run that never stopped.
  const controller = new AbortController();
  const first = make();
  await distill({ ...opts(path.join(dir, 'split')), student: first, signal: controller.signal, onStep: (m) => m.step === 3 && controller.abort() });
  const second = make();
  const r = await distill({ ...opts(path.join(dir, 'split')), student: second });
  t.is(r.steps, 6);
  const a = whole.namedParameters();
  const diffs = [...second.namedParameters()]
    .map(([name, p]) => [name, p.sub(a.get(name)!).abs().max().item() as number] as const)
    .filter(([, d]) => d !== 0);
  t.deepEqual(diffs, [], 'every parameter equal after resume');
});

test.serial('distill with intermediate refuses what it cannot do, naming the option', async (t) => {
  const teacher = toyTeacher();
  const data = toyCopyPairs(20, 6);
  const student = () => Student.transformer({ ...toyTeacherConfig, encoderLayers: 1, decoderLayers: 1 });
  const base = { teacher, data, maxSteps: 1, log: null, runDir: path.join(dir, 'bad') };
  await t.throwsAsync(() => distill({ ...base, student: student(), mode: 'offline', intermediate: { hidden: 1 } }), {
    message: /'intermediate'.*'online' or 'sequence'/,
  });
  const gru = BiGruStudent.create({ vocabSize: toyTeacherConfig.vocabSize });
  await t.throwsAsync(() => distill({ ...base, student: gru, intermediate: { attention: 1 } }), { message: /needs a transformer student/ });
  await t.throwsAsync(() => distill({ ...base, student: student(), intermediate: { hidden: 1, layerMap: { encoder: [0, 1], decoder: [0] } } }), {
    message: /layerMap\.encoder must name a teacher layer for each of the student's 1 encoder layers/,
  });
  await t.throwsAsync(() => distill({ ...base, student: student(), intermediate: { hidden: 1, layerMap: { encoder: [5], decoder: [0] } } }), {
    message: /names teacher layer 5, but the teacher has 2 encoder layers/,
  });
  await t.throwsAsync(() => distill({ ...base, student: student(), intermediate: { hidden: -1 } }), { message: /intermediate\.hidden/ });
});
