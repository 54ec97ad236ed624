/**
 * NativeSeq2Seq: the shared implementation of the Seq2Seq interface over a native model handle
 * (native/modules/module_wrap.cc). Teacher and Student subclass it and add their config and loading.
 */
import { native, type NativeBatch, type NativeModuleHandle, type NativeStateHandle, type NativeTensor } from '../native';
import { Tensor } from '../tensor/tensor';
import type { Device, DType } from '../tensor/dtype';
import { saveTensors } from '../io/tensor-io';
import { Batch } from '../data/batch';
import type { Shortlist } from '../data/shortlist';
import type { DecoderState, ForwardInternals, InferenceForm, LoadReport, Seq2Seq } from './seq2seq';

export type { NativeModuleHandle };

const wrap = (h: NativeTensor) => new Tensor(h);
const handle = (t: Tensor | undefined) => (t === undefined ? undefined : t.native);

class NativeDecoderState implements DecoderState {
  constructor(readonly handle: NativeStateHandle) {}
  get size(): number {
    return native().stateBatchSize(this.handle);
  }
  dispose(): void {
    native().stateDispose(this.handle);
  }
}

function stateHandle(s: DecoderState): NativeStateHandle {
  if (!(s instanceof NativeDecoderState)) throw new TypeError("decodeStep: argument 'state' must come from encode()");
  return s.handle;
}

function batchHandles(b: Batch): NativeBatch {
  if (!(b instanceof Batch)) throw new TypeError("forward: argument 'batch' must be a Batch (see Batch.from)");
  return {
    src: b.src.native,
    srcLen: b.srcLen.native,
    tgtIn: b.tgtIn.native,
    tgtLen: b.tgtLen.native,
    srcLang: handle(b.srcLang),
    tgtLang: handle(b.tgtLang),
  };
}

/** Common config every model carries (special token ids and vocabulary size). */
export interface BaseModelConfig {
  /** Ids in the shared vocabulary. */
  vocabSize: number;
  /** Id of `<pad>`. */
  padIndex: number;
  /** Id of `</s>`. */
  eosIndex: number;
}

/** Options of {@link NativeSeq2Seq.quantize}. */
export interface QuantizeOptions {
  /** Only 'int8' (per output channel, symmetric; dynamic per-call activations, as torch.ao's quantize_dynamic). */
  dtype: 'int8';
  /**
   * The encoder's linear layers (run once per batch): 'packed' (default: float32 in oneDNN's layout, the same
   * numbers), 'int8' as well, or 'float32' as they are.
   */
  encoder?: 'packed' | 'int8' | 'float32';
}

/** One int8 layer as a model file keeps it (see {@link NativeSeq2Seq.save}). */
export interface Int8Layer {
  /** The linear layer's parameter name (XLM's). */
  name: string;
  /** int8 [out, in] quantized weight. */
  qweight: Tensor;
  /** float32 [out] scale of each output channel. */
  scales: Tensor;
}

/**
 * The Seq2Seq implementation shared by the models LibTorch runs (teacher, cut and transformer students, BiGRU): the
 * module lives in the addon.
 */
export abstract class NativeSeq2Seq<C extends BaseModelConfig> implements Seq2Seq {
  abstract readonly kind: string;
  private form: InferenceForm = 'float32';
  /** The vocabulary shortlist decoding uses unless told otherwise (loaded with the model when its file names one). */
  shortlist?: Shortlist;

  /** @internal Subclasses load the native module and pass its handle. */
  protected constructor(
    /** @internal */ readonly handle: NativeModuleHandle,
    /** The full config (defaults filled in), as saved in the file's metadata. */
    readonly config: Readonly<C>
  ) {}

  get vocabSize(): number {
    return this.config.vocabSize;
  }
  get eosIndex(): number {
    return this.config.eosIndex;
  }
  get padIndex(): number {
    return this.config.padIndex;
  }

  /** Metadata saved beside the weights (model_type and config; subclasses add theirs). */
  protected metadata(): Record<string, string> {
    return { model_type: this.kind, config: JSON.stringify(this.config) };
  }

