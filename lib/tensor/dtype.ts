/** Data types and devices by their PyTorch names, and the TypedArray each dtype reads back as. */

/** Element types, named as in PyTorch. */
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int32' | 'int64' | 'int16' | 'int8' | 'uint8' | 'bool';

/** `'cpu'`, `'cuda'` or `'cuda:N'`. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

/** What `toArray()` returns: float16/bfloat16 widen to Float32Array, int64 is BigInt64Array, bool is Uint8Array. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Int16Array | Int8Array | Uint8Array;

/** Every {@link DType}. */
export const DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'int64', 'int16', 'int8', 'uint8', 'bool'];

/** Whether `v` names a {@link DType}. */
export function isDType(v: unknown): v is DType {
  return typeof v === 'string' && (DTYPES as readonly string[]).includes(v);
}

/** Whether `v` names a {@link Device}: 'cpu', 'cuda' or 'cuda:N'. */
export function isDevice(v: unknown): v is Device {
  return typeof v === 'string' && (v === 'cpu' || v === 'cuda' || /^cuda:\d+$/.test(v));
}

/** Bytes per element. */
export function dtypeSize(d: DType): number {
  switch (d) {
    case 'float64':
    case 'int64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
    case 'bfloat16':
    case 'int16':
      return 2;
    default:
      return 1;
  }
}

/** Whether `d` is a floating-point dtype. */
export function isFloating(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

/** Reads the bytes `toBytes` returned for a tensor of dtype `d` as the matching TypedArray. */
export function viewBytes(bytes: ArrayBuffer, d: DType): TensorData {
  switch (d) {
    case 'float32':
    case 'float16':
    case 'bfloat16':
      return new Float32Array(bytes);
    case 'float64':
      return new Float64Array(bytes);
    case 'int32':
      return new Int32Array(bytes);
    case 'int64':
      return new BigInt64Array(bytes);
    case 'int16':
      return new Int16Array(bytes);
    case 'int8':
      return new Int8Array(bytes);
    case 'uint8':
    case 'bool':
      return new Uint8Array(bytes);
  }
}

/** The dtype whose bytes a TypedArray holds (for creating tensors from it without conversion). */
export function dtypeOfTypedArray(a: ArrayBufferView): DType | undefined {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array) return 'uint8';
  return undefined;
}
