/**
 * The Tensor class: a typed, PyTorch-named view of one native LibTorch tensor. Every operation returns a
 * new Tensor (there are no in-place ops in the public API, so autograd and tidy() stay simple).
 */
import { native, type NativeTensor } from '../native';
import { type DType, type Device, type TensorData, isDType, isDevice, viewBytes } from './dtype';
import { track } from './scope';

/** A nested JS array of numbers (or booleans for bool tensors), as `tolist()` returns. */
export type NestedList = number | boolean | NestedList[];

/** The second operand of binary ops: a tensor (broadcast) or a plain number/boolean. */
export type Operand = Tensor | number | boolean;

/** Options of reductions over one or more dims. */
export interface ReduceOptions {
  /** Keep each reduced dim with size 1 (default false: drop it). */
  keepdim?: boolean;
}

/** Options of {@link Tensor.topk}. */
export interface TopkOptions {
  /** Dim to search (default: the last). */
  dim?: number;
  /** Largest (default) or smallest k. */
  largest?: boolean;
  /** Return the k in sorted order (default true). */
  sorted?: boolean;
}

function raw(x: Operand): NativeTensor | number | boolean {
  return x instanceof Tensor ? x.native : x;
}

/** A LibTorch tensor: PyTorch's operations under PyTorch's names; each returns a new Tensor. */
export class Tensor {
  /** @internal The native handle; use the methods instead. */
  readonly native: NativeTensor;

  /** @internal Tensors are made by the factories (`tensor`, `zeros`, ...) and by operations. */
  constructor(handle: NativeTensor) {
    this.native = handle;
    track(this);
  }

  /** Sizes of each dim; `[]` for a 0-d tensor. */
  get shape(): number[] {
    return native().shape(this.native);
  }
  /** Element type. */
  get dtype(): DType {
    return native().dtype(this.native) as DType;
  }
  /** Where the data lives ('cpu', 'cuda:N'). */
  get device(): Device {
    return native().device(this.native) as Device;
  }
  /** Number of dims. */
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  /** Whether autograd records operations on this tensor (settable on leaves). */
  get requiresGrad(): boolean {
    return native().requiresGrad(this.native);
  }
  /** Makes autograd record (or stop recording) operations on this leaf tensor. */
  set requiresGrad(flag: boolean) {
    native().setRequiresGrad(this.native, flag);
  }
  /** Whether dispose() (or tidy) already freed this tensor. */
  get isDisposed(): boolean {
    return native().isDisposed(this.native);
  }
  /** Frees the native memory now. Safe to call twice; any later use throws. */
  dispose(): void {
    native().dispose(this.native);
  }
  /** `Tensor([2, 3] float32 cpu)`. */
  toString(): string {
    return this.isDisposed ? 'Tensor(disposed)' : `Tensor(${native().describe(this.native)})`;
  }

  // ---- moving and reading back ------------------------------------------------------------------------

  /** A copy (or the same storage, when nothing changes) on another device and/or with another dtype. */
  to(target: DType | Device | { dtype?: DType; device?: Device }): Tensor {
    if (typeof target === 'string') {
      if (isDType(target)) return new Tensor(native().to(this.native, target, null));
      if (isDevice(target)) return new Tensor(native().to(this.native, null, target));
      throw new TypeError(`to: argument 'target' must be a dtype or a device ('cpu', 'cuda', 'cuda:N'), got '${String(target)}'`);
    }
    if (target === null || typeof target !== 'object') {
      throw new TypeError(`to: argument 'target' must be a dtype, a device or { dtype, device }, got ${String(target)}`);
    }
    return new Tensor(native().to(this.native, target.dtype ?? null, target.device ?? null));
  }
  /** {@link to} the CPU: a copy there, or the same storage when the tensor is there already. */
  cpu(): Tensor {
    return this.to('cpu');
  }
  /** The values as a TypedArray (row-major copy): see {@link TensorData} for the type per dtype. */
  toArray(): TensorData {
    return viewBytes(native().toBytes(this.native), this.dtype);
  }
  /** The values as nested JS arrays (int64 as numbers; throws if one is beyond 2^53). */
  tolist(): NestedList {
    const shape = this.shape;
    const flat = toPlain(this.toArray(), this.dtype);
    if (shape.length === 0) return flat[0];
    let i = 0;
    const build = (d: number): NestedList[] => {
      const out: NestedList[] = [];
      for (let k = 0; k < shape[d]; k++) out.push(d === shape.length - 1 ? flat[i++] : build(d + 1));
      return out;
    };
    return build(0);
  }
  /** The single value of a one-element tensor. */
  item(): number | boolean {
    const n = this.numel;
    if (n !== 1) throw new RangeError(`item: the tensor must have exactly one element, it has ${n} (${this.toString()})`);
    return toPlain(this.toArray(), this.dtype)[0];
  }

