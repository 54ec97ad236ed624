// Fast decoding (lib/models prepack/quantize, lib/data/shortlist): on a toy teacher trained until its
// reversals are confident, prepacked, int8 and shortlist decoding give the float32 beam's best hypotheses;
// the int8 forward equals torch.ao's quantize_dynamic (per-channel qconfig) on the same layers; an int8 model
// round-trips through save/load bit-identically and its file is smaller; the shortlist's lists are the hand-
// worked co-occurrence ranking; every misuse is a clear error.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  Batch,
  beamSearch,
  BiGruStudent,
  greedy,
  loadModel,
  loadTensors,
  manualSeed,
  saveTensors,
  Shortlist,
  Teacher,
  type Tensor,
  tensor,
  train,
} from '../lib';
import { referenceUnavailable, runPythonCode } from './helpers/python';
import { toyCopyPairs } from './helpers/toy-training';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-inference-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

const CONFIG = { vocabSize: 24, embDim: 32, nHeads: 2, encoderLayers: 2, decoderLayers: 2, dropout: 0, attentionDropout: 0, maxPositions: 64 };
const trainPairs = toyCopyPairs(400, 21);
const heldOut = toyCopyPairs(24, 99);

// One trained float32 teacher for every test (each converts its own copy).
const trained = (async () => {
  manualSeed(4);
  const model = Teacher.create(CONFIG);
  // Without label smoothing, so the model grows confident: the margins below need it.
  await train(model, {
    data: trainPairs,
    maxSteps: 300,
    log: null,
    optimizer: { lr: 3e-3 },
    schedule: () => 3e-3,
    batching: { maxTokens: 400 },
    dropout: false,
    labelSmoothing: 0,
  });
  const file = path.join(tmp, 'fp32.safetensors');
  await model.save(file);
  return file;
})();

async function fresh(): Promise<Teacher> {
  return Teacher.load(await trained);
}

const batch = () => Batch.from({ src: heldOut.map((p) => p.src), tgt: heldOut.map((p) => p.tgt) });

async function best(model: Teacher, opts = {}) {
  return (await beamSearch(model, batch(), { beamSize: 4, nBest: 2, ...opts })).map((h) => ({
    tokens: h[0].tokens,
    margin: h[0].score - (h[1]?.score ?? -Infinity),
  }));
}

test('the toy teacher learned the task (the premise of the comparisons below)', async (t) => {
  const hyps = await best(await fresh());
  const right = hyps.filter((h, i) => h.tokens.join() === heldOut[i].tgt.join()).length;
  t.true(right >= 20, `${right}/24 reversals right`);
});

test('prepacked decoding gives the float32 best hypotheses and the same logits to float32 rounding', async (t) => {
  const m = await fresh();
  const ref = await best(m);
  const logits = m.forward(batch());
  m.prepack();
  t.is(m.inference, 'packed');
  t.true((m.forward(batch()).sub(logits).abs().max().item() as number) < 1e-4);
  t.deepEqual(
    (await best(m)).map((h) => h.tokens),
    ref.map((h) => h.tokens)
  );
});

test('int8 decoding gives the float32 best hypothesis wherever its margin is large', async (t) => {
  const m = await fresh();
  const ref = await best(m);
  m.quantize({ dtype: 'int8' });
  t.is(m.inference, 'int8');
  const q = await best(m);
  const confident = ref.map((h, i) => i).filter((i) => ref[i].margin > 0.5);
  t.true(confident.length >= 18, `${confident.length} sentences with a margin > 0.5`);
  for (const i of confident) t.deepEqual(q[i].tokens, ref[i].tokens, `sentence ${i}`);
  const g = await greedy(m, batch());
  t.true(g.filter((h, i) => h[0].tokens.join() === ref[i].tokens.join()).length >= confident.length);
});

