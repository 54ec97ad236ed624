/** The inference part of the raw binding (native/inference): prepacked and int8 linear layers, shortlists. */
import type { NativeModuleHandle, NativeStateHandle } from './modules';
import type { NativeTensor as T } from './tensor';

/** One prepacked or quantized layer, named by its weight's state-dict name (int8: the data a model file keeps). */
interface NativeLinearKernel {
  name: string;
  kind: 'packed' | 'int8';
  /** The weight is shared with another parameter (an output layer tied to the embeddings). */
  tied: boolean;
  /** int8: the weight [out, in] (int8) and its per-row scales [out] (float32). */
  qweight?: T;
  scales?: T;
}

type KernelKind = 'packed' | 'int8' | 'none' | 'keep';

export interface InferenceBinding {
  /**
   * Replaces the decode-step linear layers and the encoder's by kernels of the given kinds, made from their
   * current weights ('none': plain again; 'keep': as they are).
   */
  moduleSetLinearKernels(m: NativeModuleHandle, decoderKind: KernelKind, encoderKind: KernelKind): void;
  moduleLinearKernels(m: NativeModuleHandle): NativeLinearKernel[];
  /** The layer `name` from saved int8 data; with setWeight its float32 parameter becomes the dequantized weight. */
  moduleLoadInt8(m: NativeModuleHandle, name: string, qweight: T, scales: T, setWeight: boolean): void;
  /** Restricts the state's decoding to candidate ids (int64 [C], distinct): decodeStep then gives [N, C]. */
  stateRestrictVocabulary(m: NativeModuleHandle, s: NativeStateHandle, ids: T): void;
  /**
   * Beam search's selection: `sums` (one per row) added to `logProbs` [S·K, C], the best `width` of each
   * sentence's K·C candidates; per sentence `width` scores then their flat indices.
   */
  beamTopk(logProbs: T, sums: Float32Array, K: number, width: number): Float64Array;
}
