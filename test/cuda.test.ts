// Everything on `cuda`: tensors, the fused loss (dense, top-k, chunked, bf16) against the CPU kernel, the
// teacher's forward and decoding against the CPU's, training with kill -9 resume (bit-identical, dropout on),
// distillation in all three modes into a cut and a BiGRU student, mixed precision, saving from the device, and
// the torch.cuda-style API. Each test is skipped, with the reason in its title, where no GPU is present
// (`npm run check:gpu` runs them on one).
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import {
  Batch, BiGruStudent, cuda, distill, distillLoss, distillLossChunked, greedy, beamSearch, loadModel, manualSeed, randn, sparseTeacherFromLogits,
  Student, Teacher, Tensor, tidy, train,
} from '../lib';
import { checkKillResume, tmpDir } from './helpers/resume';
import { toyCopyPairs, toyTeacherConfig } from './helpers/toy-training';

const gpu = cuda.isAvailable();
const cudaTest = gpu ? test.serial : test.skip;
const title = (what: string) => (gpu ? what : `${what} (skipped: no CUDA device; run npm run check:gpu on a GPU machine)`);

const diff = (a: Tensor, b: Tensor) => tidy(() => Number(a.to('cpu').to('float32').sub(b.to('cpu').to('float32')).abs().max().item()));

cudaTest(title('tensors: made on cuda, the same values as on the CPU, back and forth'), (t) => {
  const x = randn([64, 32]);
  const g = x.to('cuda');
  t.regex(g.device, /^cuda/);
  t.is(diff(g.matmul(g.transpose(0, 1)), x.matmul(x.transpose(0, 1))) < 1e-4, true);
  t.deepEqual(Array.from(g.to('cpu').toArray() as Float32Array), Array.from(x.toArray() as Float32Array));
  cuda.synchronize();
  t.true(cuda.memoryAllocated() > 0);
  cuda.resetPeakMemoryStats();
  const big = randn([1024, 1024], { device: 'cuda' });
  t.true(cuda.maxMemoryAllocated() >= 4 * 2 ** 20);
  big.dispose();
  cuda.emptyCache();
});

cudaTest(title('the fused loss on cuda equals the CPU kernel: dense, top-k, chunked and bf16, loss and gradients'), (t) => {
  manualSeed(0);
  const [N, V, H] = [96, 1000, 64];
  const s = randn([N, V]);
  const te = randn([N, V]);
  const y = tidy(() => randn([N]).abs().mul(100).to('int64'));
  const opts = { temperature: 2, alpha: 0.5, labelSmoothing: 0.1 };
  const run = (student: Tensor, teacher: Tensor | ReturnType<typeof sparseTeacherFromLogits>, labels: Tensor) => {
    const leaf = student.detach();
    leaf.requiresGrad = true;
    const r = distillLoss(leaf, teacher, labels, opts);
    r.loss.backward();
    return { loss: Number(r.loss.item()), grad: leaf.grad! };
  };
  const cpu = run(s, te, y);
  const gpuDense = run(s.to('cuda'), te.to('cuda'), y.to('cuda'));
  t.true(Math.abs(cpu.loss - gpuDense.loss) < 1e-5 * Math.max(1, cpu.loss));
  t.true(diff(cpu.grad, gpuDense.grad) < 1e-6);
  const sparse = sparseTeacherFromLogits(te, 8);
  const cpuSparse = run(s, sparse, y);
  const gpuSparse = run(s.to('cuda'), { indices: sparse.indices.to('cuda'), logProbs: sparse.logProbs.to('cuda') }, y.to('cuda'));
  t.true(Math.abs(cpuSparse.loss - gpuSparse.loss) < 1e-5 * Math.max(1, cpuSparse.loss));
  const bf = run(s.to('cuda').to('bfloat16'), te.to('cuda').to('bfloat16'), y.to('cuda'));
  t.true(Math.abs(bf.loss - cpu.loss) < 2e-2 * Math.max(1, cpu.loss), `bf16 ${bf.loss} vs ${cpu.loss}`);
  const h = randn([N, H]);
  const w = randn([V, H]).mul(0.1);
  const chunkedCpu = Number(distillLossChunked(h, w, null, te, y, { ...opts, chunkSize: 17 }).loss.item());
  const chunkedGpu = Number(distillLossChunked(h.to('cuda'), w.to('cuda'), null, te.to('cuda'), y.to('cuda'), { ...opts, chunkSize: 17 }).loss.item());
  t.true(Math.abs(chunkedCpu - chunkedGpu) < 1e-4 * Math.max(1, chunkedCpu));
});

