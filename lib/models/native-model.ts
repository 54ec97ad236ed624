/**
 * NativeSeq2Seq: the shared implementation of the Seq2Seq interface over a native model handle
 * (native/modules/module_wrap.cc). Teacher and Student subclass it and add their config and loading.
 */
import { native, NativeBatch, NativeModuleHandle, NativeStateHandle, NativeTensor } from '../native';
import { Tensor } from '../tensor/tensor';
import { Device, DType } from '../tensor/dtype';
import { saveTensors } from '../io/tensor-io';
import { Batch } from '../data/batch';
import { DecoderState, LoadReport, Seq2Seq } from './seq2seq';

export type { NativeModuleHandle };

const wrap = (h: NativeTensor) => new Tensor(h);
const handle = (t: Tensor | undefined) => (t === undefined ? undefined : t.native);

class NativeDecoderState implements DecoderState {
  constructor(readonly handle: NativeStateHandle) {}
  get size(): number {
    return native().stateBatchSize(this.handle);
  }
}

function stateHandle(s: DecoderState): NativeStateHandle {
  if (!(s instanceof NativeDecoderState)) throw new TypeError('decodeStep: argument \'state\' must come from encode()');
  return s.handle;
}

function batchHandles(b: Batch): NativeBatch {
  if (!(b instanceof Batch)) throw new TypeError("forward: argument 'batch' must be a Batch (see Batch.from)");
  return {
    src: b.src.native, srcLen: b.srcLen.native, tgtIn: b.tgtIn.native, tgtLen: b.tgtLen.native,
    srcLang: handle(b.srcLang), tgtLang: handle(b.tgtLang),
  };
}

/** Common config every model carries (special token ids and vocabulary size). */
export interface BaseModelConfig {
  vocabSize: number;
  padIndex: number;
  eosIndex: number;
}

export abstract class NativeSeq2Seq<C extends BaseModelConfig> implements Seq2Seq {
  abstract readonly kind: string;

  protected constructor(
    /** @internal */ readonly handle: NativeModuleHandle,
    /** The full config (defaults filled in), as saved in the file's metadata. */
    readonly config: Readonly<C>
  ) {}

  get vocabSize(): number { return this.config.vocabSize; }
  get eosIndex(): number { return this.config.eosIndex; }
  get padIndex(): number { return this.config.padIndex; }

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
    return new Map(native().moduleNamedParameters(this.handle).map(([n, t]) => [n, wrap(t)]));
  }
  stateDict(): Map<string, Tensor> {
    return new Map(native().moduleStateDict(this.handle).map(([n, t]) => [n, wrap(t)]));
  }
  loadStateDict(sd: Map<string, Tensor>, opts: { strict?: boolean } = {}): LoadReport {
    if (!(sd instanceof Map)) throw new TypeError("loadStateDict: argument 'sd' must be a Map of name -> Tensor");
    const names = [...sd.keys()];
    return native().moduleLoadStateDict(this.handle, names, names.map((n) => sd.get(n)!.native), opts.strict ?? true);
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
    native().moduleTo(this.handle, device, dtype ?? null);
    return this;
  }
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel, 0);
  }
  /** Writes the weights (XLM names) and config as safetensors, atomically. */
  async save(path: string): Promise<void> {
    await saveTensors(path, this.stateDict(), this.metadata());
  }
}

/** @internal Creates a native model of `kind` from a plain config object. */
export function createNativeModule(kind: string, config: object): NativeModuleHandle {
  return native().moduleCreate(kind, config);
}
