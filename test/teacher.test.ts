// The Teacher (native/modules/xlm_transformer.*, lib/models/{teacher,config}.ts) against the PyTorch
// reference (bench/reference/xlm.py): encoder outputs, logits and incremental log-probs within 1e-4 on random
// and briefly trained weights, padded batches, language embeddings, GELU/ReLU, sinusoidal positions, weights
// made on either side; decodeStep == the causal forward; reorder; padding invariance; bit-identical round
// trips; XLM names; loading errors; the Facebook checkpoint converter; the full-size teacher.
// The reference tests are skipped, with the reason in their title, where the .venv lacks torch/safetensors.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  Batch,
  BiGruStudent,
  cat,
  full,
  loadTensors,
  manualSeed,
  noGrad,
  saveTensors,
  stack,
  Teacher,
  type Tensor,
  tensor,
  tidy,
  XLM_DEFAULTS,
} from '../lib';
import type { XlmConfig, XlmOptions } from '../lib';
import { beamSearch, greedy } from '../lib/decode';
import { startWithoutGrad } from '../lib/tensor/runtime';
import { closeReal as closeWithin } from './helpers/compare';
import { checkReorderScenario } from './helpers/reorder-scenario';
import { referenceUnavailable, runPython, runPythonCode } from './helpers/python';

const why = referenceUnavailable();
if (why) console.warn(`[teacher.test] PyTorch reference tests skipped: ${why}`);
const ref = why ? test.skip : test;
const skipNote = why ? ` (skipped: ${why})` : '';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'teacher-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (n: string) => path.join(dir, n);
const TOL = 1e-4;
const closeReal = (t: ExecutionContext, a: Tensor, b: Tensor, rowLens: number[], what: string, tol = TOL) => closeWithin(t, a, b, rowLens, what, tol);

const SMALL: XlmOptions = { vocabSize: 61, embDim: 32, nHeads: 4, encoderLayers: 2, decoderLayers: 2 };
const CONFIGS: Array<{ name: string; config: XlmOptions; langs: boolean; from: 'py' | 'ts' }> = [
  { name: 'gelu, learned positions, 3 languages', config: { ...SMALL, nLangs: 3 }, langs: true, from: 'py' },
  {
    name: 'relu, sinusoidal, 3-1 layers',
    config: { vocabSize: 47, embDim: 24, nHeads: 3, encoderLayers: 3, decoderLayers: 1, activation: 'relu', sinusoidalEmbeddings: true },
    langs: false,
    from: 'py',
  },
  {
    name: 'gelu, sinusoidal, 3 languages but none given, 1-3 layers',
    config: { ...SMALL, encoderLayers: 1, decoderLayers: 3, nLangs: 3, sinusoidalEmbeddings: true, maxPositions: 40 },
    langs: false,
    from: 'py',
  },
  { name: 'relu, 2 languages, weights made by Teacher.create', config: { ...SMALL, activation: 'relu', nLangs: 2 }, langs: true, from: 'ts' },
];
const SRC = [[5, 6, 7, 8, 9, 10], [11, 12], [13, 14, 15], [16]];
const TGT = [[16, 17, 18], [19], [20, 21, 22, 23, 24], [25, 26]];

const lens = (t: Tensor) => t.tolist() as number[];

/** Teacher-forced decodeStep over every target position -> [B, T, V]. */
function stepLogProbs(m: Teacher, batch: Batch): Tensor {
  return noGrad(() => {
    const state = m.encode(batch.src, batch.srcLen, batch.srcLang);
    const T = batch.tgtIn.shape[1];
    const steps: Tensor[] = [];
    for (let s = 0; s < T; s++) steps.push(m.decodeStep(state, batch.tgtIn.narrow(1, s, 1).squeeze(1), batch.tgtLang));
    return stack(steps, 1);
  });
}

const bytesOf = (t: Tensor) => Buffer.from((t.toArray() as Float32Array).buffer);

// ---------------------------------------------------------------------------
// Parity with bench/reference/xlm.py

