// The trainer (lib/train): a teacher learns a toy task; resuming after kill -9 at random moments gives
// bit-identical parameters, for a teacher and for online distillation, with dropout on; metrics.jsonl has no
// duplicate after resume; stop signals save; bad input is a clear error.
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import {
  Batcher,
  CheckpointStore,
  distill,
  loadTensors,
  manualSeed,
  MetricsLog,
  readDistilledTargets,
  Student,
  Teacher,
  tidy,
  type Tokenizer,
  train,
  type TrainResult,
} from '../lib';
import { checkKillResume, maxDiff, runChild, tmpDir } from './helpers/resume';
import { toyCopyPairs, toyTeacherConfig } from './helpers/toy-training';

const tmp = () => tmpDir();

test('a teacher learns the toy task: loss falls, metrics and checkpoints are written', async (t) => {
  const dir = tmp();
  manualSeed(1);
  const model = Teacher.create(toyTeacherConfig);
  const data = toyCopyPairs(300, 3);
  const valid = toyCopyPairs(40, 99);
  const steps: number[] = [];
  const r: TrainResult = await train(model, {
    data,
    valid: { pairs: valid },
    runDir: dir,
    maxSteps: 150,
    validateEvery: 50,
    logEvery: 10,
    batching: { maxTokens: 400 },
    optimizer: { lr: 3e-3 },
    schedule: () => 3e-3,
    log: null,
    onStep: (m) => steps.push(m.loss),
  });
  t.is(r.steps, 150);
  t.is(r.stoppedBy, 'maxSteps');
  const lines = MetricsLog.read(path.join(dir, 'metrics.jsonl'));
  const valids = lines.filter((l) => l.type === 'valid');
  t.log(
    `train loss ${steps[0].toFixed(3)} -> ${steps[steps.length - 1].toFixed(3)}; valid loss ${valids.map((v) => v.loss.toFixed(3)).join(' -> ')}`
  );
  t.true(steps[steps.length - 1] < 0.5 * steps[0], 'the training loss must fall by half');
  t.is(valids.length, 3);
  t.true(valids[2].loss < valids[0].loss);
  t.true(fs.existsSync(path.join(dir, 'checkpoints', 'last.json')) && fs.existsSync(path.join(dir, 'checkpoints', 'best.json')));
  const svg = fs.readFileSync(path.join(dir, 'curves.svg'), 'utf8');
  t.true(svg.startsWith('<svg') && svg.includes('valid loss') && svg.includes('train loss'), 'curves.svg draws both losses');
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { task: string };
  t.is(config.task, 'train');
  // The last checkpoint's model loads and equals the trained model.
  const saved = (await loadTensors(path.join(dir, 'checkpoints', 'step-150', 'model.safetensors'))).tensors;
  t.is(maxDiff(model.stateDict(), saved), 0);
});

test.serial('from a token store: kill -9 and resume bit-identical, and the same weights as from the same pairs in memory', async (t) => {
  await checkKillResume(t, 'store', 30);
  const [fromStore, inMemory] = [tmpDir(), tmpDir()];
  t.is(await runChild(fromStore, ['store', '12']), 'done');
  t.is(await runChild(inMemory, ['teacher', '12']), 'done');
  const a = (await loadTensors(path.join(fromStore, 'final.safetensors'))).tensors;
  const b = (await loadTensors(path.join(inMemory, 'final.safetensors'))).tensors;
  t.is(maxDiff(a, b), 0);
});

for (const mode of ['teacher', 'online']) {
  test.serial(`kill -9 at three random moments, resume each time: parameters bit-identical to an uninterrupted run (${mode})`, (t) =>
    checkKillResume(t, mode, 30)
  );
}

