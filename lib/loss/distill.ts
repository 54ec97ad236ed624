/**
 * The knowledge-distillation loss: typed options with defaults, argument checks, and the three forms of the
 * fused native loss (dense teacher logits, sparse top-k teacher, chunked fused-linear), plus the plain
 * LibTorch composition they are tested and benchmarked against. The math lives in native/loss.
 *
 * Per target token whose label is not `ignoreIndex`:
 *
 *     L = alpha · T² · KL(softmax(t/T) ‖ softmax(s/T)) + (1 − alpha) · CE_ε(s, y)
 *
 * where CE_ε is cross-entropy with label smoothing ε, PyTorch's convention: the target is
 * (1 − ε)·onehot(y) + ε/V. Pad tokens contribute nothing to the loss or the gradient, their KD part
 * included; 'mean' divides by the number of non-pad tokens, and a batch of only pad tokens gives 0.
 */
import { describeValue, OptionReader } from '../common/options';
import { native, type NativeTensor } from '../native';
import type { NativeLossTeacher } from '../native/loss';
import { Tensor } from '../tensor/tensor';
import type { Device, DType } from '../tensor/dtype';
import { LOSS_OPTION_KEYS, type LossOptions, readLossOptions, type Reduction, resolveLossOptions } from './options';

export type { Reduction };

/** Options of {@link distillLoss} (and {@link distillLossReference}): see {@link LossOptions} for defaults. */
export interface DistillLossOptions extends LossOptions {
  /**
   * Write the gradient into the student logits' own storage (when they are contiguous) instead of a new [N, V]
   * tensor: the logits' values are gone after the call, so only for a caller that no longer needs them (the
   * output of a linear layer whose backward does not read it). Default false. (distillLoss only.)
   */
  gradInPlace?: boolean;
}

/** Options of {@link distillLossChunked}. */
export interface ChunkedDistillLossOptions extends Omit<DistillLossOptions, 'reduction'> {
  /** 'mean' (default) or 'sum': the chunked form computes its gradients in the forward pass, so 'none' is not offered. */
  reduction?: 'mean' | 'sum';
  /**
   * Rows of student logits materialised at a time. Default: on the CPU about 8M logits per chunk (32 MB in
   * float32), on a GPU as many rows as a bounded slice of its free memory holds; see {@link defaultChunkSize}.
   */
  chunkSize?: number;
}

/**
 * A teacher given as its top-k per token (offline KD): `indices` [N, k] (or [B, T, k]) integer vocab ids and
 * `logProbs` of the same shape (log-probabilities, or logits: a per-row shift does not matter).
 *
 * Missing mass: the teacher distribution is `softmax(logProbs / T)` over the k entries, i.e. the tail
 * outside the top-k gets probability 0 and the k are renormalised. With k = V this is exactly the dense loss.
 * `-Infinity` entries are allowed (probability 0); each row needs at least one finite entry.
 */
export interface SparseTeacher {
  /** [N, k] (or [B, T, k]) vocabulary ids of the teacher's top-k. */
  indices: Tensor;
  /** Their log-probabilities (or logits), same shape as `indices`. */
  logProbs: Tensor;
}

/**
 * A teacher given as its final hidden states [N, Ht] (or [B, T, Ht]) and output projection `weight` [V, Ht]
 * (+ `bias` [V]): for the chunked form, which computes the teacher's logits chunk by chunk, under no-grad.
 */
export interface HiddenTeacher {
  /** [N, Ht] (or [B, T, Ht]) the teacher's final hidden states. */
  hidden: Tensor;
  /** [V, Ht] the teacher's output projection. */
  weight: Tensor;
  /** [V] its bias, if any. */
  bias?: Tensor | null;
}

/** The loss and, for logging, its two parts (reduced like the loss, detached). */
export interface DistillLossResult {
  /** `alpha · kd + (1 − alpha) · ce`; differentiable w.r.t. the student. float32 (float64 for float64 inputs). */
  loss: Tensor;
  /** The `T² · KL` part (0 when alpha is 0: the teacher is then not read). */
  kd: Tensor;
  /** The `CE_ε` part (0 when alpha is 1: labels are then only the pad mask). */
  ce: Tensor;
}

function tensorArg(fn: string, name: string, v: unknown): NativeTensor {
  if (!(v instanceof Tensor)) throw new TypeError(`${fn}: argument '${name}' must be a Tensor, got ${describeValue(v)}`);
  return v.native;
}

function targetsArg(fn: string, v: unknown): NativeTensor | null {
  if (v === null || v === undefined) return null;
  return tensorArg(fn, 'targets', v);
}