for (const [k, { name, config, langs, from }] of CONFIGS.entries()) {
  for (const trained of [false, true]) {
    ref(`parity with the PyTorch reference: ${name}, ${trained ? 'briefly trained' : 'random'} weights${skipNote}`, async (t) => {
      const tag = `${k}-${trained}`;
      let model = file(`init-${tag}.safetensors`);
      if (from === 'py') {
        runPython('bench/reference/xlm.py', ['init', '--config', JSON.stringify(config), '--seed', String(3 + k), '--out', model]);
      } else {
        manualSeed(3 + k);
        await Teacher.create(config).save(model);
      }
      if (trained) {
        runPython('bench/reference/xlm.py', [
          'train-briefly',
          '--model',
          model,
          '--steps',
          '8',
          '--seed',
          '4',
          '--out',
          file(`trained-${tag}.safetensors`),
        ]);
        model = file(`trained-${tag}.safetensors`);
      }
      const batchJson = { src: SRC, tgt: TGT, srcLang: langs ? 1 : null, tgtLang: langs ? 0 : null };
      fs.writeFileSync(file(`batch-${tag}.json`), JSON.stringify(batchJson));
      runPython('bench/reference/xlm.py', [
        'forward',
        '--model',
        model,
        '--batch',
        file(`batch-${tag}.json`),
        '--out',
        file(`out-${tag}.safetensors`),
      ]);
      const expected = (await loadTensors(file(`out-${tag}.safetensors`))).tensors;

      const teacher = await Teacher.load(model);
      t.false(teacher.training);
      const batch = Batch.from({ src: SRC, tgt: TGT, srcLang: langs ? 1 : undefined, tgtLang: langs ? 0 : undefined });
      t.deepEqual(batch.src.tolist(), expected.get('src')!.tolist(), 'same framing and padding as the reference');
      t.deepEqual(batch.tgtIn.tolist(), expected.get('tgt_in')!.tolist());
      const srcLens = lens(batch.srcLen),
        tgtLens = lens(batch.tgtLen);

      const enc = noGrad(() => teacher.encoderOutput(teacher.encode(batch.src, batch.srcLen, batch.srcLang)));
      const logits = noGrad(() => teacher.forward(batch));
      const steps = stepLogProbs(teacher, batch);
      t.is(steps.dtype, 'float32');
      const dEnc = closeReal(t, enc, expected.get('encoder_out')!, srcLens, 'encoder output');
      const dLogits = closeReal(t, logits, expected.get('logits')!, tgtLens, 'logits');
      const dSteps = closeReal(t, steps, expected.get('step_logprobs')!, tgtLens, 'decodeStep log-probs');
      t.log(`max |diff|: encoder ${dEnc.toExponential(2)}, logits ${dLogits.toExponential(2)}, step log-probs ${dSteps.toExponential(2)}`);
    });
  }
}

// ---------------------------------------------------------------------------
// In-process properties

test('decodeStep over t steps equals the full causal forward (log_softmax), with dropout configured', (t) => {
  manualSeed(11);
  const teacher = Teacher.create({ ...SMALL, nLangs: 3, dropout: 0.3, attentionDropout: 0.2 }).eval();
  const batch = Batch.from({ src: SRC, tgt: TGT, srcLang: [0, 1, 2, 1], tgtLang: 1 });
  const fwd = noGrad(() => teacher.forward(batch).logSoftmax(-1));
  const steps = stepLogProbs(teacher, batch);
  closeReal(t, steps, fwd, lens(batch.tgtLen), 'decodeStep vs forward', 1e-5);
  const mass = steps.exp().sum(-1).tolist() as number[][];
  t.true(
    mass.flat().every((s) => Math.abs(s - 1) < 1e-5),
    'rows are normalised'
  );
});

test('padding invariance: a sentence alone == the same sentence in a padded batch (and extra pad columns)', (t) => {
  manualSeed(13);
  const teacher = Teacher.create({ ...SMALL, nLangs: 2 }).eval();
  const batch = Batch.from({ src: SRC, tgt: TGT, srcLang: 1, tgtLang: 0 });
  const all = noGrad(() => teacher.forward(batch));
  const enc = noGrad(() => teacher.encoderOutput(teacher.encode(batch.src, batch.srcLen, batch.srcLang)));
  SRC.forEach((src, i) => {
    const one = Batch.from({ src: [src], tgt: [TGT[i]], srcLang: 1, tgtLang: 0 });
    const T = one.tgtIn.shape[1],
      S = one.src.shape[1];
    closeReal(
      t,
      noGrad(() => teacher.forward(one)),
      all.narrow(0, i, 1).narrow(1, 0, T),
      [T],
      `sentence ${i}: logits`,
      1e-5
    );
    const e1 = noGrad(() => teacher.encoderOutput(teacher.encode(one.src, one.srcLen, one.srcLang)));
    closeReal(t, e1, enc.narrow(0, i, 1).narrow(1, 0, S), [S], `sentence ${i}: encoder output`, 1e-5);
  });
  // Encoder outputs are exactly zero at pads.
  const S0 = lens(batch.srcLen)[1];
  t.is(
    enc
      .narrow(0, 1, 1)
      .narrow(1, S0, enc.shape[1] - S0)
      .abs()
      .sum()
      .item(),
    0
  );
  const [B] = batch.src.shape;
  const wider = cat([batch.src, full([B, 3], teacher.padIndex, { dtype: 'int64' })], 1);
  const padded = new Batch(wider, batch.srcLen, batch.tgtIn, batch.tgtOut, batch.tgtLen, batch.srcLang, batch.tgtLang);
  closeReal(
    t,
    noGrad(() => teacher.forward(padded)),
    all,
    lens(batch.tgtLen),
    'three extra source pad columns',
    1e-5
  );
});

