// Tests for the BiGRU student (native/modules/bigru_seq2seq.*, lib/models/bigru.ts):
// parity with the PyTorch reference (bench/reference/bigru.py, in .venv) for forward logits and decodeStep
// log-probs on ragged batches, both attention types, multi-layer, safetensors both ways; padding invariance;
// decodeStep == log_softmax(forward); reorder; save/load; config errors; a training smoke check; and the
// forward time / size of the default model (logged).

import test from 'ava';
import type { ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BiGruStudent, BIGRU_DEFAULTS } from '../lib/models/bigru';
import type { BiGruConfig, BiGruOptions } from '../lib/models/bigru';
import { Batch } from '../lib/data/batch';
import { type Tensor, tensor, manualSeed, noGrad, stack, cat, full } from '../lib/tensor';
import { loadTensorsSync, saveTensors } from '../lib/io';
import { beamSearch, greedy } from '../lib/decode';
import { closeReal as closeWithin } from './helpers/compare';
import { referenceUnavailable, runPythonAsync } from './helpers/python';
import { checkReorderScenario } from './helpers/reorder-scenario';

// ---------------------------------------------------------------------------
// Helpers

const TOL = 1e-5;
const closeReal = (t: ExecutionContext, a: Tensor, b: Tensor, rowLens: number[], what: string, tol = TOL) => closeWithin(t, a, b, rowLens, what, tol);

const why = referenceUnavailable();
if (why) console.warn(`[bigru.test] PyTorch reference tests skipped: ${why}`);
const pyTest = why ? test.skip : test;

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'bigru-test-'));
test.after.always(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let tmpCount = 0;
const tmpFile = (name: string) => path.join(tmpRoot, `${tmpCount++}-${name}`);

/** Runs bench/reference/bigru.py (asynchronously, so the in-process tests run meanwhile). */
async function reference(args: string[]): Promise<void> {
  await runPythonAsync('bench/reference/bigru.py', args);
}

/** Ragged sentences of ids in [3, V) (no </s> or <pad>), deterministic. */
function sentences(lengths: number[], V: number, seed: number): number[][] {
  let x = seed * 7919 + 17;
  return lengths.map((n) =>
    Array.from({ length: n }, () => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return 3 + (x % (V - 3));
    })
  );
}

interface Data {
  src: number[][];
  tgt: number[][];
}
function ragged(V: number, seed: number, srcLens = [5, 1, 9, 3, 7], tgtLens = [4, 6, 1, 8, 2]): Data {
  return { src: sentences(srcLens, V, seed), tgt: sentences(tgtLens, V, seed + 100) };
}

const floats = (t: Tensor) => Array.from(t.to('float64').toArray() as Float64Array);

/** encode + one decodeStep per target position, fed the teacher-forced inputs: [B, T, V] log-probs. */
function stepLogProbs(m: BiGruStudent, batch: Batch): Tensor {
  return noGrad(() => {
    const state = m.encode(batch.src, batch.srcLen);
    const T = batch.tgtIn.shape[1];
    const steps: Tensor[] = [];
    for (let i = 0; i < T; i++) steps.push(m.decodeStep(state, batch.tgtIn.narrow(1, i, 1).reshape(-1)));
    return stack(steps, 1);
  });
}

const lens = (t: Tensor) => t.tolist() as number[];

/** Runs the reference on `modelFile` and compares its forward logits and step log-probs with ours. */
async function checkParity(t: ExecutionContext, m: BiGruStudent, modelFile: string, data: Data, what: string): Promise<void> {
  const batchFile = tmpFile('batch.json');
  const outFile = tmpFile('out.safetensors');
  fs.writeFileSync(batchFile, JSON.stringify(data));
  await reference(['forward', '--model', modelFile, '--batch', batchFile, '--out', outFile]);
  const ref = loadTensorsSync(outFile).tensors;
  const batch = Batch.from(data, { padIndex: m.padIndex, eosIndex: m.eosIndex });
  // Same framing on both sides.
  t.deepEqual(batch.src.tolist(), ref.get('src')!.tolist(), `${what}: framed src`);
  t.deepEqual(batch.tgtIn.tolist(), ref.get('tgt_in')!.tolist(), `${what}: framed tgtIn`);
  const tgtLen = lens(batch.tgtLen);
  const logits = noGrad(() => m.forward(batch));
  const d1 = closeReal(t, logits, ref.get('logits')!, tgtLen, `${what}: forward logits`);
  const d2 = closeReal(t, stepLogProbs(m, batch), ref.get('steplogprobs')!, tgtLen, `${what}: decodeStep log-probs`);
  t.log(`${what}: max |diff| forward ${d1.toExponential(2)}, decodeStep ${d2.toExponential(2)}`);
}

