/**
 * loadModel: opens any saved model by the `model_type` in its safetensors metadata, through a registry
 * of loaders that each model class plugs into (registerModelLoader), so callers such as the CLI never
 * name a model class. Only the file's header is read here; the loader reads the weights.
 */
import * as fs from 'node:fs';
import { BiGruStudent } from './bigru';
import { Teacher } from './teacher';
import { CutStudent } from '../surgery/cut';
import { Seq2Seq } from './seq2seq';

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

/** A safetensors file's `__metadata__`, from its header alone. */
export async function readModelMetadata(path: string): Promise<Record<string, string>> {
  const where = `loadModel: ${path}`;
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(path, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    throw new Error(`${where}: cannot open the model: ${why}`);
  }
  try {
    const { size } = await fh.stat();
    if (size < 8) throw new Error(`${where}: not a safetensors file (${size} bytes)`);
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    const len = Number(lenBuf.readBigUInt64LE(0));
    if (len < 2 || len > 100_000_000 || 8 + len > size) throw new Error(`${where}: not a safetensors file (bad header length ${len})`);
    const header = Buffer.alloc(len);
    await fh.read(header, 0, len, 8);
    let parsed: unknown;
    try {
      parsed = JSON.parse(header.toString('utf8'));
    } catch {
      throw new Error(`${where}: not a safetensors file (the header is not JSON)`);
    }
    const meta = (parsed as { __metadata__?: unknown }).__metadata__;
    return meta !== null && typeof meta === 'object' ? (meta as Record<string, string>) : {};
  } finally {
    await fh.close();
  }
}

/**
 * Opens a saved model of any registered type (see {@link registerModelLoader}).
 * @throws Error naming the file when it is missing, not safetensors, has no `model_type`, or an unknown one.
 */
export async function loadModel(path: string): Promise<Seq2Seq> {
  if (typeof path !== 'string' || path === '') throw new TypeError("loadModel: argument 'path' must be a file path");
  const meta = await readModelMetadata(path);
  const type = meta.model_type;
  const known = modelLoaderTypes().join(', ') || 'none registered';
  if (type === undefined) throw new Error(`loadModel: ${path}: the file has no 'model_type' metadata (loadable types: ${known})`);
  const loader = loaders.get(type);
  if (!loader) throw new Error(`loadModel: ${path}: unknown model_type '${type}' (loadable types: ${known})`);
  return loader(path);
}
