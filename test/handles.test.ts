// The object handles of native/common/handle_wrap.h (model, decoder state, tokenizer, optimizer): a wrong
// handle is a clear error naming the argument and what was expected, none can be made from JS, a disposed
// one says so, and a decoder state reports its growing caches to V8 as external memory.
import test from 'ava';
import { spawnSync } from 'child_process';
import { Adam, memoryStats, tensor, Teacher } from '../lib';
import { native } from '../lib/native';

type Loose = Record<string, (...args: unknown[]) => unknown>;
const loose = () => native() as unknown as Loose;

const ids = (v: number[] | number[][]) => tensor(v, { dtype: 'int64' });
const teacher = Teacher.create({ vocabSize: 40, embDim: 32, nHeads: 4, encoderLayers: 1, decoderLayers: 1 }).eval();
const src = () => ids([[5, 6, 7, 1]]);
const len = () => ids([4]);

test('a model handle where a decoder state is expected (and the reverse) names the argument and the kind', (t) => {
  const state = native().moduleEncode(teacher.handle, src().native, len().native);
  t.throws(() => loose().moduleDecodeStep(teacher.handle, teacher.handle, ids([1]).native), {
    instanceOf: TypeError,
    message: /^moduleDecodeStep: argument 'state' must be a decoder state from encode\(\), got /,
  });
  t.throws(() => loose().moduleKind(state), { instanceOf: TypeError, message: /^moduleKind: argument 'model' must be a native model, got / });
  t.throws(() => loose().spmVocabSize(state), {
    instanceOf: TypeError,
    message: /^spmVocabSize: argument 'tokenizer' must be a SentencePiece handle from spmLoad\/spmFromBytes, got /,
  });
});

test('no handle can be constructed from JS', (t) => {
  for (const [name, description] of [
    ['NativeModule', 'a native model'],
    ['NativeDecoderState', 'a decoder state from encode()'],
    ['NativeSentencePiece', 'a SentencePiece handle from spmLoad/spmFromBytes'],
    ['NativeOptimizer', 'an optimizer (Adam/AdamW)'],
  ]) {
    const Ctor = (native() as unknown as Record<string, new () => unknown>)[name];
    t.throws(() => new Ctor(), { instanceOf: TypeError, message: `${description}: cannot be constructed from JS` }, name);
  }
});

test('a disposed optimizer handle is a clear error, not a crash', (t) => {
  const opt = new Adam(teacher.parameters(), { lr: 1e-3 });
  const handle = (opt as unknown as { handle: unknown }).handle;
  native().optimDispose(handle as never);
  t.throws(() => loose().optimSkippedSteps(handle), {
    instanceOf: TypeError,
    message: "optimSkippedSteps: argument 'optimizer' was disposed (expected an optimizer (Adam/AdamW))",
  });
});

test('a decoder state reports its bytes to V8 and re-reports them as decode steps grow the cache', (t) => {
  const big = Teacher.create({ vocabSize: 40, embDim: 256, nHeads: 4, encoderLayers: 1, decoderLayers: 4 }).eval();
  const rows = 64;
  const S = 64;
  const srcRows = Array.from({ length: rows }, () => Array.from({ length: S }, (_, k) => (k === S - 1 ? 1 : 5 + (k % 30))));
  // externalBytes is process-wide: collect garbage before each reading, so that tensors other tests left behind
  // being freed mid-measurement cannot cancel out what the state reports. V8 counts its own ArrayBuffers there
  // too (tens of KiB come and go), hence the 2 % slack below.
  const slack = 0.98;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc (ava config nodeArguments)');
  const srcIds = ids(srcRows);
  const srcLengths = ids(Array(rows).fill(S));
  const prev = ids(Array(rows).fill(1));
  gc();
  const before = memoryStats().externalBytes;
  const state = big.encode(srcIds, srcLengths);
  gc();
  const afterEncode = memoryStats().externalBytes;
  // At least the encoder output [64, 64, 256] float32 = 4 MiB.
  t.true(afterEncode - before >= slack * 4 * 2 ** 20, `encode reported ${afterEncode - before} bytes`);
  for (let step = 0; step < 8; step++) big.decodeStep(state, prev).dispose();
  gc();
  const afterSteps = memoryStats().externalBytes;
  t.log(`reported: encode ${afterEncode - before} bytes, 8 steps ${afterSteps - afterEncode} more`);
  // 8 steps x 4 layers x (k, v) x [64, 256] float32 = 4 MiB of self-attention cache.
  t.true(afterSteps - afterEncode >= slack * 4 * 2 ** 20, `8 steps reported ${afterSteps - afterEncode} more bytes`);
});

test('a process that exits holding handles of every kind (and forgotten ones) exits cleanly', (t) => {
  // Handles live until exit here: their finalizers and the addon's own references must not touch the env after
  // Node has torn it down (a crash at exit loses nothing, but turns a finished command into a failed one).
  const script =
    "const x = require('./dist/lib');" +
    'const keep = [x.randn([4]), x.Teacher.create({ vocabSize: 30, embDim: 16, nHeads: 2, encoderLayers: 1, decoderLayers: 1 })];' +
    'keep.push(new x.Adam(keep[1].parameters()));' +
    "keep.push(keep[1].encode(x.tensor([[5, 1]], { dtype: 'int64' }), x.tensor([2], { dtype: 'int64' })));" +
    'for (let i = 0; i < 200; i++) x.randn([8]);' +
    "console.log('done')";
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  t.is(r.stdout.trim(), 'done', r.stderr);
  t.is(r.signal, null, `killed by ${r.signal}`);
  t.is(r.status, 0);
});