const SMALL: BiGruOptions = { vocabSize: 37, embDim: 16, hiddenSize: 16, dropout: 0.1 };

// ---------------------------------------------------------------------------
// Parity with bench/reference/bigru.py

const parityCases: Array<{ name: string; config: BiGruOptions; from: 'ts' | 'py' }> = [
  { name: 'luong, 2-2 layers, tied, TS weights', config: { ...SMALL, encoderLayers: 2, decoderLayers: 2 }, from: 'ts' },
  { name: 'bahdanau, 2-2 layers, tied, TS weights', config: { ...SMALL, attention: 'bahdanau', encoderLayers: 2, decoderLayers: 2 }, from: 'ts' },
  { name: 'luong, 3-1 layers, untied (embDim 24), Python weights', config: { ...SMALL, embDim: 24, encoderLayers: 3, decoderLayers: 1 }, from: 'py' },
  {
    name: 'bahdanau, 1-3 layers, untied, Python weights',
    config: { ...SMALL, embDim: 12, hiddenSize: 20, attention: 'bahdanau', encoderLayers: 1, decoderLayers: 3 },
    from: 'py',
  },
];

for (const [k, c] of parityCases.entries()) {
  pyTest(`parity with the PyTorch reference: ${c.name}`, async (t) => {
    const file = tmpFile('model.safetensors');
    let m: BiGruStudent;
    if (c.from === 'ts') {
      manualSeed(10 + k);
      m = BiGruStudent.create(c.config).eval();
      await m.save(file);
    } else {
      await reference(['init', '--config', JSON.stringify(c.config), '--seed', String(10 + k), '--out', file]);
      m = await BiGruStudent.load(file);
      t.is(m.config.attention, c.config.attention ?? 'luong');
    }
    await checkParity(t, m, file, ragged(c.config.vocabSize, k), c.name);
    // Another ragged batch: a one-token source, targets of 1-5 tokens.
    await checkParity(t, m, file, ragged(c.config.vocabSize, k + 50, [2, 4, 1], [3, 1, 5]), `${c.name} (second batch)`);
  });
}

// ---------------------------------------------------------------------------
// In-process properties

for (const attention of ['luong', 'bahdanau'] as const) {
  test(`padding invariance (${attention}): a sentence alone == the same sentence in a padded batch`, (t) => {
    manualSeed(3);
    const m = BiGruStudent.create({ ...SMALL, attention, encoderLayers: 2, decoderLayers: 2 }).eval();
    const data = ragged(SMALL.vocabSize, 7);
    const batch = Batch.from(data);
    const all = noGrad(() => m.forward(batch));
    const allSteps = stepLogProbs(m, batch);
    data.src.forEach((src, i) => {
      const one = Batch.from({ src: [src], tgt: [data.tgt[i]] });
      const T = one.tgtIn.shape[1];
      const alone = noGrad(() => m.forward(one));
      const row = all.narrow(0, i, 1).narrow(1, 0, T);
      closeReal(t, alone, row, [T], `sentence ${i}: forward`);
      closeReal(t, stepLogProbs(m, one), allSteps.narrow(0, i, 1).narrow(1, 0, T), [T], `sentence ${i}: decodeStep`);
    });
    // Extra padding columns beyond the longest source change nothing either.
    const [B] = batch.src.shape;
    const wider = cat([batch.src, full([B, 3], m.padIndex, { dtype: 'int64' })], 1);
    const padded = new Batch(wider, batch.srcLen, batch.tgtIn, batch.tgtOut, batch.tgtLen);
    closeReal(
      t,
      noGrad(() => m.forward(padded)),
      all,
      lens(batch.tgtLen),
      'three extra pad columns'
    );
  });
}