function isSparse(t: unknown): t is SparseTeacher {
  return typeof t === 'object' && t !== null && !(t instanceof Tensor) && 'indices' in t && 'logProbs' in t;
}

function isHidden(t: unknown): t is HiddenTeacher {
  return typeof t === 'object' && t !== null && !(t instanceof Tensor) && 'hidden' in t && 'weight' in t;
}

function teacherArg(fn: string, teacher: unknown, allowHidden: boolean): NativeLossTeacher {
  if (teacher instanceof Tensor) return { kind: 'logits', logits: teacher.native };
  if (isSparse(teacher)) {
    return {
      kind: 'sparse',
      indices: tensorArg(fn, 'teacher.indices', teacher.indices),
      logProbs: tensorArg(fn, 'teacher.logProbs', teacher.logProbs),
    };
  }
  if (allowHidden && isHidden(teacher)) {
    const bias = teacher.bias === undefined || teacher.bias === null ? null : tensorArg(fn, 'teacher.bias', teacher.bias);
    return { kind: 'hidden', hidden: tensorArg(fn, 'teacher.hidden', teacher.hidden), weight: tensorArg(fn, 'teacher.weight', teacher.weight), bias };
  }
  const kinds = allowHidden
    ? 'a Tensor of logits, { indices, logProbs } or { hidden, weight, bias? }'
    : 'a Tensor of logits or { indices, logProbs }';
  throw new TypeError(`${fn}: argument 'teacher' must be ${kinds}, got ${describeValue(teacher)}`);
}

function wrap(out: [NativeTensor, NativeTensor, NativeTensor]): DistillLossResult {
  return { loss: new Tensor(out[0]), kd: new Tensor(out[1]), ce: new Tensor(out[2]) };
}

/**
 * The fused distillation loss over student logits `[N, V]` (or `[B, T, V]`), in one native pass per row
 * that also computes the gradient: `loss.backward()` fills `student.grad` by scaling that saved gradient,
 * so no `[N, V]` temporaries beyond the gradient itself are made.
 *
 * @param student Student logits, float32 / bfloat16 / float16 (math in float32) or float64.
 * @param teacher Teacher logits of the student's shape (any floating dtype; never differentiated), or a
 *   {@link SparseTeacher} (top-k).
 * @param targets Integer labels `[N]` (or `[B, T]`), each in [0, V) or `ignoreIndex`. May be null only
 *   when alpha is 1 (the labels are then only the pad mask).
 * @param opts See {@link DistillLossOptions}.
 * @throws TypeError / RangeError for bad options, shapes, dtypes or labels, naming the argument.
 */
export function distillLoss(
  student: Tensor,
  teacher: Tensor | SparseTeacher,
  targets: Tensor | null,
  opts: DistillLossOptions = {}
): DistillLossResult {
  return wrap(native().distillLoss(...denseArgs('distillLoss', student, teacher, targets, opts)));
}

/** The native arguments of the dense/sparse forms, checked. */
function denseArgs(fn: string, student: Tensor, teacher: Tensor | SparseTeacher, targets: Tensor | null, opts: DistillLossOptions) {
  const options = resolveLossOptions(fn, opts, { extraKeys: ['gradInPlace'] });
  const inPlace = (opts as { gradInPlace?: unknown }).gradInPlace;
  if (inPlace !== undefined && typeof inPlace !== 'boolean')
    throw new TypeError(`${fn}: option 'gradInPlace' must be a boolean, got ${typeof inPlace}`);
  const resolved = { ...options, gradInPlace: inPlace === true };
  return [tensorArg(fn, 'student', student), teacherArg(fn, teacher, false), targetsArg(fn, targets), resolved] as const;
}

/** {@link distillLoss} on the compute thread (the training loop's form): the event loop keeps running. */
export async function distillLossAsync(
  student: Tensor,
  teacher: Tensor | SparseTeacher,
  targets: Tensor | null,
  opts: DistillLossOptions = {}
): Promise<DistillLossResult> {
  return wrap(await native().distillLossAsync(...denseArgs('distillLossAsync', student, teacher, targets, opts)));
}

/**
 * The chunked fused-linear form: the student's logits are `hidden @ weight^T + bias`, computed `chunkSize`
 * rows at a time and fed to the fused kernel, so the full `[N, V]` student logits never exist. The
 * gradients for `hidden`, `weight` and `bias` (those that require grad) are computed in the same pass and
 * handed out by `loss.backward()`.
 *
 * @param hidden Student final hidden states `[N, H]` (or `[B, T, H]`).
 * @param weight Output projection `[V, H]`, same dtype as `hidden`.
 * @param bias Output bias `[V]`, or null.
 * @param teacher Teacher logits `[N, V]`, a {@link SparseTeacher}, or a {@link HiddenTeacher} (its logits
 *   are then computed per chunk too).
 * @param targets As in {@link distillLoss}.
 * @param opts See {@link ChunkedDistillLossOptions}.
 */
