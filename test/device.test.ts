// One device owner: a model's parameters say where its work runs; `device` options are checked once
// (lib/tensor/device.ts) and move the model; batches follow it. On a machine without CUDA, asking for it is one
// clear error wherever it is asked (library, trainer, translate, CLI), and the torch.cuda-style API says why.
import test from 'ava';
import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';
import { Batch, Batcher, cuda, manualSeed, resolveDevice, SentencePiece, Teacher, train, translate } from '../lib';
import { toyCopyPairs, toyTeacherConfig } from './helpers/toy-training';

const cli = path.join(__dirname, '..', 'lib', 'cli', 'index.js');
const withoutCuda = cuda.isAvailable() ? test.skip : test;
const skipped = cuda.isAvailable() ? ' (skipped: this machine has CUDA, so the errors do not happen)' : '';

test('a model reports its device; an explicit device moves it and batches follow it', async (t) => {
  manualSeed(1);
  const model = Teacher.create(toyTeacherConfig);
  t.is(model.device, 'cpu');
  const batch = Batch.from({ src: [[5, 6]], tgt: [[6, 5]] });
  t.is(batch.to('cpu'), batch, 'a batch already there is not copied');
  const batcher = new Batcher(toyCopyPairs(10, 1), { device: 'cpu' });
  const b = batcher.toBatch(batcher.plan(0)[0]);
  t.is(b.src.device, 'cpu');
  b.dispose();
  const r = await train(model, { data: toyCopyPairs(20, 2), maxSteps: 2, device: 'cpu', log: null });
  t.is(r.steps, 2);
  t.is(model.device, 'cpu');
  t.is(resolveDevice('x', 'cpu'), 'cpu');
  t.throws(() => resolveDevice('x', 'gpu'), { instanceOf: TypeError, message: `x: option 'device' must be 'cpu', 'cuda' or 'cuda:N', got "gpu"` });
});

withoutCuda(`without CUDA: asking for it is one clear error in the library, the trainer, translate and the CLI${skipped}`, async (t) => {
  const why = /is 'cuda(:\d+)?' but CUDA is not available here \((this LibTorch has no CUDA|no CUDA device is visible)\)/;
  t.throws(() => resolveDevice('train', 'cuda:1'), { instanceOf: RangeError, message: why });
  const model = Teacher.create(toyTeacherConfig);
  await t.throwsAsync(train(model, { data: toyCopyPairs(4, 1), maxSteps: 1, device: 'cuda', log: null }), { instanceOf: RangeError, message: why });
  t.is(model.device, 'cpu', 'nothing moved');
  const tokenizer = await SentencePiece.train({ sentences: ['a b c d e', 'b c d e f', 'c d e f g'], vocabSize: 20, hardVocabLimit: false });
  await t.throwsAsync(translate(Teacher.create({ ...toyTeacherConfig, vocabSize: 24 }), ['a b'], { tokenizer, device: 'cuda' }), {
    instanceOf: RangeError,
    message: why,
  });
  t.throws(() => new Batcher(toyCopyPairs(4, 1), { device: 'cuda' }), { instanceOf: RangeError, message: why });
  const r = await promisify(execFile)(process.execPath, [cli, 'train', '--data', 'x', '--run', 'y', '--max-steps', '1', '--device', 'cuda']).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => e
  );
  t.is(r.code, 2);
  t.regex(r.stderr, /--device is 'cuda' but CUDA is not available here/);
});

withoutCuda(`without CUDA: the cuda API reports it and its functions say why they cannot run${skipped}`, (t) => {
  t.false(cuda.isAvailable());
  t.is(cuda.deviceCount(), 0);
  for (const [name, call] of [
    ['cuda.synchronize', () => cuda.synchronize()],
    ['cuda.memoryAllocated', () => cuda.memoryAllocated()],
    ['cuda.emptyCache', () => cuda.emptyCache()],
    ['cuda.getRngState', () => cuda.getRngState(0)],
  ] as const) {
    t.throws(call, { message: new RegExp(`${name.replace('.', '\\.')} needs CUDA, which is not available here`) });
  }
});