test('early stopping: equal validation BLEU (0 before a model takes off) is broken by the loss; patience counts the rest', async (t) => {
  // A tokenizer whose every translation is empty: BLEU is 0 at every validation, whatever the model learns.
  const silent: Tokenizer = {
    kind: 'sentencepiece',
    vocabSize: 24,
    specialIds: { bos: 0, eos: 1, pad: 2, unk: 3 },
    hash: 'silent',
    encode: ((x: string | string[]) => (Array.isArray(x) ? x.map(() => [5, 6, 7]) : [5, 6, 7])) as Tokenizer['encode'],
    encodeAsync: (async (x: string | string[]) => (Array.isArray(x) ? x.map(() => [5, 6, 7]) : [5, 6, 7])) as Tokenizer['encodeAsync'],
    encodeFlatAsync: async (x: string[]) => ({ ids: new Int32Array(3 * x.length).fill(5), sizes: new Int32Array(x.length).fill(3) }),
    decode: ((ids: number[] | number[][]) => (Array.isArray(ids[0]) ? (ids as number[][]).map(() => '') : '')) as Tokenizer['decode'],
    decodeAsync: async (ids: number[][]) => ids.map(() => ''),
    pieceToId: () => 3,
    idToPiece: () => '<unk>',
    files: () => ({}),
  };
  const run = async (lr: number) => {
    manualSeed(1);
    const model = Teacher.create(toyTeacherConfig);
    const valid = toyCopyPairs(40, 99);
    const sources = valid.map(() => 'a b c');
    const opts = { valid: { pairs: valid, sources, references: sources.map(() => 'x y z'), tokenizer: silent, maxSentences: 4 } };
    return train(model, {
      data: toyCopyPairs(300, 3),
      ...opts,
      maxSteps: 60,
      validateEvery: 10,
      patience: 2,
      batching: { maxTokens: 400 },
      optimizer: { lr: 3e-3 },
      schedule: () => lr,
      log: null,
    });
  };
  // Learning: the loss falls at every validation, so each one is the best, and the run goes on to maxSteps.
  const learning = await run(3e-3);
  t.is(learning.stoppedBy, 'maxSteps');
  t.is(learning.best?.score, 0);
  // Not learning (a schedule of 0): the loss stays, the ties are not better, and patience (2 validations) stops the run.
  const stuck = await run(0);
  t.is(stuck.stoppedBy, 'earlyStopping');
  t.is(stuck.steps, 30);
});

test('an AbortSignal stops after the current update and saves; the next call continues to maxSteps', async (t) => {
  const dir = tmp();
  manualSeed(1);
  const model = Teacher.create(toyTeacherConfig);
  const data = toyCopyPairs(100, 4);
  const controller = new AbortController();
  const opts = { data, runDir: dir, maxSteps: 20, batching: { maxTokens: 200 }, log: null, logEvery: 1 };
  const first = await train(model, { ...opts, signal: controller.signal, onStep: (m) => m.step === 5 && controller.abort() });
  t.is(first.stoppedBy, 'abort');
  t.is(first.steps, 5);
  const second = await train(model, opts);
  t.is(second.steps, 20);
  t.true(second.resumedFrom?.endsWith('step-5'));
});

test.serial('an interrupted run validates nothing off its schedule: resumed, it ends where the run left alone ends', async (t) => {
  // Serial: manualSeed is global, and a test running beside it would draw from the same generator.
  // A learning rate of 0 keeps the validation loss flat: the first validation is the best, and patience 2 stops
  // the run at the third (update 30). A validation at the interruption (update 15) would have counted against
  // patience and stopped the resumed run at update 20.
  const run = async (dir: string, abortAt?: number) => {
    manualSeed(1);
    const model = Teacher.create(toyTeacherConfig);
    const validated: number[] = [];
    const controller = new AbortController();
    const opts = {
      data: toyCopyPairs(300, 3),
      valid: { pairs: toyCopyPairs(20, 99) },
      runDir: dir,
      maxSteps: 60,
      validateEvery: 10,
      patience: 2,
      batching: { maxTokens: 400 },
      schedule: () => 0,
      log: null,
      logEvery: 1,
      onValidate: (v: { step: number }) => validated.push(v.step),
    };
    const first = await train(model, { ...opts, signal: controller.signal, onStep: (m) => m.step === abortAt && controller.abort() });
    const result = first.stoppedBy === 'abort' ? await train(Teacher.create(toyTeacherConfig), opts) : first;
    return { first, result, validated };
  };
  const alone = await run(tmp());
  t.is(alone.result.stoppedBy, 'earlyStopping');
  t.is(alone.result.steps, 30);
  const interrupted = await run(tmp(), 15);
  t.is(interrupted.first.stoppedBy, 'abort');
  t.is(interrupted.first.steps, 15);
  t.is(interrupted.result.stoppedBy, 'earlyStopping');
  t.is(interrupted.result.steps, 30);
  t.deepEqual(interrupted.validated, [10, 20, 30]);
  t.deepEqual(interrupted.result.best, alone.result.best);
});