export function distillLossChunked(
  hidden: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  teacher: Tensor | SparseTeacher | HiddenTeacher,
  targets: Tensor | null,
  opts: ChunkedDistillLossOptions = {}
): DistillLossResult {
  return wrap(native().distillLossChunked(...chunkedArgs('distillLossChunked', hidden, weight, bias, teacher, targets, opts)));
}

/** {@link distillLossChunked} on the compute thread (the training loop's Promise form). */
export async function distillLossChunkedAsync(
  hidden: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  teacher: Tensor | SparseTeacher | HiddenTeacher,
  targets: Tensor | null,
  opts: ChunkedDistillLossOptions = {}
): Promise<DistillLossResult> {
  return wrap(await native().distillLossChunkedAsync(...chunkedArgs('distillLossChunkedAsync', hidden, weight, bias, teacher, targets, opts)));
}

function chunkedArgs(
  fn: string,
  hidden: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  teacher: Tensor | SparseTeacher | HiddenTeacher,
  targets: Tensor | null,
  opts: ChunkedDistillLossOptions
) {
  const r = new OptionReader(fn, opts, [...LOSS_OPTION_KEYS, 'chunkSize']);
  if (r.raw('reduction') === 'none') {
    throw new RangeError(
      `${fn}: option 'reduction' 'none' is not supported by the chunked form: its gradients are computed in the forward pass, which needs a scalar loss; use 'mean' or 'sum'`
    );
  }
  const options = readLossOptions(r, ['mean', 'sum']);
  // 0 asks the native side for its automatic size (defaultChunkSize).
  const chunkSize = r.integer('chunkSize', 0, 1);
  const b = bias === null || bias === undefined ? null : tensorArg(fn, 'bias', bias);
  return [
    tensorArg(fn, 'hidden', hidden),
    tensorArg(fn, 'weight', weight),
    b,
    teacherArg(fn, teacher, true),
    targetsArg(fn, targets),
    { ...options, chunkSize },
  ] as const;
}

/**
 * The same loss as the plain LibTorch composition — `log_softmax`, `kl_div(log_target)`,
 * `cross_entropy(ignore_index, label_smoothing)` — with ordinary autograd. Slower and larger (several
 * `[N, V]` temporaries); the baseline of the tests and `npm run bench:loss`.
 */
export function distillLossReference(
  student: Tensor,
  teacher: Tensor | SparseTeacher,
  targets: Tensor | null,
  opts: DistillLossOptions = {}
): DistillLossResult {
  return wrap(native().distillLossReference(...denseArgs('distillLossReference', student, teacher, targets, opts)));
}

/**
 * A {@link SparseTeacher} from full teacher logits `[.., V]`: the top-k of `log_softmax(logits)` along the
 * last dim (what an offline-KD dump stores).
 */
export function sparseTeacherFromLogits(teacherLogits: Tensor, k: number): SparseTeacher {
  tensorArg('sparseTeacherFromLogits', 'teacherLogits', teacherLogits);
  const logp = teacherLogits.logSoftmax(-1);
  try {
    const { values, indices } = logp.topk(k, { dim: -1 });
    return { indices, logProbs: values };
  } finally {
    logp.dispose();
  }
}

/**
 * Rows per chunk {@link distillLossChunked} uses when `chunkSize` is not given: on the CPU about 8M logits (they
 * stay in the caches); on a GPU as many rows as keep a chunk's logits, the teacher's and the gradient within a
 * quarter of the device's free memory (at least 1024 rows, for efficient GEMMs), all rows when they fit.
 */
export function defaultChunkSize(rows: number, vocab: number, opts: { device?: Device; dtype?: DType } = {}): number {
  const size = opts.dtype === 'float16' || opts.dtype === 'bfloat16' ? 2 : opts.dtype === 'float64' ? 8 : 4;
  return native().distillLossDefaultChunkSize(rows, vocab, opts.device ?? 'cpu', size);
}

/**
 * The CPU kernel variant the fused loss uses: the widest of 'AVX512', 'AVX2', 'DEFAULT' that LibTorch
 * reports for this CPU (`ATEN_CPU_CAPABILITY` lowers it) and this build has. Pass a name (or 'auto') to
 * select one first (tests, benchmarks).
 */
export function distillLossKernel(name?: 'auto' | 'DEFAULT' | 'AVX2' | 'AVX512'): string {
  return name === undefined ? native().distillLossKernel() : native().distillLossKernel(name);
}
