/**
 * Reading a saved model file: checks the `model_type` and `config` metadata, builds the model from the
 * config and copies the weights in strictly. Every model class loads through here, so the errors for a
 * wrong, truncated or foreign file read the same for all of them. An int8 file's layers (`<name>.int8` +
 * `<name>.scale`) become the model's int8 kernels, and a `shortlist` named in the metadata is opened
 * beside the file.
 */
import * as nodePath from 'path';
import { Shortlist } from '../data/shortlist';
import { loadTensors } from '../io/tensor-io';
import type { Tensor } from '../tensor/tensor';
import type { BaseModelConfig, Int8Layer, NativeSeq2Seq } from './native-model';

/** Native argument errors name the binding ('moduleCreate: ...'); the user called `where`. */
function renamed(e: unknown, from: string, where: string): unknown {
  if (!(e instanceof Error) || !e.message.startsWith(from)) return e;
  const Ctor = e instanceof RangeError ? RangeError : e instanceof TypeError ? TypeError : Error;
  return new Ctor(where + e.message.slice(from.length));
}

/**
 * Loads `path` as a model of `modelType`: `create(config, metadata)` builds it, then every weight is
 * copied in (names and shapes must match exactly). `check` may inspect the tensors first (tied weights).
 * The model comes back on the CPU, in eval mode.
 */
export async function loadModelFile<M extends NativeSeq2Seq<BaseModelConfig>>(
  path: string,
  modelType: string,
  where: string,
  create: (config: unknown, metadata: Record<string, string>) => M,
  check?: (tensors: Map<string, Tensor>) => void
): Promise<M> {
  const { tensors, metadata } = await loadTensors(path);
  try {
    const type = metadata.model_type;
    if (type === undefined) throw new Error(`${where}: the file has no 'model_type' metadata; it was not written by save()`);
    if (type !== modelType) throw new Error(`${where}: the file holds a '${type}' model, not a '${modelType}'`);
    if (metadata.config === undefined) throw new Error(`${where}: the file has no 'config' metadata`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(metadata.config);
    } catch (e) {
      throw new Error(`${where}: the 'config' metadata is not valid JSON (${(e as Error).message})`, { cause: e });
    }
    const int8 = metadata.quantization === 'int8' ? takeInt8(tensors, where) : [];
    if (metadata.quantization !== undefined && metadata.quantization !== 'int8') {
      throw new Error(`${where}: unknown 'quantization' metadata '${metadata.quantization}' (this version reads 'int8')`);
    }
    check?.(tensors);
    const model = create(parsed, metadata);
    try {
      model.loadStateDict(tensors, { strict: true });
      model.attachInt8(int8);
    } catch (e) {
      throw renamed(renamed(e, 'moduleLoadStateDict:', `${where}:`), 'moduleLoadInt8:', `${where}:`);
    } finally {
      for (const l of int8) for (const t of [l.qweight, l.scales]) t.dispose();
    }
    if (metadata.shortlist !== undefined) {
      model.shortlist = await Shortlist.load(nodePath.resolve(nodePath.dirname(path), metadata.shortlist));
      model.shortlistFile = metadata.shortlist;
    }
    return model.eval();
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/**
 * Moves an int8 file's `<name>.int8` / `<name>.scale` pairs out of `tensors`; a layer whose float32 weight is
 * not in the file (not tied to an embedding) gets it back as the dequantized int8 weight.
 */
function takeInt8(tensors: Map<string, Tensor>, where: string): Int8Layer[] {
  const layers: Int8Layer[] = [];
  for (const key of [...tensors.keys()]) {
    if (!key.endsWith('.int8')) continue;
    const name = key.slice(0, -'.int8'.length);
    const qweight = tensors.get(key)!;
    const scales = tensors.get(`${name}.scale`);
    if (!scales) throw new Error(`${where}: the int8 layer '${name}' has no '${name}.scale'`);
    if (qweight.dtype !== 'int8' || qweight.ndim !== 2 || scales.dtype !== 'float32' || scales.shape.join() !== String(qweight.shape[0])) {
      throw new Error(
        `${where}: the int8 layer '${name}' must be int8 [out, in] with float32 scales [out], got ${qweight.dtype} [${qweight.shape.join(',')}] and ${scales.dtype} [${scales.shape.join(',')}]`
      );
    }
    tensors.delete(key);
    tensors.delete(`${name}.scale`);
    if (!tensors.has(name)) tensors.set(name, qweight.to('float32').mul(scales.unsqueeze(1)));
    layers.push({ name, qweight, scales });
  }
  if (layers.length === 0) throw new Error(`${where}: the file says 'quantization: int8' but holds no '<name>.int8' layer`);
  for (const key of tensors.keys()) if (key.endsWith('.scale')) throw new Error(`${where}: '${key}' has no matching '.int8' layer`);
  return layers;
}
