// The native Adam/AdamW (lib/train/optimizer.ts, native/optim) against torch.optim on the same parameters and
// gradients, gradient clipping against torch.nn.utils.clip_grad_norm_, tied weights, skipped steps, state
// round trips, the async forms and bad input; the schedules against hand-worked values.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  Adam,
  AdamW,
  type Tensor,
  constant,
  inverseSqrt,
  linearWarmupDecay,
  loadTensors,
  manualSeed,
  randn,
  saveTensors,
  tensor,
  tidy,
  zeros,
} from '../lib';
import { referenceUnavailable, runPythonAsync } from './helpers/python';

const unavailable = referenceUnavailable();
const SHAPES = [[7, 5], [5], [3, 4, 2]];
const f32 = (xs: number[]) => tensor(xs, { dtype: 'float32' });

function leaf(t: Tensor): Tensor {
  const l = t.detach();
  t.dispose();
  l.requiresGrad = true;
  return l;
}

/** Sets p.grad = g exactly: d/dp sum(p * g) = g. */
function setGrads(params: Tensor[], grads: Tensor[]): void {
  params.forEach((p, i) => tidy(() => p.mul(grads[i]).sum()).backward());
}

function maxDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item() as number);
}

interface Case {
  kind: 'adam' | 'adamw';
  weightDecay: number;
  maxNorm: number | null;
}

