// Our beam search and greedy decoding against the plain-PyTorch reference decoder that the decoding
// benchmark times (bench/reference/beam.py): on the same weights and sentences, the teacher, a cut student
// and a BiGRU give the same hypotheses and scores on both sides, so the benchmark compares equal work.
// Skipped, with the reason in the title, where the .venv lacks torch/safetensors.
import test, { type ExecutionContext } from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Batch, BiGruStudent, manualSeed, noGrad, Student, Teacher, tensor } from '../lib';
import type { Seq2Seq, XlmModel } from '../lib';
import { beamSearch, greedy } from '../lib/decode';
import { referenceUnavailable, runPythonCode } from './helpers/python';

const why = referenceUnavailable();
const ref = why ? test.skip : test;
const skipNote = why ? ` (skipped: ${why})` : '';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'decode-ref-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (n: string) => path.join(dir, n);

const V = 37;
// Lengths from 1 to 24, shuffled, so the reference's length-sorted batches of 5 mix finished and live rows.
const SOURCES = [7, 1, 24, 3, 12, 5, 18, 2, 9, 15, 4, 21, 11].map((n, i) =>
  Array.from({ length: n }, (_, j) => 4 + ((i * 13 + j * 7 + n) % (V - 4)))
);

interface Decoded {
  hyps: number[][];
  scores: number[];
}

/** Runs the reference decoder on `model` for each setting; returns its outputs in the same order. */
function reference(model: string, settings: Array<{ beam: number }>): Decoded[] {
  const srcFile = file('src.json');
  fs.writeFileSync(srcFile, JSON.stringify(SOURCES));
  const runs = settings.map((s, k) => {
    const out = file(`${path.basename(model)}-${k}.json`);
    const args = ['--model', model, '--src', srcFile, '--out', out, '--batch-size', '5', '--threads', '1'];
    return { out, args: s.beam === 1 ? [...args, '--greedy'] : [...args, '--beam', String(s.beam)] };
  });
  runPythonCode(`import beam\nfor a in ${JSON.stringify(runs.map((r) => r.args))}: beam.main(a)`);
  return runs.map((r) => JSON.parse(fs.readFileSync(r.out, 'utf8')) as Decoded);
}

/** Raises the output bias of `</s>` so that random weights end some hypotheses on their own. */
function favourEos(model: XlmModel | BiGruStudent, by: number): void {
  const name = model instanceof BiGruStudent ? 'decoder.proj.bias' : 'decoder.pred_layer.proj.bias';
  const sd = model.stateDict();
  const bias = Float32Array.from(noGrad(() => sd.get(name)!.toArray() as Float32Array));
  bias[model.eosIndex] += by;
  sd.set(name, tensor(bias));
  model.loadStateDict(sd);
}

async function compare(t: ExecutionContext, model: Seq2Seq, saved: string): Promise<void> {
  const batch = Batch.from({ src: SOURCES });
  const ours = [await greedy(model, batch), await beamSearch(model, batch, { beamSize: 4 })];
  const theirs = reference(saved, [{ beam: 1 }, { beam: 4 }]);
  let eosFinished = 0;
  ours.forEach((hyps, k) => {
    const name = k === 0 ? 'greedy' : 'beam 4';
    hyps.forEach((h, i) => {
      const mine = h[0];
      t.deepEqual(mine.tokens, theirs[k].hyps[i], `${name}, sentence ${i}: tokens`);
      t.true(Math.abs(mine.score - theirs[k].scores[i]) < 1e-4, `${name}, sentence ${i}: score ${mine.score} vs ${theirs[k].scores[i]}`);
      const cap = Math.floor(1.5 * (SOURCES[i].length + 2) + 10);
      if (mine.tokens.length + 1 < cap) eosFinished++;
    });
  });
  // Both ways of finishing occur: some hypotheses chose </s>, others were stopped at the length cap.
  t.true(eosFinished > 0 && eosFinished < 2 * SOURCES.length, `hypotheses ending on their own </s>: ${eosFinished}`);
}

ref(`teacher: greedy and beam 4 equal the reference decoder${skipNote}`, async (t) => {
  manualSeed(11);
  const teacher = Teacher.create({ vocabSize: V, embDim: 32, nHeads: 4, encoderLayers: 2, decoderLayers: 2 }).eval();
  favourEos(teacher, 1.5);
  await teacher.save(file('teacher.safetensors'));
  await compare(t, teacher, file('teacher.safetensors'));
});

ref(`cut student (2-1): greedy and beam 4 equal the reference decoder${skipNote}`, async (t) => {
  manualSeed(12);
  const teacher = Teacher.create({ vocabSize: V, embDim: 32, nHeads: 4, encoderLayers: 2, decoderLayers: 2 });
  const student = Student.fromTeacher(teacher, { encoderLayers: 2, decoderLayers: 1 }).eval();
  favourEos(student, 1.5);
  await student.save(file('student.safetensors'));
  await compare(t, student, file('student.safetensors'));
});

ref(`BiGRU: greedy and beam 4 equal the reference decoder${skipNote}`, async (t) => {
  manualSeed(13);
  const bigru = BiGruStudent.create({ vocabSize: V, embDim: 24, hiddenSize: 24 }).eval();
  favourEos(bigru, 0.15);
  await bigru.save(file('bigru.safetensors'));
  await compare(t, bigru, file('bigru.safetensors'));
});