cudaTest(title('the teacher on cuda: the CPU forward to 1e-4, and the same greedy and beam hypotheses'), async (t) => {
  manualSeed(3);
  const teacher = Teacher.create({ ...toyTeacherConfig, dropout: 0, attentionDropout: 0 }).eval();
  const pairs = toyCopyPairs(16, 7);
  const batch = Batch.from({ src: pairs.map((p) => p.src), tgt: pairs.map((p) => p.tgt) });
  const cpuLogits = teacher.forward(batch);
  const cpuGreedy = await greedy(teacher, batch);
  const cpuBeam = await beamSearch(teacher, batch, { beamSize: 4 });
  teacher.to('cuda');
  const onGpu = batch.to(teacher.device);
  t.true(diff(teacher.forward(onGpu), cpuLogits) < 1e-4);
  t.deepEqual((await greedy(teacher, onGpu)).map((h) => h[0].tokens), cpuGreedy.map((h) => h[0].tokens));
  t.deepEqual((await beamSearch(teacher, onGpu, { beamSize: 4 })).map((h) => h[0].tokens), cpuBeam.map((h) => h[0].tokens));
  const bf16 = await beamSearch(teacher, onGpu, { beamSize: 4, precision: 'bf16' });
  t.is(bf16.length, 16, 'bf16 decoding runs');
});

cudaTest(title('training on cuda: kill -9 at three random moments, resume each time: bit-identical (teacher, dropout on)'), (t) =>
  checkKillResume(t, 'teacher', 20, ['cuda'])
);
cudaTest(title('online distillation on cuda: kill -9 and resume, bit-identical'), (t) => checkKillResume(t, 'online', 20, ['cuda']));
cudaTest(title('bf16 training on cuda: kill -9 and resume, bit-identical'), (t) => checkKillResume(t, 'teacher', 20, ['cuda', 'bf16']));

for (const mode of ['online', 'offline', 'sequence'] as const) {
  for (const kind of ['cut', 'bigru'] as const) {
    cudaTest(title(`distill ${mode} into a ${kind} student on cuda: trains there, finite losses`), async (t) => {
      manualSeed(4);
      const teacher = Teacher.create(toyTeacherConfig);
      const student = kind === 'cut' ? Student.fromTeacher(teacher, { encoderLayers: 1 }) : BiGruStudent.create({ vocabSize: 24, embDim: 32, hiddenSize: 32 });
      const losses: number[] = [];
      const r = await distill({
        teacher, student, mode, data: toyCopyPairs(64, 8), maxSteps: 4, device: 'cuda', runDir: tmpDir(), log: null, logEvery: 1,
        onStep: (m) => losses.push(m.loss), topK: 4,
      });
      t.is(r.steps, 4);
      t.regex(student.device, /^cuda/);
      t.true(losses.length === 4 && losses.every(Number.isFinite));
    });
  }
}

cudaTest(title('a model saved from cuda loads back on the CPU with the same weights'), async (t) => {
  manualSeed(5);
  const teacher = Teacher.create(toyTeacherConfig).to('cuda');
  const file = path.join(tmpDir(), 'teacher.safetensors');
  await teacher.save(file);
  const back = await loadModel(file);
  t.is(back.device, 'cpu');
  let worst = 0;
  const theirs = back.stateDict();
  for (const [n, p] of teacher.stateDict()) worst = Math.max(worst, diff(p, theirs.get(n)!));
  t.is(worst, 0);
  t.true(fs.statSync(file).size > 0);
});

cudaTest(title('the CUDA RNG state round-trips: dropout after restoring it repeats exactly'), (t) => {
  const state = cuda.getRngState(0);
  const a = randn([8], { device: 'cuda' });
  cuda.setRngState(state, 0);
  const b = randn([8], { device: 'cuda' });
  t.is(diff(a, b), 0);
});

cudaTest(title('train moves the model to the device it is given; batches and validation follow'), async (t) => {
  manualSeed(6);
  const model = Teacher.create(toyTeacherConfig);
  const r = await train(model, { data: toyCopyPairs(40, 2), valid: { pairs: toyCopyPairs(8, 3) }, maxSteps: 3, device: 'cuda', log: null });
  t.is(r.steps, 3);
  t.regex(model.device, /^cuda/);
  t.true(Number.isFinite(r.lastValidation!.loss));
});
