// Offline KD's teacher cache (lib/train/teacher-cache.ts): its contents equal the teacher's top-k, a killed
// build resumes to the same bytes, a stale or corrupt cache is refused with the reason, and distillation
// from it matches online distillation when k covers the vocabulary.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  Batch,
  buildTeacherCache,
  distill,
  DISTILL_DEFAULTS,
  LOSS_DEFAULTS,
  manualSeed,
  noGrad,
  resolveDistillOptions,
  Teacher,
  TeacherCache,
  tidy,
} from '../lib';
import { toyCopyPairs, toyTeacherConfig } from './helpers/toy-training';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'kd-cache-'));

function toyTeacher(seed = 2): Teacher {
  manualSeed(seed);
  return Teacher.create(toyTeacherConfig).eval();
}

test("the cache holds the teacher's top-k log-probs of every target token", async (t) => {
  const teacher = toyTeacher();
  const pairs = toyCopyPairs(50, 1);
  const file = path.join(tmp(), 'c.cache');
  const h = await buildTeacherCache({ teacher, pairs, k: 4, file, batchSize: 16 });
  t.is(
    h.rows,
    pairs.reduce((n, p) => n + p.tgt.length + 1, 0)
  );
  t.is(h.bytes, 4096 + h.rows * 4 * 6);
  const cache = TeacherCache.open(file, { teacher, pairs, k: 4 });
  const idx = [3, 17, 42];
  const batch = Batch.from({ src: idx.map((i) => pairs[i].src), tgt: idx.map((i) => pairs[i].tgt) });
  const width = batch.tgtOut.shape[1];
  const st = cache.sparseTeacher(idx, width);
  const { worstId, worstLp } = noGrad(() =>
    tidy(() => {
      const top = teacher.forward(batch).logSoftmax(-1).topk(4, { dim: -1 });
      // Only real target rows are cached (pad rows are uniform placeholders): compare those.
      let worstId = 0;
      let worstLp = 0;
      idx.forEach((i, b) => {
        const rows = pairs[i].tgt.length + 1;
        const a = st.indices.narrow(0, b, 1).narrow(1, 0, rows);
        const e = top.indices.narrow(0, b, 1).narrow(1, 0, rows);
        worstId = Math.max(worstId, a.to('int64').ne(e).sum().item() as number);
        worstLp = Math.max(
          worstLp,
          st.logProbs
            .narrow(0, b, 1)
            .narrow(1, 0, rows)
            .sub(top.values.narrow(0, b, 1).narrow(1, 0, rows))
            .abs()
            .max()
            .item() as number
        );
      });
      return { worstId, worstLp };
    })
  );
  t.log(`ids differing: ${worstId}; max |log-prob diff| ${worstLp.toExponential(2)} (float16 storage)`);
  t.is(worstId, 0);
  t.true(worstLp < 5e-3);
  cache.close();
});

test('a killed build resumes to the same bytes; a half-written block is dropped', async (t) => {
  const teacher = toyTeacher();
  const pairs = toyCopyPairs(70, 2);
  const dir = tmp();
  const whole = path.join(dir, 'whole.cache');
  await buildTeacherCache({ teacher, pairs, k: 3, file: whole, batchSize: 16 });
  const broken = path.join(dir, 'broken.cache');
  await t.throwsAsync(
    buildTeacherCache({
      teacher,
      pairs,
      k: 3,
      file: broken,
      batchSize: 16,
      onProgress: (done) => {
        if (done >= 32) throw new Error('killed');
      },
    }),
    { message: 'killed' }
  );
  fs.appendFileSync(broken, Buffer.alloc(100, 7)); // a block the kill cut short
  t.throws(() => TeacherCache.open(broken, { teacher, pairs, k: 3 }), { message: /incomplete/ });
  await buildTeacherCache({ teacher, pairs, k: 3, file: broken, batchSize: 16 });
  t.true(fs.readFileSync(broken).equals(fs.readFileSync(whole)));
  t.false(fs.existsSync(`${broken}.progress`));
});

