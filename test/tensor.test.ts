// Tests for lib/tensor: data round trips for every dtype and shape kind, dtype inference, every public op
// checked against values worked out by hand (or in plain JS), autograd against analytic gradients, and
// the scope/runtime helpers (tidy, keep, noGrad, version, cuda, setNumThreads, manualSeed, memoryStats).

import test from 'ava';
import type { ExecutionContext } from 'ava';
import {
  type DType,
  type NestedData,
  type Tensor,
  arange,
  cat,
  cuda,
  full,
  keep,
  manualSeed,
  memoryStats,
  noGrad,
  ones,
  rand,
  randint,
  randn,
  setNumThreads,
  stack,
  tensor,
  tidy,
  version,
  where,
  zeros,
} from '../lib';

// ---------------------------------------------------------------------------------------------------------
// helpers

/** Asserts `actual` equals `expected` elementwise within `tol` (absolute), reporting every mismatch. */
function close(t: ExecutionContext, actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  t.is(actual.length, expected.length, 'length');
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!(Math.abs(a - e) <= tol)) bad.push(`[${i}] ${a} != ${e}`);
  }
  t.deepEqual(bad, [], `values differ beyond ${tol}`);
}

/** Plain numbers of a tensor (float tensors only; int64 via Number). */
function nums(x: Tensor): number[] {
  const a = x.toArray();
  return a instanceof BigInt64Array ? Array.from(a, Number) : Array.from(a);
}

const f32 = (data: NestedData): Tensor => tensor(data, { dtype: 'float32' });
const f64 = (data: NestedData): Tensor => tensor(data, { dtype: 'float64' });

type Mat = number[][];
const matmulJs = (a: Mat, b: Mat): Mat => a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
const transposeJs = (a: Mat): Mat => a[0].map((_, j) => a.map((row) => row[j]));
const flat = (a: Mat): number[] => a.flat();

async function settleFinalizers(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setImmediate(r));
  }
}

// ---------------------------------------------------------------------------------------------------------
// round trips, dtypes and shapes

interface DtypeCase {
  dtype: DType;
  data: Array<number | boolean>;
  arrayClass: abstract new (...args: never[]) => ArrayLike<unknown>;
  expected: ArrayLike<number> | BigInt64Array;
  list: Array<number | boolean>;
}

const dtypeCases: DtypeCase[] = [
  {
    dtype: 'float32',
    data: [1.5, -2.25, 3e10],
    arrayClass: Float32Array,
    expected: [1.5, -2.25, Math.fround(3e10)],
    list: [1.5, -2.25, Math.fround(3e10)],
  },
  { dtype: 'float64', data: [0.1, -1e300, 3], arrayClass: Float64Array, expected: [0.1, -1e300, 3], list: [0.1, -1e300, 3] },
  // exactly representable in half precision; 0.1 rounds to the nearest half / bfloat16 value
  {
    dtype: 'float16',
    data: [1.5, -2.25, 65504, 0.1],
    arrayClass: Float32Array,
    expected: [1.5, -2.25, 65504, 0.0999755859375],
    list: [1.5, -2.25, 65504, 0.0999755859375],
  },
  {
    dtype: 'bfloat16',
    data: [1.5, -2.25, 256, 0.1],
    arrayClass: Float32Array,
    expected: [1.5, -2.25, 256, 0.10009765625],
    list: [1.5, -2.25, 256, 0.10009765625],
  },
  {
    dtype: 'int32',
    data: [1, -2, 2147483647, -2147483648],
    arrayClass: Int32Array,
    expected: [1, -2, 2147483647, -2147483648],
    list: [1, -2, 2147483647, -2147483648],
  },
  {
    dtype: 'int64',
    data: [1, -2, 2 ** 53 - 1, -(2 ** 53) + 1],
    arrayClass: BigInt64Array,
    expected: BigInt64Array.of(1n, -2n, 2n ** 53n - 1n, -(2n ** 53n) + 1n),
    list: [1, -2, 2 ** 53 - 1, -(2 ** 53) + 1],
  },
  { dtype: 'int16', data: [1, -2, 32767, -32768], arrayClass: Int16Array, expected: [1, -2, 32767, -32768], list: [1, -2, 32767, -32768] },
  { dtype: 'int8', data: [1, -2, 127, -128], arrayClass: Int8Array, expected: [1, -2, 127, -128], list: [1, -2, 127, -128] },
  { dtype: 'uint8', data: [0, 1, 200, 255], arrayClass: Uint8Array, expected: [0, 1, 200, 255], list: [0, 1, 200, 255] },
  { dtype: 'bool', data: [true, false, true], arrayClass: Uint8Array, expected: [1, 0, 1], list: [true, false, true] },
];

for (const c of dtypeCases) {
  test(`round trip: ${c.dtype} from a flat array, toArray class, tolist, reshaped to 3-d, back from its TypedArray`, (t) => {
    const x = tensor(c.data, { dtype: c.dtype });
    t.is(x.dtype, c.dtype);
    t.is(x.device, 'cpu');
    t.deepEqual(x.shape, [c.data.length]);
    const arr = x.toArray();
    t.true(arr instanceof c.arrayClass, `toArray of ${c.dtype} is ${arr.constructor.name}`);
    t.deepEqual(Array.from(arr as ArrayLike<unknown>), Array.from(c.expected as ArrayLike<unknown>));
    t.deepEqual(x.tolist(), c.list);

    // 3-d: the same values laid out as [n, 1, 1]
    const x3 = tensor(c.data, { dtype: c.dtype, shape: [c.data.length, 1, 1] });
    t.deepEqual(x3.shape, [c.data.length, 1, 1]);
    t.is(x3.ndim, 3);
    t.is(x3.numel, c.data.length);
    t.deepEqual(
      x3.tolist(),
      c.list.map((v) => [[v]])
    );

    // the TypedArray read back makes the same tensor again
    const y = tensor(arr, { dtype: c.dtype });
    t.is(y.dtype, c.dtype);
    t.deepEqual(Array.from(y.toArray() as ArrayLike<unknown>), Array.from(arr as ArrayLike<unknown>));

    // 0-d and empty tensors of this dtype
    const s = tensor(c.data[0], { dtype: c.dtype });
    t.deepEqual(s.shape, []);
    t.is(s.item(), c.list[0]);
    const e = zeros([0, 3], { dtype: c.dtype });
    t.deepEqual(e.shape, [0, 3]);
    t.is(e.numel, 0);
    t.true(e.toArray() instanceof c.arrayClass);
    t.is(e.toArray().length, 0);
    t.deepEqual(e.tolist(), []);
  });
}