test('reorder: expanding, permuting and pruning hypotheses equals decoding the selected sources', (t) => {
  manualSeed(12);
  const teacher = Teacher.create(SMALL).eval();
  const batch = Batch.from({ src: SRC.slice(0, 3) });
  const perm = [2, 0, 1, 1];
  const permuted = Batch.from({ src: perm.map((i) => SRC[i]) });
  const tok = (ids: number[]) => tensor(ids, { dtype: 'int64' });
  noGrad(() => {
    const a = teacher.encode(batch.src, batch.srcLen);
    const b = teacher.encode(permuted.src, permuted.srcLen);
    teacher.decodeStep(a, tok([1, 1, 1]));
    teacher.decodeStep(b, tok([1, 1, 1, 1]));
    teacher.reorder(a, tok(perm));
    t.is(a.size, 4);
    closeReal(
      t,
      teacher.decodeStep(a, tok([30, 31, 32, 33])).unsqueeze(1),
      teacher.decodeStep(b, tok([30, 31, 32, 33])).unsqueeze(1),
      [1, 1, 1, 1],
      'after expanding',
      1e-5
    );
    // Prune to rows [3, 0] of the expanded state (= sources 1 and 2).
    teacher.reorder(a, tok([3, 0]));
    teacher.reorder(b, tok([3, 0]));
    t.is(a.size, 2);
    const x = teacher.decodeStep(a, tok([40, 41]));
    closeReal(t, x.unsqueeze(1), teacher.decodeStep(b, tok([40, 41])).unsqueeze(1), [1, 1], 'after pruning', 1e-5);
    // And against a fresh run of just those two sources.
    const fresh = Batch.from({
      src: [SRC[1], SRC[2]],
      tgt: [
        [33, 40],
        [30, 41],
      ],
    });
    const lp = teacher.forward(fresh).logSoftmax(-1).narrow(1, 2, 1);
    closeReal(t, x.unsqueeze(1), lp, [1, 1], 'vs a fresh forward', 1e-5);
  });
});

test('reorder: beam-style groups (expand, shuffle within sentences, drop one) and an arbitrary order equal a fresh forward', (t) => {
  manualSeed(13);
  checkReorderScenario(t, Teacher.create(SMALL).eval(), SRC.slice(0, 3));
});

test('encodeAsync / decodeStepAsync agree with the sync calls', async (t) => {
  manualSeed(14);
  const teacher = Teacher.create(SMALL).eval();
  const batch = Batch.from({ src: SRC });
  const a = teacher.encode(batch.src, batch.srcLen);
  const b = await teacher.encodeAsync(batch.src, batch.srcLen);
  const tok = full([SRC.length], 1, { dtype: 'int64' });
  // Without gradients (how decoding runs: the fused one-query attention) and with them (LibTorch's ops, so
  // autograd can follow), the async call runs what the sync one runs. (Not to the bit: MKL may split a product
  // differently while other tests' steps run on the worker pool.)
  const same = (x: Tensor, y: Tensor, what: string) => t.true((x.sub(y).abs().max().item() as number) < 1e-6, what);
  same(
    noGrad(() => teacher.decodeStep(a, tok)),
    await startWithoutGrad(() => teacher.decodeStepAsync(b, tok)),
    'without gradients'
  );
  same(teacher.decodeStep(a, tok), await teacher.decodeStepAsync(b, tok), 'with gradients');
});

test('beam search and greedy decode with the teacher (languages, pruning); their log-probs rescore under forward', async (t) => {
  manualSeed(18);
  const teacher = Teacher.create({ ...SMALL, nLangs: 2 }).eval();
  const batch = Batch.from({ src: SRC, srcLang: 0, tgtLang: 1 });
  for (const [name, out] of [
    ['beam', await beamSearch(teacher, batch, { beamSize: 4, maxLength: 6 })],
    ['greedy', await greedy(teacher, batch, { maxLength: 6 })],
  ] as const) {
    t.is(out.length, SRC.length, name);
    out.forEach((hyps, i) => {
      const h = hyps[0];
      t.true(h.tokens.length <= 6, `${name} ${i}: length`);
      const one = Batch.from({ src: [SRC[i]], tgt: [h.tokens], srcLang: 0, tgtLang: 1 });
      const lp = noGrad(() => teacher.forward(one).logSoftmax(-1).gather(2, one.tgtOut.unsqueeze(2)).reshape(-1));
      const rescored = (lp.tolist() as number[]).slice(0, h.tokenLogProbs.length);
      rescored.forEach((x, k) => t.true(Math.abs(x - h.tokenLogProbs[k]) < 1e-4, `${name} ${i} token ${k}: ${x} vs ${h.tokenLogProbs[k]}`));
    });
  }
});

