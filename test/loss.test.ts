// Tests for lib/loss + native/loss: the fused distillation loss in its dense, sparse top-k and
// chunked fused-linear forms, against the plain LibTorch composition in-process and against the PyTorch
// reference in .venv (bench/reference/loss_reference.py), float64 gradchecks of all three forms, chunked ==
// dense, and the errors bad input gets.

import test from 'ava';
import type { ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  distillLoss,
  distillLossChunked,
  distillLossReference,
  distillLossKernel,
  defaultChunkSize,
  sparseTeacherFromLogits,
  LOSS_DEFAULTS,
} from '../lib/loss';
import type { DistillLossOptions, DistillLossResult, SparseTeacher, Reduction } from '../lib/loss';
import { Tensor, tensor, randn, rand, manualSeed, noGrad, zeros } from '../lib/tensor';
import type { DType } from '../lib/tensor';
import { native } from '../lib/native';
import { readSafetensorsSync, writeSafetensorsSync } from '../lib/io';
import type { RawTensor } from '../lib/io';

// ---------------------------------------------------------------------------
// Helpers

const ROOT = path.resolve(__dirname, '..', '..');
const PY = path.join(ROOT, '.venv', 'bin', 'python');
const PAD = LOSS_DEFAULTS.ignoreIndex;

function values(x: Tensor): Float64Array {
  return Float64Array.from(x.to('float64').toArray() as Float64Array);
}

/** Every |a - e| <= atol + rtol*|e|; the message names the worst element. */
function close(t: ExecutionContext, actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  t.is(actual.length, expected.length, `${what}: length`);
  let worst = -Infinity;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= worst) || Number.isNaN(actual[i]) !== Number.isNaN(expected[i])) {
      worst = Number.isNaN(excess) ? Infinity : excess;
      at = i;
    }
  }
  t.true(expected.length === 0 || worst <= 0, `${what}: element ${at}: got ${actual[at]}, expected ${expected[at]} (atol ${atol}, rtol ${rtol})`);
}

/** Labels in [0, V) that avoid PAD, with PAD at the given rows. */
function labels(n: number, V: number, padRows: number[] = [], shape?: number[], seed = 1): Tensor {
  const out: number[] = [];
  let x = seed * 7919 + 17;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    let y = x % V;
    if (y === PAD) y = (y + 1) % V;
    out.push(padRows.includes(i) ? PAD : y);
  }
  return tensor(out, { dtype: 'int64', shape: shape ?? [n] });
}

function leaf(x: Tensor): Tensor {
  const l = x.detach();
  l.requiresGrad = true;
  return l;
}

/** Loss parts and the gradient of `loss` (summed when it is per token) w.r.t. the given leaves. */
function run(f: () => DistillLossResult, leaves: Tensor[]): { loss: Float64Array; kd: Float64Array; ce: Float64Array; grads: Float64Array[] } {
  for (const l of leaves) l.zeroGrad();
  const r = f();
  const scalar = r.loss.ndim === 0 ? r.loss : r.loss.sum();
  scalar.backward();
  const grads = leaves.map((l) => (l.grad ? values(l.grad) : new Float64Array(0)));
  for (const l of leaves) l.zeroGrad();
  return { loss: values(r.loss), kd: values(r.kd), ce: values(r.ce), grads };
}

function rawOf(x: Tensor): RawTensor {
  const dt = x.dtype;
  const map: Partial<Record<DType, RawTensor['dtype']>> = { float32: 'F32', float64: 'F64', int64: 'I64', int32: 'I32' };
  const a = x.contiguous().toArray() as ArrayBufferView;
  return { dtype: map[dt]!, shape: x.shape, data: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) };
}

function f64Of(raw: RawTensor | undefined, name: string): Float64Array {
  if (!raw) throw new Error(`reference output lacks ${name}`);
  if (raw.dtype !== 'F64') throw new Error(`${name}: expected F64, got ${raw.dtype}`);
  return new Float64Array(raw.data.slice().buffer);
}

function pythonStatus(): { ok: boolean; reason: string } {
  if (!fs.existsSync(PY)) return { ok: false, reason: `${PY} not found` };
  const r = spawnSync(PY, ['-c', 'import safetensors, torch'], { encoding: 'utf8' });
  if (r.status !== 0) return { ok: false, reason: `python lacks safetensors/torch: ${(r.stderr || String(r.error)).trim().split('\n').pop()}` };
  return { ok: true, reason: '' };
}
const py = pythonStatus();
if (!py.ok) console.warn(`[loss.test] PyTorch reference tests skipped: ${py.reason}`);
const pyTest = py.ok ? test : test.skip;

const TEMPS = [1, 2, 4];
const ALPHAS = [0, 0.5, 1];

// Tolerances of the fp32 comparisons (1e-5, relative where values are large): values relative to max(1, |value|), gradients absolute.
const VAL_TOL = 1e-5;
const GRAD_TOL = 1e-5;

function closeValues(t: ExecutionContext, a: Float64Array, e: Float64Array, what: string): void {
  close(t, a, e, VAL_TOL, VAL_TOL, what);
}

// ---------------------------------------------------------------------------
// Against the LibTorch composition, in-process

test('dense: matches the LibTorch composition on random logits for T ∈ {1,2,4}, alpha ∈ {0,0.5,1}, ε ∈ {0,0.1} and every reduction', (t) => {
  manualSeed(1);
  const N = 13;
  const V = 301; // not a multiple of the vector width: the scalar tails run too
  const s = leaf(randn([N, V]).mul(3));
  const te = randn([N, V]).mul(3);
  const y = labels(N, V, [3, 7]);
  for (const temperature of TEMPS) {
    for (const alpha of ALPHAS) {
      for (const labelSmoothing of [0, 0.1]) {
        for (const reduction of ['mean', 'sum', 'none'] as Reduction[]) {
          const o: DistillLossOptions = { temperature, alpha, labelSmoothing, reduction };
          const tag = JSON.stringify(o);
          const a = run(() => distillLoss(s, te, y, o), [s]);
          const b = run(() => distillLossReference(s, te, y, o), [s]);
          closeValues(t, a.loss, b.loss, `loss ${tag}`);
          closeValues(t, a.kd, b.kd, `kd ${tag}`);
          closeValues(t, a.ce, b.ce, `ce ${tag}`);
          close(t, a.grads[0], b.grads[0], GRAD_TOL, 0, `grad ${tag}`);
        }
      }
    }
  }
});

