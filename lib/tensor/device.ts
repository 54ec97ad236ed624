/**
 * Devices and precisions as options: the one check of a `device` option ('cpu', 'cuda', 'cuda:N', present on
 * this machine) and of a `precision` option ('fp32', 'bf16', 'fp16'), and autocast — LibTorch's
 * torch.autocast — as a scope. Every API that takes a device or a precision (train, distill, translate, the
 * Batcher, the CLI's --device) resolves it here.
 */
import { type OptionNamer, optionNames } from '../common/options';
import { native } from '../native';
import type { NativeAutocastState } from '../native/tensor';
import { type Device, isDevice } from './dtype';

/** Arithmetic of a model's forward passes: float32, or autocast to bfloat16 / float16 (float32 master weights). */
export type Precision = 'fp32' | 'bf16' | 'fp16';

/** Every {@link Precision}. */
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16', 'fp16'];

function cudaDevices(): number {
  return native().version().cudaDevices;
}

/**
 * `value` as a device of this machine. Throws a TypeError for what is not a device name and a RangeError for a
 * CUDA device that is not here, naming `key` as `names` does (the CLI names its flag).
 */
export function resolveDevice(where: string, value: unknown, key = 'device', names: OptionNamer = optionNames): Device {
  const head = `${where ? `${where}: ` : ''}${names(key)}`;
  if (!isDevice(value)) throw new TypeError(`${head} must be 'cpu', 'cuda' or 'cuda:N', got ${JSON.stringify(value)}`);
  if (value === 'cpu') return value;
  const n = cudaDevices();
  const index = value === 'cuda' ? 0 : Number(value.slice(5));
  if (n === 0) {
    const why = native().version().cudaVersion === null ? 'this LibTorch has no CUDA' : 'no CUDA device is visible';
    throw new RangeError(`${head} is '${value}' but CUDA is not available here (${why})`);
  }
  if (index >= n) throw new RangeError(`${head} is '${value}' but this machine has ${n} CUDA device(s)`);
  return value;
}

/** One name per device: 'cuda' is the current CUDA device, 'cuda:0' unless changed. */
export function sameDevice(a: Device, b: Device): boolean {
  const norm = (d: Device) => (d === 'cuda' ? 'cuda:0' : d);
  return norm(a) === norm(b);
}

/** `value` as a precision ('fp32' by default); fp16 and bf16 autocast. */
export function resolvePrecision(where: string, value: unknown, key = 'precision', names: OptionNamer = optionNames): Precision {
  if (value === undefined) return 'fp32';
  if (!(PRECISIONS as readonly unknown[]).includes(value)) {
    throw new TypeError(
      `${where ? `${where}: ` : ''}${names(key)} must be one of ${PRECISIONS.map((p) => `'${p}'`).join(', ')}, got ${JSON.stringify(value)}`
    );
  }
  return value as Precision;
}

/** The autocast state that runs `device`'s forward passes in `precision` (nothing is autocast for fp32). */
function stateFor(precision: Precision, device: Device, base: NativeAutocastState): NativeAutocastState {
  if (precision === 'fp32') return { ...base, cpu: false, cuda: false };
  const dtype = precision === 'bf16' ? 'bfloat16' : 'float16';
  return device === 'cpu' ? { ...base, cpu: true, cuda: false, cpuDtype: dtype } : { ...base, cpu: false, cuda: true, cudaDtype: dtype };
}

/**
 * Runs `fn` under autocast for `device` in `precision`, as `torch.autocast(device_type, dtype)`: matrix products
 * and the other ops LibTorch lists run in bfloat16/float16, the rest in float32. Native Promise forms started
 * inside `fn` capture the state when they start, so an async `fn` works too: the state holds on the JS thread
 * until its Promise settles (other code that runs on the JS thread meanwhile sees it too).
 */
export function autocast<R>(precision: Precision, device: Device, fn: () => R): R {
  if (precision === 'fp32') return fn();
  const n = native();
  const prev = n.setAutocastState(stateFor(precision, device, n.autocastState()));
  let result: R;
  try {
    result = fn();
  } catch (e) {
    n.setAutocastState(prev);
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => n.setAutocastState(prev)) as R;
  }
  n.setAutocastState(prev);
  return result;
}
