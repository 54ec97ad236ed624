// Sequence-level KD: the teacher's beam output becomes the target side, streamed and resumable.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AppendableTokenStore, Batch, beamSearch, distillSequences, readDistilledTargets } from '../lib';
import { ToyMarkovModel } from './helpers/toy-model';

function chainModel(): ToyMarkovModel {
  const tiny = 1e-9;
  return new ToyMarkovModel(
    Array.from({ length: 12 }, (_, i) =>
      Array.from({ length: 12 }, (_, j) => {
        if (i >= 3 && i < 11) return j === i + 1 ? 0.8 : j === 1 ? 0.15 : tiny;
        if (i === 11) return j === 1 ? 1 : tiny;
        return 1;
      })
    ),
    true
  );
}

const sources = Array.from({ length: 23 }, (_, i) => [3 + (i % 9), 4]);

test('writes one target per source, equal to the beam search output', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqkd-'));
  const out = path.join(dir, 'distilled');
  const model = chainModel();
  const res = await distillSequences(model, sources, { out, beamSize: 3, batchSize: 5 });
  t.deepEqual(res, { path: out, written: 23, resumed: 0 });
  t.true(fs.existsSync(`${out}.r0.idx`) && fs.existsSync(`${out}.r0.bin`), 'a token store part per rank');
  const targets = readDistilledTargets(out, sources.length);
  const direct = await beamSearch(model, Batch.from({ src: sources }), { beamSize: 3 });
  targets.forEach((rec, i) => {
    t.is(rec.index, i);
    t.deepEqual(rec.tgt, direct[i][0].tokens);
    t.true(Math.abs(rec.score - direct[i][0].score) < 1e-5);
  });
});

test('a killed run resumes: finished sources are kept, ids of a batch cut short are dropped, nothing is done twice', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqkd-'));
  const full = path.join(dir, 'full');
  await distillSequences(chainModel(), sources, { out: full, beamSize: 2, batchSize: 4 });
  const expected = readDistilledTargets(full, sources.length);
  // A run killed after 9 sources, with the ids of its next batch appended but not indexed.
  const out = path.join(dir, 'killed');
  const part = AppendableTokenStore.open(`${out}.r0`, sources.length, 2, { tokenizer: '', vocabSize: 12 });
  part.put(expected.slice(0, 9).map((r) => ({ index: r.index, ids: r.tgt, value: r.score })));
  part.close();
  fs.appendFileSync(`${out}.r0.bin`, Buffer.from([5, 0, 6, 0, 7]));
  const progress: number[] = [];
  const res = await distillSequences(chainModel(), sources, { out, beamSize: 2, batchSize: 4, onProgress: (d) => progress.push(d) });
  t.is(res.resumed, 9);
  t.is(res.written, 14);
  t.is(progress[progress.length - 1], 23);
  t.deepEqual(
    readDistilledTargets(out, sources.length).map((r) => r.tgt),
    expected.map((r) => r.tgt)
  );
  const again = await distillSequences(chainModel(), sources, { out, beamSize: 2, batchSize: 4 });
  t.deepEqual(again, { path: out, written: 0, resumed: 23 });
});

test('two ranks translate their shares into their own parts; reading merges them as one process wrote them', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqkd-'));
  const one = path.join(dir, 'one');
  await distillSequences(chainModel(), sources, { out: one, beamSize: 2, batchSize: 4 });
  const two = path.join(dir, 'two');
  const r0 = await distillSequences(chainModel(), sources, { out: two, beamSize: 2, batchSize: 4, rank: 0, worldSize: 2 });
  t.is(r0.written, 12);
  t.throws(() => readDistilledTargets(two, sources.length), { message: /no target for source 1 /, instanceOf: Error });
  const r1 = await distillSequences(chainModel(), sources, { out: two, beamSize: 2, batchSize: 4, rank: 1, worldSize: 2 });
  t.deepEqual(r1, { path: two, written: 11, resumed: 12 });
  t.deepEqual(
    readDistilledTargets(two, sources.length).map((r) => r.tgt),
    readDistilledTargets(one, sources.length).map((r) => r.tgt)
  );
  // A later run with one process finds nothing left to do.
  t.is((await distillSequences(chainModel(), sources, { out: two, beamSize: 2 })).written, 0);
});

test('missing targets and bad options are clear errors', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqkd-'));
  const out = path.join(dir, 'partial');
  const part = AppendableTokenStore.open(`${out}.r0`, 2, 2, { tokenizer: '', vocabSize: 12 });
  part.put([{ index: 0, ids: [3] }]);
  part.close();
  t.throws(() => readDistilledTargets(out, 2), { message: /no target for source 1/ });
  t.throws(() => readDistilledTargets(out, 3), { message: /holds 2 sources, not the 3 of this run/ });
  await t.throwsAsync(() => distillSequences(chainModel(), sources, { out: path.join(dir, 'x'), batchSize: 0 }), {
    message: /option 'batchSize' must be an integer >= 1/,
  });
  await t.throwsAsync(() => distillSequences(chainModel(), sources, { out: path.join(dir, 'x'), rank: 2, worldSize: 2 }), {
    message: /option 'rank' \(2\) must be below 'worldSize' \(2\)/,
  });
});
