/**
 * loadModel: opens any saved model by the `model_type` in its safetensors metadata, through a registry
 * of loaders that each model class plugs into (registerModelLoader), so callers such as the CLI never
 * name a model class. Only the file's header is read here; the loader reads the weights.
 */
import { readSafetensorsMetadata, SafetensorsError } from '../io/safetensors';
import { BiGruStudent } from './bigru';
import { Teacher } from './teacher';
import { CutStudent } from './cut-student';
import { TransformerStudent } from './transformer-student';
import type { InferenceForm, Seq2Seq } from './seq2seq';

/** Options of {@link loadModel}. */
export interface LoadOptions {
  /**
   * Convert for decoding as it loads: 'packed' (prepack()) or 'int8' (quantize()); default: as the file is
   * (float32, or int8 for a quantized file). An int8 file cannot become 'packed'.
   */
  inference?: InferenceForm;
}

/** Loads a model file whose metadata says it holds this loader's model type. */
export type ModelLoader = (path: string) => Promise<Seq2Seq>;

const loaders = new Map<string, ModelLoader>();

/** Makes {@link loadModel} open files whose `model_type` is `type` with `loader` (replacing any earlier one). */
export function registerModelLoader(type: string, loader: ModelLoader): void {
  if (typeof type !== 'string' || type === '') throw new TypeError("registerModelLoader: argument 'type' must be a non-empty string");
  if (typeof loader !== 'function') throw new TypeError("registerModelLoader: argument 'loader' must be a function");
  loaders.set(type, loader);
}

/** The model types {@link loadModel} can open, sorted. */
export function modelLoaderTypes(): string[] {
  return [...loaders.keys()].sort();
}

registerModelLoader('bigru-student', (path) => BiGruStudent.load(path));
registerModelLoader('xlm-teacher', (path) => Teacher.load(path));
registerModelLoader('xlm-student', (path) => CutStudent.load(path));
registerModelLoader('xlm-scratch-student', (path) => TransformerStudent.load(path));

/** A model file's `__metadata__`, from its header alone; errors name the file and say what is wrong. */
export async function readModelMetadata(path: string): Promise<Record<string, string>> {
  try {
    return await readSafetensorsMetadata(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof SafetensorsError)
      throw new Error(`loadModel: ${path}: not a safetensors file (${e.message.replace(`safetensors: ${path}: `, '')})`, { cause: err });
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    throw new Error(`loadModel: ${path}: cannot open the model: ${why}`, { cause: err });
  }
}

/**
 * Opens a saved model of any registered type (see {@link registerModelLoader}).
 * @throws Error naming the file when it is missing, not safetensors, has no `model_type`, or an unknown one.
 */
export async function loadModel(path: string, opts: LoadOptions = {}): Promise<Seq2Seq> {
  if (typeof path !== 'string' || path === '') throw new TypeError("loadModel: argument 'path' must be a file path");
  const want = opts.inference;
  if (want !== undefined && want !== 'float32' && want !== 'packed' && want !== 'int8') {
    throw new TypeError(`loadModel: option 'inference' must be 'float32', 'packed' or 'int8', got '${String(want)}'`);
  }
  const meta = await readModelMetadata(path);
  const type = meta.model_type;
  const known = modelLoaderTypes().join(', ') || 'none registered';
  if (type === undefined) throw new Error(`loadModel: ${path}: the file has no 'model_type' metadata (loadable types: ${known})`);
  const loader = loaders.get(type);
  if (!loader) throw new Error(`loadModel: ${path}: unknown model_type '${type}' (loadable types: ${known})`);
  const model = await loader(path);
  const has = model.inference ?? 'float32';
  if (want === undefined || want === has) return model;
  const convertible = model as Seq2Seq & { prepack?(): unknown; quantize?(o: { dtype: 'int8' }): unknown };
  if (has !== 'float32' || (want === 'packed' ? !convertible.prepack : want === 'int8' ? !convertible.quantize : true)) {
    throw new Error(`loadModel: ${path}: a ${has} ${type} model cannot be loaded as ${want}`);
  }
  if (want === 'packed') convertible.prepack!();
  else convertible.quantize!({ dtype: 'int8' });
  return model;
}