test('dense: matches the LibTorch composition on extreme logits (±1e4)', (t) => {
  manualSeed(2);
  const N = 9;
  const V = 257;
  // Uniform in [-1e4, 1e4], plus a row of exact ±1e4 and a row where student and teacher disagree wildly.
  const pm = rand([1, V]).gt(0.5).to('float32').mul(2e4).sub(1e4);
  const sFull = leaf(
    tensorCat([
      rand([N - 1, V])
        .mul(2)
        .sub(1)
        .mul(1e4),
      pm,
    ])
  );
  const te = tensorCat([
    rand([N - 1, V])
      .mul(2)
      .sub(1)
      .mul(1e4),
    pm.neg(),
  ]);
  const y = labels(N, V, [4]);
  for (const temperature of TEMPS) {
    for (const alpha of ALPHAS) {
      const o = { temperature, alpha, labelSmoothing: 0.1 };
      const a = run(() => distillLoss(sFull, te, y, o), [sFull]);
      const b = run(() => distillLossReference(sFull, te, y, o), [sFull]);
      t.true(a.loss.every(Number.isFinite), `finite loss ${JSON.stringify(o)}`);
      closeValues(t, a.loss, b.loss, `loss ${JSON.stringify(o)}`);
      closeValues(t, a.kd, b.kd, `kd ${JSON.stringify(o)}`);
      closeValues(t, a.ce, b.ce, `ce ${JSON.stringify(o)}`);
      close(t, a.grads[0], b.grads[0], GRAD_TOL, 0, `grad ${JSON.stringify(o)}`);
    }
  }
});

function tensorCat(ts: Tensor[]): Tensor {
  return new Tensor(
    native().cat(
      ts.map((x) => x.native),
      0
    )
  );
}

test('dense: pad rows give zero loss and gradient; a batch of only pad rows gives 0 (not NaN) for every reduction', (t) => {
  manualSeed(3);
  const N = 6;
  const V = 50;
  const s = leaf(randn([N, V]));
  const te = randn([N, V]);
  const pads = [0, 2, 5];
  const y = labels(N, V, pads);
  for (const temperature of TEMPS) {
    for (const alpha of ALPHAS) {
      const o = { temperature, alpha, labelSmoothing: 0.1 };
      const none = run(() => distillLoss(s, te, y, { ...o, reduction: 'none' }), [s]);
      const ref = run(() => distillLossReference(s, te, y, o), [s]);
      const mean = run(() => distillLoss(s, te, y, o), [s]);
      closeValues(t, mean.loss, ref.loss, `mean ${JSON.stringify(o)}`);
      close(t, mean.grads[0], ref.grads[0], GRAD_TOL, 0, `grad ${JSON.stringify(o)}`);
      for (const r of pads) {
        t.is(none.loss[r], 0, `pad row ${r} loss`);
        t.is(none.kd[r], 0, `pad row ${r} kd`);
        t.is(none.ce[r], 0, `pad row ${r} ce`);
        t.true(
          mean.grads[0].slice(r * V, (r + 1) * V).every((g) => g === 0),
          `pad row ${r} gradient`
        );
      }
      // The mean is over the 3 non-pad rows.
      const nonPad = none.loss.reduce((acc, v) => acc + v, 0) / (N - pads.length);
      t.true(Math.abs(mean.loss[0] - nonPad) <= 1e-5 * Math.max(1, Math.abs(nonPad)));
    }
  }
  const allPad = labels(N, V, [0, 1, 2, 3, 4, 5]);
  for (const reduction of ['mean', 'sum', 'none'] as Reduction[]) {
    for (const f of [distillLoss, distillLossReference]) {
      const r = run(() => f(s, te, allPad, { reduction, temperature: 2 }), [s]);
      t.true(
        r.loss.every((v) => v === 0),
        `${f.name} ${reduction}: loss 0`
      );
      t.true(r.kd.every((v) => v === 0) && r.ce.every((v) => v === 0), `${f.name} ${reduction}: parts 0`);
      t.true(
        r.grads[0].every((g) => g === 0),
        `${f.name} ${reduction}: gradient 0`
      );
    }
  }
});

// ---------------------------------------------------------------------------
// Against the PyTorch reference in .venv

interface RefCase {
  name: string;
  form: 'dense' | 'sparse' | 'chunked';
  teacher: 'logits' | 'sparse' | 'hidden';
  o: Required<Pick<DistillLossOptions, 'temperature' | 'alpha' | 'labelSmoothing' | 'reduction'>>;
  tensors: Record<string, Tensor>;
  ours: () => DistillLossResult;
  leaves: Tensor[];
  gradNames: string[];
}

