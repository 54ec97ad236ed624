/**
 * Reading a saved model file: checks the `model_type` and `config` metadata, builds the model from the
 * config and copies the weights in strictly. Every model class loads through here, so the errors for a
 * wrong, truncated or foreign file read the same for all of them.
 */
import { loadTensors } from '../io/tensor-io';
import { Tensor } from '../tensor/tensor';
import { Seq2Seq } from './seq2seq';

/** Native argument errors name the binding ('moduleCreate: ...'); the user called `where`. */
export function renamed(e: unknown, from: string, where: string): unknown {
  if (!(e instanceof Error) || !e.message.startsWith(from)) return e;
  const Ctor = e instanceof RangeError ? RangeError : e instanceof TypeError ? TypeError : Error;
  return new Ctor(where + e.message.slice(from.length));
}

/**
 * Loads `path` as a model of `modelType`: `create(config, metadata)` builds it, then every weight is
 * copied in (names and shapes must match exactly). `check` may inspect the tensors first (tied weights).
 * The model comes back on the CPU, in eval mode.
 */
export async function loadModelFile<M extends Seq2Seq>(
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
      throw new Error(`${where}: the 'config' metadata is not valid JSON (${(e as Error).message})`);
    }
    check?.(tensors);
    const model = create(parsed, metadata);
    try {
      model.loadStateDict(tensors, { strict: true });
    } catch (e) {
      throw renamed(e, 'moduleLoadStateDict:', `${where}:`);
    }
    return model.eval();
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