  forward(batch: Batch): Tensor {
    return wrap(native().moduleForward(this.handle, batchHandles(batch)));
  }
  async forwardAsync(batch: Batch): Promise<Tensor> {
    return wrap(await native().moduleForwardAsync(this.handle, batchHandles(batch)));
  }
  forwardHidden(batch: Batch): Tensor {
    return wrap(native().moduleForwardHidden(this.handle, batchHandles(batch)));
  }
  async forwardHiddenAsync(batch: Batch): Promise<Tensor> {
    return wrap(await native().moduleForwardHiddenAsync(this.handle, batchHandles(batch)));
  }
  async forwardInternalsAsync(batch: Batch, what: { hidden?: boolean; attention?: boolean }): Promise<ForwardInternals> {
    const r = await native().moduleForwardInternalsAsync(this.handle, batchHandles(batch), {
      hidden: what.hidden === true,
      attention: what.attention === true,
    });
    const list = (ts: NativeTensor[]) => ts.map(wrap);
    return {
      logits: wrap(r.logits),
      encoderHidden: list(r.encoderHidden),
      decoderHidden: list(r.decoderHidden),
      encoderSelfAttention: list(r.encoderSelfAttention),
      decoderSelfAttention: list(r.decoderSelfAttention),
      crossAttention: list(r.crossAttention),
    };
  }
  outputProjection(): { weight: Tensor; bias: Tensor | null } {
    const [w, b] = native().moduleOutputProjection(this.handle);
    return { weight: wrap(w), bias: b === null ? null : wrap(b) };
  }
  encode(src: Tensor, srcLen: Tensor, srcLang?: Tensor): DecoderState {
    return new NativeDecoderState(native().moduleEncode(this.handle, src.native, srcLen.native, handle(srcLang)));
  }
  async encodeAsync(src: Tensor, srcLen: Tensor, srcLang?: Tensor): Promise<DecoderState> {
    return new NativeDecoderState(await native().moduleEncodeAsync(this.handle, src.native, srcLen.native, handle(srcLang)));
  }
  decodeStep(state: DecoderState, tokens: Tensor, tgtLang?: Tensor): Tensor {
    return wrap(native().moduleDecodeStep(this.handle, stateHandle(state), tokens.native, handle(tgtLang)));
  }
  async decodeStepAsync(state: DecoderState, tokens: Tensor, tgtLang?: Tensor): Promise<Tensor> {
    return wrap(await native().moduleDecodeStepAsync(this.handle, stateHandle(state), tokens.native, handle(tgtLang)));
  }
  encoderOutput(state: DecoderState): Tensor {
    return wrap(native().stateEncoderOutput(stateHandle(state)));
  }
  reorder(state: DecoderState, indices: Tensor): void {
    native().moduleReorder(this.handle, stateHandle(state), indices.native);
  }
  parameters(): Tensor[] {
    return [...this.namedParameters().values()];
  }
  namedParameters(): Map<string, Tensor> {
    return new Map(
      native()
        .moduleNamedParameters(this.handle)
        .map(([n, t]) => [n, wrap(t)])
    );
  }
  stateDict(): Map<string, Tensor> {
    return new Map(
      native()
        .moduleStateDict(this.handle)
        .map(([n, t]) => [n, wrap(t)])
    );
  }
  loadStateDict(sd: Map<string, Tensor>, opts: { strict?: boolean } = {}): LoadReport {
    if (!(sd instanceof Map)) throw new TypeError("loadStateDict: argument 'sd' must be a Map of name -> Tensor");
    const names = [...sd.keys()];
    return native().moduleLoadStateDict(
      this.handle,
      names,
      names.map((n) => sd.get(n)!.native),
      opts.strict ?? true
    );
  }
  train(mode = true): this {
    native().moduleTrain(this.handle, mode);
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  get training(): boolean {
    return native().moduleIsTraining(this.handle);
  }
  to(device: Device, dtype?: DType): this {
    if (this.form !== 'float32' && (device !== 'cpu' || (dtype !== undefined && dtype !== 'float32'))) {
      throw new Error(
        `to: the model is ${this.form} for inference, which runs on the CPU in float32 only; move or convert the float32 model instead`
      );
    }
    native().moduleTo(this.handle, device, dtype ?? null);
    return this;
  }

  get device(): Device {
    return native().moduleDevice(this.handle) as Device;
  }

  /** How the decode-time linear layers run: 'float32' (as trained), 'packed' or 'int8'. */
  get inference(): InferenceForm {
    return this.form;
  }

  /**
   * Reorders the decode-time linear weights (decoder projections and FFNs, the output layer) once into
   * oneDNN's blocked layout, so no matrix product repacks them: the same numbers up to summation order, faster
   * small-batch steps. In place; for decoding (a prepacked model cannot train). CPU, float32 only.
   */
  prepack(): this {
    this.convert('prepack', 'packed', 'packed');
    return this;
  }

  /**
   * Quantizes the decode-time linear layers to int8: weights per output channel (symmetric, scale =
   * max|row| / 127), activations per call (fbgemm's dynamic linear with reduce_range, what
   * `torch.ao.quantization.quantize_dynamic` runs); the BiGRU's decoder GRU gates go the same way, its encoder
   * GRU and the XLM encoder stay float32 (see `encoder`). In place; `save`
   * then writes the int8 weights with their scales. For decoding only (training refuses it).
   */
  quantize(opts: QuantizeOptions = { dtype: 'int8' }): this {
    if (!opts || opts.dtype !== 'int8') throw new TypeError(`quantize: option 'dtype' must be 'int8', got ${JSON.stringify(opts?.dtype)}`);
    const encoder = opts.encoder ?? 'packed';
    if (encoder !== 'packed' && encoder !== 'int8' && encoder !== 'float32') {
      throw new TypeError(`quantize: option 'encoder' must be 'packed', 'int8' or 'float32', got ${JSON.stringify(opts.encoder)}`);
    }
    this.convert('quantize', 'int8', encoder === 'float32' ? 'none' : encoder);
    return this;
  }

  private convert(fn: string, to: 'packed' | 'int8', encoder: 'packed' | 'int8' | 'none'): void {
    if (this.form !== 'float32') throw new Error(`${fn}: the model is already ${this.form}; start from the float32 model`);
    try {
      native().moduleSetLinearKernels(this.handle, to, encoder);
    } catch (e) {
      throw new Error(`${fn}: ${(e as Error).message.replace(/^moduleSetLinearKernels: /, '')}`, { cause: e });
    }
    this.form = to;
  }

  /** @internal Installs int8 layers read from a model file (their float32 weights were loaded dequantized). */
  attachInt8(layers: Int8Layer[]): void {
    if (layers.length === 0) return;
    for (const l of layers) native().moduleLoadInt8(this.handle, l.name, l.qweight.native, l.scales.native, false);
    // As quantize() left it: an encoder kept float32 in the file runs prepacked (and fused layers are rebuilt).
    native().moduleSetLinearKernels(this.handle, 'keep', layers.some((l) => l.name.startsWith('encoder.')) ? 'keep' : 'packed');
    this.form = 'int8';
  }

  mergeStates(a: DecoderState, b: DecoderState): DecoderState {
    return new NativeDecoderState(native().moduleMergeStates(this.handle, stateHandle(a), stateHandle(b)));
  }

  /** Restricts `state`'s decoding to the candidate ids (int64 [C], distinct): decodeStep then returns [N, C]. */
  restrictVocabulary(state: DecoderState, ids: Tensor): void {
    native().stateRestrictVocabulary(this.handle, stateHandle(state), ids.native);
  }
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel, 0);
  }
  /**
   * Writes the weights (XLM names) and config as safetensors, atomically. An int8 model keeps each quantized
   * layer as `<name>.int8` (int8 [out, in]) and `<name>.scale` (float32 [out]) instead of its float32 weight
   * (a weight tied to the embeddings stays float32 too), with metadata `quantization: int8`; a prepacked
   * model is saved as float32 (packing is redone at load by whoever wants it).
   */
  async save(path: string): Promise<void> {
    const tensors = this.stateDict();
    const meta = this.metadata();
    if (this.shortlist && this.shortlistFile) meta.shortlist = this.shortlistFile;
    if (this.form === 'int8') {
      for (const k of native().moduleLinearKernels(this.handle)) {
        if (k.kind !== 'int8') continue;
        if (!k.tied) tensors.delete(k.name);
        tensors.set(`${k.name}.int8`, wrap(k.qweight!));
        tensors.set(`${k.name}.scale`, wrap(k.scales!));
      }
      meta.quantization = 'int8';
    }
    await saveTensors(path, tensors, meta);
  }

  /** @internal The shortlist file's name (relative to the model file) that `save` records, if any. */
  shortlistFile?: string;
}

/** @internal Creates a native model of `kind` from a plain config object. */
export function createNativeModule(kind: string, config: object): NativeModuleHandle {
  return native().moduleCreate(kind, config);
}