test('decode steps (fused one-query attention; prepacked: q/k/v in one call) equal the forward; int8 steps stay near float32', async (t) => {
  const pairs = heldOut.slice(0, 6);
  const b = Batch.from({ src: pairs.map((p) => p.src), tgt: pairs.map((p) => p.tgt) });
  // Log-probs of every real target position, teacher-forced step by step.
  const steps = async (m: Teacher) => {
    const state = await m.encodeAsync(b.src, b.srcLen);
    const out: Tensor[] = [];
    for (let step = 0; step < b.tgtIn.shape[1]; step++) out.push(await m.decodeStepAsync(state, b.tgtIn.narrow(1, step, 1).squeeze(1).contiguous()));
    return out;
  };
  const maxDiff = (a: Tensor[], get: (step: number) => Tensor) => {
    let worst = 0;
    a.forEach((lp, step) =>
      pairs.forEach((p, i) => {
        if (step <= p.tgt.length)
          worst = Math.max(
            worst,
            lp
              .narrow(0, i, 1)
              .sub(get(step).narrow(0, i, 1))
              .abs()
              .max()
              .item() as number
          );
      })
    );
    return worst;
  };
  const fp32Model = await fresh();
  const fp32 = await steps(fp32Model);
  // Every eval step's attention is the fused one-query kernel (native/inference/step_attention).
  const fp32Forward = fp32Model.forward(b).logSoftmax(-1);
  const fd = maxDiff(fp32, (step) => fp32Forward.narrow(1, step, 1).squeeze(1));
  t.true(fd < 1e-4, `float32: max |step - forward| = ${fd}`);
  const packed = (await fresh()).prepack();
  const forward = packed.forward(b).logSoftmax(-1);
  const pd = maxDiff(await steps(packed), (step) => forward.narrow(1, step, 1).squeeze(1));
  t.true(pd < 1e-4, `prepacked: max |step - forward| = ${pd}`);
  // int8 quantizes each call's input as a whole, so its steps cannot equal its forward; they stay near float32.
  const qd = maxDiff(await steps((await fresh()).quantize({ dtype: 'int8' })), (step) => fp32[step]);
  t.true(qd < 0.5, `int8: max |step - float32 step| = ${qd}`);
  t.log(`float32 step vs forward ${fd.toExponential(1)}; prepacked ${pd.toExponential(1)}; int8 step vs float32 ${qd.toFixed(3)}`);
});

test('int8 forward equals torch.ao quantize_dynamic (per-channel) on the same layers', async (t) => {
  const why = referenceUnavailable();
  if (why) return t.log(`skipped: ${why}`);
  const file = await trained;
  const m = (await fresh()).quantize({ dtype: 'int8' });
  const b = batch();
  const ours = m.forward(b);
  const out = path.join(tmp, 'ref-logits.safetensors');
  runPythonCode(`
import torch, xlm
from safetensors.torch import save_file
from torch.ao.quantization import quantize_dynamic, per_channel_dynamic_qconfig
model, config = xlm.load_safetensors(${JSON.stringify(file)})
names = [n for n, mod in model.named_modules() if isinstance(mod, torch.nn.Linear) and n.startswith('decoder.')]
model = quantize_dynamic(model, {n: per_channel_dynamic_qconfig for n in names}, dtype=torch.qint8)
src = ${JSON.stringify(heldOut.map((p) => p.src))}
batch = xlm.make_batch(src, ${JSON.stringify(heldOut.map((p) => p.tgt))}, config)
with torch.no_grad():
    logits = model(batch['src'], batch['src_len'], batch['tgt_in'], batch['tgt_len'])
save_file({'logits': logits.contiguous(), 'n': torch.tensor(len(names))}, ${JSON.stringify(out)})
`);
  const ref = (await loadTensors(out)).tensors;
  // Every decoder linear of the reference model (q/k/v/out of both attentions, the FFN, the output layer) was quantized.
  t.is(Number(ref.get('n')!.item()), CONFIG.decoderLayers * 10 + 1);
  const diff = ours.sub(ref.get('logits')!).abs().max().item() as number;
  t.true(diff < 1e-6, `max |ours - torch.ao| = ${diff}`);
  t.log(`max |int8 ours - int8 torch.ao| = ${diff}`);
});