  // ---- elementwise --------------------------------------------------------------------------------------
  /** `this + other`, broadcast. */
  add(other: Operand): Tensor {
    return new Tensor(native().add(this.native, raw(other)));
  }
  /** `this - other`, broadcast. */
  sub(other: Operand): Tensor {
    return new Tensor(native().sub(this.native, raw(other)));
  }
  /** `this * other`, elementwise, broadcast. */
  mul(other: Operand): Tensor {
    return new Tensor(native().mul(this.native, raw(other)));
  }
  /** `this / other` (true division), broadcast. */
  div(other: Operand): Tensor {
    return new Tensor(native().div(this.native, raw(other)));
  }
  /** `this ** exponent`, broadcast. */
  pow(exponent: Operand): Tensor {
    return new Tensor(native().pow(this.native, raw(exponent)));
  }
  /** Elementwise maximum of `this` and `other`. */
  maximum(other: Operand): Tensor {
    return new Tensor(native().maximum(this.native, raw(other)));
  }
  /** Elementwise minimum of `this` and `other`. */
  minimum(other: Operand): Tensor {
    return new Tensor(native().minimum(this.native, raw(other)));
  }
  /** `-this`. */
  neg(): Tensor {
    return new Tensor(native().neg(this.native));
  }
  /** Elementwise e^x. */
  exp(): Tensor {
    return new Tensor(native().exp(this.native));
  }
  /** Elementwise natural logarithm. */
  log(): Tensor {
    return new Tensor(native().log(this.native));
  }
  /** Elementwise square root. */
  sqrt(): Tensor {
    return new Tensor(native().sqrt(this.native));
  }
  /** Elementwise absolute value. */
  abs(): Tensor {
    return new Tensor(native().abs(this.native));
  }
  /** Elementwise max(x, 0). */
  relu(): Tensor {
    return new Tensor(native().relu(this.native));
  }
  /** Elementwise 1 / (1 + e^-x). */
  sigmoid(): Tensor {
    return new Tensor(native().sigmoid(this.native));
  }
  /** Elementwise hyperbolic tangent. */
  tanh(): Tensor {
    return new Tensor(native().tanh(this.native));
  }
  /** Elementwise logical not (a bool tensor). */
  logicalNot(): Tensor {
    return new Tensor(native().logicalNot(this.native));
  }
  /** `this == other` elementwise (a bool tensor). */
  eq(other: Operand): Tensor {
    return new Tensor(native().eq(this.native, raw(other)));
  }
  /** `this != other` elementwise (a bool tensor). */
  ne(other: Operand): Tensor {
    return new Tensor(native().ne(this.native, raw(other)));
  }
  /** `this < other` elementwise (a bool tensor). */
  lt(other: Operand): Tensor {
    return new Tensor(native().lt(this.native, raw(other)));
  }
  /** `this <= other` elementwise (a bool tensor). */
  le(other: Operand): Tensor {
    return new Tensor(native().le(this.native, raw(other)));
  }
  /** `this > other` elementwise (a bool tensor). */
  gt(other: Operand): Tensor {
    return new Tensor(native().gt(this.native, raw(other)));
  }
  /** `this >= other` elementwise (a bool tensor). */
  ge(other: Operand): Tensor {
    return new Tensor(native().ge(this.native, raw(other)));
  }

  // ---- linear algebra ------------------------------------------------------------------------------------
  /** Matrix product (PyTorch's `matmul`: batched and broadcast over leading dims). */
  matmul(other: Tensor): Tensor {
    return new Tensor(native().matmul(this.native, rawTensor(other, 'matmul', 'other')));
  }
  /** `matmul` computed off the JS thread; the event loop keeps running meanwhile. */
  async matmulAsync(other: Tensor): Promise<Tensor> {
    return new Tensor(await native().matmulAsync(this.native, rawTensor(other, 'matmulAsync', 'other')));
  }

