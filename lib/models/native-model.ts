/**
 * NativeSeq2Seq: the shared implementation of the Seq2Seq interface over a native model handle
 * (native/modules/module_wrap.cc). Teacher and Student subclass it and add their config and loading.
 */
import { native } from '../native';
import { Tensor } from '../tensor/tensor';
import { Device, DType } from '../tensor/dtype';
import { saveTensors } from '../io/tensor-io';
import { Batch } from './batch';
import { DecoderState, LoadReport, Seq2Seq } from './seq2seq';

/** Opaque native handles (declared here: only model classes touch them). */
export interface NativeModuleHandle {
  readonly __nativeModule: unique symbol;
}
export interface NativeStateHandle {
  readonly __nativeState: unique symbol;
}

/** The model part of the raw binding. */
interface ModuleBinding {
  moduleCreate(kind: string, config: object): NativeModuleHandle;
  moduleNamedParameters(m: NativeModuleHandle): Array<[string, unknown]>;
  moduleStateDict(m: NativeModuleHandle): Array<[string, unknown]>;
  moduleLoadStateDict(m: NativeModuleHandle, names: string[], tensors: unknown[], strict: boolean): LoadReport;
  moduleTrain(m: NativeModuleHandle, mode: boolean): void;
  moduleIsTraining(m: NativeModuleHandle): boolean;
  moduleTo(m: NativeModuleHandle, device?: string | null, dtype?: string | null): void;
  moduleForward(m: NativeModuleHandle, batch: object): unknown;
  moduleForwardHidden(m: NativeModuleHandle, batch: object): unknown;
  moduleOutputProjection(m: NativeModuleHandle): [unknown, unknown | null];
  moduleEncode(m: NativeModuleHandle, src: unknown, srcLen: unknown, srcLang?: unknown): NativeStateHandle;
  moduleEncodeAsync(m: NativeModuleHandle, src: unknown, srcLen: unknown, srcLang?: unknown): Promise<NativeStateHandle>;
  moduleDecodeStep(m: NativeModuleHandle, s: NativeStateHandle, tokens: unknown, tgtLang?: unknown): unknown;
  moduleDecodeStepAsync(m: NativeModuleHandle, s: NativeStateHandle, tokens: unknown, tgtLang?: unknown): Promise<unknown>;
  moduleReorder(m: NativeModuleHandle, s: NativeStateHandle, indices: unknown): void;
  stateBatchSize(s: NativeStateHandle): number;
  stateEncoderOutput(s: NativeStateHandle): unknown;
}

/** @internal */
export function moduleBinding(): ModuleBinding {
  return native() as unknown as ModuleBinding;
}

const wrap = (h: unknown) => new Tensor(h as Tensor['native']);
const handle = (t: Tensor | undefined) => (t === undefined ? undefined : t.native);

class NativeDecoderState implements DecoderState {
  constructor(readonly handle: NativeStateHandle) {}
  get size(): number {
    return moduleBinding().stateBatchSize(this.handle);
  }
}

function stateHandle(s: DecoderState): NativeStateHandle {
  if (!(s instanceof NativeDecoderState)) throw new TypeError('decodeStep: argument \'state\' must come from encode()');
  return s.handle;
}

function batchHandles(b: Batch): object {
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
    return wrap(moduleBinding().moduleForward(this.handle, batchHandles(batch)));
  }
  forwardHidden(batch: Batch): Tensor {
    return wrap(moduleBinding().moduleForwardHidden(this.handle, batchHandles(batch)));
  }
  outputProjection(): { weight: Tensor; bias: Tensor | null } {
    const [w, b] = moduleBinding().moduleOutputProjection(this.handle);
    return { weight: wrap(w), bias: b === null ? null : wrap(b) };
  }
  encode(src: Tensor, srcLen: Tensor, srcLang?: Tensor): DecoderState {
    return new NativeDecoderState(moduleBinding().moduleEncode(this.handle, src.native, srcLen.native, handle(srcLang)));
  }
  async encodeAsync(src: Tensor, srcLen: Tensor, srcLang?: Tensor): Promise<DecoderState> {
    return new NativeDecoderState(await moduleBinding().moduleEncodeAsync(this.handle, src.native, srcLen.native, handle(srcLang)));
  }
  decodeStep(state: DecoderState, tokens: Tensor, tgtLang?: Tensor): Tensor {
    return wrap(moduleBinding().moduleDecodeStep(this.handle, stateHandle(state), tokens.native, handle(tgtLang)));
  }
  async decodeStepAsync(state: DecoderState, tokens: Tensor, tgtLang?: Tensor): Promise<Tensor> {
    return wrap(await moduleBinding().moduleDecodeStepAsync(this.handle, stateHandle(state), tokens.native, handle(tgtLang)));
  }
  encoderOutput(state: DecoderState): Tensor {
    return wrap(moduleBinding().stateEncoderOutput(stateHandle(state)));
  }
  reorder(state: DecoderState, indices: Tensor): void {
    moduleBinding().moduleReorder(this.handle, stateHandle(state), indices.native);
  }
  parameters(): Tensor[] {
    return [...this.namedParameters().values()];
  }
  namedParameters(): Map<string, Tensor> {
    return new Map(moduleBinding().moduleNamedParameters(this.handle).map(([n, t]) => [n, wrap(t)]));
  }
  stateDict(): Map<string, Tensor> {
    return new Map(moduleBinding().moduleStateDict(this.handle).map(([n, t]) => [n, wrap(t)]));
  }
  loadStateDict(sd: Map<string, Tensor>, opts: { strict?: boolean } = {}): LoadReport {
    if (!(sd instanceof Map)) throw new TypeError("loadStateDict: argument 'sd' must be a Map of name -> Tensor");
    const names = [...sd.keys()];
    return moduleBinding().moduleLoadStateDict(this.handle, names, names.map((n) => sd.get(n)!.native), opts.strict ?? true);
  }
  train(mode = true): this {
    moduleBinding().moduleTrain(this.handle, mode);
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  get training(): boolean {
    return moduleBinding().moduleIsTraining(this.handle);
  }
  to(device: Device, dtype?: DType): this {
    moduleBinding().moduleTo(this.handle, device, dtype ?? null);
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
  return moduleBinding().moduleCreate(kind, config);
}