for (const c of [
  { kind: 'adam', weightDecay: 0, maxNorm: null },
  { kind: 'adam', weightDecay: 0.1, maxNorm: 1 },
  { kind: 'adamw', weightDecay: 0.05, maxNorm: null },
  { kind: 'adamw', weightDecay: 0.01, maxNorm: 2 },
] as Case[]) {
  const label = `${c.kind}, weight decay ${c.weightDecay}${c.maxNorm ? `, clip ${c.maxNorm}` : ''}`;
  test(`200 steps equal torch.optim (${label})`, async (t) => {
    if (unavailable) return t.pass(`skipped: ${unavailable}`);
    manualSeed(3);
    const steps = 200;
    const lrs = Array.from({ length: steps }, (_, s) => (1e-2 * Math.min(1, (s + 1) / 20)) / Math.sqrt(Math.max(1, s - 19)));
    const params = SHAPES.map((s) => leaf(randn(s)));
    const grads = Array.from({ length: steps }, () => SHAPES.map((s) => randn(s)));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'optim-'));
    const input = new Map<string, Tensor>();
    params.forEach((p, i) => input.set(`param.${i}`, p));
    grads.forEach((gs, s) => gs.forEach((g, i) => input.set(`grad.${s}.${i}`, g)));
    const config = { kind: c.kind, lr: lrs, betas: [0.9, 0.98], eps: 1e-8, weightDecay: c.weightDecay, maxNorm: c.maxNorm, steps };
    await saveTensors(path.join(dir, 'in.safetensors'), input, { config: JSON.stringify(config) });
    const reference = runPythonAsync('bench/reference/optim_reference.py', [path.join(dir, 'in.safetensors'), path.join(dir, 'out.safetensors')]);

    const Opt = c.kind === 'adamw' ? AdamW : Adam;
    const opt = new Opt(params, { betas: [0.9, 0.98], eps: 1e-8, weightDecay: c.weightDecay });
    const norms: number[] = [];
    for (let s = 0; s < steps; s++) {
      setGrads(params, grads[s]);
      if (c.maxNorm !== null) norms.push(opt.clipGradNorm(c.maxNorm));
      t.true(opt.step(lrs[s]));
      opt.zeroGrad();
    }
    await reference;
    const expected = (await loadTensors(path.join(dir, 'out.safetensors'))).tensors;
    const state = opt.stateDict();
    let worst = 0;
    params.forEach((p, i) => {
      worst = Math.max(worst, maxDiff(p, expected.get(`param.${i}`)!));
      worst = Math.max(worst, maxDiff(state.get(`exp_avg.${i}`)!, expected.get(`exp_avg.${i}`)!));
      worst = Math.max(worst, maxDiff(state.get(`exp_avg_sq.${i}`)!, expected.get(`exp_avg_sq.${i}`)!));
      t.is(Number(state.get(`step.${i}`)!.item()), steps);
    });
    const refNorms = Array.from(expected.get('norms')!.toArray() as Float64Array);
    const normDiff = Math.max(0, ...norms.map((n, s) => Math.abs(n - refNorms[s]) / refNorms[s]));
    t.log(`max |diff| vs torch.optim after ${steps} steps: ${worst.toExponential(2)}; clip norms: max rel. diff ${normDiff.toExponential(2)}`);
    t.true(worst <= 1e-6);
    t.true(normDiff <= 1e-6);
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

test('tied weights are stepped once and named by their first entry', (t) => {
  const a = leaf(f32([1, 2, 3]));
  const b = leaf(f32([4, 5]));
  const opt = new Adam(
    new Map([
      ['embeddings.weight', a],
      ['bias', b],
      ['pred_layer.proj.weight', a],
    ]),
    { lr: 0.1 }
  );
  t.deepEqual(opt.parameterNames, ['embeddings.weight', 'bias']);
  setGrads([a, b], [f32([1, 1, 1]), f32([1, 1])]);
  opt.step();
  // One Adam step moves every coordinate by lr (m/sqrt(v) = 1 after bias correction), not twice that.
  t.deepEqual(
    Array.from(a.toArray() as Float32Array).map((x) => +x.toFixed(5)),
    [0.9, 1.9, 2.9]
  );
  t.is(Number(opt.stateDict().get('step.embeddings.weight')!.item()), 1);
});

test('a non-finite gradient norm skips the step, counts it, and leaves the weights alone', (t) => {
  const p = leaf(f32([1, 2]));
  const opt = new Adam([p], { lr: 0.1 });
  setGrads([p], [f32([Infinity, 1])]);
  t.is(opt.clipGradNorm(1), Infinity);
  t.false(opt.step());
  t.is(opt.skippedSteps, 1);
  t.deepEqual(Array.from(p.toArray() as Float32Array), [1, 2]);
  opt.zeroGrad();
  setGrads([p], [f32([NaN, 1])]);
  t.true(Number.isNaN(opt.clipGradNorm(1)));
  t.false(opt.step());
  opt.zeroGrad();
  setGrads([p], [f32([3, 4])]);
  t.is(opt.clipGradNorm(Infinity), 5);
  t.true(opt.step());
  t.is(opt.skippedSteps, 2);
  t.is(Number(opt.stateDict().get('step.0')!.item()), 1, 'skipped steps do not count as updates');
});

test('clipping scales the gradients to maxNorm and leaves small ones alone', (t) => {
  const p = leaf(zeros([2]));
  const opt = new Adam([p]);
  setGrads([p], [f32([3, 4])]);
  t.is(opt.clipGradNorm(1), 5);
  const g = Array.from(p.grad!.toArray() as Float32Array);
  t.true(Math.abs(g[0] - 0.6) < 1e-6 && Math.abs(g[1] - 0.8) < 1e-6);
  opt.zeroGrad();
  t.is(p.grad, null);
  setGrads([p], [f32([0.3, 0.4])]);
  t.true(Math.abs(opt.clipGradNorm(1) - 0.5) < 1e-7);
  t.deepEqual(
    Array.from(p.grad!.toArray() as Float32Array).map((x) => +x.toFixed(6)),
    [0.3, 0.4]
  );
});

test('stateDict round trip: a restored optimizer continues exactly', (t) => {
  manualSeed(5);
  const make = () => SHAPES.map((s) => leaf(randn(s)));
  const a = make();
  const grads = Array.from({ length: 10 }, () => SHAPES.map((s) => randn(s)));
  const optA = new AdamW(a, { lr: 1e-2 });
  const run = (opt: Adam, ps: Tensor[], from: number, to: number) => {
    for (let s = from; s < to; s++) {
      setGrads(ps, grads[s]);
      opt.step();
      opt.zeroGrad();
    }
  };
  run(optA, a, 0, 5);
  const b = a.map((p) => leaf(p.clone()));
  const optB = new AdamW(b, { lr: 1e-2 });
  optB.loadStateDict(optA.stateDict());
  run(optA, a, 5, 10);
  run(optB, b, 5, 10);
  a.forEach((p, i) => t.is(maxDiff(p, b[i]), 0));
  const other = new Adam([leaf(zeros([2]))]);
  t.throws(() => other.loadStateDict(optA.stateDict()), { message: /expected \[2\] float32/ });
  t.throws(() => other.loadStateDict(new Map()), { message: /has no 'step.0'/ });
});

test('stepAsync and clipGradNormAsync run off the JS thread and equal the sync forms', async (t) => {
  manualSeed(7);
  const shapes = [
    [4096, 1024],
    [4096, 1024],
  ]; // 32 MiB of parameters: a step takes tens of ms
  const a = shapes.map((s) => leaf(randn(s)));
  const b = a.map((p) => leaf(p.clone()));
  const grads = shapes.map((s) => randn(s));
  const optA = new Adam(a, { lr: 1e-3 });
  const optB = new Adam(b, { lr: 1e-3 });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const started = Date.now();
  for (let s = 0; s < 5; s++) {
    setGrads(a, grads);
    setGrads(b, grads);
    const [na, nb] = [optA.clipGradNorm(1), await optB.clipGradNormAsync(1)];
    t.is(na, nb);
    optA.step();
    t.true(await optB.stepAsync());
    optA.zeroGrad();
    optB.zeroGrad();
  }
  clearInterval(timer);
  const elapsed = Date.now() - started;
  t.log(`${ticks} timer ticks in ${elapsed} ms of mixed sync and async steps`);
  t.true(ticks >= 3);
  a.forEach((p, i) => t.is(maxDiff(p, b[i]), 0));
  optB.dispose();
  await t.throwsAsync(() => optB.stepAsync(), { message: /disposed/ });
});

test('bad parameters and options are clear errors', (t) => {
  const p = leaf(zeros([2]));
  t.throws(() => new Adam([p.mul(2)]), { message: /parameter 0 .* is not a leaf/ });
  t.throws(() => new Adam([tensor([1, 2], { dtype: 'int64' })]), { message: /not floating-point/ });
  t.throws(() => new Adam([zeros([2])]), { message: /does not require grad/ });
  t.throws(() => new Adam([]), { message: /'params' must be a non-empty array/ });
  t.throws(() => new Adam([p], { betas: [1, 0.9] }), {
    instanceOf: RangeError,
    message: /Adam: option 'betas' must be two numbers in \[0, 1\), got array/,
  });
  const opt = new Adam([p]);
  t.throws(() => opt.step(-1), { message: /lr/ });
});

test('schedules: XLM inverse sqrt, linear warm-up + decay, constant', (t) => {
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));
  const xlm = inverseSqrt({ lr: 1e-4 }); // XLM: warm-up 4000 from 1e-7
  t.true(close(xlm(0), 1e-7));
  t.true(close(xlm(2000), 1e-7 + (2000 * (1e-4 - 1e-7)) / 4000));
  t.true(close(xlm(4000), 1e-4));
  t.true(close(xlm(16000), 5e-5));
  const lin = linearWarmupDecay({ lr: 1, warmupUpdates: 10, totalUpdates: 110 });
  t.deepEqual([0, 5, 10, 60, 110, 200].map(lin), [0, 0.5, 1, 0.5, 0, 0]);
  t.is(constant({ lr: 3e-4 })(12345), 3e-4);
  t.throws(() => linearWarmupDecay({ lr: 1, warmupUpdates: 10, totalUpdates: 10 }), { message: /greater than warmupUpdates/ });
  t.throws(() => inverseSqrt({ lr: -1 }), { message: /'lr' must be/ });
});