test('forwardHidden + outputProjection == forward; the projection is the decoder embedding matrix', (t) => {
  manualSeed(15);
  const teacher = Teacher.create(SMALL).eval();
  const batch = Batch.from({ src: SRC, tgt: TGT });
  const { weight, bias } = teacher.outputProjection();
  t.deepEqual(weight.shape, [61, 32]);
  t.deepEqual(bias!.shape, [61]);
  t.deepEqual(bytesOf(weight), bytesOf(teacher.stateDict().get('decoder.embeddings.weight')!));
  const h = noGrad(() => teacher.forwardHidden(batch));
  t.deepEqual(h.shape, [4, batch.tgtIn.shape[1], 32]);
  const via = noGrad(() => h.matmul(weight.transpose(0, 1)).add(bias!));
  closeReal(
    t,
    via,
    noGrad(() => teacher.forward(batch)),
    lens(batch.tgtLen),
    'hidden·Wᵀ + b',
    1e-5
  );
});

test('training mode: dropout is active, every used parameter gets a gradient, eval is deterministic', (t) => {
  manualSeed(16);
  const teacher = Teacher.create({ ...SMALL, nLangs: 2, dropout: 0.3 });
  t.true(teacher.training);
  const batch = Batch.from({ src: SRC, tgt: TGT, srcLang: 0, tgtLang: 1 });
  const logits = teacher.forward(batch);
  const lp = logits.logSoftmax(-1).gather(2, batch.tgtOut.unsqueeze(2)).squeeze(2);
  lp.mul(batch.tgtOut.ne(teacher.padIndex).to('float32')).sum().neg().backward();
  for (const [name, p] of teacher.namedParameters()) {
    if (name === 'encoder.pred_layer.proj.bias') continue; // the encoder's output layer is unused in MT (as in XLM)
    const g = p.grad;
    t.not(g, null, `${name} has a gradient`);
    if (g) t.true((g.abs().sum().item() as number) > 0, `${name}: non-zero gradient`);
  }
  const again = noGrad(() => teacher.forward(batch));
  t.true((again.sub(logits.detach()).abs().max().item() as number) > 1e-3, 'dropout changes training outputs');
  teacher.eval();
  t.deepEqual(noGrad(() => teacher.forward(batch)).tolist(), noGrad(() => teacher.forward(batch)).tolist());
});

test('to(float64) keeps the outputs (within float32 precision); decodeStep still returns float32', (t) => {
  manualSeed(17);
  const teacher = Teacher.create({ ...SMALL, sinusoidalEmbeddings: true }).eval();
  const batch = Batch.from({ src: SRC, tgt: TGT });
  const a = noGrad(() => teacher.forward(batch));
  teacher.to('cpu', 'float64');
  const b = noGrad(() => teacher.forward(batch));
  t.is(b.dtype, 'float64');
  closeReal(t, b.to('float32'), a, lens(batch.tgtLen), 'float64 vs float32', 1e-4);
  t.is(stepLogProbs(teacher, batch).dtype, 'float32');
});

/** Parameters by formula (per side: embeddings, positions, languages, LayerNorms, layers, output bias). */
function expectedParameters(c: XlmConfig): number {
  const { vocabSize: V, embDim: D } = c;
  const attn = 4 * (D * D + D),
    ln = 2 * D,
    ffn = 4 * D * D + 4 * D + 4 * D * D + D;
  const side = (layers: number, decoder: boolean) =>
    V * D +
    (c.sinusoidalEmbeddings ? 0 : c.maxPositions * D) +
    (c.nLangs > 1 ? c.nLangs * D : 0) +
    ln +
    layers * (attn + ln + ffn + ln + (decoder ? attn + ln : 0)) +
    V;
  return side(c.encoderLayers, false) + side(c.decoderLayers, true);
}