test('bad input is a clear error', async (t) => {
  manualSeed(1);
  const model = Teacher.create(toyTeacherConfig);
  await t.throwsAsync(() => train(model, { data: [], maxSteps: 1, log: null }), { message: /training data is empty/ });
  await t.throwsAsync(() => train(model, { data: toyCopyPairs(4, 1), log: null }), { message: /maxSteps/ });
  await t.throwsAsync(() => train(model, { data: toyCopyPairs(4, 1), maxSteps: 1, accumulate: 0, log: null }), { message: /'accumulate'/ });
  const other = Teacher.create({ ...toyTeacherConfig, vocabSize: 30 });
  await t.throwsAsync(() => distill({ teacher: other, student: model, data: toyCopyPairs(4, 1), maxSteps: 1, log: null }), {
    message: /vocabulary .* differs/,
  });
  // A checkpoint of another run in the same folder is refused, not silently mixed in.
  const dir = tmp();
  await train(model, { data: toyCopyPairs(20, 1), runDir: dir, maxSteps: 2, log: null, batching: { maxTokens: 200 } });
  await t.throwsAsync(() => train(model, { data: toyCopyPairs(30, 1), runDir: dir, maxSteps: 4, log: null, batching: { maxTokens: 200 } }), {
    message: /checkpoint of another run/,
  });
  // A diverging run skips non-finite updates, counts them, and stops with an error after maxBadSteps in a row.
  const lines: string[] = [];
  await t.throwsAsync(
    () =>
      train(model, {
        data: toyCopyPairs(50, 2),
        maxSteps: 50,
        optimizer: { lr: 1e30 },
        schedule: () => 1e30,
        clipNorm: Infinity,
        maxBadSteps: 3,
        log: (l) => lines.push(l),
        batching: { maxTokens: 200 },
      }),
    { message: /3 updates in a row had a non-finite loss or gradient norm/ }
  );
  t.true(lines.some((l) => /update skipped/.test(l)));
});

test("sequence-level KD trains the student on the teacher's translations", async (t) => {
  const dir = tmp();
  manualSeed(1);
  const teacher = Teacher.create(toyTeacherConfig);
  await train(teacher, {
    data: toyCopyPairs(200, 3),
    maxSteps: 60,
    optimizer: { lr: 3e-3 },
    schedule: () => 3e-3,
    log: null,
    batching: { maxTokens: 400 },
  });
  const student = Student.fromTeacher(teacher, { encoderLayers: 1, decoderLayers: 1 });
  const data = toyCopyPairs(40, 8);
  const r = await distill({ teacher, student, mode: 'sequence', data, runDir: dir, maxSteps: 5, log: null, batching: { maxTokens: 400 } });
  t.is(r.steps, 5);
  const targets = readDistilledTargets(path.join(dir, 'sequence-kd'), data.length);
  t.is(targets.length, data.length, 'one teacher translation per training source');
  // A second student of the same teacher and corpus reuses a shared translation store (no runDir needed).
  const shared = path.join(tmp(), 'shared', 'seq');
  const common = { teacher, mode: 'sequence' as const, data, sequenceFile: shared, maxSteps: 1, log: null, batching: { maxTokens: 400 } };
  await distill({ ...common, student: Student.fromTeacher(teacher, { encoderLayers: 1, decoderLayers: 1 }) });
  const first = fs.readFileSync(`${shared}.r0.bin`);
  t.deepEqual(
    readDistilledTargets(shared, data.length).map((r) => r.tgt),
    targets.map((r) => r.tgt)
  );
  const before = fs.statSync(`${shared}.r0.bin`).mtimeMs;
  await distill({ ...common, student: Student.fromTeacher(teacher, { encoderLayers: 1, decoderLayers: 1 }) });
  t.deepEqual(fs.readFileSync(`${shared}.r0.bin`), first, 'the finished store is reused, not rewritten');
  t.is(fs.statSync(`${shared}.r0.bin`).mtimeMs, before);
  await t.throwsAsync(distill({ ...common, sequenceFile: undefined, student }), { message: /mode 'sequence' needs 'sequenceFile' or 'runDir'/ });
});

