// A tour of the tensor layer: which LibTorch the addon found, making tensors (from JS data and factories,
// dtypes, devices), operations (broadcasting, reductions, softmax, top-k, reshaping), autograd (fitting a line
// with gradient descent), memory (dispose, tidy, memoryStats), an async matmul that leaves the event loop free,
// and errors that name the function and the shapes. Runs on CUDA when LibTorch has it, else on the CPU.
//
//   node examples/tensor-tour.js [--quick] [--threads N]
'use strict';
const {
  version,
  cuda,
  loadedAddonPath,
  allocatorInfo,
  memoryStats,
  manualSeed,
  tensor,
  zeros,
  ones,
  arange,
  randn,
  rand,
  cat,
  stack,
  where,
  tidy,
  noGrad,
  Adam,
} = require('..');
const { log, fmt, parseArgs, run } = require('./common');

const USAGE = 'usage: node examples/tensor-tour.js [--quick] [--threads N]';
const show = (t) => JSON.stringify(t.tolist());

run(async () => {
  const args = parseArgs(USAGE, {}, { trains: false });
  const info = version();
  const device = cuda.isAvailable() ? 'cuda' : 'cpu';
  console.log(
    `LibTorch ${info.libtorch}: ${info.threads} thread${info.threads === 1 ? '' : 's'}, MKL ${info.mkl ? 'on' : 'off'}, OpenMP ${info.openmp ? 'on' : 'off'}`
  );
  console.log(`CUDA: ${info.cuda ? `${info.cudaVersion}, ${info.cudaDevices} device(s)` : 'not available'}; this tour uses the ${device}`);
  console.log(`addon: ${loadedAddonPath()}; CPU allocator: ${allocatorInfo().cpu}`);

  // Sections 1 and 2 inside one tidy(): the tensors they print are freed together at its end.
  tidy(() => {
    console.log('\n1. Making tensors');
    const a = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: 'float32', device }
    );
    console.log(`  tensor([[1, 2], [3, 4]]): shape ${JSON.stringify(a.shape)}, dtype ${a.dtype}, device ${a.device}, ${a.toString()}`);
    console.log(`  zeros([2, 3]) = ${show(zeros([2, 3]))}, ones([3], { dtype: 'int64' }) = ${show(ones([3], { dtype: 'int64' }))}`);
    console.log(`  arange(0, 10, 3) = ${show(arange(0, 10, 3))}`);
    manualSeed(0);
    const r1 = randn([3]).tolist();
    manualSeed(0);
    const r2 = randn([3]).tolist();
    console.log(
      `  randn([3]) after manualSeed(0), twice: ${JSON.stringify(r1.map((x) => +x.toFixed(4)))} and ${JSON.stringify(r2.map((x) => +x.toFixed(4)))}`
    );
    const ids = tensor(new BigInt64Array([5n, 7n, 9n]));
    console.log(`  from a BigInt64Array: dtype ${ids.dtype}, toArray() is a ${ids.toArray().constructor.name}`);
    console.log(`  from a Float32Array with a shape: ${show(tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] }))}`);

    console.log('\n2. Operations (each returns a new tensor)');
    const product = a.matmul(a);
    console.log(`  a.matmul(a) = ${show(product)}`);
    console.log(`  a.add(tensor([10, 20])) broadcasts: ${show(a.add(tensor([10, 20], { device })))}`);
    console.log(`  a.mul(2).sub(1).pow(2) = ${show(a.mul(2).sub(1).pow(2))}`);
    console.log(`  a.sum() = ${a.sum().item()}, a.mean(0) = ${show(a.mean(0))}, a.sum(1, { keepdim: true }) = ${show(a.sum(1, { keepdim: true }))}`);
    console.log(
      `  a.softmax(-1) = ${JSON.stringify(
        a
          .softmax(-1)
          .tolist()
          .map((row) => row.map((x) => +x.toFixed(4)))
      )}`
    );
    const top = tensor([0.1, 0.7, 0.05, 0.15]).topk(2);
    console.log(
      `  topk(2) of [0.1, 0.7, 0.05, 0.15]: values ${JSON.stringify(top.values.tolist().map((x) => +x.toFixed(2)))}, indices ${show(top.indices)}`
    );
    const x = arange(0, 6).view(2, 3);
    console.log(`  arange(0, 6).view(2, 3).transpose(0, 1) = ${show(x.transpose(0, 1))}; x.narrow(1, 1, 2) = ${show(x.narrow(1, 1, 2))}`);
    console.log(`  cat([x, x], 0) shape ${JSON.stringify(cat([x, x], 0).shape)}, stack([x, x]) shape ${JSON.stringify(stack([x, x]).shape)}`);
    console.log(`  where(x.gt(2), x, 0) = ${show(where(x.gt(2), x, 0))}; x.gt(2) is ${x.gt(2).dtype}`);
    console.log(`  a.to('float64').dtype = ${a.to('float64').dtype}, a.to('int32') = ${show(a.to('int32'))}`);
  });

  console.log('\n3. Autograd: fit y = 3x + 2 (loss.backward() fills .grad; Adam updates in place)');
  manualSeed(1);
  // tidy() keeps what it returns (arrays and objects of tensors too) and frees the rest at once.
  const [xs, ys] = tidy(() => {
    const x = rand([64, 1], { device }).mul(4).sub(2);
    return [
      x,
      x
        .mul(3)
        .add(2)
        .add(randn([64, 1], { device }).mul(0.05)),
    ];
  });
  const w = zeros([1, 1], { device, requiresGrad: true });
  const b = zeros([1], { device, requiresGrad: true });
  const optimizer = new Adam(
    new Map([
      ['w', w],
      ['b', b],
    ]),
    { lr: 0.1 }
  );
  const steps = args.quick ? 150 : 300;
  for (let step = 1; step <= steps; step++) {
    const loss = tidy(() => xs.matmul(w).add(b).sub(ys).pow(2).mean()); // temporaries freed, the loss kept
    loss.backward();
    if (step === 1) tidy(() => console.log(`  step 1: w.grad = ${fmt(Number(w.grad.item()), 3)}, b.grad = ${fmt(Number(b.grad.item()), 3)}`));
    optimizer.step();
    optimizer.zeroGrad();
    if (step === 1 || step % (steps / 3) === 0) console.log(`  step ${String(step).padStart(3)}: loss ${fmt(Number(loss.item()), 5)}`);
    loss.dispose();
  }
  optimizer.dispose();
  const fit = tidy(() => noGrad(() => xs.matmul(w).add(b).sub(ys).pow(2).mean().item()));
  console.log(`  learned w = ${fmt(Number(w.item()), 3)}, b = ${fmt(Number(b.item()), 3)} (true: 3 and 2), final loss ${fmt(Number(fit), 5)}`);

  // Tensors nobody disposes are freed by the garbage collector, in its own pass; the counts below are exact
  // because nothing above left any behind.
  console.log('\n4. Memory: dispose() frees at once, tidy() frees what it does not return');
  const before = memoryStats().liveTensors;
  const kept = tidy(() => {
    let t = randn([256, 256], { device });
    for (let i = 0; i < 20; i++) t = t.mul(0.5).add(1); // 40 temporaries
    return t.sum();
  });
  console.log(`  live tensors: ${before} before tidy, ${memoryStats().liveTensors} after (only its result is new: ${fmt(Number(kept.item()), 1)})`);
  const big = zeros([1024, 1024]);
  const withBig = memoryStats();
  big.dispose();
  console.log(
    `  a 4 MiB tensor: live bytes ${(withBig.liveBytes / 2 ** 20).toFixed(2)} MiB -> ${(memoryStats().liveBytes / 2 ** 20).toFixed(2)} MiB after dispose(); isDisposed ${big.isDisposed}`
  );

  console.log('\n5. Async: a big matmul off the JS thread');
  const n = args.quick ? 768 : 2048;
  const m = randn([n, n], { device });
  (await m.narrow(0, 0, 64).matmulAsync(m)).dispose(); // warm-up: the compute thread and the BLAS start once
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  let t0 = process.hrtime.bigint();
  const c = await m.matmulAsync(m);
  const asyncMs = Number(process.hrtime.bigint() - t0) / 1e6;
  clearInterval(timer);
  t0 = process.hrtime.bigint();
  const d = m.matmul(m);
  const syncMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const diff = tidy(() => Number(c.sub(d).abs().max().item()));
  const gflops = (2 * n ** 3) / (Math.min(asyncMs, syncMs) / 1e3) / 1e9;
  console.log(
    `  ${n}x${n} matmulAsync: ${asyncMs.toFixed(1)} ms with ${ticks} timer ticks meanwhile; matmul (blocking): ${syncMs.toFixed(1)} ms; ` +
      `same result (max |diff| ${diff.toExponential(1)}); ${gflops.toFixed(1)} GFLOP/s`
  );

  console.log('\n6. Errors are JS exceptions that say what was wrong');
  try {
    ones([2, 2], { device }).matmul(tensor([1, 2, 3], { device }));
  } catch (err) {
    console.log(`  ${err.constructor.name}: ${err.message.split('\n')[0]}`);
  }
  try {
    tensor([1, 2, 3]).view(2, 2);
  } catch (err) {
    console.log(`  ${err.constructor.name}: ${err.message.split('\n')[0]}`);
  }
  log('tour finished');
});
