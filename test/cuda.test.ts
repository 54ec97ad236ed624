// Everything on `cuda`: tensors, the fused loss (dense, top-k, chunked, bf16) against the CPU kernel, the
// teacher's forward and decoding against the CPU's, training with kill -9 resume (bit-identical, dropout on),
// distillation in all three modes into a cut and a BiGRU student, mixed precision, saving from the device, and
// the torch.cuda-style API. Each test is skipped, with the reason in its title, where no GPU is present
// (`npm run check:gpu` runs them on one).
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import {
  Batch,
  BiGruStudent,
  cuda,
  defaultChunkSize,
  rand,
  distill,
  distillLoss,
  distillLossChunked,
  greedy,
  beamSearch,
  loadModel,
  manualSeed,
  randn,
  sparseTeacherFromLogits,
  Student,
  Teacher,
  Tensor,
  tidy,
  train,
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
  const chunkedGpu = Number(
    distillLossChunked(h.to('cuda'), w.to('cuda'), null, te.to('cuda'), y.to('cuda'), { ...opts, chunkSize: 17 }).loss.item()
  );
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
  t.deepEqual(
    (await greedy(teacher, onGpu)).map((h) => h[0].tokens),
    cpuGreedy.map((h) => h[0].tokens)
  );
  t.deepEqual(
    (await beamSearch(teacher, onGpu, { beamSize: 4 })).map((h) => h[0].tokens),
    cpuBeam.map((h) => h[0].tokens)
  );
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
      const student =
        kind === 'cut' ? Student.fromTeacher(teacher, { encoderLayers: 1 }) : BiGruStudent.create({ vocabSize: 24, embDim: 32, hiddenSize: 32 });
      const losses: number[] = [];
      const r = await distill({
        teacher,
        student,
        mode,
        data: toyCopyPairs(64, 8),
        maxSteps: 4,
        device: 'cuda',
        runDir: tmpDir(),
        log: null,
        logEvery: 1,
        onStep: (m) => losses.push(m.loss),
        topK: 4,
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

// ---- the one-pass kernel (issue 26): edge shapes against the CPU kernel ------------------------------------------

/** Loss and student gradient of the dense or sparse loss on `device`, from the same CPU inputs. */
function lossOn(
  device: 'cpu' | 'cuda',
  s: Tensor,
  teacher: Tensor | { indices: Tensor; logProbs: Tensor },
  y: Tensor,
  opts: Record<string, unknown>,
  dtype = 'float32'
) {
  const leaf = s
    .to(device)
    .to(dtype as 'float32')
    .detach();
  leaf.requiresGrad = true;
  const te =
    teacher instanceof Tensor
      ? teacher.to(device).to(dtype as 'float32')
      : { indices: teacher.indices.to(device), logProbs: teacher.logProbs.to(device) };
  const r = distillLoss(leaf, te, y.to(device), opts);
  r.loss.backward();
  return { loss: Number(r.loss.item()), kd: Number(r.kd.item()), ce: Number(r.ce.item()), grad: leaf.grad! };
}

const EDGE_SHAPES: Array<[string, number, number]> = [
  ['V = 1', 7, 1],
  ['V not a multiple of the vector width (1001)', 33, 1001],
  ['V = 4095, warp rows', 40, 4095],
  ['V = 32000 (block rows, vectorised)', 24, 32000],
  ['V = 32003 (block rows, not vectorised)', 24, 32003],
  ['a single row', 1, 5000],
];

for (const [what, N, V] of EDGE_SHAPES) {
  cudaTest(title(`one-pass CUDA kernel equals the CPU kernel (float32, 1e-6 on the gradient): ${what}`), (t) => {
    manualSeed(N + V);
    const s = randn([N, V]).mul(3);
    const te = randn([N, V]).mul(3);
    const y = tidy(() => rand([N]).mul(V).to('int64'));
    for (const opts of [
      { temperature: 2, alpha: 0.5, labelSmoothing: 0.1 },
      { temperature: 1, alpha: 0.3, labelSmoothing: 0 },
      { temperature: 4, alpha: 1 },
      { alpha: 0 },
    ]) {
      const a = lossOn('cpu', s, te, y, opts);
      const b = lossOn('cuda', s, te, y, opts);
      t.true(Math.abs(a.loss - b.loss) <= 1e-5 * Math.max(1, Math.abs(a.loss)), `${JSON.stringify(opts)}: loss ${b.loss} vs ${a.loss}`);
      t.true(diff(a.grad, b.grad) <= 1e-6, `${JSON.stringify(opts)}: gradient ${diff(a.grad, b.grad)}`);
    }
  });
}

cudaTest(title('one-pass CUDA kernel: bfloat16 and float16 within 2e-2 relative of float32, gradients within 1e-3'), (t) => {
  manualSeed(5);
  const [N, V] = [64, 32000];
  const s = randn([N, V]).mul(2);
  const te = randn([N, V]).mul(2);
  const y = tidy(() => rand([N]).mul(V).to('int64'));
  const opts = { temperature: 2, alpha: 0.5, labelSmoothing: 0.1 };
  const ref = lossOn('cpu', s, te, y, opts);
  for (const dtype of ['bfloat16', 'float16']) {
    const r = lossOn('cuda', s, te, y, opts, dtype);
    t.true(Math.abs(r.loss - ref.loss) <= 2e-2 * Math.max(1, ref.loss), `${dtype}: ${r.loss} vs ${ref.loss}`);
    t.true(diff(r.grad, ref.grad) <= 1e-3, `${dtype}: gradient ${diff(r.grad, ref.grad)}`);
  }
});

cudaTest(title('one-pass CUDA kernel: all-ignoreIndex batches, top-k rows with −Infinity, 65,537 rows'), (t) => {
  manualSeed(6);
  const opts = { temperature: 2, alpha: 0.5, labelSmoothing: 0.1, ignoreIndex: 2 };
  const s = randn([16, 3000]);
  const allPad = tidy(() => randn([16]).mul(0).add(2).to('int64'));
  const pads = lossOn('cuda', s, randn([16, 3000]), allPad, opts);
  t.is(pads.loss, 0);
  t.is(diff(pads.grad, s.mul(0)), 0);
  // Top-k with −∞ log-probs (a teacher that gives some of its k entries no mass).
  const te = randn([16, 3000]);
  const sparse = sparseTeacherFromLogits(te, 8);
  const lp = sparse.logProbs.maskedFill(
    tidy(() => randn([16, 8]).gt(1)),
    -Infinity
  );
  const y = tidy(() => rand([16]).mul(3000).to('int64'));
  const a = lossOn('cpu', s, { indices: sparse.indices, logProbs: lp }, y, opts);
  const b = lossOn('cuda', s, { indices: sparse.indices, logProbs: lp }, y, opts);
  t.true(Number.isFinite(b.loss) && Math.abs(a.loss - b.loss) <= 1e-5 * Math.max(1, a.loss));
  t.true(diff(a.grad, b.grad) <= 1e-6);
  // Many rows: warp rows spread over 4097 blocks, the last one partly empty.
  const many = randn([65537, 100]);
  const mt = randn([65537, 100]);
  const my = tidy(() => rand([65537]).mul(100).to('int64'));
  const c = lossOn('cpu', many, mt, my, opts);
  const d = lossOn('cuda', many, mt, my, opts);
  t.true(Math.abs(c.loss - d.loss) <= 1e-5 * Math.max(1, c.loss));
  t.true(diff(c.grad, d.grad) <= 1e-6);
});

cudaTest(title("gradInPlace on cuda: the gradient lands in the logits' own storage, equal to the separate one"), (t) => {
  manualSeed(7);
  const s = randn([128, 32000], { device: 'cuda' });
  const te = randn([128, 32000], { device: 'cuda' });
  const y = tidy(() => rand([128], { device: 'cuda' }).mul(32000).to('int64'));
  const ref = lossOn('cuda', s.to('cpu'), te.to('cpu'), y.to('cpu'), {});
  const x = s.clone();
  x.requiresGrad = true;
  const before = cuda.memoryAllocated();
  const r = distillLoss(x, te, y, { gradInPlace: true });
  t.true(cuda.memoryAllocated() - before < 128 * 32000 * 4, 'no new [N, V] buffer');
  r.loss.backward();
  t.true(diff(x.grad!, ref.grad) <= 1e-6);
});

cudaTest(title("defaultChunkSize on cuda: from the device's free memory, all rows when they fit; lossForm auto goes dense"), (t) => {
  const rows = defaultChunkSize(16384, 128256, { device: 'cuda', dtype: 'bfloat16' });
  t.true((rows >= 1024 && rows % 64 === 0) || rows === 16384, String(rows));
  t.is(defaultChunkSize(100, 32000, { device: 'cuda' }), 100);
  t.is(defaultChunkSize(100, 32000), 100);
});
