/**
 * Making tensors: from JS data (`tensor`), the usual factories (zeros, ones, full, randn, rand, randint,
 * arange), and the functions that join several tensors (cat, stack, where).
 */
import { native } from '../native';
import { DTYPES, type DType, type Device, dtypeOfTypedArray, dtypeSize, isDType, isFloating } from './dtype';
import { Tensor } from './tensor';

/** Where and as what a new tensor is made. */
export interface TensorOptions {
  /** Element type (default float32; {@link tensor} infers it from the data). */
  dtype?: DType;
  /** Where the tensor is made (default cpu). */
  device?: Device;
  /** Make it a leaf autograd tracks (default false). */
  requiresGrad?: boolean;
}

/** Options of {@link tensor}: `shape` reshapes flat data (a TypedArray, Buffer or flat array). */
export interface FromDataOptions extends TensorOptions {
  /** The shape of the result (default: the nesting of `data`, or 1-d for flat data). */
  shape?: number[];
}

/** Nested JS arrays of numbers, booleans or bigints. */
export type NestedData = number | boolean | bigint | NestedData[];

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

function inferShape(data: NestedData, _fn: string): number[] {
  const shape: number[] = [];
  let cur: NestedData = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function flatten(data: NestedData, shape: number[], fn: string): Array<number | boolean | bigint> {
  const out: Array<number | boolean | bigint> = [];
  const walk = (v: NestedData, d: number, where: number[]): void => {
    if (d === shape.length) {
      if (Array.isArray(v)) throw new TypeError(`${fn}: ragged nested array: element [${where.join('][')}] is an array but a scalar was expected`);
      if (typeof v !== 'number' && typeof v !== 'boolean' && typeof v !== 'bigint') {
        const what = where.length === 0 ? "argument 'data'" : `element [${where.join('][')}]`;
        throw new TypeError(`${fn}: ${what} must be a number, boolean or bigint, got ${v === null ? 'null' : typeof v}`);
      }
      out.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      throw new TypeError(
        `${fn}: ragged nested array: element [${where.join('][')}] should be an array of length ${shape[d]}, got ${Array.isArray(v) ? `length ${v.length}` : typeof v}`
      );
    }
    v.forEach((x, i) => walk(x, d + 1, [...where, i]));
  };
  walk(data, 0, []);
  return out;
}

// PyTorch's inference: all booleans -> bool, all integers -> int64, otherwise float32.
function inferDtype(values: Array<number | boolean | bigint>): DType {
  if (values.length > 0 && values.every((v) => typeof v === 'boolean')) return 'bool';
  if (values.every((v) => typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v)))) {
    return values.length === 0 ? 'float32' : 'int64';
  }
  return 'float32';
}

// [min, max) of each integer dtype: converting a value outside it would wrap silently (or be undefined
// behaviour in C++), so it is refused as PyTorch refuses it.
const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 128],
  uint8: [0, 256],
  int16: [-32768, 32768],
  int32: [-(2 ** 31), 2 ** 31],
  int64: [-(2 ** 63), 2 ** 63],
};

function encodeValues(values: Array<number | boolean | bigint>, dtype: DType, fn: string): ArrayBufferView {
  if (dtype === 'int64' && values.some((v) => typeof v === 'bigint')) {
    return BigInt64Array.from(values, (v, i) => {
      if (typeof v === 'number' && !Number.isInteger(v)) {
        throw new TypeError(`${fn}: element ${i} is ${v}, not an integer, but dtype is ${dtype}`);
      }
      const b = BigInt(typeof v === 'boolean' ? Number(v) : v);
      if (b < -(2n ** 63n) || b >= 2n ** 63n) throw new RangeError(`${fn}: element ${i} is ${b}, out of range for int64`);
      return b;
    });
  }
  const range = INT_RANGE[dtype];
  const out = new Float64Array(values.length);
  values.forEach((v, i) => {
    const x = typeof v === 'bigint' ? Number(v) : Number(v);
    if (!isFloating(dtype) && dtype !== 'bool' && !Number.isInteger(x)) {
      throw new TypeError(`${fn}: element ${i} is ${x}, not an integer, but dtype is ${dtype}`);
    }
    if (range && (x < range[0] || x >= range[1])) {
      throw new RangeError(`${fn}: element ${i} is ${typeof v === 'bigint' ? v : x}, out of range for ${dtype}`);
    }
    out[i] = dtype === 'bool' ? (x !== 0 && !Number.isNaN(x) ? 1 : 0) : x;
  });
  return out;
}

// Reports a shape that does not fit the data as the caller wrote it (not as the native copy's bytes).
function checkShape(shape: number[], count: number, fn: string): void {
  if (!Array.isArray(shape)) throw new TypeError(`${fn}: argument 'shape' must be an array of integers, got ${typeof shape}`);
  shape.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 0) {
      throw new TypeError(`${fn}: argument 'shape[${i}]' must be a non-negative integer, got ${typeof d === 'number' ? d : typeof d}`);
    }
  });
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== count) {
    throw new TypeError(`${fn}: argument 'shape' [${shape.join(', ')}] needs ${n} elements but the data has ${count}`);
  }
}

/**
 * A tensor from JS data: a number/boolean (0-d), nested arrays, a TypedArray (1-d unless `shape`), or a
 * Buffer holding raw little-endian values of `dtype` (default uint8). Dtypes are inferred as PyTorch does.
 */
