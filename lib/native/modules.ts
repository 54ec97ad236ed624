/** The model part of the raw binding (native/modules): Seq2Seq modules and their decoder states. */
import type { NativeTensor as T } from './tensor';

/** An opaque handle to a native Seq2Seq module. Only the model classes hold these. */
export interface NativeModuleHandle {
  readonly __nativeModule: unique symbol;
}
/** An opaque handle to a decoder state (encoder output + incremental caches). */
export interface NativeStateHandle {
  readonly __nativeState: unique symbol;
}

/** What loadStateDict could not match (only non-empty with `strict: false`). */
export interface LoadReport {
  /** Model tensors the state dict had no value for. */
  missing: string[];
  /** State dict names the model has no tensor for. */
  unexpected: string[];
}

/** A Batch's tensors as the native forward takes them. */
export interface NativeBatch {
  src: T;
  srcLen: T;
  tgtIn: T;
  tgtLen: T;
  srcLang?: T;
  tgtLang?: T;
}

/** Model entry points. */
/** What moduleForwardInternals returns. */
interface NativeInternals {
  logits: T;
  encoderHidden: T[];
  decoderHidden: T[];
  encoderSelfAttention: T[];
  decoderSelfAttention: T[];
  crossAttention: T[];
}

export interface ModulesBinding {
  moduleCreate(kind: string, config: object): NativeModuleHandle;
  moduleKind(m: NativeModuleHandle): string;
  moduleNamedParameters(m: NativeModuleHandle): Array<[string, T]>;
  moduleStateDict(m: NativeModuleHandle): Array<[string, T]>;
  moduleLoadStateDict(m: NativeModuleHandle, names: string[], tensors: T[], strict: boolean): LoadReport;
  moduleTrain(m: NativeModuleHandle, mode: boolean): void;
  moduleIsTraining(m: NativeModuleHandle): boolean;
  moduleTo(m: NativeModuleHandle, device?: string | null, dtype?: string | null): void;
  /** A state with a's hypotheses then b's, each decoding on as it would alone (continuous batching). */
  moduleMergeStates(m: NativeModuleHandle, a: NativeStateHandle, b: NativeStateHandle): NativeStateHandle;
  /** The device of the model's parameters. */
  moduleDevice(m: NativeModuleHandle): string;
  moduleForward(m: NativeModuleHandle, batch: NativeBatch): T;
  moduleForwardAsync(m: NativeModuleHandle, batch: NativeBatch): Promise<T>;
  moduleForwardHidden(m: NativeModuleHandle, batch: NativeBatch): T;
  /** Logits and what `what` asks for of every layer (lists per layer, first layer first). */
  moduleForwardInternals(m: NativeModuleHandle, batch: NativeBatch, what: { hidden: boolean; attention: boolean }): NativeInternals;
  moduleForwardInternalsAsync(m: NativeModuleHandle, batch: NativeBatch, what: { hidden: boolean; attention: boolean }): Promise<NativeInternals>;
  moduleForwardHiddenAsync(m: NativeModuleHandle, batch: NativeBatch): Promise<T>;
  moduleOutputProjection(m: NativeModuleHandle): [T, T | null];
  moduleEncode(m: NativeModuleHandle, src: T, srcLen: T, srcLang?: T): NativeStateHandle;
  moduleEncodeAsync(m: NativeModuleHandle, src: T, srcLen: T, srcLang?: T): Promise<NativeStateHandle>;
  moduleDecodeStep(m: NativeModuleHandle, s: NativeStateHandle, tokens: T, tgtLang?: T): T;
  moduleDecodeStepAsync(m: NativeModuleHandle, s: NativeStateHandle, tokens: T, tgtLang?: T): Promise<T>;
  moduleReorder(m: NativeModuleHandle, s: NativeStateHandle, indices: T): void;
  stateBatchSize(s: NativeStateHandle): number;
  /** Drops the handle's state (freed with the last native user). */
  stateDispose(s: NativeStateHandle): void;
  stateEncoderOutput(s: NativeStateHandle): T;
}
