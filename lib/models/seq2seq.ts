/**
 * The one abstraction every model implements (docs/reference.md "Models"): the trainer, the distiller and beam search
 * drive a Seq2Seq and never ask whether it is the XLM teacher, a cut student or the BiGRU.
 */
import type { Tensor } from '../tensor/tensor';
import type { Device, DType } from '../tensor/dtype';
import type { Batch } from '../data/batch';
import type { LoadReport } from '../native';
import type { Shortlist } from '../data/shortlist';

/**
 * How a model's decode-time linear layers run: 'float32' as trained, 'packed' (float32 weights reordered once
 * for oneDNN), or 'int8' (weights quantized per output channel, activations per call). Only 'float32' trains.
 */
export type InferenceForm = 'float32' | 'packed' | 'int8';

/** Encoder outputs and decoder caches of one batch of sources, grown by decodeStep. */
export interface DecoderState {
  /** Live hypotheses (rows) in the state. */
  readonly size: number;
  /** Frees the state's caches now rather than when it is garbage-collected; it cannot be used after. */
  dispose?(): void;
}

export type { LoadReport };

/**
 * A forward pass with what its layers computed, all differentiable: each list has one tensor per layer, first
 * layer first (empty unless asked for). Hidden: layer outputs, [B, S, D] encoder and [B, T, D] decoder.
 * Attention: distributions before dropout, [B, H, queries, keys].
 */
export interface ForwardInternals {
  /** Teacher-forced logits [B, T, V]. */
  logits: Tensor;
  /** Each encoder layer's output [B, S, D]. */
  encoderHidden: Tensor[];
  /** Each decoder layer's output [B, T, D]. */
  decoderHidden: Tensor[];
  /** Each encoder layer's self-attention [B, H, S, S]. */
  encoderSelfAttention: Tensor[];
  /** Each decoder layer's (causal) self-attention [B, H, T, T]. */
  decoderSelfAttention: Tensor[];
  /** Each decoder layer's attention over the source [B, H, T, S]. */
  crossAttention: Tensor[];
}

/** A sequence-to-sequence model as training, distillation and decoding drive it, whatever its architecture. */
export interface Seq2Seq {
  /** 'xlm-teacher', 'xlm-student' or 'bigru-student'. */
  readonly kind: string;
  /** Ids in the vocabulary (the output size V). */
  readonly vocabSize: number;
  /** Id of `</s>`. */
  readonly eosIndex: number;
  /** Id of `<pad>`. */
  readonly padIndex: number;
  /** Teacher-forced logits [B, T, V] for `batch.tgtIn`. */
  forward(batch: Batch): Tensor;
  /** {@link forward} off the JS thread (the training loop's form); grad mode is captured when it starts. */
  forwardAsync(batch: Batch): Promise<Tensor>;
  /** Hidden states before the output projection [B, T, H] (for the chunked fused loss). */
  forwardHidden(batch: Batch): Tensor;
  /** {@link forwardHidden} off the JS thread (online distillation with the chunked loss). */
  forwardHiddenAsync(batch: Batch): Promise<Tensor>;
  /** The output projection: weight [V, H] and bias [V] (or null). */
  outputProjection(): { weight: Tensor; bias: Tensor | null };
  /**
   * {@link forward} that also returns every layer's output and/or attention distributions (transformers; for
   * intermediate-layer distillation), off the JS thread.
   */
  forwardInternalsAsync?(batch: Batch, what: { hidden?: boolean; attention?: boolean }): Promise<ForwardInternals>;
  /** Encodes sources ([B, S] ids with lengths) for incremental decoding. */
  encode(src: Tensor, srcLen: Tensor, srcLang?: Tensor): DecoderState;
  /** {@link encode} off the JS thread. */
  encodeAsync(src: Tensor, srcLen: Tensor, srcLang?: Tensor): Promise<DecoderState>;
  /** Feeds one token per live hypothesis; returns log-probs [N, V] (float32) and grows the cache. */
  decodeStep(state: DecoderState, tokens: Tensor, tgtLang?: Tensor): Tensor;
  /** {@link decodeStep} off the JS thread. */
  decodeStepAsync(state: DecoderState, tokens: Tensor, tgtLang?: Tensor): Promise<Tensor>;
  /** The encoder's outputs [N, S, H] held by the state (zeros at source pads). */
  encoderOutput(state: DecoderState): Tensor;
  /** Keeps rows `indices` of the state, in that order (beam reordering and pruning). */
  reorder(state: DecoderState, indices: Tensor): void;
  /** Distinct parameters (tied weights once). */
  parameters(): Tensor[];
  /** Distinct parameters by name (tied weights under one name). */
  namedParameters(): Map<string, Tensor>;
  /** Every named tensor, tied ones under each name (XLM's layout). Shares storage with the model. */
  stateDict(): Map<string, Tensor>;
  /**
   * Copies `sd`'s tensors into the model's; `strict` (default true) throws on names missing or unexpected, else reports
   * them.
   */
  loadStateDict(sd: Map<string, Tensor>, opts?: { strict?: boolean }): LoadReport;
  /** Sets training mode (dropout on) or, with `false`, evaluation mode; returns the model. */
  train(mode?: boolean): this;
  /** Sets evaluation mode (dropout off); returns the model. */
  eval(): this;
  /** Whether the model is in training mode. */
  readonly training: boolean;
  /** Moves (and with `dtype` converts) the parameters in place; returns the model. */
  to(device: Device, dtype?: DType): this;
  /** Where the model's parameters are, and so where its batches, caches and decoding run. */
  readonly device: Device;
  /** Number of parameter values (tied weights counted once). */
  numParameters(): number;
  /** Writes the model (weights and config) as a safetensors file, atomically. */
  save(path: string): Promise<void>;
  /** How the decode-time linear layers run (models without the notion: as 'float32'). */
  readonly inference?: InferenceForm;
  /** The vocabulary shortlist decoding uses by default (a model file names it in its metadata). */
  shortlist?: Shortlist;
  /**
   * A new state holding `a`'s hypotheses followed by `b`'s (both from this model's encode, on its device), each decoding on exactly as it would alone, whatever step it is at: how continuous batching
   * lets sentences join a running beam search. `a` and `b` are left as they were.
   */
  mergeStates?(a: DecoderState, b: DecoderState): DecoderState;
  /** Restricts a state's decoding to candidate ids (int64 [C], distinct): decodeStep then returns [N, C]. */
  restrictVocabulary?(state: DecoderState, ids: Tensor): void;
}