test('decodeStep over T steps == log_softmax(forward) at every real position', (t) => {
  manualSeed(4);
  const m = BiGruStudent.create({ ...SMALL, encoderLayers: 2, decoderLayers: 3, attention: 'bahdanau' }).eval();
  const batch = Batch.from(ragged(SMALL.vocabSize, 11));
  const fwd = noGrad(() => m.forward(batch).logSoftmax(-1));
  const steps = stepLogProbs(m, batch);
  t.is(steps.dtype, 'float32');
  closeReal(t, steps, fwd, lens(batch.tgtLen), 'decodeStep vs forward');
  // Every step's log-probs are normalised.
  const mass = floats(steps.exp().sum(-1));
  t.true(
    mass.every((s) => Math.abs(s - 1) < 1e-5),
    'rows sum to 1'
  );
});

test('forwardHidden + outputProjection == forward; tied output layer', (t) => {
  manualSeed(5);
  const m = BiGruStudent.create(SMALL).eval();
  const batch = Batch.from(ragged(SMALL.vocabSize, 12));
  const { weight, bias } = m.outputProjection();
  t.deepEqual(weight.shape, [SMALL.vocabSize, 16]);
  t.deepEqual(bias!.shape, [SMALL.vocabSize]);
  const h = noGrad(() => m.forwardHidden(batch));
  t.deepEqual(h.shape, [5, batch.tgtIn.shape[1], 16]);
  const viaHidden = noGrad(() => h.matmul(weight.transpose(0, 1)).add(bias!));
  closeReal(
    t,
    viaHidden,
    noGrad(() => m.forward(batch)),
    lens(batch.tgtLen),
    'hidden·Wᵀ + b'
  );
  // Tied: one parameter, two names in the state dict.
  t.true(m.config.tieEmbeddings);
  t.false(m.namedParameters().has('decoder.proj.weight'));
  const sd = m.stateDict();
  t.deepEqual(floats(sd.get('decoder.proj.weight')!), floats(sd.get('decoder.embeddings.weight')!));
});

test('reorder: expands, permutes and prunes hypotheses like index_select on a fresh run', (t) => {
  manualSeed(6);
  const m = BiGruStudent.create({ ...SMALL, encoderLayers: 2, decoderLayers: 2 }).eval();
  const data = ragged(SMALL.vocabSize, 13, [4, 8, 2], [5, 5, 5]);
  const batch = Batch.from(data);
  const col = (i: number) => batch.tgtIn.narrow(1, i, 1).reshape(-1);
  noGrad(() => {
    // Plain run: three steps for the three sentences.
    const plain = m.encode(batch.src, batch.srcLen);
    const p = [0, 1, 2].map((i) => m.decodeStep(plain, col(i)));
    // Reordered run: step 0, then rows [2, 0, 0, 1], then prune to rows [3, 1] (= sentences 1 and 0).
    const st = m.encode(batch.src, batch.srcLen);
    t.is(st.size, 3);
    const r0 = m.decodeStep(st, col(0));
    t.deepEqual(floats(r0), floats(p[0]));
    const idx = tensor([2, 0, 0, 1], { dtype: 'int64' });
    m.reorder(st, idx);
    t.is(st.size, 4);
    const r1 = m.decodeStep(st, col(1).indexSelect(0, idx));
    closeReal(t, r1.unsqueeze(1), p[1].indexSelect(0, idx).unsqueeze(1), [1, 1, 1, 1], 'after reorder', 1e-6);
    const keep = tensor([3, 1], { dtype: 'int64' });
    m.reorder(st, keep);
    t.is(st.size, 2);
    const rows = tensor([1, 0], { dtype: 'int64' });
    const r2 = m.decodeStep(st, col(2).indexSelect(0, rows));
    closeReal(t, r2.unsqueeze(1), p[2].indexSelect(0, rows).unsqueeze(1), [1, 1], 'after pruning', 1e-6);
  });
});

test('reorder: beam-style groups and arbitrary orders equal a fresh forward (both attentions)', (t) => {
  for (const attention of ['luong', 'bahdanau'] as const) {
    manualSeed(21);
    const m = BiGruStudent.create({ vocabSize: 61, embDim: 16, hiddenSize: 12, encoderLayers: 2, decoderLayers: 2, attention }).eval();
    checkReorderScenario(t, m, [
      [5, 6, 7, 8, 9, 10],
      [11, 12],
      [13, 14, 15],
    ]);
  }
});