test('0-d tensors: tensor(3.5), tensor(7), tensor(true), tensor(5n)', (t) => {
  const a = tensor(3.5);
  t.deepEqual(a.shape, []);
  t.is(a.ndim, 0);
  t.is(a.numel, 1);
  t.is(a.dtype, 'float32');
  t.is(a.item(), 3.5);
  t.is(a.tolist(), 3.5);
  t.deepEqual(nums(a), [3.5]);
  t.is(a.toString(), 'Tensor([] float32 cpu)');

  const b = tensor(7);
  t.is(b.dtype, 'int64');
  t.is(b.item(), 7);
  t.deepEqual(Array.from(b.toArray() as BigInt64Array), [7n]);

  const c = tensor(true);
  t.is(c.dtype, 'bool');
  t.is(c.item(), true);
  t.is(c.tolist(), true);

  const d = tensor(5n);
  t.is(d.dtype, 'int64');
  t.is(d.item(), 5);
});

test('empty tensors: zeros([0, 3]), tensor([]), tensor([[], []])', (t) => {
  const z = zeros([0, 3]);
  t.deepEqual(z.shape, [0, 3]);
  t.is(z.numel, 0);
  t.is(z.dtype, 'float32');
  t.deepEqual(nums(z), []);
  t.deepEqual(z.tolist(), []);
  t.deepEqual(z.sum().item(), 0);

  const e = tensor([]);
  t.deepEqual(e.shape, [0]);
  t.is(e.dtype, 'float32'); // as torch.tensor([])
  t.deepEqual(e.tolist(), []);

  const e2 = tensor([[], []]);
  t.deepEqual(e2.shape, [2, 0]);
  t.deepEqual(e2.tolist(), [[], []]);
  t.deepEqual(tensor([], { shape: [0, 4] }).shape, [0, 4]);
});

test('1-d and 3-d tensors from nested arrays keep shape and row-major order', (t) => {
  const v = tensor([1, 2, 3]);
  t.deepEqual(v.shape, [3]);
  t.deepEqual(v.tolist(), [1, 2, 3]);

  const nested = [
    [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
    [
      [7, 8],
      [9, 10],
      [11, 12],
    ],
  ];
  const x = tensor(nested);
  t.deepEqual(x.shape, [2, 3, 2]);
  t.is(x.dtype, 'int64');
  t.deepEqual(x.tolist(), nested);
  t.deepEqual(Array.from(x.toArray() as BigInt64Array, Number), nested.flat(2));

  const fl = tensor(nested, { dtype: 'float64' });
  t.deepEqual(nums(fl), nested.flat(2));
  // a flat array reshaped by `shape`
  t.deepEqual(tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3] }).tolist(), [
    [1, 2, 3],
    [4, 5, 6],
  ]);
});

test('dtype inference follows PyTorch: integers -> int64, floats -> float32, booleans -> bool', (t) => {
  t.is(tensor([1, 2, 3]).dtype, 'int64');
  t.is(
    tensor([
      [1, -2],
      [3, 4],
    ]).dtype,
    'int64'
  );
  t.is(tensor([1.5, 2]).dtype, 'float32');
  t.is(
    tensor([
      [1, 2],
      [3, 0.5],
    ]).dtype,
    'float32'
  );
  t.is(tensor([true, false]).dtype, 'bool');
  t.is(tensor([[true], [false]]).dtype, 'bool');
  t.is(tensor([1n, 2n]).dtype, 'int64');
  t.is(tensor([1n, 2]).dtype, 'int64');
  t.is(tensor(2.5).dtype, 'float32');
  // an explicit dtype wins
  t.is(tensor([1, 2], { dtype: 'float64' }).dtype, 'float64');
  t.is(tensor([1.5, 0, -3], { dtype: 'bool' }).dtype, 'bool');
  t.deepEqual(tensor([1.5, 0, -3], { dtype: 'bool' }).tolist(), [true, false, true]);
  t.deepEqual(tensor([true, false], { dtype: 'float32' }).tolist(), [1, 0]);
});

