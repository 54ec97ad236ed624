/**
 * Tensors <-> safetensors: converts between LibTorch tensors and the byte-level RawTensor of
 * safetensors.ts, and saves/loads named tensor maps with string metadata (atomically on save).
 */
import { native } from '../native';
import { Tensor } from '../tensor/tensor';
import type { DType } from '../tensor/dtype';
import { type RawTensor, type SafetensorsDtype, readSafetensors, readSafetensorsSync, writeSafetensors } from './safetensors';

const TO_FILE: Record<DType, SafetensorsDtype> = {
  float32: 'F32',
  float64: 'F64',
  float16: 'F16',
  bfloat16: 'BF16',
  int32: 'I32',
  int64: 'I64',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
const FROM_FILE: Partial<Record<SafetensorsDtype, DType>> = Object.fromEntries(Object.entries(TO_FILE).map(([d, f]) => [f, d as DType]));

/** A tensor's bytes as a safetensors entry (copied to the host; half types keep their own bytes). */
export function tensorToRaw(t: Tensor): RawTensor {
  return { dtype: TO_FILE[t.dtype], shape: t.shape, data: new Uint8Array(native().toBytes(t.native, true)) };
}

/** A safetensors entry as a CPU tensor (one copy, into LibTorch's memory). */
export function rawToTensor(raw: RawTensor, name = 'tensor'): Tensor {
  const dtype = FROM_FILE[raw.dtype];
  if (dtype === undefined) {
    throw new TypeError(`safetensors: tensor '${name}' has dtype ${raw.dtype}, which LibTorch tensors here do not support`);
  }
  return new Tensor(native().fromBytes(raw.data, raw.shape, dtype === 'bool' ? 'uint8' : dtype, dtype));
}

/** A file's tensors and metadata. */
export interface LoadedTensors {
  /** The tensors by name, on the CPU. */
  tensors: Map<string, Tensor>;
  /** The file's string metadata. */
  metadata: Record<string, string>;
}

/** Writes named tensors and string metadata as safetensors, atomically (temp file + rename). */
export async function saveTensors(path: string, tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  const raw = new Map<string, RawTensor>();
  for (const [name, t] of tensors) raw.set(name, tensorToRaw(t));
  await writeSafetensors(path, raw, metadata);
}

function toTensors(file: { tensors: Map<string, RawTensor>; metadata: Record<string, string> }): LoadedTensors {
  const tensors = new Map<string, Tensor>();
  for (const [name, raw] of file.tensors) tensors.set(name, rawToTensor(raw, name));
  return { tensors, metadata: file.metadata };
}

/** Reads a safetensors file into CPU tensors. */
export async function loadTensors(path: string): Promise<LoadedTensors> {
  return toTensors(await readSafetensors(path));
}

/** Reads a safetensors file into CPU tensors, synchronously. */
export function loadTensorsSync(path: string): LoadedTensors {
  return toTensors(readSafetensorsSync(path));
}