test("stateDict uses XLM's names; the output projection is tied; numParameters counts it once", (t) => {
  const teacher = Teacher.create({ vocabSize: 40, embDim: 16, nHeads: 2, encoderLayers: 2, decoderLayers: 1, nLangs: 2 });
  const names = [...teacher.stateDict().keys()];
  const side = (s: string, layers: number, decoder: boolean) => [
    `${s}.position_embeddings.weight`,
    `${s}.lang_embeddings.weight`,
    `${s}.embeddings.weight`,
    `${s}.layer_norm_emb.weight`,
    `${s}.layer_norm_emb.bias`,
    ...Array.from({ length: layers }, (_, i) => [
      ...['q_lin', 'k_lin', 'v_lin', 'out_lin'].flatMap((l) => [`${s}.attentions.${i}.${l}.weight`, `${s}.attentions.${i}.${l}.bias`]),
      `${s}.layer_norm1.${i}.weight`,
      `${s}.layer_norm1.${i}.bias`,
      `${s}.ffns.${i}.lin1.weight`,
      `${s}.ffns.${i}.lin1.bias`,
      `${s}.ffns.${i}.lin2.weight`,
      `${s}.ffns.${i}.lin2.bias`,
      `${s}.layer_norm2.${i}.weight`,
      `${s}.layer_norm2.${i}.bias`,
      ...(decoder
        ? [
            `${s}.layer_norm15.${i}.weight`,
            `${s}.layer_norm15.${i}.bias`,
            ...['q_lin', 'k_lin', 'v_lin', 'out_lin'].flatMap((l) => [`${s}.encoder_attn.${i}.${l}.weight`, `${s}.encoder_attn.${i}.${l}.bias`]),
          ]
        : []),
    ]).flat(),
    `${s}.pred_layer.proj.weight`,
    `${s}.pred_layer.proj.bias`,
  ];
  t.deepEqual([...names].sort(), [...side('encoder', 2, false), ...side('decoder', 1, true)].sort());
  const sd = teacher.stateDict();
  t.deepEqual(sd.get('decoder.ffns.0.lin1.weight')!.shape, [64, 16]); // FFN is 4·dim
  t.deepEqual(sd.get('encoder.position_embeddings.weight')!.shape, [512, 16]);
  // Tied: one parameter under two names in the state dict.
  t.false(teacher.namedParameters().has('decoder.pred_layer.proj.weight'));
  t.deepEqual(bytesOf(sd.get('decoder.pred_layer.proj.weight')!), bytesOf(sd.get('decoder.embeddings.weight')!));
  t.is(teacher.numParameters(), expectedParameters(teacher.config));
  // XLM's init: pad row zero, embeddings ~ N(0, 1/16), zero output bias, LayerNorm at one.
  t.is(sd.get('encoder.embeddings.weight')!.narrow(0, 2, 1).abs().sum().item(), 0);
  const std = Math.sqrt(sd.get('decoder.embeddings.weight')!.pow(2).mean().item() as number);
  t.true(Math.abs(std - 0.25) < 0.03, `embedding std ${std}`);
  t.is(sd.get('decoder.pred_layer.proj.bias')!.abs().sum().item(), 0);
  t.is(sd.get('encoder.layer_norm1.0.weight')!.sum().item(), 16);
  // Sinusoidal positions are not parameters.
  const sin = Teacher.create({ vocabSize: 40, embDim: 16, nHeads: 2, encoderLayers: 1, decoderLayers: 1, sinusoidalEmbeddings: true });
  t.false([...sin.stateDict().keys()].some((n) => n.includes('position_embeddings')));
});

