// Layer surgery: layer maps, deep copies of the chosen teacher layers, the identity cut reproducing the
// teacher, the teacher untouched by student training, and the map saved with the student.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Batch, chooseLayers, CutStudent, manualSeed, noGrad, Student, Teacher, type Tensor, tidy } from '../lib';

const CONFIG = { vocabSize: 50, embDim: 32, nHeads: 4, encoderLayers: 6, decoderLayers: 6, nLangs: 2 };
const batch = () =>
  Batch.from({
    src: [
      [5, 6, 7, 8],
      [9, 10],
    ],
    tgt: [[11, 12, 13], [14]],
    srcLang: 0,
    tgtLang: 1,
  });
const maxAbsDiff = (a: Tensor, b: Tensor) => tidy(() => a.sub(b).abs().max().item() as number);

test('layer maps: spread keeps first and last, first/last take the ends, lists are checked', (t) => {
  t.deepEqual(chooseLayers(3, 6, 'spread', 'encoder'), [0, 2, 5]);
  t.deepEqual(chooseLayers(2, 6, 'spread', 'encoder'), [0, 5]);
  t.deepEqual(chooseLayers(1, 6, 'spread', 'encoder'), [5]);
  t.deepEqual(chooseLayers(6, 6, 'spread', 'encoder'), [0, 1, 2, 3, 4, 5]);
  t.deepEqual(chooseLayers(2, 6, 'first', 'decoder'), [0, 1]);
  t.deepEqual(chooseLayers(2, 6, 'last', 'decoder'), [4, 5]);
  t.deepEqual(chooseLayers([1, 3], 6, 'spread', 'decoder'), [1, 3]);
  t.throws(() => chooseLayers([0, 6], 6, 'spread', 'encoder'), { message: /layer surgery \(encoder\): layer index 6 is out of range \[0, 5\]/ });
  t.throws(() => chooseLayers([2, 2], 6, 'spread', 'encoder'), { message: /layer 2 is listed twice/ });
  t.throws(() => chooseLayers([3, 1], 6, 'spread', 'encoder'), { message: /must be sorted ascending/ });
  t.throws(() => chooseLayers([], 6, 'spread', 'decoder'), { message: /at least one layer/ });
  t.throws(() => chooseLayers(0, 6, 'spread', 'decoder'), { message: /layer count must be an integer >= 1/ });
  t.throws(() => chooseLayers(7, 6, 'spread', 'decoder'), { message: /asked for 7 layers but the teacher has 6/ });
  t.throws(() => chooseLayers(2, 6, 'middle' as 'first', 'decoder'), { message: /unknown strategy 'middle'/ });
});

test('the identity map reproduces the teacher exactly', (t) => {
  manualSeed(1);
  const teacher = Teacher.create(CONFIG).eval();
  const student = Student.fromTeacher(teacher, { encoderLayers: 6, decoderLayers: 6 });
  t.is(student.kind, 'xlm-student');
  const b = batch();
  const [a, s] = noGrad(() => [teacher.forward(b), student.forward(b)]);
  t.is(maxAbsDiff(a, s), 0);
});

test('a cut student holds copies of exactly the chosen teacher layers', (t) => {
  manualSeed(2);
  const teacher = Teacher.create(CONFIG).eval();
  const student = Student.fromTeacher(teacher, { encoderLayers: 3, decoderLayers: [1, 4] });
  t.deepEqual(student.layerMap, { encoder: [0, 2, 5], decoder: [1, 4] });
  t.is(student.config.encoderLayers, 3);
  t.is(student.config.decoderLayers, 2);
  const tsd = teacher.stateDict();
  const ssd = student.stateDict();
  const pairs: Array<[string, string]> = [
    ['encoder.attentions.1.q_lin.weight', 'encoder.attentions.2.q_lin.weight'],
    ['encoder.ffns.2.lin1.bias', 'encoder.ffns.5.lin1.bias'],
    ['decoder.encoder_attn.0.v_lin.weight', 'decoder.encoder_attn.1.v_lin.weight'],
    ['decoder.layer_norm15.1.weight', 'decoder.layer_norm15.4.weight'],
    ['decoder.layer_norm2.0.bias', 'decoder.layer_norm2.1.bias'],
    ['encoder.embeddings.weight', 'encoder.embeddings.weight'],
    ['encoder.lang_embeddings.weight', 'encoder.lang_embeddings.weight'],
    ['decoder.position_embeddings.weight', 'decoder.position_embeddings.weight'],
    ['decoder.layer_norm_emb.weight', 'decoder.layer_norm_emb.weight'],
    ['decoder.pred_layer.proj.bias', 'decoder.pred_layer.proj.bias'],
  ];
  for (const [s, tname] of pairs) t.is(maxAbsDiff(ssd.get(s)!, tsd.get(tname)!), 0, `${s} == teacher ${tname}`);
  t.false(ssd.has('encoder.attentions.3.q_lin.weight'));
  t.true(student.numParameters() < teacher.numParameters());
});

test('training the student never changes the teacher (deep copies)', (t) => {
  manualSeed(3);
  const teacher = Teacher.create(CONFIG).eval();
  const before = new Map([...teacher.stateDict()].map(([k, v]) => [k, v.clone()]));
  const student = Student.fromTeacher(teacher, { encoderLayers: 2, decoderLayers: 1 }).train();
  const b = batch();
  const logits = student.forward(b);
  const loss = logits.logSoftmax(-1).gather(2, b.tgtOut.unsqueeze(2)).mean().neg();
  loss.backward();
  noGrad(() => {
    // one SGD step, done the only way the public API allows: load updated values back in
    const updated = new Map([...student.namedParameters()].map(([k, p]) => [k, p.grad ? p.sub(p.grad.mul(0.5)) : p]));
    student.loadStateDict(updated, { strict: false });
  });
  const after = teacher.stateDict();
  for (const [k, v] of before) t.is(maxAbsDiff(v, after.get(k)!), 0, `teacher ${k} unchanged`);
  const changed = maxAbsDiff(student.stateDict().get('encoder.embeddings.weight')!, after.get('encoder.embeddings.weight')!);
  t.true(changed > 0, 'the student did change');
});

test('the layer map is saved with the student and loads back; cuts of cuts map to the original layers', async (t) => {
  manualSeed(4);
  const teacher = Teacher.create(CONFIG).eval();
  const student = Student.fromTeacher(teacher, { encoderLayers: 4, decoderLayers: 3, strategy: 'last' });
  t.deepEqual(student.layerMap, { encoder: [2, 3, 4, 5], decoder: [3, 4, 5] });
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cut-')), 'student.safetensors');
  await student.save(file);
  const back = await Student.load(file);
  t.true(back instanceof CutStudent);
  t.deepEqual((back as CutStudent).layerMap, student.layerMap);
  const b = batch();
  t.is(
    maxAbsDiff(
      noGrad(() => back.forward(b)),
      noGrad(() => student.forward(b))
    ),
    0
  );
  const smaller = Student.fromTeacher(student, { encoderLayers: [0, 3], decoderLayers: 1 });
  t.deepEqual(smaller.layerMap, { encoder: [2, 5], decoder: [5] });
});

test('surgery on a model without transformer layers is a clear error', (t) => {
  const bigru = Student.bigru({ vocabSize: 50, embDim: 8, hiddenSize: 8 });
  t.throws(() => Student.fromTeacher(bigru, { encoderLayers: 1 }), { message: /layer surgery: the teacher must be an XLM transformer/ });
});