test.serial('the event loop keeps ticking during training steps (forward, loss, backward, clip and update run off the JS thread)', async (t) => {
  manualSeed(1);
  const model = Teacher.create({ ...toyTeacherConfig, vocabSize: 4000, embDim: 128, nHeads: 4 });
  const data = toyCopyPairs(64, 5).map((p) => ({ src: p.src.map((x) => x * 150), tgt: p.tgt.map((x) => x * 150) }));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const started = Date.now();
  await train(model, { data, maxSteps: 6, log: null, batching: { maxTokens: 1200 } });
  clearInterval(timer);
  const elapsed = Date.now() - started;
  t.log(`${ticks} timer ticks during ${elapsed} ms of training`);
  // A loop blocked during each step would tick about once per step (between updates).
  t.true(ticks >= Math.min(60, elapsed / 10), `got ${ticks} ticks in ${elapsed} ms`);
});

test('epochs: validation at each epoch end, updates never span two epochs, maxEpochs stops', async (t) => {
  manualSeed(1);
  const model = Teacher.create(toyTeacherConfig);
  const data = toyCopyPairs(60, 6);
  const epochs: number[] = [];
  const valids: number[] = [];
  const batcher = new Batcher(data, { maxTokens: 120, seed: 0 });
  const perEpoch = [0, 1].map((e) => Math.ceil(batcher.numBatches(e) / 3));
  const r = await train(model, {
    data: batcher,
    valid: { pairs: toyCopyPairs(10, 7) },
    maxEpochs: 2,
    accumulate: 3,
    log: null,
    onEpochEnd: (e) => epochs.push(e),
    onValidate: (m) => valids.push(m.step),
  });
  t.deepEqual(epochs, [0, 1]);
  t.is(r.stoppedBy, 'maxEpochs');
  t.is(r.steps, perEpoch[0] + perEpoch[1], 'the last update of an epoch takes only what is left of it');
  t.deepEqual(valids, [perEpoch[0], perEpoch[0] + perEpoch[1]]);
});

test('online distillation: the chunked loss form (from hidden states, no [N, V] logits) trains as the dense one', async (t) => {
  manualSeed(1);
  const teacher = Teacher.create(toyTeacherConfig);
  await train(teacher, {
    data: toyCopyPairs(100, 3),
    maxSteps: 10,
    optimizer: { lr: 3e-3 },
    schedule: () => 3e-3,
    log: null,
    batching: { maxTokens: 300 },
  });
  const data = toyCopyPairs(60, 4);
  const run = async (lossForm: 'dense' | 'chunked') => {
    const student = Student.fromTeacher(teacher, { encoderLayers: 1, decoderLayers: 1 });
    const steps: Array<{ loss: number; kd: number; ce: number }> = [];
    await distill({
      teacher,
      student,
      mode: 'online',
      lossForm,
      alpha: 0.7,
      temperature: 2,
      labelSmoothing: 0.1,
      data,
      maxSteps: 6,
      logEvery: 1,
      log: null,
      dropout: false,
      onStep: (m) => steps.push({ loss: m.loss, kd: m.kd, ce: m.ce }),
      batching: { maxTokens: 200 },
    });
    return { steps, params: student.stateDict() };
  };
  const dense = await run('dense');
  const chunked = await run('chunked');
  t.is(chunked.steps.length, 6);
  for (const [i, s] of chunked.steps.entries()) {
    for (const k of ['loss', 'kd', 'ce'] as const)
      t.true(Math.abs(s[k] - dense.steps[i][k]) <= 1e-5 * Math.max(1, Math.abs(s[k])), `step ${i + 1} ${k}: ${s[k]} vs ${dense.steps[i][k]}`);
  }
  t.true(maxDiff(chunked.params, dense.params) <= 1e-5, `parameters differ by ${maxDiff(chunked.params, dense.params)}`);
  await t.throwsAsync(
    distill({
      teacher,
      student: Student.fromTeacher(teacher, { encoderLayers: 1, decoderLayers: 1 }),
      data,
      maxSteps: 1,
      lossForm: 'sparse' as 'dense',
      log: null,
    }),
    {
      message: /option 'lossForm' must be one of 'dense', 'chunked', 'auto', got string 'sparse'/,
    }
  );
});