test('an int8 model round-trips through save/load (same logits, smaller file) and a BiGRU one too', async (t) => {
  const m = (await fresh()).quantize({ dtype: 'int8' });
  const file = path.join(tmp, 'int8.safetensors');
  await m.save(file);
  const back = await loadModel(file);
  t.is(back.inference, 'int8');
  t.is(back.forward(batch()).sub(m.forward(batch())).abs().max().item(), 0);
  t.deepEqual(
    (await best(back as Teacher)).map((h) => h.tokens),
    (await best(m)).map((h) => h.tokens)
  );
  t.true(fs.statSync(file).size < fs.statSync(await trained).size, `${fs.statSync(file).size} vs ${fs.statSync(await trained).size} bytes`);
  const names = [...(await loadTensors(file)).tensors.keys()];
  t.true(
    names.includes('decoder.ffns.0.lin1.weight.int8') &&
      names.includes('decoder.ffns.0.lin1.weight.scale') &&
      !names.includes('decoder.ffns.0.lin1.weight')
  );
  // The output layer is tied to the embeddings: the embeddings stay float32, the int8 copy sits beside them.
  t.true(names.includes('decoder.embeddings.weight') && names.includes('decoder.pred_layer.proj.weight.int8'));

  manualSeed(3);
  const g = BiGruStudent.create({ vocabSize: 24, embDim: 16, hiddenSize: 16 }).eval();
  const logits = g.forward(batch());
  g.quantize({ dtype: 'int8' });
  const qLogits = g.forward(batch());
  t.true((qLogits.sub(logits).abs().max().item() as number) < 0.05);
  const gFile = path.join(tmp, 'bigru-int8.safetensors');
  await g.save(gFile);
  const gBack = await loadModel(gFile);
  t.is(gBack.inference, 'int8');
  t.is(gBack.forward(batch()).sub(qLogits).abs().max().item(), 0);
  // The decoder GRU's gate projections are int8 too.
  const gNames = [...(await loadTensors(gFile)).tensors.keys()];
  t.true(
    ['ih', 'hh'].every((k) => gNames.includes(`decoder.rnn.weight_${k}_l0.int8`) && !gNames.includes(`decoder.rnn.weight_${k}_l0`)),
    gNames.join(' ')
  );
});

// A 2-layer decoder GRU, so the per-layer hand-off of the kernel-driven cell is covered.
const GRU_CONFIG = { vocabSize: 24, embDim: 16, hiddenSize: 16, encoderLayers: 1, decoderLayers: 2, attention: 'bahdanau' as const };

test("a prepacked BiGRU (its decoder GRU cell run gate by gate through the kernels) equals LibTorch's GRU", async (t) => {
  manualSeed(5);
  const g = BiGruStudent.create(GRU_CONFIG).eval();
  const logits = g.forward(batch());
  g.prepack();
  const diff = g.forward(batch()).sub(logits).abs().max().item() as number;
  t.true(diff < 1e-5, `max |prepacked - float32| = ${diff}`);
  t.log(`prepacked BiGRU vs float32: ${diff.toExponential(1)}`);
});

