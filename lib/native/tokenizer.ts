/** The tokenizer part of the raw binding (native/tokenizer): SentencePiece. */

/** An opaque handle to a native SentencePiece model. Only lib/data/tokenizer.ts holds these. */
export interface NativeSentencePiece {
  readonly __nativeSentencePiece: unique symbol;
}

/** What the native trainer takes. */
export interface NativeTrainOptions {
  input: string;
  vocabSize: number;
  modelType: 'bpe' | 'unigram';
  characterCoverage: number;
  userDefinedSymbols: string[];
  inputSentenceSize: number;
  shuffle: boolean;
  seed: number;
  numThreads: number;
  maxSentenceLength: number;
  hardVocabLimit: boolean;
  verbose: boolean;
}

/** Many sentences' ids in two arrays: `ids` holds them one after another, `sizes[i]` how many are sentence i's. */
export interface FlatIds {
  /** Every sentence's ids, one sentence after another. */
  ids: Int32Array;
  /** Each sentence's number of ids. */
  sizes: Int32Array;
}

/** Tokenizer entry points. */
export interface TokenizerBinding {
  /** Loads a SentencePiece model file; the handle is opaque (only lib/data/tokenizer.ts holds these). */
  spmLoad(path: string): NativeSentencePiece;
  /** Loads a model from its serialized bytes (what spmSerializedModel returns). */
  spmFromBytes(bytes: ArrayBufferView | ArrayBuffer): NativeSentencePiece;
  spmEncode(sp: NativeSentencePiece, texts: string[]): number[][];
  /** spmEncode off the JS thread. */
  spmEncodeAsync(sp: NativeSentencePiece, texts: string[]): Promise<number[][]>;
  /** The ids of every text concatenated, and each text's count (the token store's form). */
  spmEncodeFlat(sp: NativeSentencePiece, texts: string[]): FlatIds;
  /** spmEncodeFlat off the JS thread. */
  spmEncodeFlatAsync(sp: NativeSentencePiece, texts: string[]): Promise<FlatIds>;
  spmDecode(sp: NativeSentencePiece, ids: number[][]): string[];
  /** spmDecode off the JS thread. */
  spmDecodeAsync(sp: NativeSentencePiece, ids: number[][]): Promise<string[]>;
  /** The id of `piece`, or the unk id when the model has no such piece. */
  spmPieceToId(sp: NativeSentencePiece, piece: string): number;
  spmIdToPiece(sp: NativeSentencePiece, id: number): string;
  spmVocabSize(sp: NativeSentencePiece): number;
  /** Special ids as the model defines them (-1 when absent). */
  spmSpecialIds(sp: NativeSentencePiece): { bos: number; eos: number; pad: number; unk: number };
  spmSerializedModel(sp: NativeSentencePiece): Buffer;
  /** Trains off the JS thread with XLM's special ids; resolves to the serialized model. */
  spmTrain(options: NativeTrainOptions): Promise<Buffer>;
}