  // ---- reductions ----------------------------------------------------------------------------------------
  /** Sum over all elements, or over `dim` (one or several). */
  sum(dim?: number | number[], opts: ReduceOptions = {}): Tensor {
    return new Tensor(native().sum(this.native, dim, opts.keepdim ?? false));
  }
  /** Mean over all elements, or over `dim` (one or several). */
  mean(dim?: number | number[], opts: ReduceOptions = {}): Tensor {
    return new Tensor(native().mean(this.native, dim, opts.keepdim ?? false));
  }
  /** Largest element overall; see {@link maxDim} for values and indices along a dim. */
  max(): Tensor {
    return new Tensor(native().max(this.native));
  }
  /** Smallest element overall; see {@link minDim} for values and indices along a dim. */
  min(): Tensor {
    return new Tensor(native().min(this.native));
  }
  /** Values and indices of the maxima along `dim` (PyTorch's `max(dim)`). */
  maxDim(dim: number, opts: ReduceOptions = {}): { values: Tensor; indices: Tensor } {
    const [v, i] = native().max(this.native, dim, opts.keepdim ?? false);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  /** Values and indices of the minima along `dim` (PyTorch's `min(dim)`). */
  minDim(dim: number, opts: ReduceOptions = {}): { values: Tensor; indices: Tensor } {
    const [v, i] = native().min(this.native, dim, opts.keepdim ?? false);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  /** Index of the largest element, over the flattened tensor or along `dim`. */
  argmax(dim?: number, opts: ReduceOptions = {}): Tensor {
    return new Tensor(native().argmax(this.native, dim, opts.keepdim ?? false));
  }
  /** Softmax along `dim`. */
  softmax(dim: number): Tensor {
    return new Tensor(native().softmax(this.native, dim));
  }
  /** Log of the softmax along `dim`, computed stably. */
  logSoftmax(dim: number): Tensor {
    return new Tensor(native().logSoftmax(this.native, dim));
  }
  /** The `k` largest (or smallest) values along a dim and their indices. */
  topk(k: number, opts: TopkOptions = {}): { values: Tensor; indices: Tensor } {
    const [v, i] = native().topk(this.native, k, opts.dim, opts.largest ?? true, opts.sorted ?? true);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }

  /** Sorted values and their indices along `dim` (default: the last). */
  sort(opts: { dim?: number; descending?: boolean } = {}): { values: Tensor; indices: Tensor } {
    const [v, i] = native().sort(this.native, opts.dim, opts.descending ?? false);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  /** Cumulative sum along `dim`. */
  cumsum(dim: number): Tensor {
    return new Tensor(native().cumsum(this.native, dim));
  }
  /** Draws `numSamples` category indices per row, with probabilities proportional to this tensor's values. */
  multinomial(numSamples: number, opts: { replacement?: boolean } = {}): Tensor {
    return new Tensor(native().multinomial(this.native, numSamples, opts.replacement ?? false));
  }

  // ---- indexing ------------------------------------------------------------------------------------------
  /** Values along `dim` at the positions `index` (int64, same number of dims) gives. */
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(native().gather(this.native, dim, rawTensor(index, 'gather', 'index')));
  }
  /** The slices `index` (int64, 1-d) along `dim`, in that order. */
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(native().indexSelect(this.native, dim, rawTensor(index, 'indexSelect', 'index')));
  }
  /** A copy with `value` where `mask` (bool, broadcastable) is true. */
  maskedFill(mask: Tensor, value: Operand): Tensor {
    return new Tensor(native().maskedFill(this.native, rawTensor(mask, 'maskedFill', 'mask'), raw(value)));
  }

  /** A copy with the slices `index` (int64) along `dim` set to `value`. */
  indexFill(dim: number, index: Tensor, value: number | boolean): Tensor {
    return new Tensor(native().indexFill(this.native, dim, rawTensor(index, 'indexFill', 'index'), value));
  }

  // ---- shape ---------------------------------------------------------------------------------------------
  /** The same storage with another shape (-1 infers one dim); throws where the strides do not allow it (see {@link reshape}). */
  view(...shape: number[] | [number[]]): Tensor {
    return new Tensor(native().view(this.native, shapeArg(shape)));
  }
  /** Another shape (-1 infers one dim): a view when possible, else a copy. */
  reshape(...shape: number[] | [number[]]): Tensor {
    return new Tensor(native().reshape(this.native, shapeArg(shape)));
  }
  /** `dim0` and `dim1` swapped (a view). */
  transpose(dim0: number, dim1: number): Tensor {
    return new Tensor(native().transpose(this.native, dim0, dim1));
  }
  /** The dims in the order `dims` (a view). */
  permute(...dims: number[] | [number[]]): Tensor {
    return new Tensor(native().permute(this.native, shapeArg(dims)));
  }
  /** The data in row-major order (this tensor's storage when it is already). */
  contiguous(): Tensor {
    return new Tensor(native().contiguous(this.native));
  }
  /** Size-1 dims removed: all of them, or `dim` only. */
  squeeze(dim?: number): Tensor {
    return new Tensor(native().squeeze(this.native, dim));
  }
  /** A size-1 dim inserted at `dim`. */
  unsqueeze(dim: number): Tensor {
    return new Tensor(native().unsqueeze(this.native, dim));
  }
  /** Size-1 dims broadcast to `shape` without copying (-1 keeps a dim). */
  expand(...shape: number[] | [number[]]): Tensor {
    return new Tensor(native().expand(this.native, shapeArg(shape)));
  }
  /** `length` elements of `dim` from `start` (a view). */
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(native().narrow(this.native, dim, start, length));
  }
  /** Python's `t[..., start:end:step]` on `dim` (a view; bounds clamp as in Python). */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return new Tensor(native().slice(this.native, dim, start ?? null, end ?? null, step));
  }
  /** A copy with its own storage (differentiable). */
  clone(): Tensor {
    return new Tensor(native().clone(this.native));
  }
  /** The same values, cut from the autograd graph. */
  detach(): Tensor {
    return new Tensor(native().detach(this.native));
  }

  // ---- autograd ------------------------------------------------------------------------------------------
  /** Backpropagates from this tensor (a scalar, or pass `gradient` of the same shape). */
  backward(gradient?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    native().backward(this.native, gradient ? rawTensor(gradient, 'backward', 'gradient') : null, opts.retainGraph ?? false);
  }
  /**
   * {@link backward} on the compute thread: the event loop keeps running, and the Promise resolves once every
   * leaf's `.grad` is written. Grad mode and inputs are captured when it starts.
   */
  async backwardAsync(gradient?: Tensor, opts: { retainGraph?: boolean } = {}): Promise<void> {
    await native().backwardAsync(this.native, gradient ? rawTensor(gradient, 'backwardAsync', 'gradient') : null, opts.retainGraph ?? false);
  }
  /** The accumulated gradient, or null before any backward(). */
  get grad(): Tensor | null {
    const g = native().grad(this.native);
    return g ? new Tensor(g) : null;
  }
  /**
   * Copies `src`'s values into this tensor's storage, outside autograd (PyTorch's `with no_grad(): t.copy_(src)`):
   * how a checkpoint restores a parameter that an optimizer already holds. Same shape; dtype and device convert.
   */
  assign(src: Tensor): this {
    native().assign(this.native, rawTensor(src, 'assign', 'src'));
    return this;
  }
  /** Drops the accumulated gradient (as PyTorch's `zero_grad(set_to_none=True)`). */
  zeroGrad(): void {
    native().zeroGrad(this.native);
  }
}

function rawTensor(t: Tensor, fn: string, name?: string): NativeTensor {
  if (!(t instanceof Tensor)) {
    const what = name === undefined ? 'expected a Tensor' : `argument '${name}' must be a Tensor`;
    throw new TypeError(`${fn}: ${what}, got ${t === null ? 'null' : typeof t}`);
  }
  return t.native;
}

// view(2, 3) and view([2, 3]) both work, as in PyTorch.
function shapeArg(args: unknown[]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return args[0] as number[];
  return args as number[];
}

function toPlain(data: TensorData, dtype: DType): Array<number | boolean> {
  if (dtype === 'bool') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (data instanceof BigInt64Array) {
    return Array.from(data, (v) => {
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new RangeError(`tolist: int64 value ${v} is beyond 2^53; use toArray() for exact int64 values`);
      }
      return Number(v);
    });
  }
  return Array.from(data as ArrayLike<number>);
}