test("an int8 BiGRU is PyTorch's int8 arithmetic: per-channel weights, fbgemm dynamic linears, the GRU cell gate by gate", async (t) => {
  const why = referenceUnavailable();
  if (why) return t.log(`skipped: ${why}`);
  manualSeed(6);
  const g = BiGruStudent.create({ ...GRU_CONFIG, embDim: 64, hiddenSize: 64 }).eval();
  const file = path.join(tmp, 'bigru-fp32.safetensors');
  await g.save(file);
  const b = batch();
  const fp32 = g.forward(b);
  g.quantize({ dtype: 'int8' });
  const ours = g.forward(b);
  const out = path.join(tmp, 'ref-bigru-logits.safetensors');
  // The reference model (bench/reference/bigru.py) stepped in PyTorch with torch.ao's per-channel observer,
  // quantized::linear_prepack / linear_dynamic (reduce_range) and LibTorch's GRU cell formula; and, for the
  // log, torch.ao's quantize_dynamic on the same layers (its quantized GRU module rounds the gate arithmetic
  // its own way, ~6e-8 a step, which a dynamic input scale can turn into a flipped rounding).
  runPythonCode(`
import torch, bigru
from safetensors.torch import save_file
from torch.ao.quantization import quantize_dynamic, per_channel_dynamic_qconfig
model = bigru.load(${JSON.stringify(file)}).eval()
def pack(w, b):
    obs = per_channel_dynamic_qconfig.weight(); obs(w); scale, zero = obs.calculate_qparams()
    q = torch.quantize_per_channel(w.detach(), scale.double(), zero.long(), 0, torch.qint8)
    return torch.ops.quantized.linear_prepack(q, None if b is None else b.detach())
lin = lambda x, p: torch.ops.quantized.linear_dynamic(x, p, True)
rnn = model.decoder.rnn
cells = [(pack(getattr(rnn, f'weight_ih_l{l}'), getattr(rnn, f'bias_ih_l{l}')), pack(getattr(rnn, f'weight_hh_l{l}'), getattr(rnn, f'bias_hh_l{l}'))) for l in range(rnn.num_layers)]
combine, proj = pack(model.decoder.combine.weight, None), pack(model.decoder.proj.weight, model.decoder.proj.bias)
def step(s, emb):
    x, states = torch.cat([emb, s.prev_attn], 1), []
    for l, (ih, hh) in enumerate(cells):
        h = s.hidden[l]
        gi, gh = lin(x, ih).chunk(3, 1), lin(h, hh).chunk(3, 1)
        r, z = (gh[0] + gi[0]).sigmoid(), (gh[1] + gi[1]).sigmoid()
        n = (gi[2] + gh[2] * r).tanh()
        x = (h - n) * z + n
        states.append(x)
    s.hidden = torch.stack(states)
    align = torch.softmax(model.decoder.attention.scores(s.keys, x).masked_fill(s.pad_mask, float('-inf')), -1)
    context = torch.bmm(align.unsqueeze(1), s.memory).squeeze(1)
    s.prev_attn = torch.tanh(lin(torch.cat([context, x], 1), combine))
    return s.prev_attn
src, src_len, tgt_in = (torch.tensor(x) for x in ${JSON.stringify([b.src.toArray(), b.srcLen.toArray(), b.tgtIn.toArray()].map((a) => Array.from(a as BigInt64Array, Number)))})
B = src_len.shape[0]
src, tgt_in = src.view(B, -1), tgt_in.view(B, -1)
with torch.no_grad():
    s = model.encode(src, src_len)
    emb = model.decoder.embeddings(tgt_in)
    by_hand = lin(torch.stack([step(s, emb[:, t]) for t in range(tgt_in.shape[1])], 1), proj)
    p = torch.nn.Linear(model.decoder.proj.weight.shape[1], model.decoder.proj.weight.shape[0])
    p.weight.data.copy_(model.decoder.proj.weight.data)
    p.bias.data.copy_(model.decoder.proj.bias.data)
    model.project = quantize_dynamic(torch.nn.Sequential(p), {'0': per_channel_dynamic_qconfig}, dtype=torch.qint8)[0]
    ao = quantize_dynamic(model, {n: per_channel_dynamic_qconfig for n in ['decoder.rnn', 'decoder.combine']}, dtype=torch.qint8)
    assert type(ao.decoder.rnn).__module__.startswith('torch.ao.nn.quantized.dynamic'), type(ao.decoder.rnn)
    ao_logits = ao(src, src_len, tgt_in)
save_file({'by_hand': by_hand.contiguous(), 'ao': ao_logits.contiguous()}, ${JSON.stringify(out)})
`);
  const ref = (await loadTensors(out)).tensors;
  const diff = ours.sub(ref.get('by_hand')!).abs().max().item() as number;
  t.true(diff < 1e-6, `max |ours - PyTorch by hand| = ${diff}`);
  const ao = ours.sub(ref.get('ao')!).abs().max().item() as number;
  const quantization = ours.sub(fp32).abs().max().item() as number;
  t.true(ao < quantization, `max |ours - torch.ao| = ${ao} vs max |int8 - float32| = ${quantization}`);
  t.log(
    `int8 BiGRU: max |ours - PyTorch by hand| = ${diff}; |ours - torch.ao module| ${ao.toExponential(1)}; |int8 - float32| ${quantization.toExponential(1)}`
  );
});