test('encode/decodeStep async agree with the sync calls', async (t) => {
  manualSeed(7);
  const m = BiGruStudent.create(SMALL).eval();
  const batch = Batch.from(ragged(SMALL.vocabSize, 14));
  const a = m.encode(batch.src, batch.srcLen);
  const b = await m.encodeAsync(batch.src, batch.srcLen);
  const tok = batch.tgtIn.narrow(1, 0, 1).reshape(-1);
  const x = noGrad(() => m.decodeStep(a, tok));
  const y = await m.decodeStepAsync(b, tok);
  t.deepEqual(floats(x), floats(y));
});

test('beam search and greedy decode with the BiGRU; their log-probs rescore under forward', async (t) => {
  manualSeed(14);
  const m = BiGruStudent.create({ ...SMALL, encoderLayers: 2, decoderLayers: 2 }).eval();
  const data = ragged(SMALL.vocabSize, 18, [5, 1, 9], [1, 1, 1]);
  const batch = Batch.from({ src: data.src });
  for (const [name, out] of [
    ['beam', await beamSearch(m, batch, { beamSize: 4, maxLength: 8 })],
    ['greedy', await greedy(m, batch, { maxLength: 8 })],
  ] as const) {
    t.is(out.length, 3, name);
    out.forEach((hyps, i) => {
      const h = hyps[0];
      t.true(h.tokens.length <= 8, `${name} ${i}: length`);
      // Teacher-forced log-probs of the same tokens (then </s>) agree with what decoding accumulated.
      const one = Batch.from({ src: [data.src[i]], tgt: [h.tokens] });
      const lp = noGrad(() => m.forward(one).logSoftmax(-1).gather(2, one.tgtOut.unsqueeze(2)).reshape(-1));
      const rescored = floats(lp).slice(0, h.tokenLogProbs.length);
      rescored.forEach((x, k) => t.true(Math.abs(x - h.tokenLogProbs[k]) < 1e-4, `${name} ${i} token ${k}: ${x} vs ${h.tokenLogProbs[k]}`));
    });
  }
});

// ---------------------------------------------------------------------------
// Save / load, size

test('save/load round trip: bit-identical weights, same config, same outputs', async (t) => {
  manualSeed(8);
  const m = BiGruStudent.create({ ...SMALL, embDim: 24, attention: 'bahdanau', encoderLayers: 2, decoderLayers: 3 });
  t.false(m.config.tieEmbeddings);
  const file = tmpFile('roundtrip.safetensors');
  await m.save(file);
  const back = await BiGruStudent.load(file);
  t.is(back.kind, 'bigru-student');
  t.false(back.training);
  t.deepEqual({ ...back.config }, { ...m.config });
  t.is(back.numParameters(), m.numParameters());
  const a = m.stateDict(),
    b = back.stateDict();
  t.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [name, w] of a) {
    const v = b.get(name)!;
    t.is(v.dtype, w.dtype, name);
    t.deepEqual(Buffer.from((v.toArray() as Float32Array).buffer), Buffer.from((w.toArray() as Float32Array).buffer), `${name}: bytes`);
  }
  const batch = Batch.from(ragged(SMALL.vocabSize, 15));
  m.eval();
  t.deepEqual(floats(noGrad(() => back.forward(batch))), floats(noGrad(() => m.forward(batch))));
});

test('load: clear errors for another model type, a bad config, missing weights', async (t) => {
  manualSeed(9);
  const m = BiGruStudent.create(SMALL);
  const sd = m.stateDict();
  const cfg = JSON.stringify(m.config);

  const other = tmpFile('other.safetensors');
  await saveTensors(other, sd, { model_type: 'xlm-teacher', config: cfg });
  await t.throwsAsync(BiGruStudent.load(other), { message: /holds a 'xlm-teacher' model, not a 'bigru-student'/ });

  const noMeta = tmpFile('nometa.safetensors');
  await saveTensors(noMeta, sd, {});
  await t.throwsAsync(BiGruStudent.load(noMeta), { message: /no 'model_type' metadata/ });

  const badCfg = tmpFile('badcfg.safetensors');
  await saveTensors(badCfg, sd, { model_type: 'bigru-student', config: JSON.stringify({ ...m.config, attention: 'dot' }) });
  await t.throwsAsync(BiGruStudent.load(badCfg), { message: /bad config: config\.attention must be one of 'luong', 'bahdanau'/ });

  const partial = tmpFile('partial.safetensors');
  const fewer = new Map(sd);
  fewer.delete('bridge.weight');
  await saveTensors(partial, fewer, { model_type: 'bigru-student', config: cfg });
  await t.throwsAsync(BiGruStudent.load(partial), {
    message: /BiGruStudent\.load\(.*\): state dict does not match the model: missing bridge\.weight/,
  });

  const wrongShape = tmpFile('shape.safetensors');
  await saveTensors(wrongShape, sd, { model_type: 'bigru-student', config: JSON.stringify({ ...m.config, vocabSize: 38 }) });
  await t.throwsAsync(BiGruStudent.load(wrongShape), { message: /has shape/ });
});