export function tensor(data: NestedData | ArrayBufferView, opts: FromDataOptions = {}): Tensor {
  const fn = 'tensor';
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: argument 'opts' must be an object`);
  if (opts.dtype !== undefined && !isDType(opts.dtype)) {
    throw new TypeError(`${fn}: argument 'dtype' must be one of ${DTYPES.join(', ')}, got ${String(opts.dtype)}`);
  }
  let bytes: ArrayBufferView;
  let srcDtype: DType;
  let dtype: DType;
  let shape: number[];
  if (ArrayBuffer.isView(data)) {
    if (Buffer.isBuffer(data)) {
      // A Buffer is raw bytes of the requested dtype; bool bytes are read as uint8, then converted.
      srcDtype = opts.dtype === undefined || opts.dtype === 'bool' ? 'uint8' : opts.dtype;
    } else {
      const d = dtypeOfTypedArray(data);
      if (d === undefined) throw new TypeError(`${fn}: unsupported TypedArray ${data.constructor.name}`);
      srcDtype = d;
    }
    dtype = opts.dtype ?? srcDtype;
    bytes = data;
    const itemSize = dtypeSize(srcDtype);
    if (data.byteLength % itemSize !== 0) {
      throw new TypeError(`${fn}: ${data.byteLength} bytes is not a whole number of ${srcDtype} elements`);
    }
    shape = opts.shape ?? [data.byteLength / itemSize];
    checkShape(shape, data.byteLength / itemSize, fn);
  } else {
    const inferred = inferShape(data, fn);
    const values = flatten(data, inferred, fn);
    dtype = opts.dtype ?? inferDtype(values);
    bytes = encodeValues(values, dtype, fn);
    srcDtype = bytes instanceof BigInt64Array ? 'int64' : 'float64';
    shape = opts.shape ?? inferred;
    checkShape(shape, values.length, fn);
  }
  return finish(new Tensor(native().fromBytes(bytes, shape, srcDtype, dtype, opts.device)), opts);
}

/** A tensor of zeros (float32 on the CPU unless `opts` says otherwise). */
export function zeros(shape: number[], opts: TensorOptions = {}): Tensor {
  return finish(new Tensor(native().zeros(shape, opts.dtype, opts.device)), opts);
}
/** A tensor of ones (float32 on the CPU unless `opts` says otherwise). */
export function ones(shape: number[], opts: TensorOptions = {}): Tensor {
  return finish(new Tensor(native().ones(shape, opts.dtype, opts.device)), opts);
}
/** A tensor filled with `value` (float32 on the CPU unless `opts` says otherwise). */
export function full(shape: number[], value: number | boolean, opts: TensorOptions = {}): Tensor {
  return finish(new Tensor(native().full(shape, value, opts.dtype, opts.device)), opts);
}
/** Standard normal samples (seeded by {@link manualSeed}). */
export function randn(shape: number[], opts: TensorOptions = {}): Tensor {
  return finish(new Tensor(native().randn(shape, opts.dtype, opts.device)), opts);
}
/** Uniform samples in [0, 1). */
export function rand(shape: number[], opts: TensorOptions = {}): Tensor {
  return finish(new Tensor(native().rand(shape, opts.dtype, opts.device)), opts);
}
/** Integers uniform in [low, high) (int64 unless `dtype`). */
export function randint(low: number, high: number, shape: number[], opts: TensorOptions = {}): Tensor {
  return new Tensor(native().randint(low, high, shape, opts.dtype, opts.device));
}
/** `arange(end)` or `arange(start, end, step?)`; int64 for whole numbers, else float32 (as PyTorch). */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  const [s, e] = end === undefined ? [0, start] : [start, end];
  return new Tensor(native().arange(s, e, step, opts.dtype, opts.device));
}
/** Seeds LibTorch's generators (CPU and CUDA). */
export function manualSeed(seed: number): void {
  native().manualSeed(seed);
}
/** The CPU generator's whole state (a uint8 tensor, as `torch.get_rng_state()`): dropout resumes exactly from it. */
export function getRngState(): Tensor {
  return new Tensor(native().rngState());
}
/** Restores a state from {@link getRngState}. */
export function setRngState(state: Tensor): void {
  if (!(state instanceof Tensor)) throw new TypeError("setRngState: argument 'state' must be a Tensor from getRngState()");
  native().setRngState(state.native);
}
/** Concatenates along an existing dim. */
export function cat(tensors: Tensor[], dim = 0): Tensor {
  return new Tensor(native().cat(handles(tensors, 'cat'), dim));
}
/** Stacks along a new dim. */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return new Tensor(native().stack(handles(tensors, 'stack'), dim));
}
/** Elementwise `condition ? input : other` (each side a tensor or a number). */
export function where(condition: Tensor, input: Tensor | number, other: Tensor | number): Tensor {
  const h = (x: Tensor | number) => (x instanceof Tensor ? x.native : x);
  if (!(condition instanceof Tensor)) throw new TypeError("where: argument 'condition' must be a Tensor");
  return new Tensor(native().where(condition.native, h(input), h(other)));
}

function handles(tensors: Tensor[], fn: string) {
  if (!Array.isArray(tensors)) throw new TypeError(`${fn}: argument 'tensors' must be an array of Tensors`);
  return tensors.map((t, i) => {
    if (!(t instanceof Tensor)) throw new TypeError(`${fn}: argument 'tensors[${i}]' must be a Tensor`);
    return t.native;
  });
}