test('every supported TypedArray kind maps to its dtype and copies (no aliasing)', (t) => {
  const kinds: Array<[ArrayBufferView & ArrayLike<number | bigint>, DType]> = [
    [Float32Array.of(1.5, -2, 3), 'float32'],
    [Float64Array.of(0.1, -2, 1e300), 'float64'],
    [Int32Array.of(1, -2, 2147483647), 'int32'],
    [BigInt64Array.of(1n, -2n, 3n), 'int64'],
    [Int16Array.of(1, -2, 32767), 'int16'],
    [Int8Array.of(1, -2, 127), 'int8'],
    [Uint8Array.of(0, 2, 255), 'uint8'],
  ];
  for (const [arr, dtype] of kinds) {
    const x = tensor(arr);
    t.is(x.dtype, dtype, arr.constructor.name);
    t.deepEqual(x.shape, [3]);
    const back = x.toArray();
    t.is(back.constructor, arr.constructor);
    t.deepEqual(Array.from(back as ArrayLike<unknown>), Array.from(arr as ArrayLike<unknown>));
    // the tensor holds a copy: changing the source afterwards does not change it
    (arr as unknown as { [i: number]: number | bigint })[0] = typeof arr[0] === 'bigint' ? 9n : 9;
    t.not(Array.from(x.toArray() as ArrayLike<unknown>)[0], Array.from(arr as ArrayLike<unknown>)[0]);
  }
  // a view into a larger buffer (non-zero byteOffset) reads only its own elements
  const sub = Float32Array.of(0, 1, 2, 3, 4).subarray(1, 4);
  t.deepEqual(tensor(sub).tolist(), [1, 2, 3]);
  // with a shape, and converted to another dtype
  t.deepEqual(tensor(Int32Array.of(1, 2, 3, 4, 5, 6), { shape: [2, 3] }).tolist(), [
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const conv = tensor(Float32Array.of(1.5, 2.5), { dtype: 'float64' });
  t.is(conv.dtype, 'float64');
  t.deepEqual(conv.tolist(), [1.5, 2.5]);
  const asBool = tensor(Uint8Array.of(0, 1, 7), { dtype: 'bool' });
  t.is(asBool.dtype, 'bool');
  t.deepEqual(asBool.tolist(), [false, true, true]);
});

test('BigInt64Array values beyond 2^53 round-trip exactly', (t) => {
  const values = BigInt64Array.of(2n ** 53n + 1n, -(2n ** 60n) - 7n, 9223372036854775807n, -9223372036854775808n, 123456789012345678n);
  const x = tensor(values);
  t.is(x.dtype, 'int64');
  const back = x.toArray();
  t.true(back instanceof BigInt64Array);
  t.deepEqual(Array.from(back as BigInt64Array), Array.from(values));
  // nested bigints go through the exact path too, also mixed with plain integers
  const y = tensor([
    [2n ** 53n + 1n, 5],
    [-3, -(2n ** 62n) - 1n],
  ]);
  t.is(y.dtype, 'int64');
  t.deepEqual(Array.from(y.toArray() as BigInt64Array), [2n ** 53n + 1n, 5n, -3n, -(2n ** 62n) - 1n]);
  // clone and reshape keep them exact
  t.deepEqual(Array.from(x.clone().reshape(5, 1).toArray() as BigInt64Array), Array.from(values));
});

test('a Buffer of raw little-endian float32 bytes with { dtype, shape }', (t) => {
  const values = [1.5, -2.25, 3, 0.125, -1e-3, 65536];
  // a Buffer with a non-zero byteOffset into its ArrayBuffer
  const backing = new ArrayBuffer(4 + values.length * 4);
  const buf = Buffer.from(backing, 4, values.length * 4);
  values.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  const x = tensor(buf, { dtype: 'float32', shape: [2, 3] });
  t.is(x.dtype, 'float32');
  t.deepEqual(x.shape, [2, 3]);
  t.deepEqual(x.tolist(), [values.slice(0, 3).map(Math.fround), values.slice(3).map(Math.fround)]);
  // without a dtype a Buffer is bytes
  const b = tensor(Buffer.from([1, 2, 250]));
  t.is(b.dtype, 'uint8');
  t.deepEqual(b.tolist(), [1, 2, 250]);
  // float64 bytes
  const d = Buffer.alloc(16);
  d.writeDoubleLE(0.1, 0);
  d.writeDoubleLE(-7, 8);
  t.deepEqual(tensor(d, { dtype: 'float64' }).tolist(), [0.1, -7]);
});

test('tolist() and item() give plain JS numbers/booleans', (t) => {
  const x = f32([
    [1, 2],
    [3, 4],
  ]);
  t.deepEqual(x.tolist(), [
    [1, 2],
    [3, 4],
  ]);
  t.is(x.sum().item(), 10);
  t.is(typeof tensor([5]).item(), 'number');
  t.is(tensor([5]).item(), 5);
  t.is(tensor([[false]]).item(), false);
  t.is(tensor(2n ** 53n - 1n).item(), 2 ** 53 - 1);
});

test('to(dtype), to(device), to({ dtype, device }) and cpu()', (t) => {
  const x = f32([1.7, -1.7, 2.5, 0]);
  const i = x.to('int32');
  t.is(i.dtype, 'int32');
  t.deepEqual(i.tolist(), [1, -1, 2, 0]); // truncation toward zero, as PyTorch
  const d = x.to('float64');
  t.is(d.dtype, 'float64');
  close(t, nums(d), [1.7, -1.7, 2.5, 0], 1e-6);
  t.deepEqual(x.to('bool').tolist(), [true, true, true, false]);
  t.is(x.to('int64').dtype, 'int64');
  const h = x.to('float16');
  t.is(h.dtype, 'float16');
  close(t, nums(h), [1.7, -1.7, 2.5, 0], 1e-3);

  const c = x.to('cpu');
  t.is(c.device, 'cpu');
  t.is(c.dtype, 'float32');
  t.deepEqual(nums(c), nums(x));
  const both = x.to({ dtype: 'float64', device: 'cpu' });
  t.is(both.dtype, 'float64');
  t.is(both.device, 'cpu');
  t.deepEqual(x.cpu().tolist(), x.tolist());
});

test('factories: zeros ones full arange rand randint', (t) => {
  t.deepEqual(zeros([2, 2]).tolist(), [
    [0, 0],
    [0, 0],
  ]);
  t.deepEqual(ones([3], { dtype: 'int32' }).tolist(), [1, 1, 1]);
  t.is(ones([3], { dtype: 'int32' }).dtype, 'int32');
  t.deepEqual(full([2], 2.5).tolist(), [2.5, 2.5]);
  t.deepEqual(full([2], true, { dtype: 'bool' }).tolist(), [true, true]);
  t.is(zeros([1]).dtype, 'float32');

  const a = arange(5);
  t.is(a.dtype, 'int64');
  t.deepEqual(a.tolist(), [0, 1, 2, 3, 4]);
  t.deepEqual(arange(2, 8, 2).tolist(), [2, 4, 6]);
  t.deepEqual(arange(3, 0, -1).tolist(), [3, 2, 1]);
  const fr = arange(0, 1, 0.25);
  t.is(fr.dtype, 'float32');
  t.deepEqual(fr.tolist(), [0, 0.25, 0.5, 0.75]);
  t.is(arange(4, undefined, 1, { dtype: 'float64' }).dtype, 'float64');

  const u = rand([1000]);
  t.true(nums(u).every((v) => v >= 0 && v < 1));
  const r = randint(-2, 3, [1000]);
  t.is(r.dtype, 'int64');
  const rv = nums(r);
  t.true(rv.every((v) => Number.isInteger(v) && v >= -2 && v < 3));
  t.deepEqual(
    [...new Set(rv)].sort((p, q) => p - q),
    [-2, -1, 0, 1, 2]
  );
  const g = randn([2, 3], { requiresGrad: true });
  t.true(g.requiresGrad);
  t.deepEqual(g.shape, [2, 3]);
});

// ---------------------------------------------------------------------------------------------------------
// elementwise ops

const A = [
  [1, 2, 3],
  [4, 5, 6],
];
const B = [
  [6, 5, 4],
  [3, 2, 0.5],
];

test('add sub mul div with tensor operands', (t) => {
  const a = f32(A);
  const b = f32(B);
  const av = A.flat();
  const bv = B.flat();
  close(
    t,
    nums(a.add(b)),
    av.map((v, i) => v + bv[i])
  );
  close(
    t,
    nums(a.sub(b)),
    av.map((v, i) => v - bv[i])
  );
  close(
    t,
    nums(a.mul(b)),
    av.map((v, i) => v * bv[i])
  );
  close(
    t,
    nums(a.div(b)),
    av.map((v, i) => v / bv[i])
  );
  t.deepEqual(a.add(b).shape, [2, 3]);
});

test('add sub mul div pow with scalar operands', (t) => {
  const a = f32(A);
  const av = A.flat();
  close(
    t,
    nums(a.add(1)),
    av.map((v) => v + 1)
  );
  close(
    t,
    nums(a.sub(2.5)),
    av.map((v) => v - 2.5)
  );
  close(
    t,
    nums(a.mul(-0.5)),
    av.map((v) => v * -0.5)
  );
  close(
    t,
    nums(a.div(4)),
    av.map((v) => v / 4)
  );
  close(
    t,
    nums(a.pow(2)),
    av.map((v) => v * v)
  );
  close(t, nums(a.pow(0.5)), av.map(Math.sqrt), 1e-6);
  // an integer tensor with a fractional scalar promotes to float, as in PyTorch
  const ip = arange(3).add(0.5);
  t.is(ip.dtype, 'float32');
  t.deepEqual(ip.tolist(), [0.5, 1.5, 2.5]);
  // a bool tensor with a boolean scalar
  t.deepEqual(tensor([true, false]).eq(true).tolist(), [true, false]);
});

test('an int tensor with an integer JS scalar stays int64 (as torch.arange(3) + 1)', (t) => {
  // Args::scalar (native/common/convert.cc) always makes a double Scalar, so int64 + 1 promotes to float32.
  t.is(arange(3).add(1).dtype, 'int64');
});

test('neg exp log pow sqrt', (t) => {
  const x = f32([0.5, 1, 2, 4]);
  const xv = [0.5, 1, 2, 4];
  close(
    t,
    nums(x.neg()),
    xv.map((v) => -v)
  );
  close(t, nums(x.exp()), xv.map(Math.exp), 1e-5);
  close(t, nums(x.log()), xv.map(Math.log), 1e-6);
  close(t, nums(x.sqrt()), xv.map(Math.sqrt), 1e-6);
  close(t, nums(x.pow(f32([2, 3, 0.5, -1]))), [0.25, 1, Math.SQRT2, 0.25], 1e-6);
  close(t, nums(x.abs().neg().abs()), xv);
  close(t, nums(f32([-1, 0, 2]).relu()), [0, 0, 2]);
  close(t, nums(f32([0]).sigmoid()), [0.5]);
  close(t, nums(f32([1]).tanh()), [Math.tanh(1)], 1e-6);
  close(t, nums(f64([1, 2]).maximum(f64([3, 0]))), [3, 2]);
  close(t, nums(f64([1, 2]).minimum(1.5)), [1, 1.5]);
});

test('broadcasting: [2,3] with [3], [2,1] with [1,3], and a 0-d tensor', (t) => {
  const a = f32(A);
  const row = f32([10, 20, 30]);
  t.deepEqual(a.add(row).tolist(), [
    [11, 22, 33],
    [14, 25, 36],
  ]);
  const col = f32([[1], [2]]);
  const r = col.mul(f32([[1, 2, 3]]));
  t.deepEqual(r.shape, [2, 3]);
  t.deepEqual(r.tolist(), [
    [1, 2, 3],
    [2, 4, 6],
  ]);
  t.deepEqual(a.sub(tensor(1.0)).tolist(), [
    [0, 1, 2],
    [3, 4, 5],
  ]);
  t.deepEqual(col.div(f32([1, 2])).tolist(), [
    [1, 0.5],
    [2, 1],
  ]);
});

test('matmul: [2,3] @ [3,2] by hand, and a batched / vector case', (t) => {
  const a = f32([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const b = f32([
    [7, 8],
    [9, 10],
    [11, 12],
  ]);
  const c = a.matmul(b);
  t.deepEqual(c.shape, [2, 2]);
  // [1*7+2*9+3*11, 1*8+2*10+3*12], [4*7+5*9+6*11, 4*8+5*10+6*12]
  t.deepEqual(c.tolist(), [
    [58, 64],
    [139, 154],
  ]);
  t.deepEqual(a.matmul(f32([1, 0, -1])).tolist(), [-2, -2]);
  const batched = stack([a, a.mul(2)]).matmul(b);
  t.deepEqual(batched.shape, [2, 2, 2]);
  t.deepEqual(batched.tolist(), [
    [
      [58, 64],
      [139, 154],
    ],
    [
      [116, 128],
      [278, 308],
    ],
  ]);
});

test('matmulAsync gives the same result off the JS thread', async (t) => {
  const a = f32(A);
  const b = f32([
    [1, 0],
    [0, 1],
    [1, 1],
  ]);
  const c = await a.matmulAsync(b);
  t.deepEqual(c.tolist(), a.matmul(b).tolist());
});

// ---------------------------------------------------------------------------------------------------------
// reductions

test('sum and mean: all, one dim, several dims, keepdim', (t) => {
  const a = f32(A);
  t.is(a.sum().item(), 21);
  t.deepEqual(a.sum().shape, []);
  t.deepEqual(a.sum(0).tolist(), [5, 7, 9]);
  t.deepEqual(a.sum(1).tolist(), [6, 15]);
  t.deepEqual(a.sum(-1).tolist(), [6, 15]);
  const k = a.sum(1, { keepdim: true });
  t.deepEqual(k.shape, [2, 1]);
  t.deepEqual(k.tolist(), [[6], [15]]);
  t.is(a.sum([0, 1]).item(), 21);
  t.deepEqual(a.sum([0, 1], { keepdim: true }).shape, [1, 1]);
  t.is(a.mean().item(), 3.5);
  t.deepEqual(a.mean(1).tolist(), [2, 5]);
  t.deepEqual(a.mean(0, { keepdim: true }).tolist(), [[2.5, 3.5, 4.5]]);
  // summing an int tensor stays int64 (as PyTorch)
  const s = arange(5).sum();
  t.is(s.dtype, 'int64');
  t.is(s.item(), 10);
});

test('max min overall; maxDim/minDim return values and indices; argmax with dim/keepdim', (t) => {
  const c = f32([
    [3, 1, 2],
    [0, 5, 4],
  ]);
  t.is(c.max().item(), 5);
  t.is(c.min().item(), 0);
  const mx = c.maxDim(1);
  t.deepEqual(mx.values.tolist(), [3, 5]);
  t.deepEqual(mx.indices.tolist(), [0, 1]);
  t.is(mx.indices.dtype, 'int64');
  const mn = c.minDim(0);
  t.deepEqual(mn.values.tolist(), [0, 1, 2]);
  t.deepEqual(mn.indices.tolist(), [1, 0, 0]);
  const mk = c.maxDim(0, { keepdim: true });
  t.deepEqual(mk.values.shape, [1, 3]);
  t.deepEqual(mk.values.tolist(), [[3, 5, 4]]);
  t.deepEqual(mk.indices.tolist(), [[0, 1, 1]]);
  const mnk = c.minDim(-1, { keepdim: true });
  t.deepEqual(mnk.values.tolist(), [[1], [0]]);
  t.deepEqual(mnk.indices.tolist(), [[1], [0]]);

  t.is(c.argmax().item(), 4); // index into the flattened tensor
  t.deepEqual(c.argmax().shape, []);
  t.deepEqual(c.argmax(1).tolist(), [0, 1]);
  t.deepEqual(c.argmax(0).tolist(), [0, 1, 1]);
  const ak = c.argmax(1, { keepdim: true });
  t.deepEqual(ak.shape, [2, 1]);
  t.deepEqual(ak.tolist(), [[0], [1]]);
});

test('softmax and logSoftmax match values computed with Math.exp', (t) => {
  const rows = [
    [1, 2, 3],
    [1, 1, 1],
    [-5, 0, 10],
  ];
  const softmaxJs = (r: number[]) => {
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const z = e.reduce((p, q) => p + q, 0);
    return e.map((v) => v / z);
  };
  const x = f32(rows);
  const expected = rows.map(softmaxJs);
  close(t, nums(x.softmax(1)), expected.flat(), 1e-6);
  close(t, nums(x.softmax(-1)), expected.flat(), 1e-6);
  close(t, nums(x.logSoftmax(1)), expected.flat().map(Math.log), 1e-5);
  // rows sum to 1
  close(t, nums(x.softmax(1).sum(1)), [1, 1, 1], 1e-6);
  // along dim 0: the columns
  const cols = transposeJs(rows).map(softmaxJs);
  close(t, nums(x.softmax(0)), flat(transposeJs(cols)), 1e-6);
  close(t, nums(f64(rows).logSoftmax(0)), flat(transposeJs(cols)).map(Math.log), 1e-12);
});

test('topk: values and indices, largest false, along a dim', (t) => {
  const v = f32([1, 5, 3, 2]);
  const top = v.topk(2);
  t.deepEqual(top.values.tolist(), [5, 3]);
  t.deepEqual(top.indices.tolist(), [1, 2]);
  t.is(top.indices.dtype, 'int64');
  const low = v.topk(2, { largest: false });
  t.deepEqual(low.values.tolist(), [1, 2]);
  t.deepEqual(low.indices.tolist(), [0, 3]);
  const m = f32([
    [1, 9],
    [8, 2],
    [5, 7],
  ]);
  const d0 = m.topk(1, { dim: 0 });
  t.deepEqual(d0.values.tolist(), [[8, 9]]);
  t.deepEqual(d0.indices.tolist(), [[1, 0]]);
  const last = m.topk(1);
  t.deepEqual(last.values.tolist(), [[9], [8], [7]]);
  t.deepEqual(last.indices.tolist(), [[1], [0], [1]]);
  t.deepEqual(v.topk(0).values.shape, [0]);
});

// ---------------------------------------------------------------------------------------------------------
// indexing

test('gather along dims 0 and 1 (int64 and int32 index)', (t) => {
  const x = f32([
    [1, 2],
    [3, 4],
  ]);
  // torch.gather docs example
  t.deepEqual(
    x
      .gather(
        1,
        tensor([
          [0, 0],
          [1, 0],
        ])
      )
      .tolist(),
    [
      [1, 1],
      [4, 3],
    ]
  );
  t.deepEqual(x.gather(0, tensor([[1, 0]], { dtype: 'int32' })).tolist(), [[3, 2]]);
  t.deepEqual(x.gather(-1, tensor([[1], [0]])).tolist(), [[2], [3]]);
});

test('indexSelect rows and columns, repeated and negative-free', (t) => {
  const a = f32(A);
  t.deepEqual(a.indexSelect(0, tensor([1, 0, 1])).tolist(), [
    [4, 5, 6],
    [1, 2, 3],
    [4, 5, 6],
  ]);
  t.deepEqual(a.indexSelect(1, tensor([2, 0], { dtype: 'int32' })).tolist(), [
    [3, 1],
    [6, 4],
  ]);
  t.deepEqual(a.indexSelect(1, tensor([], { dtype: 'int64' })).shape, [2, 0]);
});

test('maskedFill with a broadcast bool mask, scalar and 0-d tensor values', (t) => {
  const a = f32(A);
  const mask = tensor([true, false, true]);
  t.deepEqual(a.maskedFill(mask, -1).tolist(), [
    [-1, 2, -1],
    [-1, 5, -1],
  ]);
  t.deepEqual(a.maskedFill(a.gt(4), tensor(0.5)).tolist(), [
    [1, 2, 3],
    [4, 0.5, 0.5],
  ]);
  t.deepEqual(a.maskedFill(a.lt(0), 9).tolist(), A); // nothing masked
});

test('where with tensor and scalar branches', (t) => {
  const a = f32(A);
  const b = f32(B);
  const cond = a.gt(3);
  t.deepEqual(where(cond, a, 0).tolist(), [
    [0, 0, 0],
    [4, 5, 6],
  ]);
  t.deepEqual(where(cond, a, b).tolist(), [
    [6, 5, 4],
    [4, 5, 6],
  ]);
  t.deepEqual(where(cond, -1, b).tolist(), [
    [6, 5, 4],
    [-1, -1, -1],
  ]);
  t.deepEqual(
    where(
      tensor([true, false]),
      f32([
        [1, 2],
        [3, 4],
      ]),
      f32([9])
    ).tolist(),
    [
      [1, 9],
      [3, 9],
    ]
  );
});

// ---------------------------------------------------------------------------------------------------------
// joining and shape

test('cat and stack along several dims', (t) => {
  const a = f32(A);
  const b = f32(B);
  const c0 = cat([a, b]);
  t.deepEqual(c0.shape, [4, 3]);
  t.deepEqual(c0.tolist(), [...A, ...B]);
  const c1 = cat([a, b], 1);
  t.deepEqual(c1.shape, [2, 6]);
  t.deepEqual(c1.tolist(), [
    [...A[0], ...B[0]],
    [...A[1], ...B[1]],
  ]);
  t.deepEqual(cat([a, b], -1).tolist(), c1.tolist());
  t.deepEqual(cat([f32([1]), f32([2, 3])]).tolist(), [1, 2, 3]);

  const s0 = stack([a, b]);
  t.deepEqual(s0.shape, [2, 2, 3]);
  t.deepEqual(s0.tolist(), [A, B]);
  const s1 = stack([a, b], 1);
  t.deepEqual(s1.shape, [2, 2, 3]);
  t.deepEqual(s1.tolist(), [
    [A[0], B[0]],
    [A[1], B[1]],
  ]);
  const s2 = stack([a, b], -1);
  t.deepEqual(s2.shape, [2, 3, 2]);
  t.deepEqual(
    s2.tolist(),
    A.map((row, i) => row.map((v, j) => [v, B[i][j]]))
  );
});

test('view and reshape, with -1 and with an array shape', (t) => {
  const x = arange(6);
  t.deepEqual(x.view(2, 3).tolist(), [
    [0, 1, 2],
    [3, 4, 5],
  ]);
  t.deepEqual(x.view(-1, 2).shape, [3, 2]);
  t.deepEqual(x.view([3, -1]).tolist(), [
    [0, 1],
    [2, 3],
    [4, 5],
  ]);
  t.deepEqual(x.reshape(1, -1, 1).shape, [1, 6, 1]);
  t.deepEqual(x.reshape([2, 3]).reshape(-1).tolist(), [0, 1, 2, 3, 4, 5]);
  // reshape copies a non-contiguous tensor where view cannot
  const tr = x.view(2, 3).transpose(0, 1);
  t.deepEqual(tr.reshape(6).tolist(), [0, 3, 1, 4, 2, 5]);
  t.deepEqual(tensor(4).view(1).shape, [1]);
});

test('transpose, permute and contiguous', (t) => {
  const a = f32(A);
  const tr = a.transpose(0, 1);
  t.deepEqual(tr.shape, [3, 2]);
  t.deepEqual(tr.tolist(), transposeJs(A));
  t.deepEqual(a.transpose(-1, -2).tolist(), transposeJs(A));
  const ct = tr.contiguous();
  t.deepEqual(ct.tolist(), transposeJs(A));
  t.deepEqual(ct.view(6).tolist(), transposeJs(A).flat());

  const x = arange(24).view(2, 3, 4);
  const p = x.permute(2, 0, 1);
  t.deepEqual(p.shape, [4, 2, 3]);
  const xl = x.tolist() as number[][][];
  const pl = p.tolist() as number[][][];
  const bad: string[] = [];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) if (pl[k][i][j] !== xl[i][j][k]) bad.push(`${i}${j}${k}`);
  t.deepEqual(bad, []);
  t.deepEqual(x.permute([0, 1, 2]).tolist(), xl);
});

test('squeeze, unsqueeze and expand', (t) => {
  const z = zeros([1, 2, 1, 3]);
  t.deepEqual(z.squeeze().shape, [2, 3]);
  t.deepEqual(z.squeeze(0).shape, [2, 1, 3]);
  t.deepEqual(z.squeeze(2).shape, [1, 2, 3]);
  t.deepEqual(z.squeeze(1).shape, [1, 2, 1, 3]); // size 2: unchanged
  t.deepEqual(z.squeeze(-2).shape, [1, 2, 3]);
  const a = f32(A);
  t.deepEqual(a.unsqueeze(0).shape, [1, 2, 3]);
  t.deepEqual(a.unsqueeze(1).shape, [2, 1, 3]);
  t.deepEqual(a.unsqueeze(-1).shape, [2, 3, 1]);
  t.deepEqual(
    a.unsqueeze(2).tolist(),
    A.map((r) => r.map((v) => [v]))
  );
  t.deepEqual(tensor(5).unsqueeze(0).tolist(), [5]);

  const col = f32([[1], [2]]);
  const e = col.expand(2, 3);
  t.deepEqual(e.shape, [2, 3]);
  t.deepEqual(e.tolist(), [
    [1, 1, 1],
    [2, 2, 2],
  ]);
  t.deepEqual(col.expand(-1, 4).shape, [2, 4]);
  t.deepEqual(col.expand([3, 2, 2]).shape, [3, 2, 2]);
});

test('narrow and slice (step, negative start, clamping)', (t) => {
  const x = arange(10);
  t.deepEqual(x.narrow(0, 2, 3).tolist(), [2, 3, 4]);
  t.deepEqual(x.narrow(0, -3, 2).tolist(), [7, 8]);
  t.deepEqual(x.narrow(0, 10, 0).tolist(), []);
  const a = f32(A);
  t.deepEqual(a.narrow(1, 1, 2).tolist(), [
    [2, 3],
    [5, 6],
  ]);

  t.deepEqual(x.slice(0, 1, 8, 3).tolist(), [1, 4, 7]);
  t.deepEqual(x.slice(0, -3).tolist(), [7, 8, 9]);
  t.deepEqual(x.slice(0, undefined, -7).tolist(), [0, 1, 2]);
  t.deepEqual(x.slice(0, undefined, undefined, 2).tolist(), [0, 2, 4, 6, 8]);
  t.deepEqual(x.slice(0, -100, 100).tolist(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // clamps like Python
  t.deepEqual(x.slice(0, 8, 2).tolist(), []);
  t.deepEqual(a.slice(1, -2).tolist(), [
    [2, 3],
    [5, 6],
  ]);
  t.deepEqual(a.slice(-1, 0, 3, 2).tolist(), [
    [1, 3],
    [4, 6],
  ]);
});

test('comparisons eq ne lt le gt ge return bool tensors', (t) => {
  const x = f32([1, 2, 3]);
  const y = f32([3, 2, 1]);
  const cases: Array<[Tensor, boolean[]]> = [
    [x.eq(2), [false, true, false]],
    [x.ne(2), [true, false, true]],
    [x.lt(2), [true, false, false]],
    [x.le(2), [true, true, false]],
    [x.gt(2), [false, false, true]],
    [x.ge(2), [false, true, true]],
    [x.eq(y), [false, true, false]],
    [x.lt(y), [true, false, false]],
    [x.ge(y), [false, true, true]],
  ];
  for (const [r, expected] of cases) {
    t.is(r.dtype, 'bool');
    t.deepEqual(r.tolist(), expected);
    t.true(r.toArray() instanceof Uint8Array);
  }
  t.deepEqual(x.eq(x).logicalNot().tolist(), [false, false, false]);
  t.deepEqual(
    f32([[1], [3]])
      .lt(f32([2, 4]))
      .tolist(),
    [
      [true, true],
      [false, true],
    ]
  );
});

test('clone is an independent copy; detach cuts the graph', (t) => {
  const x = f32([1, 2, 3]);
  const c = x.clone();
  t.not(c, x);
  t.deepEqual(c.tolist(), [1, 2, 3]);
  x.dispose();
  t.true(x.isDisposed);
  t.false(c.isDisposed);
  t.deepEqual(c.add(1).tolist(), [2, 3, 4]);

  const w = f32([1, 2]);
  w.requiresGrad = true;
  const y = w.mul(3);
  t.true(y.requiresGrad);
  const d = y.detach();
  t.false(d.requiresGrad);
  t.deepEqual(d.tolist(), [3, 6]);
  t.false(d.mul(2).requiresGrad);
  t.is(d.grad, null);
  // clone keeps the graph
  const cg = y.clone();
  t.true(cg.requiresGrad);
  cg.sum().backward();
  t.deepEqual(w.grad!.tolist(), [3, 3]);
});

// ---------------------------------------------------------------------------------------------------------
// autograd

test('autograd: f(x, y) = sum(x*y + exp(x)/y) matches the analytic gradients', (t) => {
  const xv = [0.5, -1, 1.5, 0.25];
  const yv = [2, -1.5, 0.75, 3];
  const x = f64(xv);
  const y = f64(yv);
  x.requiresGrad = true;
  y.requiresGrad = true;
  t.true(x.requiresGrad);
  t.is(x.grad, null);
  t.is(y.grad, null);
  const f = x.mul(y).add(x.exp().div(y)).sum();
  t.deepEqual(f.shape, []);
  t.true(f.requiresGrad);
  const fJs = xv.reduce((s, v, i) => s + v * yv[i] + Math.exp(v) / yv[i], 0);
  close(t, [f.item() as number], [fJs], 1e-9);
  f.backward();
  close(
    t,
    nums(x.grad!),
    xv.map((v, i) => yv[i] + Math.exp(v) / yv[i]),
    1e-5
  );
  close(
    t,
    nums(y.grad!),
    xv.map((v, i) => v - Math.exp(v) / (yv[i] * yv[i])),
    1e-5
  );
  t.is(x.grad!.dtype, 'float64');
  t.deepEqual(x.grad!.shape, [4]);
  t.false(x.grad!.requiresGrad);
});

test('autograd: the same in float32 (within 1e-4)', (t) => {
  const xv = [0.5, -1, 1.5];
  const yv = [2, -1.5, 0.75];
  const x = tensor(xv, { requiresGrad: true });
  const y = tensor(yv, { requiresGrad: true });
  x.mul(y).add(x.exp().div(y)).sum().backward();
  close(
    t,
    nums(x.grad!),
    xv.map((v, i) => yv[i] + Math.exp(v) / yv[i]),
    1e-4
  );
  close(
    t,
    nums(y.grad!),
    xv.map((v, i) => v - Math.exp(v) / (yv[i] * yv[i])),
    1e-4
  );
});

test('autograd: gradient of sum(A @ B @ C) for each factor', (t) => {
  const Av = [
    [1, -2, 0.5],
    [0, 3, 1],
  ];
  const Bv = [
    [2, 0, 1, -1],
    [1, 1, 0, 0.5],
    [-1, 2, 3, 1],
  ];
  const Cv = [
    [1, 2],
    [0, -1],
    [0.5, 0.5],
    [3, 1],
  ];
  const a = tensor(Av, { dtype: 'float64', requiresGrad: true });
  const b = tensor(Bv, { dtype: 'float64', requiresGrad: true });
  const c = tensor(Cv, { dtype: 'float64', requiresGrad: true });
  const out = a.matmul(b).matmul(c);
  close(t, nums(out), flat(matmulJs(matmulJs(Av, Bv), Cv)), 1e-12);
  out.sum().backward();
  // L = 1ᵀ A B C 1 with G = ones(2, 2): dA = G (BC)ᵀ, dB = Aᵀ G Cᵀ, dC = (AB)ᵀ G
  const G = [
    [1, 1],
    [1, 1],
  ];
  const BC = matmulJs(Bv, Cv);
  const AB = matmulJs(Av, Bv);
  close(t, nums(a.grad!), flat(matmulJs(G, transposeJs(BC))), 1e-12);
  close(t, nums(b.grad!), flat(matmulJs(matmulJs(transposeJs(Av), G), transposeJs(Cv))), 1e-12);
  close(t, nums(c.grad!), flat(matmulJs(transposeJs(AB), G)), 1e-12);
  t.deepEqual(a.grad!.shape, [2, 3]);
  t.deepEqual(b.grad!.shape, [3, 4]);
  t.deepEqual(c.grad!.shape, [4, 2]);
});

test('autograd: grads accumulate, zeroGrad drops them, backward with an explicit gradient', (t) => {
  const x = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
  t.is(x.grad, null);
  x.mul(x).sum().backward();
  t.deepEqual(x.grad!.tolist(), [2, 4, 6]);
  x.mul(x).sum().backward();
  t.deepEqual(x.grad!.tolist(), [4, 8, 12]); // accumulated, as PyTorch
  x.zeroGrad();
  t.is(x.grad, null);
  x.zeroGrad(); // no grad: still fine
  t.is(x.grad, null);

  const y = x.mul(x); // non-scalar: pass d(loss)/dy
  y.backward(tensor([1, 0.5, -1], { dtype: 'float64' }));
  t.deepEqual(x.grad!.tolist(), [2, 2, -6]);

  // retainGraph lets the same graph run twice
  x.zeroGrad();
  const z = x.mul(3).sum();
  z.backward(undefined, { retainGraph: true });
  z.backward();
  t.deepEqual(x.grad!.tolist(), [6, 6, 6]);

  // requiresGrad can be switched off again
  x.requiresGrad = false;
  t.false(x.requiresGrad);
  t.false(x.mul(2).requiresGrad);
});

test('noGrad: results do not require grad; the mode is restored after, also after a throw', (t) => {
  const x = tensor([1, 2], { dtype: 'float32', requiresGrad: true });
  const r = noGrad(() => x.mul(2).add(1));
  t.false(r.requiresGrad);
  t.deepEqual(r.tolist(), [3, 5]);
  t.true(x.mul(2).requiresGrad, 'grad mode back on after noGrad');
  t.is(
    noGrad(() => 42),
    42
  );

  const err = t.throws(() =>
    noGrad(() => {
      t.false(x.mul(2).requiresGrad);
      throw new Error('boom');
    })
  );
  t.is(err?.message, 'boom');
  t.true(x.mul(2).requiresGrad, 'grad mode back on after a throw');

  // nested noGrad restores the outer (off) mode, then the original (on)
  noGrad(() => {
    noGrad(() => undefined);
    t.false(x.mul(2).requiresGrad);
  });
  t.true(x.mul(2).requiresGrad);
});

// ---------------------------------------------------------------------------------------------------------
// tidy / keep / memory

test.serial('tidy disposes intermediates, keeps the returned tensor, and memoryStats counts it', async (t) => {
  await settleFinalizers();
  const before = memoryStats();
  t.true(Number.isInteger(before.liveTensors) && before.liveTensors >= 0);
  t.true(before.liveBytes >= 0);
  const inner: Tensor[] = [];
  const out = tidy(() => {
    const a = ones([4, 4]);
    const b = a.add(1);
    const c = b.mul(b);
    inner.push(a, b, c);
    return c.sum(0);
  });
  const after = memoryStats();
  t.true(
    inner.every((x) => x.isDisposed),
    'intermediates disposed'
  );
  t.false(out.isDisposed);
  t.deepEqual(out.tolist(), [16, 16, 16, 16]);
  t.is(after.liveTensors - before.liveTensors, 1);
  t.is(after.liveBytes - before.liveBytes, 4 * 4);
  out.dispose();
  t.true(out.isDisposed);
  out.dispose(); // twice is fine
  t.is(memoryStats().liveTensors, before.liveTensors);
  t.is(memoryStats().liveBytes, before.liveBytes);
});

test.serial('tidy disposes everything when fn throws, and passes the error on', (t) => {
  const made: Tensor[] = [];
  const before = memoryStats().liveTensors;
  t.throws(
    () =>
      tidy(() => {
        made.push(zeros([3]), ones([3]));
        throw new RangeError('inside');
      }),
    { instanceOf: RangeError, message: 'inside' }
  );
  t.true(made.every((x) => x.isDisposed));
  t.is(memoryStats().liveTensors, before);
});

test('nested tidy: the inner result moves to the outer scope', (t) => {
  let innerResult: Tensor | undefined;
  let temp: Tensor | undefined;
  const out = tidy(() => {
    innerResult = tidy(() => ones([2]).add(1));
    t.false(innerResult.isDisposed, 'alive after the inner tidy');
    temp = innerResult.mul(3);
    return temp.sum();
  });
  t.true(innerResult!.isDisposed, 'owned and disposed by the outer tidy');
  t.true(temp!.isDisposed);
  t.false(out.isDisposed);
  t.is(out.item(), 12);
});

test('keep() exempts a tensor from tidy; arrays and objects of returned tensors survive', (t) => {
  let kept: Tensor | undefined;
  let dropped: Tensor | undefined;
  const res = tidy(() => {
    kept = keep(ones([2]));
    dropped = zeros([2]);
    const a = f32([1]);
    const b = f32([2]);
    return { pair: [a, b], named: { c: a.add(b) }, n: 7 };
  });
  t.false(kept!.isDisposed);
  t.true(dropped!.isDisposed);
  t.false(res.pair[0].isDisposed);
  t.false(res.pair[1].isDisposed);
  t.false(res.named.c.isDisposed);
  t.deepEqual(res.named.c.tolist(), [3]);
  t.is(res.n, 7);
  t.deepEqual(kept!.tolist(), [1, 1]);
  t.is(keep(kept!), kept!); // outside any scope: a no-op
});

// ---------------------------------------------------------------------------------------------------------
// runtime

test('version() reports LibTorch 2.x, threads and CUDA consistently', (t) => {
  const v = version();
  t.regex(v.libtorch, /^2\.\d+/);
  t.true(Number.isInteger(v.threads) && v.threads >= 1);
  t.true(Number.isInteger(v.interopThreads) && v.interopThreads >= 1);
  t.is(typeof v.cuda, 'boolean');
  t.is(typeof v.builtWithCuda, 'boolean');
  t.is(typeof v.mkl, 'boolean');
  t.is(typeof v.openmp, 'boolean');
  t.true(v.cudaVersion === null || /^\d+\.\d+$/.test(v.cudaVersion));
  const available = cuda.isAvailable();
  t.is(typeof available, 'boolean');
  t.is(available, v.cuda);
  const count = cuda.deviceCount();
  t.true(Number.isInteger(count));
  if (available) {
    t.true(count >= 1);
  } else {
    t.is(count, 0);
  }
  t.is(v.cudaDevices, count);
});

test.serial('setNumThreads changes what version() reports, and can be restored', (t) => {
  const prev = version().threads;
  setNumThreads(1);
  t.is(version().threads, 1);
  t.deepEqual(
    f32(A)
      .matmul(f32(transposeJs(A)))
      .tolist(),
    [
      [14, 32],
      [32, 77],
    ]
  );
  setNumThreads(prev);
  t.is(version().threads, prev);
});

test.serial('manualSeed makes randn, rand and randint reproducible', (t) => {
  manualSeed(42);
  const a = nums(randn([8]));
  const u = nums(rand([4]));
  const i = Array.from(randint(0, 1000, [6]).toArray() as BigInt64Array);
  t.is(new Set(a).size, 8);
  manualSeed(42);
  t.deepEqual(nums(randn([8])), a);
  t.deepEqual(nums(rand([4])), u);
  t.deepEqual(Array.from(randint(0, 1000, [6]).toArray() as BigInt64Array), i);
  manualSeed(43);
  t.notDeepEqual(nums(randn([8])), a);
  // randn looks standard normal
  manualSeed(0);
  const big = randn([20000]);
  t.true(Math.abs(big.mean().item() as number) < 0.05);
  t.true(Math.abs((big.pow(2).mean().item() as number) - 1) < 0.05);
});

test('assign copies values into a tensor in place, outside autograd, converting dtype; another shape is a clear error', (t) => {
  const p = tensor([1, 2, 3], { dtype: 'float32' });
  p.requiresGrad = true;
  const before = p.native;
  p.assign(tensor([4, 5, 6], { dtype: 'float64' }));
  t.deepEqual(p.tolist(), [4, 5, 6]);
  t.is(p.native, before);
  t.true(p.requiresGrad);
  t.is(p.dtype, 'float32');
  t.throws(() => p.assign(tensor([1, 2], { dtype: 'float32' })), {
    message: /assign: argument 'src' must have the shape of 'self' \(.*\[3\].*\), got .*\[2\]/,
  });
  t.throws(() => p.assign(null as unknown as typeof p), { message: /assign: argument 'src' must be a Tensor, got null/ });
});