test('a cache of other data, another teacher, k or tokenizer, or a corrupt one is refused with the reason', async (t) => {
  const teacher = toyTeacher();
  const pairs = toyCopyPairs(30, 3);
  const file = path.join(tmp(), 'c.cache');
  await buildTeacherCache({ teacher, pairs, k: 3, file, tokenizer: Buffer.from('tok-a') });
  const src = { teacher, pairs, k: 3, tokenizer: Buffer.from('tok-a') };
  t.notThrows(() => TeacherCache.open(file, src).close());
  t.throws(() => TeacherCache.open(file, { ...src, pairs: toyCopyPairs(30, 4) }), { message: /stale: .*other training data/ });
  t.throws(() => TeacherCache.open(file, { ...src, teacher: toyTeacher(9) }), { message: /stale: .*another teacher/ });
  t.throws(() => TeacherCache.open(file, { ...src, k: 4 }), { message: /stale: .*k = 3, not 4/ });
  t.throws(() => TeacherCache.open(file, { ...src, tokenizer: Buffer.from('tok-b') }), { message: /another tokenizer/ });
  await t.throwsAsync(buildTeacherCache({ ...src, teacher: toyTeacher(9), file }), { message: /another teacher/ });
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 5] ^= 0xff;
  fs.writeFileSync(file, bytes);
  t.throws(() => TeacherCache.open(file, src), { message: /checksum mismatch/ });
  fs.writeFileSync(file, bytes.subarray(0, bytes.length - 6));
  t.throws(() => TeacherCache.open(file, src), { message: /truncated or corrupt/ });
  fs.writeFileSync(file, 'not a cache');
  t.throws(() => TeacherCache.open(file, src), { message: /bad magic/ });
});

test('offline distillation with k = V follows online distillation', async (t) => {
  const pairs = toyCopyPairs(80, 5);
  const losses: Record<string, number[]> = {};
  for (const mode of ['online', 'offline'] as const) {
    const teacher = toyTeacher();
    manualSeed(1);
    const student = Teacher.create({ ...toyTeacherConfig, dropout: 0, attentionDropout: 0 });
    losses[mode] = [];
    await distill({
      teacher,
      student,
      mode,
      temperature: 2,
      topK: toyTeacherConfig.vocabSize,
      data: pairs,
      runDir: tmp(),
      maxSteps: 8,
      logEvery: 1,
      log: null,
      batching: { maxTokens: 300 },
      optimizer: { lr: 1e-3 },
      schedule: () => 1e-3,
      onStep: (m) => losses[mode].push(m.loss),
    });
  }
  const diff = Math.max(...losses.online.map((l, i) => Math.abs(l - losses.offline[i])));
  t.log(`online ${losses.online.map((l) => l.toFixed(4)).join(' ')}\noffline ${losses.offline.map((l) => l.toFixed(4)).join(' ')}`);
  t.true(diff < 5e-3, `max |loss diff| ${diff}`);
});

test("offline KD defaults to T = 1 (the cache renormalises the top k), the other modes to the loss family's T; a given T wins", (t) => {
  const models = {
    teacher: toyTeacher(),
    student: Teacher.create({ ...toyTeacherConfig, dropout: 0, attentionDropout: 0 }),
    data: toyCopyPairs(4, 5),
    runDir: tmp(),
    maxSteps: 1,
  };
  const resolved = (extra: object) => resolveDistillOptions('distill', { ...models, ...extra });
  t.is(DISTILL_DEFAULTS.offlineTemperature, 1);
  t.is(resolved({ mode: 'offline' }).temperature, 1);
  t.is(resolved({ mode: 'online' }).temperature, LOSS_DEFAULTS.temperature);
  t.is(resolved({}).temperature, 2);
  t.is(resolved({ mode: 'sequence' }).temperature, 2);
  t.is(resolved({ mode: 'offline', temperature: 2 }).temperature, 2);
  t.throws(() => resolved({ mode: 'offline', temperature: 0 }), { message: /temperature/ });
});