/** Parameters of a BiGRU by formula (GRU gates: 3 per layer; biases ih and hh). */
function expectedParameters(c: BiGruConfig): number {
  const { vocabSize: V, embDim: E, hiddenSize: H } = c;
  const gru = (input: number) => 3 * H * input + 3 * H * H + 6 * H;
  let n = V * E; // encoder embeddings
  for (let l = 0; l < c.encoderLayers; l++) n += 2 * gru(l === 0 ? E : 2 * H);
  n += 2 * H * H + H; // bridge
  n += V * E; // decoder embeddings
  for (let l = 0; l < c.decoderLayers; l++) n += gru(l === 0 ? E + H : H);
  n += 2 * H * H; // attention key
  if (c.attention === 'bahdanau') n += H * H + H + H; // query, v
  n += 3 * H * H; // combine
  n += (c.tieEmbeddings ? 0 : V * H) + V; // output layer
  return n;
}

test('numParameters matches the architecture (tied and untied, both attentions)', (t) => {
  for (const o of [SMALL, { ...SMALL, embDim: 8, attention: 'bahdanau' as const, encoderLayers: 3, decoderLayers: 2 }]) {
    const m = BiGruStudent.create(o);
    t.is(m.numParameters(), expectedParameters(m.config), JSON.stringify(o));
  }
});

// ---------------------------------------------------------------------------
// Config errors

test('create: bad configs throw errors naming the field', (t) => {
  const err = (o: unknown, message: RegExp, Ctor: typeof TypeError | typeof RangeError = TypeError) =>
    t.throws(() => BiGruStudent.create(o as BiGruOptions), { instanceOf: Ctor, message });
  err({ vocabSize: 100, hiddenSize: 0 }, /BiGruStudent\.create: config\.hiddenSize must be an integer >= 1, got number 0/, RangeError);
  err({ vocabSize: 100, attention: 'dot' }, /config\.attention must be one of 'luong', 'bahdanau', got string 'dot'/, RangeError);
  err({ embDim: 8 }, /config\.vocabSize is required/);
  err({ vocabSize: 100, hiddensize: 8 }, /unknown config\.hiddensize; expected one of vocabSize, /);
  err({ vocabSize: 100, embDim: 32, hiddenSize: 64, tieEmbeddings: true }, /tieEmbeddings needs embDim == hiddenSize/, RangeError);
  err({ vocabSize: 100, encoderLayers: 1.5 }, /config\.encoderLayers must be an integer >= 1/);
  err({ vocabSize: 100, dropout: 1 }, /config\.dropout must be a number in \[0, 1\)/, RangeError);
  err({ vocabSize: 100, dropout: -0.1 }, /config\.dropout must be a number in/, RangeError);
  err({ vocabSize: 10, padIndex: 10 }, /config\.padIndex must be < vocabSize/, RangeError);
  err(null, /config must be an object/);
  // Defaults: untied when the sizes differ, tied when they agree.
  t.false(BiGruStudent.create({ vocabSize: 50, embDim: 8, hiddenSize: 16 }).config.tieEmbeddings);
  t.deepEqual(
    { ...BiGruStudent.create({ vocabSize: 50, embDim: 8, hiddenSize: 8 }).config },
    {
      ...BIGRU_DEFAULTS,
      vocabSize: 50,
      embDim: 8,
      hiddenSize: 8,
      tieEmbeddings: true,
    }
  );
});