test('Shortlist.build ranks by co-occurrence (Dice), keeps the frequent tokens and the specials', (t) => {
  const pairs = [
    { src: [5, 6], tgt: [11, 12] },
    { src: [5], tgt: [11, 13] },
    { src: [7], tgt: [13, 13, 13] },
  ];
  // Hand-worked, c() = sentences holding the token: c(5) = 2, c(11) = 2, c(12) = 1, c(13) = 2.
  // Dice(5, 11) = 2·2/(2+2) = 1, Dice(5, 12) = 2·1/(2+1) = 0.67, Dice(5, 13) = 2·1/(2+2) = 0.5: two per source keeps 11, 12.
  const s = Shortlist.build(pairs, { vocabSize: 20, perSource: 2, frequent: 0, always: [1] });
  t.deepEqual(s.candidates([5]), [1, 11, 12]);
  t.deepEqual(s.candidates([7]), [1, 13]);
  t.deepEqual(s.candidates([[7], [6]]), [1, 11, 12, 13]);
  // The most frequent target token (13: four times) is in every list.
  t.deepEqual(Shortlist.build(pairs, { vocabSize: 20, perSource: 0, frequent: 1 }).candidates([5]), [13]);
  t.throws(() => Shortlist.build([{ src: [25], tgt: [1] }], { vocabSize: 20 }), { message: /pairs\[0\]\.src holds 25, outside \[0, 20\)/ });
});

test('shortlist decoding gives the full-vocabulary best hypotheses, over far fewer columns, also int8', async (t) => {
  const m = await fresh();
  const ref = await best(m);
  const list = Shortlist.build(trainPairs, { vocabSize: 24, perSource: 3, frequent: 0, always: [1] });
  const cands = list.candidates(heldOut[0].src);
  t.true(cands.length < 24, `${cands.length} candidates for one sentence`);
  t.deepEqual(
    (await best(m, { shortlist: list })).map((h) => h.tokens),
    ref.map((h) => h.tokens)
  );
  // Saved beside the model and named by it: loadModel picks it up, and decoding uses it unless told not to.
  const file = path.join(tmp, 'with-shortlist.safetensors');
  await list.save(path.join(tmp, 'with-shortlist.shortlist'));
  m.shortlist = list;
  m.shortlistFile = 'with-shortlist.shortlist';
  await m.save(file);
  const back = (await loadModel(file)) as Teacher;
  t.truthy(back.shortlist);
  t.deepEqual(back.shortlist!.candidates([5, 6]), list.candidates([5, 6]));
  back.quantize({ dtype: 'int8' });
  const q = await best(back);
  const full = await best(back, { shortlist: false });
  ref.forEach((h, i) => {
    if (h.margin > 0.5) t.deepEqual(q[i].tokens, full[i].tokens, `sentence ${i}`);
  });
});

test('misuse is a clear error', async (t) => {
  const m = (await fresh()).quantize({ dtype: 'int8' });
  t.throws(() => m.quantize({ dtype: 'int8' }), { message: /quantize: the model is already int8; start from the float32 model/ });
  t.throws(() => m.prepack(), { message: /prepack: the model is already int8/ });
  t.throws(() => m.quantize({ dtype: 'int4' as 'int8' }), { message: /option 'dtype' must be 'int8', got "int4"/ });
  await t.throwsAsync(train(m, { data: trainPairs, maxSteps: 1, log: null }), { message: /train: the model is int8 for inference/ });
  t.throws(() => m.to('cuda'), { message: /to: the model is int8 for inference, which runs on the CPU in float32 only/ });
  t.throws(() => m.loadStateDict(m.stateDict()), { message: /prepacked or quantized for inference: load weights into a float32 model/ });
  const state = await m.encodeAsync(batch().src, batch().srcLen);
  t.throws(() => m.restrictVocabulary(state, tensor([1, 1], { dtype: 'int64' })), { message: /must not repeat an id/ });
  t.throws(() => m.restrictVocabulary(state, tensor([1, 99], { dtype: 'int64' })), { message: /must lie in \[0, 24\)/ });
  await t.throwsAsync(Shortlist.load(await trained), { message: /is not a shortlist/ });
  await t.throwsAsync(beamSearch(m, batch(), { shortlist: Shortlist.build(trainPairs, { vocabSize: 30 }) }), {
    message: /the shortlist is for 30 ids, the model has 24/,
  });
  // A file whose int8 layer lost its scales.
  const file = path.join(tmp, 'broken.safetensors');
  await m.save(file);
  const { tensors, metadata } = await loadTensors(file);
  tensors.delete('decoder.ffns.1.lin2.weight.scale');
  await saveTensors(file, tensors, metadata);
  await t.throwsAsync(loadModel(file), { message: /the int8 layer 'decoder\.ffns\.1\.lin2\.weight' has no 'decoder\.ffns\.1\.lin2\.weight\.scale'/ });
});