pyTest(
  'dense, sparse and chunked: match the PyTorch reference in .venv (float64) within 1e-5, for T ∈ {1,2,4}, alpha ∈ {0,0.5,1}, random / extreme / all-pad rows',
  (t) => {
    manualSeed(4);
    const cases: RefCase[] = [];
    const N = 10;
    const V = 203;
    const H = 24;
    let id = 0;
    for (const temperature of TEMPS) {
      for (const alpha of ALPHAS) {
        const o = { temperature, alpha, labelSmoothing: id % 2 ? 0.1 : 0, reduction: 'mean' as Reduction };
        // random logits with two pad rows
        {
          const s = leaf(randn([N, V]).mul(2.5));
          const te = randn([N, V]).mul(2.5);
          const y = labels(N, V, [1, 6], undefined, id);
          cases.push({
            name: `rand${id}`,
            form: 'dense',
            teacher: 'logits',
            o,
            tensors: { student: s, teacher: te, targets: y },
            ours: () => distillLoss(s, te, y, o),
            leaves: [s],
            gradNames: ['grad'],
          });
        }
        // extreme logits (±1e4)
        {
          const s = leaf(rand([N, V]).mul(2).sub(1).mul(1e4));
          const te = rand([N, V]).mul(2).sub(1).mul(1e4);
          const y = labels(N, V, [2], undefined, id + 100);
          cases.push({
            name: `extreme${id}`,
            form: 'dense',
            teacher: 'logits',
            o,
            tensors: { student: s, teacher: te, targets: y },
            ours: () => distillLoss(s, te, y, o),
            leaves: [s],
            gradNames: ['grad'],
          });
        }
        // all-pad rows (every row), 'sum' and 'none' too
        {
          const s = leaf(randn([4, V]));
          const te = randn([4, V]);
          const y = labels(4, V, [0, 1, 2, 3]);
          const oo = { ...o, reduction: (['mean', 'sum', 'none'] as Reduction[])[id % 3] };
          cases.push({
            name: `allpad${id}`,
            form: 'dense',
            teacher: 'logits',
            o: oo,
            tensors: { student: s, teacher: te, targets: y },
            ours: () => distillLoss(s, te, y, oo),
            leaves: [s],
            gradNames: ['grad'],
          });
        }
        // [B, T, V] with reduction 'none' (the reference backpropagates ones, as our run() does through sum)
        {
          const s = leaf(randn([2, 5, V]));
          const te = randn([2, 5, V]);
          const y = labels(10, V, [4, 9], [2, 5], id + 200);
          const oo = { ...o, reduction: 'none' as Reduction };
          cases.push({
            name: `btv${id}`,
            form: 'dense',
            teacher: 'logits',
            o: oo,
            tensors: { student: s, teacher: te, targets: y },
            ours: () => distillLoss(s, te, y, oo),
            leaves: [s],
            gradNames: ['grad'],
          });
        }
        // sparse top-k teacher
        {
          const s = leaf(randn([N, V]).mul(2));
          const sp = sparseTeacherFromLogits(randn([N, V]).mul(3), 17);
          const y = labels(N, V, [5], undefined, id + 300);
          const oo = { ...o, reduction: 'sum' as Reduction };
          cases.push({
            name: `sparse${id}`,
            form: 'sparse',
            teacher: 'sparse',
            o: oo,
            tensors: { student: s, indices: sp.indices, logProbs: sp.logProbs, targets: y },
            ours: () => distillLoss(s, sp, y, oo),
            leaves: [s],
            gradNames: ['grad'],
          });
        }
        // chunked fused-linear, hidden teacher, bias
        {
          const h = leaf(randn([N, H]));
          const w = leaf(randn([V, H]).mul(0.3));
          const b = leaf(randn([V]).mul(0.1));
          const th = randn([N, 16]);
          const tw = randn([V, 16]).mul(0.4);
          const tb = randn([V]).mul(0.1);
          const y = labels(N, V, [0], undefined, id + 400);
          cases.push({
            name: `chunked${id}`,
            form: 'chunked',
            teacher: 'hidden',
            o,
            tensors: { hidden: h, weight: w, bias: b, teacherHidden: th, teacherWeight: tw, teacherBias: tb, targets: y },
            ours: () => distillLossChunked(h, w, b, { hidden: th, weight: tw, bias: tb }, y, { ...o, reduction: 'mean', chunkSize: 3 }),
            leaves: [h, w, b],
            gradNames: ['gradHidden', 'gradWeight', 'gradBias'],
          });
        }
        id++;
      }
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xkt-loss-'));
    try {
      const inp = path.join(dir, 'in.safetensors');
      const out = path.join(dir, 'out.safetensors');
      const raw: Record<string, RawTensor> = {};
      for (const c of cases) for (const [k, v] of Object.entries(c.tensors)) raw[`${c.name}.${k}`] = rawOf(v.detach());
      const meta = cases.map((c) => ({ name: c.name, form: c.form, teacher: c.teacher, ignoreIndex: PAD, ...c.o }));
      writeSafetensorsSync(inp, raw, { cases: JSON.stringify(meta) });
      const r = spawnSync(PY, [path.join(ROOT, 'bench', 'reference', 'loss_reference.py'), inp, out], { encoding: 'utf8' });
      t.is(r.status, 0, `loss_reference.py failed: ${r.stderr}`);
      const ref = readSafetensorsSync(out).tensors;
      for (const c of cases) {
        const ours = run(c.ours, c.leaves);
        closeValues(t, ours.loss, f64Of(ref.get(`${c.name}.loss`), 'loss'), `${c.name} loss`);
        closeValues(t, ours.kd, f64Of(ref.get(`${c.name}.kd`), 'kd'), `${c.name} kd`);
        closeValues(t, ours.ce, f64Of(ref.get(`${c.name}.ce`), 'ce'), `${c.name} ce`);
        c.gradNames.forEach((g, i) => close(t, ours.grads[i], f64Of(ref.get(`${c.name}.${g}`), g), GRAD_TOL, 0, `${c.name} ${g}`));
      }
      t.true(cases.length >= 50);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
);

// ---------------------------------------------------------------------------
// Gradchecks in float64: central differences (eps 1e-6) on random coordinates vs the analytic gradient

const FD_EPS = 1e-6;
const FD_RTOL = 1e-6;

/** Checks d(sum of loss)/d(inputs[which]) on `coords` random coordinates. */
function gradcheck(t: ExecutionContext, what: string, inputs: Tensor[], lossOf: (xs: Tensor[]) => DistillLossResult, coords = 6): void {
  const leaves = inputs.map(leaf);
  const analytic = run(() => lossOf(leaves), leaves).grads;
  const data = inputs.map((x) => values(x));
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const evalAt = (which: number, idx: number, delta: number): number => {
    const d = Float64Array.from(data[which]);
    d[idx] += delta;
    const xs = inputs.map((x, i) => (i === which ? tensor(d, { shape: x.shape }) : x));
    return noGrad(() => {
      const r = lossOf(xs);
      const v = values(r.loss);
      return v.reduce((a, b) => a + b, 0);
    });
  };
  for (let which = 0; which < inputs.length; which++) {
    for (let c = 0; c < coords; c++) {
      const idx = rnd(data[which].length);
      const numeric = (evalAt(which, idx, FD_EPS) - evalAt(which, idx, -FD_EPS)) / (2 * FD_EPS);
      const a = analytic[which][idx];
      t.true(Math.abs(numeric - a) <= FD_RTOL * Math.abs(a) + 1e-9, `${what}: input ${which} [${idx}]: analytic ${a}, numeric ${numeric}`);
    }
  }
}

test('gradcheck (float64): dense form, T ∈ {1,2,4} × alpha ∈ {0,0.5,1}, every reduction', (t) => {
  manualSeed(5);
  const N = 5;
  const V = 19;
  const s = randn([N, V], { dtype: 'float64' }).mul(2);
  const te = randn([N, V], { dtype: 'float64' }).mul(2);
  const y = labels(N, V, [2]);
  for (const temperature of TEMPS) {
    for (const alpha of ALPHAS) {
      for (const reduction of ['mean', 'sum', 'none'] as Reduction[]) {
        const o = { temperature, alpha, labelSmoothing: 0.1, reduction };
        gradcheck(t, `dense ${JSON.stringify(o)}`, [s], ([x]) => distillLoss(x, te, y, o), 4);
      }
    }
  }
});

test('gradcheck (float64): sparse form', (t) => {
  manualSeed(6);
  const N = 5;
  const V = 23;
  const s = randn([N, V], { dtype: 'float64' }).mul(2);
  const sp = sparseTeacherFromLogits(randn([N, V], { dtype: 'float64' }).mul(2), 6);
  const y = labels(N, V, [1]);
  for (const temperature of TEMPS) {
    for (const alpha of [0.5, 1]) {
      const o = { temperature, alpha, labelSmoothing: 0.05 };
      gradcheck(t, `sparse ${JSON.stringify(o)}`, [s], ([x]) => distillLoss(x, sp, y, o), 6);
    }
  }
});

test('gradcheck (float64): chunked form, gradients for hidden, weight and bias', (t) => {
  manualSeed(7);
  const N = 7;
  const H = 5;
  const V = 17;
  const h = randn([N, H], { dtype: 'float64' });
  const w = randn([V, H], { dtype: 'float64' }).mul(0.5);
  const b = randn([V], { dtype: 'float64' }).mul(0.2);
  const teacher = randn([N, V], { dtype: 'float64' }).mul(2);
  const y = labels(N, V, [3]);
  for (const temperature of [1, 2]) {
    for (const alpha of ALPHAS) {
      for (const reduction of ['mean', 'sum'] as const) {
        const o = { temperature, alpha, labelSmoothing: 0.1, reduction, chunkSize: 3 };
        gradcheck(t, `chunked ${JSON.stringify(o)}`, [h, w, b], ([hh, ww, bb]) => distillLossChunked(hh, ww, bb, teacher, y, o), 4);
      }
    }
  }
});

// ---------------------------------------------------------------------------
// The chunked form equals the dense form

function denseThroughLinear(h: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const logits = h.matmul(w.transpose(0, 1));
  return b ? logits.add(b) : logits;
}

test('chunked equals dense (teacher as logits, hidden states + projection, or top-k; chunk sizes 1, 3, N, > N, default)', (t) => {
  for (const dtype of ['float32', 'float64'] as const) {
    manualSeed(8);
    const N = 11;
    const H = 9;
    const V = 131;
    const h = leaf(randn([N, H], { dtype }));
    const w = leaf(randn([V, H], { dtype }).mul(0.4));
    const b = leaf(randn([V], { dtype }).mul(0.1));
    const th = randn([N, 6], { dtype });
    const tw = randn([V, 6], { dtype }).mul(0.5);
    const tb = randn([V], { dtype }).mul(0.1);
    const tLogits = denseThroughLinear(th, tw, tb).detach();
    const sp = sparseTeacherFromLogits(tLogits, 9);
    const y = labels(N, V, [2, 8]);
    const tol = dtype === 'float32' ? 1e-5 : 1e-10;
    const teachers: Array<[string, Tensor | SparseTeacher | { hidden: Tensor; weight: Tensor; bias: Tensor }, Tensor | SparseTeacher]> = [
      ['logits', tLogits, tLogits],
      ['hidden', { hidden: th, weight: tw, bias: tb }, tLogits],
      ['sparse', sp, sp],
    ];
    for (const [kind, chunkedTeacher, denseTeacher] of teachers) {
      for (const reduction of ['mean', 'sum'] as const) {
        const o = { temperature: 2, alpha: 0.5, labelSmoothing: 0.1, reduction };
        const dense = run(() => distillLoss(denseThroughLinear(h, w, b), denseTeacher, y, o), [h, w, b]);
        for (const chunkSize of [1, 3, N, N + 5, undefined]) {
          const tag = `${dtype} ${kind} ${reduction} chunk ${chunkSize}`;
          const c = run(() => distillLossChunked(h, w, b, chunkedTeacher, y, { ...o, chunkSize }), [h, w, b]);
          close(t, c.loss, dense.loss, tol, tol, `${tag} loss`);
          close(t, c.kd, dense.kd, tol, tol, `${tag} kd`);
          close(t, c.ce, dense.ce, tol, tol, `${tag} ce`);
          ['hidden', 'weight', 'bias'].forEach((n, i) => close(t, c.grads[i], dense.grads[i], tol, tol, `${tag} grad ${n}`));
        }
      }
    }
  }
  // Without a bias, and with only `hidden` requiring grad (a frozen, e.g. tied, projection).
  manualSeed(9);
  const h = leaf(randn([6, 4]));
  const w = randn([30, 4]);
  const te = randn([6, 30]);
  const y = labels(6, 30);
  const dense = run(() => distillLoss(denseThroughLinear(h, w, null), te, y), [h]);
  const c = run(() => distillLossChunked(h, w, null, te, y, { chunkSize: 4 }), [h]);
  close(t, c.loss, dense.loss, 1e-5, 1e-5, 'no bias loss');
  close(t, c.grads[0], dense.grads[0], 1e-5, 1e-5, 'no bias grad hidden');
  t.is(w.grad, null);
  t.is(defaultChunkSize(100000, 32000), Math.floor(2 ** 23 / 32000));
  t.is(defaultChunkSize(10, 32000), 10);
});

// ---------------------------------------------------------------------------
// The sparse teacher

test('sparse: k = V reproduces the dense loss; for k < V the tail is renormalised over the k (= the dense loss with a -inf tail)', (t) => {
  manualSeed(10);
  const N = 8;
  const V = 40;
  const s = leaf(randn([N, V]).mul(2));
  const tl = randn([N, V]).mul(2);
  const y = labels(N, V, [3]);
  for (const temperature of TEMPS) {
    for (const alpha of [0.5, 1]) {
      const o = { temperature, alpha, labelSmoothing: 0.1 };
      const full = sparseTeacherFromLogits(tl, V);
      const a = run(() => distillLoss(s, full, y, o), [s]);
      const d = run(() => distillLoss(s, tl, y, o), [s]);
      close(t, a.loss, d.loss, 1e-5, 1e-5, `k = V loss ${JSON.stringify(o)}`);
      close(t, a.grads[0], d.grads[0], 1e-6, 0, `k = V grad ${JSON.stringify(o)}`);
      // k = 7: equal to the dense loss against teacher logits that are -inf outside the top-7.
      const k = 7;
      const top = sparseTeacherFromLogits(tl, k);
      const kth = top.logProbs.slice(1, k - 1, k); // [N, 1]: the k-th largest log-prob
      const masked = tl.logSoftmax(-1).maskedFill(tl.logSoftmax(-1).lt(kth), -Infinity);
      const sp = run(() => distillLoss(s, top, y, o), [s]);
      const dm = run(() => distillLoss(s, masked, y, o), [s]);
      close(t, sp.loss, dm.loss, 1e-5, 1e-5, `k = 7 loss ${JSON.stringify(o)}`);
      close(t, sp.grads[0], dm.grads[0], 1e-6, 0, `k = 7 grad ${JSON.stringify(o)}`);
      // and equal to the composition with the same renormalisation
      const ref = run(() => distillLossReference(s, top, y, o), [s]);
      close(t, sp.loss, ref.loss, VAL_TOL, VAL_TOL, `k = 7 vs composition ${JSON.stringify(o)}`);
      close(t, sp.grads[0], ref.grads[0], GRAD_TOL, 0, `k = 7 grad vs composition ${JSON.stringify(o)}`);
    }
  }
  // logits instead of log-probs: a per-row shift does not matter; -inf entries carry no mass.
  const top = sparseTeacherFromLogits(tl, 5);
  const shifted = { indices: top.indices, logProbs: top.logProbs.add(3.5) };
  const a = run(() => distillLoss(s, top, y), [s]);
  const b = run(() => distillLoss(s, shifted, y), [s]);
  close(t, a.loss, b.loss, 1e-6, 1e-6, 'shift invariance');
  const withNegInf = { indices: top.indices, logProbs: top.logProbs.maskedFill(top.logProbs.lt(top.logProbs.slice(1, 0, 1).sub(1)), -Infinity) };
  const c = run(() => distillLoss(s, withNegInf, y), [s]);
  t.true(c.loss.every(Number.isFinite) && c.grads[0].every(Number.isFinite), '-inf logProbs stay finite');
});

// ---------------------------------------------------------------------------
// Dtypes, shapes, autograd plumbing

test('bfloat16 and float16 inputs: math in float32, gradient in the input dtype', (t) => {
  manualSeed(11);
  const N = 9;
  const V = 77;
  const y = labels(N, V, [4]);
  for (const dtype of ['bfloat16', 'float16'] as const) {
    const s = leaf(randn([N, V]).mul(2).to(dtype));
    const te = randn([N, V]).mul(2).to(dtype);
    const s32 = leaf(s.detach().to('float32'));
    const o = { temperature: 2, alpha: 0.5, labelSmoothing: 0.1 };
    const r = distillLoss(s, te, y, o);
    t.is(r.loss.dtype, 'float32');
    r.loss.backward();
    t.is(s.grad!.dtype, dtype);
    const g = values(s.grad!);
    // The inputs are exactly representable in float32, so the loss equals the float32 loss on them.
    const ref = run(() => distillLoss(s32, te.to('float32'), y, o), [s32]);
    close(t, values(r.loss), ref.loss, 1e-6, 1e-6, `${dtype} loss`);
    const gmax = ref.grads[0].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    close(t, g, ref.grads[0], gmax * (dtype === 'bfloat16' ? 1e-2 : 1e-3), 0, `${dtype} grad`);
    // A float32 teacher with a bfloat16 student works too (converted per row).
    const mixed = distillLoss(s, te.to('float32'), y, o);
    close(t, values(mixed.loss), ref.loss, 1e-6, 1e-6, `${dtype} student, float32 teacher`);
  }
});

test('[B, T, V] input equals the flattened [N, V] form; loss "none" has shape [B, T]', (t) => {
  manualSeed(12);
  const s = leaf(randn([3, 4, 29]));
  const te = randn([3, 4, 29]);
  const y = labels(12, 29, [5, 11], [3, 4]);
  const flat = leaf(s.detach().reshape(12, 29));
  for (const reduction of ['mean', 'sum', 'none'] as Reduction[]) {
    const a = run(() => distillLoss(s, te, y, { reduction }), [s]);
    const b = run(() => distillLoss(flat, te.reshape(12, 29), y.reshape(12), { reduction }), [flat]);
    close(t, a.loss, b.loss, 1e-7, 1e-7, `${reduction} loss`);
    close(t, a.grads[0], b.grads[0], 1e-9, 0, `${reduction} grad`);
  }
  t.deepEqual(distillLoss(s, te, y, { reduction: 'none' }).loss.shape, [3, 4]);
  t.deepEqual(distillLoss(s, te, y).loss.shape, []);
});

test('backward: fills student.grad, scales by the upstream gradient, supports retainGraph, and never touches the teacher', (t) => {
  manualSeed(13);
  const s = leaf(randn([5, 33]));
  const te = leaf(randn([5, 33]));
  const y = labels(5, 33, [1]);
  const base = distillLoss(s, te, y, { temperature: 2 });
  t.true(base.loss.requiresGrad);
  t.false(base.kd.requiresGrad);
  t.false(base.ce.requiresGrad);
  close(t, values(base.loss), [0.5 * values(base.kd)[0] + 0.5 * values(base.ce)[0]], 1e-6, 1e-6, 'loss = alpha kd + (1 - alpha) ce');
  base.loss.backward();
  const g1 = values(s.grad!);
  t.is(te.grad, null, 'the teacher is never differentiated');
  s.zeroGrad();

  distillLoss(s, te, y, { temperature: 2 }).loss.mul(3).backward();
  close(
    t,
    values(s.grad!),
    g1.map((v) => 3 * v),
    1e-7,
    1e-6,
    'upstream gradient 3'
  );
  s.zeroGrad();

  const r = distillLoss(s, te, y, { temperature: 2 });
  r.loss.backward(undefined, { retainGraph: true });
  r.loss.backward();
  close(
    t,
    values(s.grad!),
    g1.map((v) => 2 * v),
    1e-7,
    1e-6,
    'two backwards accumulate'
  );
  s.zeroGrad();

  const once = distillLoss(s, te, y, { temperature: 2 });
  once.loss.backward();
  t.throws(() => once.loss.backward(), { message: /retainGraph|second time|backward/ });
  s.zeroGrad();

  // 'none' with a per-token upstream gradient
  const w = tensor([1, 2, 3, 4, 5], { dtype: 'float32' });
  distillLoss(s, te, y, { temperature: 2, reduction: 'none' }).loss.backward(w);
  const gs = values(s.grad!);
  s.zeroGrad();
  distillLoss(s, te, y, { temperature: 2, reduction: 'sum' }).loss.backward();
  const gsum = values(s.grad!);
  s.zeroGrad();
  for (let r0 = 0; r0 < 5; r0++) {
    close(
      t,
      gs.slice(r0 * 33, r0 * 33 + 33),
      gsum.slice(r0 * 33, r0 * 33 + 33).map((v) => v * (r0 + 1)),
      1e-7,
      1e-6,
      `none row ${r0}`
    );
  }
});

test('no grad: computes the loss without a gradient (student without requiresGrad, or inside noGrad)', (t) => {
  manualSeed(14);
  const s = randn([4, 21]);
  const te = randn([4, 21]);
  const y = labels(4, 21);
  const a = distillLoss(s, te, y);
  t.false(a.loss.requiresGrad);
  const sl = leaf(s);
  const b = noGrad(() => distillLoss(sl, te, y));
  t.false(b.loss.requiresGrad);
  close(t, values(a.loss), values(b.loss), 0, 0, 'same value');
  close(t, values(a.loss), values(distillLossReference(s, te, y).loss), VAL_TOL, VAL_TOL, 'vs composition');
  const c = noGrad(() => distillLossChunked(leaf(randn([4, 3])), leaf(randn([21, 3])), null, te, y));
  t.false(c.loss.requiresGrad);
});

test('alpha = 1: targets may be null (every token counts) or given (only the pad mask)', (t) => {
  manualSeed(15);
  const s = leaf(randn([6, 25]));
  const te = randn([6, 25]);
  const noLabels = run(() => distillLoss(s, te, null, { alpha: 1, temperature: 2 }), [s]);
  const allReal = run(() => distillLoss(s, te, labels(6, 25), { alpha: 1, temperature: 2 }), [s]);
  close(t, noLabels.loss, allReal.loss, 1e-7, 1e-7, 'no labels = no pads');
  const padded = run(() => distillLoss(s, te, labels(6, 25, [0, 1, 2]), { alpha: 1, temperature: 2 }), [s]);
  const ref = run(() => distillLossReference(s, te, labels(6, 25, [0, 1, 2]), { alpha: 1, temperature: 2 }), [s]);
  close(t, padded.loss, ref.loss, VAL_TOL, VAL_TOL, 'pad mask');
  close(t, padded.grads[0], ref.grads[0], GRAD_TOL, 0, 'pad mask grad');
  t.is(padded.ce[0], 0);
});

test('every CPU kernel variant this machine supports gives the same result', (t) => {
  manualSeed(16);
  const s = randn([7, 203]).mul(3);
  const te = randn([7, 203]).mul(3);
  const y = labels(7, 203, [2]);
  const o = { temperature: 2, alpha: 0.5, labelSmoothing: 0.1 };
  const auto = distillLossKernel();
  t.true(['DEFAULT', 'AVX2', 'AVX512'].includes(auto));
  const dtypes = ['float32', 'float64', 'bfloat16'] as const;
  const inputs = dtypes.map((dtype) => leaf(s.to(dtype)));
  const base = dtypes.map((dtype, i) => run(() => distillLoss(inputs[i], te.to(dtype), y, o), [inputs[i]]));
  const tried: string[] = [];
  try {
    for (const k of ['DEFAULT', 'AVX2', 'AVX512'] as const) {
      try {
        distillLossKernel(k);
      } catch (err) {
        t.true(err instanceof RangeError, String(err));
        continue;
      }
      tried.push(k);
      dtypes.forEach((dtype, i) => {
        const r = run(() => distillLoss(inputs[i], te.to(dtype), y, o), [inputs[i]]);
        close(t, r.loss, base[i].loss, 1e-6, 1e-6, `${k} ${dtype} loss`);
        close(t, r.grads[0], base[i].grads[0], dtype === 'bfloat16' ? 1e-3 : 1e-7, 0, `${k} ${dtype} grad`);
      });
    }
  } finally {
    distillLossKernel('auto');
  }
  t.true(tried.includes('DEFAULT') && tried.includes(auto), `tried ${tried.join(', ')}`);
  t.throws(() => distillLossKernel('SSE' as 'AVX2'), { instanceOf: RangeError, message: /unknown CPU kernel/ });
});

// ---------------------------------------------------------------------------
// Bad input

test('bad input: mismatched shapes and vocab mismatch', (t) => {
  const s = randn([4, 10]);
  const y = labels(4, 10);
  t.throws(() => distillLoss(s, randn([5, 10]), y), {
    instanceOf: TypeError,
    message: /distillLoss: argument 'teacher' has shape \[5, 10\] but 'student' has shape \[4, 10\]/,
  });
  t.throws(() => distillLoss(s, randn([4, 11]), y), {
    instanceOf: TypeError,
    message: /vocab mismatch: 'teacher' has V = 11 but 'student' has V = 10/,
  });
  t.throws(() => distillLoss(s, randn([2, 2, 10]), y), { instanceOf: TypeError, message: /'teacher' has shape/ });
  t.throws(() => distillLoss(s, randn([4, 10]), labels(5, 10)), { instanceOf: TypeError, message: /'targets' has shape \[5\], expected \[4\]/ });
  t.throws(() => distillLoss(randn([10]), randn([10]), y), { instanceOf: TypeError, message: /'student' must be logits of shape \[N, V\]/ });
  t.throws(() => distillLoss(s.to('int64'), s, y), { instanceOf: TypeError, message: /'student' must be a floating-point tensor/ });
  t.throws(() => distillLoss(null as unknown as Tensor, s, y), { instanceOf: TypeError, message: /argument 'student' must be a Tensor/ });
  t.throws(() => distillLoss(s, {} as unknown as Tensor, y), {
    instanceOf: TypeError,
    message: /argument 'teacher' must be a Tensor of logits or \{ indices, logProbs \}/,
  });
  // sparse teacher
  const sp = sparseTeacherFromLogits(randn([4, 10]), 3);
  t.throws(() => distillLoss(s, { indices: sp.indices, logProbs: randn([4, 4]) }, y), {
    instanceOf: TypeError,
    message: /'teacher.logProbs' has shape \[4, 4\] but 'teacher.indices' has shape \[4, 3\]/,
  });
  t.throws(() => distillLoss(s, { indices: sp.indices.add(8), logProbs: sp.logProbs }, y), {
    instanceOf: RangeError,
    message: /'teacher.indices' holds 1\d at flat index \d+, outside the vocab \[0, 10\)/,
  });
  t.throws(() => distillLoss(s, { indices: sp.indices.to('float32'), logProbs: sp.logProbs }, y), {
    instanceOf: TypeError,
    message: /'teacher.indices' must be an integer tensor/,
  });
  t.throws(() => distillLoss(s, { indices: sp.indices, logProbs: sp.logProbs.mul(NaN) }, y), { instanceOf: RangeError, message: /NaN/ });
  // chunked
  const h = randn([4, 6]);
  const w = randn([10, 6]);
  t.throws(() => distillLossChunked(h, randn([10, 5]), null, randn([4, 10]), y), {
    instanceOf: TypeError,
    message: /'weight' must have shape \[V, H\] with H = 6/,
  });
  t.throws(() => distillLossChunked(h, w, null, randn([4, 12]), y), {
    instanceOf: TypeError,
    message: /vocab mismatch: 'teacher' has V = 12 but 'weight' has V = 10/,
  });
  t.throws(() => distillLossChunked(h, w, randn([11]), randn([4, 10]), y), {
    instanceOf: TypeError,
    message: /'bias' must have shape \[V\] with V = 10/,
  });
  t.throws(() => distillLossChunked(h, w, null, { hidden: randn([4, 3]), weight: randn([9, 3]) }, y), {
    instanceOf: TypeError,
    message: /vocab mismatch: 'teacher.weight' has V = 9 but 'weight' has V = 10/,
  });
  t.throws(() => distillLossChunked(h, w, null, { hidden: randn([4, 3]), weight: randn([10, 4]) }, y), {
    instanceOf: TypeError,
    message: /'teacher.weight' must have shape \[V, H\] with H = 3 \(the last dim of 'teacher.hidden'\)/,
  });
  t.throws(() => distillLossChunked(h, w.to('float64'), null, randn([4, 10]), y), {
    instanceOf: TypeError,
    message: /'weight' must have the dtype of 'hidden'/,
  });
});

test('bad input: non-integer labels, labels out of range (not ignoreIndex), missing labels', (t) => {
  const s = randn([4, 10]);
  const te = randn([4, 10]);
  t.throws(() => distillLoss(s, te, tensor([1, 2, 3, 4], { dtype: 'float32' })), {
    instanceOf: TypeError,
    message: /argument 'targets' must be an integer tensor of labels, got \[4\] float32 cpu/,
  });
  t.throws(() => distillLoss(s, te, tensor([1, 10, 3, 4], { dtype: 'int64' })), {
    instanceOf: RangeError,
    message: /'targets' holds label 10 at flat index 1, outside \[0, 10\) and not ignoreIndex \(2\)/,
  });
  t.throws(() => distillLoss(s, te, tensor([1, 0, -1, 4], { dtype: 'int32' })), {
    instanceOf: RangeError,
    message: /holds label -1 at flat index 2/,
  });
  // ignoreIndex outside the vocab is fine, and so is a label equal to it
  t.notThrows(() => distillLoss(s, te, tensor([1, -100, 3, 4], { dtype: 'int64' }), { ignoreIndex: -100 }));
  t.throws(() => distillLoss(s, te, null), { instanceOf: TypeError, message: /argument 'targets' is required unless alpha == 1/ });
  t.throws(() => distillLossChunked(randn([4, 3]), randn([10, 3]), null, te, tensor([0, 1, 2, 11], { dtype: 'int64' })), {
    instanceOf: RangeError,
    message: /label 11/,
  });
});

test('bad input: temperature <= 0 or non-finite, alpha outside [0, 1], labelSmoothing outside [0, 1), unknown reduction or option', (t) => {
  const s = randn([3, 8]);
  const te = randn([3, 8]);
  const y = labels(3, 8);
  for (const temperature of [0, -1, NaN, Infinity]) {
    t.throws(() => distillLoss(s, te, y, { temperature }), { instanceOf: RangeError, message: /option 'temperature' must be a number > 0/ });
  }
  for (const alpha of [-0.1, 1.5, NaN]) {
    t.throws(() => distillLoss(s, te, y, { alpha }), { instanceOf: RangeError, message: /option 'alpha' must be a number in \[0, 1\]/ });
  }
  for (const labelSmoothing of [-0.1, 1, 2]) {
    t.throws(() => distillLoss(s, te, y, { labelSmoothing }), {
      instanceOf: RangeError,
      message: /option 'labelSmoothing' must be a number in \[0, 1\)/,
    });
  }
  t.throws(() => distillLoss(s, te, y, { reduction: 'avg' as Reduction }), {
    instanceOf: RangeError,
    message: /option 'reduction' must be one of 'mean', 'sum', 'none', got string 'avg'/,
  });
  t.throws(() => distillLoss(s, te, y, { temp: 2 } as DistillLossOptions), { instanceOf: TypeError, message: /unknown option 'temp'/ });
  t.throws(() => distillLoss(s, te, y, { temperature: '2' } as unknown as DistillLossOptions), {
    instanceOf: TypeError,
    message: /option 'temperature' must be a number/,
  });
  t.throws(() => distillLoss(s, te, y, { ignoreIndex: 1.5 }), { instanceOf: TypeError, message: /'ignoreIndex' must be an integer/ });
  t.throws(() => distillLossChunked(randn([3, 2]), randn([8, 2]), null, te, y, { reduction: 'none' as 'sum' }), {
    instanceOf: RangeError,
    message: /'none' is not supported by the chunked form/,
  });
  t.throws(() => distillLossChunked(randn([3, 2]), randn([8, 2]), null, te, y, { chunkSize: 0 }), {
    instanceOf: RangeError,
    message: /option 'chunkSize' must be an integer >= 1, got number 0/,
  });
  // Called directly, the native layer checks the options' types (their ranges are lib/loss/options.ts's).
  const n = native();
  const o = { temperature: 2, alpha: 0.5, labelSmoothing: 0, ignoreIndex: PAD, reduction: 'mean' as const };
  const logits = { kind: 'logits' as const, logits: te.native };
  t.throws(() => n.distillLoss(s.native, logits, y.native, { ...o, temperature: '2' as unknown as number }), {
    instanceOf: TypeError,
    message: /distillLoss: argument 'options\.temperature' must be a number, got string '2'/,
  });
  t.throws(() => n.distillLoss(s.native, logits, y.native, { ...o, ignoreIndex: 1.5 }), {
    instanceOf: TypeError,
    message: /argument 'options\.ignoreIndex' must be an integer/,
  });
  t.throws(() => n.distillLoss(s.native, logits, y.native, { ...o, reduction: 'avg' as 'mean' }), {
    instanceOf: TypeError,
    message: /argument 'options\.reduction' must be one of 'mean', 'sum', 'none'/,
  });
  t.throws(() => n.distillLoss(s.native, { kind: 'dense' } as unknown as typeof logits, y.native, o), {
    instanceOf: TypeError,
    message: /argument 'teacher\.kind' must be one of 'logits', 'sparse'/,
  });
  t.throws(() => n.distillLoss(s.native, logits, y.native, undefined as unknown as typeof o), {
    instanceOf: TypeError,
    message: /argument 'options' must be an object/,
  });
  t.throws(() => n.distillLossChunked(s.native, te.native, null, logits, y.native, { ...o, reduction: 'none', chunkSize: 0 }), {
    instanceOf: TypeError,
    message: /'options\.reduction' must be one of 'mean', 'sum'/,
  });
  // nothing leaked into a half-made state: a good call still works
  t.notThrows(() => distillLoss(s, te, y));
  t.is(zeros([1]).numel, 1);
});

test('gradInPlace: the gradient overwrites the student logits and equals the separate gradient (dense, top-k, bf16, pads)', (t) => {
  manualSeed(21);
  const [N, V] = [12, 257];
  const s = randn([N, V]).mul(2);
  const te = randn([N, V]).mul(2);
  const y = rand([N]).mul(V).to('int64');
  const labels = y.maskedFill(rand([N]).lt(0.25), 2); // some pad rows
  for (const [what, teacher] of [
    ['dense', te],
    ['top-k', sparseTeacherFromLogits(te, 8)],
  ] as const) {
    for (const dtype of ['float32', 'bfloat16'] as const) {
      const separate = s.to(dtype).detach();
      separate.requiresGrad = true;
      distillLoss(separate, teacher, labels).loss.backward();
      const x = s.to(dtype).clone().detach();
      x.requiresGrad = true;
      const r = distillLoss(x, teacher, labels, { gradInPlace: true });
      // The logits now hold the gradient (their storage was reused)...
      t.true(x.to('float32').sub(separate.grad!.to('float32')).abs().max().item() === 0, `${what} ${dtype}: logits overwritten by the gradient`);
      r.loss.backward();
      // ...and backward hands out that gradient.
      t.true(x.grad!.to('float32').sub(separate.grad!.to('float32')).abs().max().item() === 0, `${what} ${dtype}: same gradient`);
    }
  }
  t.throws(() => distillLoss(s, te, y, { gradInPlace: 'yes' as unknown as boolean }), { message: /gradInPlace.*boolean/ });
});