test('bad inputs to encode/decodeStep throw clear errors', (t) => {
  const m = BiGruStudent.create(SMALL).eval();
  const batch = Batch.from(ragged(SMALL.vocabSize, 16));
  t.throws(() => m.encode(batch.src, tensor([3, 1, 40, 2, 2], { dtype: 'int64' })), {
    instanceOf: RangeError,
    message: /every length must lie in \[1, 11\]/,
  });
  t.throws(() => m.encode(batch.src, tensor([3, 1], { dtype: 'int64' })), { message: /'srcLen' \[2\] int64 cpu disagree on the batch size/ });
  const st = m.encode(batch.src, batch.srcLen);
  t.throws(() => m.decodeStep(st, tensor([1, 1, 1, 1, 99], { dtype: 'int64' })), {
    instanceOf: RangeError,
    message: /'tokens': token ids must lie in \[0, 37\)/,
  });
  t.throws(() => m.decodeStep(st, tensor([1, 1], { dtype: 'int64' })), { message: /2 entries but the state holds 5/ });
});

// ---------------------------------------------------------------------------
// Training smoke check

function nll(m: BiGruStudent, batch: Batch): Tensor {
  const lp = m.forward(batch).logSoftmax(-1);
  const picked = lp.gather(2, batch.tgtOut.unsqueeze(2)).squeeze(2).neg();
  const mask = batch.tgtOut.ne(m.padIndex).to('float32');
  return picked.mul(mask).sum().div(batch.numTargetTokens);
}

test('training: every parameter gets a gradient; a few SGD steps lower the loss', (t) => {
  manualSeed(12);
  const m = BiGruStudent.create({ ...SMALL, attention: 'bahdanau', encoderLayers: 2, decoderLayers: 2 }).train();
  t.true(m.training);
  const batch = Batch.from(ragged(SMALL.vocabSize, 17));
  const loss0 = nll(m, batch);
  loss0.backward();
  const named = m.namedParameters();
  t.true(named.size > 20);
  for (const [name, p] of named) {
    t.true(p.requiresGrad, `${name} requires grad`);
    const g = p.grad;
    t.not(g, null, `${name} has a gradient`);
    if (g === null) continue;
    t.deepEqual(g.shape, p.shape, `${name}: grad shape`);
    const gv = floats(g);
    t.true(gv.every(Number.isFinite), `${name}: finite grad`);
    t.true(
      gv.some((x) => x !== 0),
      `${name}: non-zero grad`
    );
  }

  // Manual SGD without dropout (eval mode keeps autograd): the loss on the batch goes down.
  m.eval();
  const lr = 0.5;
  const losses: number[] = [];
  for (let step = 0; step < 6; step++) {
    for (const p of named.values()) p.zeroGrad();
    const loss = nll(m, batch);
    losses.push(Number(loss.item()));
    loss.backward();
    const updated = noGrad(() => new Map([...named].map(([n, p]) => [n, p.sub(p.grad!.mul(lr))] as [string, Tensor])));
    m.loadStateDict(updated, { strict: false });
  }
  t.true(losses[losses.length - 1] < losses[0] - 0.1, `loss went ${losses.map((x) => x.toFixed(3)).join(' -> ')}`);
});

// ---------------------------------------------------------------------------
// Size and speed of the default student (logged for the issue)

test('default BiGRU at vocab 32000: size and CPU forward time (32 x 30 tokens)', (t) => {
  manualSeed(13);
  const m = BiGruStudent.create({ vocabSize: 32000 }).eval();
  const n = m.numParameters();
  t.is(n, expectedParameters(m.config));
  const data = { src: sentences(new Array<number>(32).fill(28), 32000, 1), tgt: sentences(new Array<number>(32).fill(29), 32000, 2) };
  const batch = Batch.from(data); // src 30 tokens framed, tgtIn 30 tokens
  t.deepEqual(batch.tgtIn.shape, [32, 30]);
  noGrad(() => m.forward(batch)); // warm-up
  const runs = 3;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) noGrad(() => m.forward(batch)).dispose();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / runs;
  t.log(`numParameters ${n} (${(n / 1e6).toFixed(2)}M); forward [32, 30] -> [32, 30, 32000]: ${ms.toFixed(1)} ms (eval, noGrad, CPU)`);
  t.pass();
});