test('loadStateDict: strict errors list names, {strict: false} reports them, bad shapes change nothing', (t) => {
  const a = Teacher.create({ vocabSize: 40, embDim: 16, nHeads: 2, encoderLayers: 2, decoderLayers: 1 });
  const b = Teacher.create({ vocabSize: 40, embDim: 16, nHeads: 2, encoderLayers: 1, decoderLayers: 1, nLangs: 2 });
  t.throws(() => b.loadStateDict(a.stateDict()), {
    message: /missing decoder\.lang_embeddings\.weight, encoder\.lang_embeddings\.weight; unexpected encoder\.attentions\.1\./,
  });
  const report = b.loadStateDict(a.stateDict(), { strict: false });
  t.true(report.unexpected.includes('encoder.attentions.1.q_lin.weight'));
  t.deepEqual(report.missing, ['decoder.lang_embeddings.weight', 'encoder.lang_embeddings.weight']);
  t.deepEqual(bytesOf(b.stateDict().get('encoder.ffns.0.lin1.weight')!), bytesOf(a.stateDict().get('encoder.ffns.0.lin1.weight')!));
  const before = bytesOf(b.stateDict().get('encoder.embeddings.weight')!.clone());
  const bad = new Map(Teacher.create({ vocabSize: 40, embDim: 16, nHeads: 2, encoderLayers: 1, decoderLayers: 1 }).stateDict());
  bad.set('decoder.ffns.0.lin1.weight', tensor([[1, 2]], { dtype: 'float32' }));
  t.throws(() => b.loadStateDict(bad, { strict: false }), { message: /decoder\.ffns\.0\.lin1\.weight' has shape \[1, 2\].*expects \[64, 16\]/ });
  t.deepEqual(bytesOf(b.stateDict().get('encoder.embeddings.weight')!), before, 'nothing was copied');
});

test('bad configs are TypeErrors/RangeErrors naming the field', (t) => {
  const err = (o: unknown, message: RegExp, Ctor: typeof TypeError | typeof RangeError = TypeError) =>
    t.throws(() => Teacher.create(o as XlmOptions), { instanceOf: Ctor, message });
  err({ vocabSize: 40, embDim: 30, nHeads: 4 }, /Teacher\.create: config\.embDim \(30\) must be divisible by config\.nHeads \(4\)/, RangeError);
  err({ vocabSize: 40, activation: 'tanh' }, /config\.activation must be one of 'gelu', 'relu', got string 'tanh'/, RangeError);
  err({ vocabSize: 40, layers: 3 }, /unknown config\.layers; expected one of vocabSize, /);
  err({ embDim: 8 }, /config\.vocabSize is required/);
  err({ vocabSize: 2 }, /config\.padIndex must be < vocabSize \(2\), got 2/, RangeError);
  err({ vocabSize: 40, unkIndex: 40 }, /config\.unkIndex must be < vocabSize \(40\), got 40/, RangeError);
  err({ vocabSize: 40, encoderLayers: 0 }, /config\.encoderLayers must be an integer >= 1, got number 0/, RangeError);
  err({ vocabSize: 40, nHeads: 2.5 }, /config\.nHeads must be an integer >= 1, got number 2\.5/);
  err({ vocabSize: 40, dropout: 1 }, /config\.dropout must be a number in \[0, 1\), got number 1/, RangeError);
  err({ vocabSize: 40, attentionDropout: '0.1' }, /config\.attentionDropout must be a number in \[0, 1\), got string '0\.1'/);
  err({ vocabSize: 40, sinusoidalEmbeddings: 1 }, /config\.sinusoidalEmbeddings must be a boolean/);
  err(null, /config must be an object/);
  t.deepEqual(
    { ...Teacher.create({ vocabSize: 40, embDim: 16, nHeads: 2, encoderLayers: 1, decoderLayers: 1 }).config },
    { ...XLM_DEFAULTS, vocabSize: 40, embDim: 16, nHeads: 2, encoderLayers: 1, decoderLayers: 1 }
  );
});

test('bad inputs to forward/encode/decodeStep are clear errors', (t) => {
  const teacher = Teacher.create({ vocabSize: 40, embDim: 16, nHeads: 2, encoderLayers: 1, decoderLayers: 1, nLangs: 2, maxPositions: 8 }).eval();
  t.throws(() => teacher.forward(Batch.from({ src: [[5, 99]] })), { instanceOf: RangeError, message: /token ids must lie in \[0, 40\)/ });
  t.throws(() => teacher.forward(Batch.from({ src: [[5, 5, 5, 5, 5, 5, 5]] })), {
    instanceOf: RangeError,
    message: /'batch\.src' is 9 tokens wide but the model has only 8 positions/,
  });
  t.throws(() => teacher.forward(Batch.from({ src: [[5]], srcLang: 2 })), {
    instanceOf: RangeError,
    message: /'batch\.srcLang' holds a language id outside \[0, 2\)/,
  });
  const batch = Batch.from({ src: [[5, 6], [7]] });
  t.throws(() => teacher.encode(batch.src, tensor([5, 3], { dtype: 'int64' })), {
    instanceOf: RangeError,
    message: /every length must lie in \[1, 4\]/,
  });
  t.throws(() => teacher.encode(batch.src, tensor([4], { dtype: 'int64' })), { message: /disagree on the batch size/ });
  t.throws(() => teacher.encode(batch.src, batch.srcLen, tensor([0, 1, 1], { dtype: 'int64' })), { message: /'srcLang' must be \[2\] or \[2, 4\]/ });
  noGrad(() => {
    const st = teacher.encode(batch.src, batch.srcLen);
    const tok = tensor([1, 1], { dtype: 'int64' });
    t.throws(() => teacher.decodeStep(st, tensor([1, 40], { dtype: 'int64' })), { instanceOf: RangeError, message: /\[0, 40\)/ });
    for (let i = 0; i < 8; i++) teacher.decodeStep(st, tok);
    t.throws(() => teacher.decodeStep(st, tok), { instanceOf: RangeError, message: /position 8 is beyond the model's 8 positions/ });
    const gru = BiGruStudent.create({ vocabSize: 40, embDim: 8, hiddenSize: 8 });
    const other = gru.encode(batch.src, batch.srcLen);
    t.throws(() => teacher.decodeStep(other, tok), { message: /comes from another kind of model's encode\(\)/ });
  });
});

test('Teacher.load: clear errors for truncated, missing, foreign and untied files and bad metadata', async (t) => {
  const teacher = Teacher.create({ vocabSize: 40, embDim: 16, nHeads: 2, encoderLayers: 1, decoderLayers: 1 });
  await teacher.save(file('ok.safetensors'));
  const back = await Teacher.load(file('ok.safetensors'));
  t.deepEqual({ ...back.config }, { ...teacher.config });
  const bytes = fs.readFileSync(file('ok.safetensors'));
  fs.writeFileSync(file('truncated.safetensors'), bytes.subarray(0, bytes.length - 100));
  await t.throwsAsync(() => Teacher.load(file('truncated.safetensors')), { message: /truncated/ });
  await t.throwsAsync(() => Teacher.load(file('missing.safetensors')), { message: /missing\.safetensors/ });
  await BiGruStudent.create({ vocabSize: 40, embDim: 8, hiddenSize: 8 }).save(file('bigru.safetensors'));
  await t.throwsAsync(() => Teacher.load(file('bigru.safetensors')), { message: /holds a 'bigru-student' model, not a 'xlm-teacher'/ });
  const sd = teacher.stateDict();
  const cfg = JSON.stringify(teacher.config);
  await saveTensors(file('nometa.safetensors'), sd, {});
  await t.throwsAsync(() => Teacher.load(file('nometa.safetensors')), { message: /no 'model_type' metadata/ });
  await saveTensors(file('nocfg.safetensors'), sd, { model_type: 'xlm-teacher' });
  await t.throwsAsync(() => Teacher.load(file('nocfg.safetensors')), { message: /no 'config' metadata/ });
  await saveTensors(file('badcfg.safetensors'), sd, { model_type: 'xlm-teacher', config: JSON.stringify({ ...teacher.config, nHeads: 3 }) });
  await t.throwsAsync(() => Teacher.load(file('badcfg.safetensors')), {
    message: /bad config: config\.embDim \(16\) must be divisible by config\.nHeads \(3\)/,
  });
  const untied = new Map(sd);
  untied.set('decoder.pred_layer.proj.weight', sd.get('decoder.pred_layer.proj.weight')!.add(1));
  await saveTensors(file('untied.safetensors'), untied, { model_type: 'xlm-teacher', config: cfg });
  await t.throwsAsync(() => Teacher.load(file('untied.safetensors')), {
    message: /decoder\.pred_layer\.proj\.weight differs from decoder\.embeddings\.weight/,
  });
  const fewer = new Map(sd);
  fewer.delete('encoder.layer_norm2.0.bias');
  await saveTensors(file('fewer.safetensors'), fewer, { model_type: 'xlm-teacher', config: cfg });
  await t.throwsAsync(() => Teacher.load(file('fewer.safetensors')), {
    message: /Teacher\.load\(.*\): state dict does not match the model: missing encoder\.layer_norm2\.0\.bias/,
  });
  await saveTensors(file('shape.safetensors'), sd, { model_type: 'xlm-teacher', config: JSON.stringify({ ...teacher.config, vocabSize: 41 }) });
  await t.throwsAsync(() => Teacher.load(file('shape.safetensors')), { message: /has shape/ });
});

// ---------------------------------------------------------------------------
// Files both ways, the converter

ref(`round trip PyTorch -> safetensors -> Teacher -> safetensors -> PyTorch is bit-identical${skipNote}`, async (t) => {
  for (const [i, { config }] of CONFIGS.entries()) {
    runPython('bench/reference/xlm.py', ['init', '--config', JSON.stringify(config), '--seed', '5', '--out', file(`rt-${i}.safetensors`)]);
    const teacher = await Teacher.load(file(`rt-${i}.safetensors`));
    await teacher.save(file(`rt-${i}-back.safetensors`));
    const out = runPythonCode(`
import json, torch, xlm
a, ma = xlm.read_safetensors(${JSON.stringify(file(`rt-${i}.safetensors`))})
b, mb = xlm.read_safetensors(${JSON.stringify(file(`rt-${i}-back.safetensors`))})
same = a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k]) for k in a)
bits = all(a[k].view(torch.int32).equal(b[k].view(torch.int32)) for k in a)
model, cfg = xlm.load_safetensors(${JSON.stringify(file(`rt-${i}-back.safetensors`))})
print(json.dumps({"same": same, "bits": bits, "n": len(a), "config": json.loads(ma["config"]) == json.loads(mb["config"]), "type": mb["model_type"]}))`);
    const r = JSON.parse(out) as { same: boolean; bits: boolean; n: number; config: boolean; type: string };
    t.true(r.same && r.bits, `tensors of config ${i} identical (${r.n} tensors)`);
    t.true(r.config);
    t.is(r.type, 'xlm-teacher');
  }
});

ref(`a synthetic Facebook XLM checkpoint converts, loads, matches the Python model and converts back${skipNote}`, async (t) => {
  const config = { vocabSize: 53, embDim: 32, nHeads: 4, encoderLayers: 2, decoderLayers: 2, nLangs: 2 };
  runPythonCode(`
import json, torch, test_reference as tr, xlm
model = tr.perturbed_model(${JSON.stringify(config)}, seed=9)
c = model.config
ckpt = {"encoder": tr.xlm_state_dict(model.encoder, c, "module."), "decoder": tr.xlm_state_dict(model.decoder, c, "module."),
        "params": tr.xlm_params(c), "dico_id2word": dict(enumerate(tr.vocab_for(c)))}
torch.save(ckpt, ${JSON.stringify(file('fb.pth'))})
b = xlm.make_batch(${JSON.stringify(SRC)}, ${JSON.stringify(TGT)}, c)
with torch.no_grad():
    logits = model(b["src"], b["src_len"], b["tgt_in"], b["tgt_len"], 1, 0)
from safetensors.torch import save_file
save_file({"logits": logits.contiguous()}, ${JSON.stringify(file('fb-logits.safetensors'))})`);
  runPython('tools/convert-xlm-checkpoint.py', [file('fb.pth'), file('fb.safetensors'), '--vocab', file('fb-vocab.txt')]);
  const teacher = await Teacher.load(file('fb.safetensors'));
  t.deepEqual(JSON.parse(teacher.extraMetadata.langs), ['l0', 'l1']);
  t.is(teacher.extraMetadata.source, 'xlm-trainer');
  const batch = Batch.from({ src: SRC, tgt: TGT, srcLang: 1, tgtLang: 0 });
  const logits = noGrad(() => teacher.forward(batch));
  const expected = (await loadTensors(file('fb-logits.safetensors'))).tensors.get('logits')!;
  const d = closeReal(t, logits, expected, lens(batch.tgtLen), 'converted checkpoint logits');
  t.log(`max |diff| ${d.toExponential(2)}`);
  t.is(fs.readFileSync(file('fb-vocab.txt'), 'utf8').split('\n')[1], '</s>');
  // Teacher -> safetensors (metadata kept) -> XLM .pth: the original checkpoint's weights, bit for bit.
  await teacher.save(file('fb-back.safetensors'));
  runPython('tools/convert-xlm-checkpoint.py', ['--to-xlm', file('fb-back.safetensors'), file('fb-back.pth'), '--vocab', file('fb-vocab.txt')]);
  const r = JSON.parse(
    runPythonCode(`
import json, torch, test_reference as tr
a = torch.load(${JSON.stringify(file('fb.pth'))}, weights_only=True)
b = torch.load(${JSON.stringify(file('fb-back.pth'))}, weights_only=True)
same = all(tr.strip(a[s]).keys() == b[s].keys() and all(torch.equal(tr.strip(a[s])[k], b[s][k]) for k in b[s]) for s in ("encoder", "decoder"))
print(json.dumps({"same": same, "id2lang": b["params"]["id2lang"] == a["params"]["id2lang"], "mt_steps": b["params"].get("mt_steps") == a["params"]["mt_steps"]}))`)
  ) as Record<string, boolean>;
  t.deepEqual(r, { same: true, id2lang: true, mt_steps: true });
});

// ---------------------------------------------------------------------------
// The full-size teacher (size and timing vs the reference: bench/students.js)

test('a 6+6-layer, 512-dim, 8-head teacher with a 32k vocabulary builds, saves, loads and runs', async (t) => {
  manualSeed(0);
  const teacher = Teacher.create({ vocabSize: 32000 }).eval();
  t.like(teacher.config, { encoderLayers: 6, decoderLayers: 6, embDim: 512, nHeads: 8, activation: 'gelu' });
  const n = teacher.numParameters();
  t.is(n, expectedParameters(teacher.config));
  t.log(`parameters: ${(n / 1e6).toFixed(1)}M`);
  await teacher.save(file('big.safetensors'));
  const back = await Teacher.load(file('big.safetensors'));
  const src = Array.from({ length: 4 }, (_, i) => Array.from({ length: 28 }, (_, j) => 4 + ((i * 31 + j * 7) % 31000)));
  const batch = Batch.from({ src, tgt: src.map((s) => s.concat(9)) });
  const [a, b] = noGrad(() => [teacher.forward(batch), back.forward(batch)]);
  t.deepEqual(a.shape, [4, 30, 32000]);
  t.is(
    tidy(() => a.ne(b).sum().item()),
    0,
    'loaded weights give identical logits'
  );
  fs.rmSync(file('big.safetensors'));
});
