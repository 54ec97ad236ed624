// Sequence-level KD: the teacher's beam output becomes the target side, streamed and resumable.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Batch, beamSearch, distillSequences, readDistilledTargets } from '../lib';
import { ToyMarkovModel } from './helpers/toy-model';

function chainModel(): ToyMarkovModel {
  const tiny = 1e-9;
  return new ToyMarkovModel(
    Array.from({ length: 12 }, (_, i) => Array.from({ length: 12 }, (_, j) => {
      if (i >= 3 && i < 11) return j === i + 1 ? 0.8 : j === 1 ? 0.15 : tiny;
      if (i === 11) return j === 1 ? 1 : tiny;
      return 1;
    })),
    true
  );
}

const sources = Array.from({ length: 23 }, (_, i) => [3 + (i % 9), 4]);

test('writes one target per source, equal to the beam search output', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqkd-'));
  const out = path.join(dir, 'distilled.jsonl');
  const model = chainModel();
  const res = await distillSequences(model, sources, { out, beamSize: 3, batchSize: 5 });
  t.deepEqual(res, { path: out, written: 23, resumed: 0 });
  const targets = readDistilledTargets(out, sources.length);
  const direct = await beamSearch(model, Batch.from({ src: sources }), { beamSize: 3 });
  targets.forEach((rec, i) => {
    t.is(rec.index, i);
    t.deepEqual(rec.tgt, direct[i][0].tokens);
    t.true(Math.abs(rec.score - direct[i][0].score) < 1e-6);
  });
});

test('a killed run resumes: finished lines are kept, a partial line is dropped, nothing is done twice', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqkd-'));
  const out = path.join(dir, 'distilled.jsonl');
  await distillSequences(chainModel(), sources, { out, beamSize: 2, batchSize: 4 });
  const full = fs.readFileSync(out, 'utf8');
  const lines = full.trimEnd().split('\n');
  // Simulate a kill after 9 lines with half of the 10th written.
  fs.writeFileSync(out, lines.slice(0, 9).join('\n') + '\n' + lines[9].slice(0, 7));
  const model = chainModel();
  const progress: number[] = [];
  const res = await distillSequences(model, sources, { out, beamSize: 2, batchSize: 4, onProgress: (d) => progress.push(d) });
  t.is(res.resumed, 9);
  t.is(res.written, 14);
  t.is(progress[progress.length - 1], 23);
  const again = readDistilledTargets(out, sources.length);
  const before = new Map(lines.map((l) => [JSON.parse(l).index as number, JSON.parse(l).tgt as number[]]));
  for (const rec of again) t.deepEqual(rec.tgt, before.get(rec.index));
  t.is(fs.readFileSync(out, 'utf8').trimEnd().split('\n').length, 23, 'no duplicates');
});

test('missing targets and bad options are clear errors', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqkd-'));
  const out = path.join(dir, 'partial.jsonl');
  fs.writeFileSync(out, JSON.stringify({ index: 0, tgt: [3], score: -1 }) + '\n');
  t.throws(() => readDistilledTargets(out, 2), { message: /no target for source 1/ });
  await t.throwsAsync(() => distillSequences(chainModel(), sources, { out: path.join(dir, 'x.jsonl'), batchSize: 0 }), {
    message: /option 'batchSize' must be an integer >= 1/,
  });
});