test('alphaSchedule: alpha moves linearly from alpha to `to` over `steps` updates, then stays; each update mixes kd and ce with its own alpha', async (t) => {
  manualSeed(1);
  const teacher = Teacher.create(toyTeacherConfig);
  const student = Student.fromTeacher(teacher, { encoderLayers: 1, decoderLayers: 1 });
  const steps: Array<{ loss: number; kd: number; ce: number }> = [];
  await distill({
    teacher,
    student,
    mode: 'online',
    alpha: 0.8,
    alphaSchedule: { to: 0.2, steps: 3 },
    data: toyCopyPairs(60, 4),
    maxSteps: 5,
    logEvery: 1,
    log: null,
    onStep: (m) => steps.push({ loss: m.loss, kd: m.kd, ce: m.ce }),
    batching: { maxTokens: 200 },
  });
  // Update k (1-based) runs with alpha at the k-1 updates done before it: 0.8, 0.6, 0.4, then 0.2.
  const alphas = [0.8, 0.6, 0.4, 0.2, 0.2];
  t.is(steps.length, 5);
  for (const [i, s] of steps.entries()) {
    const expected = alphas[i] * s.kd + (1 - alphas[i]) * s.ce;
    t.true(
      Math.abs(s.loss - expected) <= 1e-5 * Math.max(1, s.loss),
      `update ${i + 1}: loss ${s.loss} vs ${alphas[i]}·kd + ${(1 - alphas[i]).toFixed(1)}·ce = ${expected}`
    );
  }
  await t.throwsAsync(
    distill({ teacher, student, data: toyCopyPairs(4, 1), maxSteps: 1, log: null, alphaSchedule: { steps: 3 } as { to: number; steps: number } }),
    {
      message: /alphaSchedule\.to/,
    }
  );
  await t.throwsAsync(distill({ teacher, student, data: toyCopyPairs(4, 1), maxSteps: 1, log: null, alphaSchedule: { to: 1.5, steps: 3 } }), {
    message: /alphaSchedule\.to/,
  });
  await t.throwsAsync(distill({ teacher, student, data: toyCopyPairs(4, 1), maxSteps: 1, log: null, alphaSchedule: { to: 0.1, steps: 0 } }), {
    message: /alphaSchedule\.steps/,
  });
});

test('ema: each checkpoint holds the averaged weights as model.ema.safetensors, equal to the average computed by hand', async (t) => {
  const dir = tmp();
  manualSeed(1);
  const model = Teacher.create(toyTeacherConfig);
  const decay = 0.8;
  // avg_0 = the initial parameters; after each update avg = decay * avg + (1 - decay) * param.
  const avg = new Map([...model.stateDict()].map(([n, p]) => [n, p.clone()]));
  const onStep = () => {
    for (const [n, p] of model.stateDict()) {
      const next = tidy(() =>
        avg
          .get(n)!
          .mul(decay)
          .add(p.mul(1 - decay))
      );
      avg.get(n)!.dispose();
      avg.set(n, next);
    }
  };
  await train(model, {
    data: toyCopyPairs(80, 3),
    maxSteps: 5,
    ema: decay,
    schedule: () => 1e-2,
    logEvery: 1,
    onStep,
    runDir: dir,
    log: null,
    batching: { maxTokens: 200 },
  });
  const folder = new CheckpointStore(dir).folder('last')!;
  const ema = await loadTensors(path.join(folder, 'model.ema.safetensors'));
  t.true(maxDiff(avg, ema.tensors) <= 1e-6, `max diff ${maxDiff(avg, ema.tensors)}`);
  t.true(maxDiff(avg, model.stateDict()) > 1e-4, 'the average differs from the raw weights');
  t.is(maxDiff(model.stateDict(), (await loadTensors(path.join(folder, 'model.safetensors'))).tensors), 0, 'the raw weights are saved as they are');
});
