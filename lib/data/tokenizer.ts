/**
 * The one tokenizer interface every stage takes (data stores, training, decoding, evaluation, serving), which
 * SentencePiece and XLM's Moses + fastBPE tokenizer both implement, and the special ids shared by both.
 */
import type { FlatIds } from '../native';

/** XLM's special token ids, which every model trained here has. */
export const XLM_SPECIAL_IDS = Object.freeze({ bos: 0, eos: 1, pad: 2, unk: 3 });

/** Special token ids of a model (-1 when it has none). */
export interface SpecialIds {
  /** Beginning of sentence. */
  bos: number;
  /** End of sentence (`</s>`). */
  eos: number;
  /** Padding. */
  pad: number;
  /** Unknown token. */
  unk: number;
}

/** The tokenizers there are: what a model file names and the files that sit beside it. */
export type TokenizerKind = 'sentencepiece' | 'xlm-bpe';

/** What text is in: the language decides Moses' rules (a SentencePiece model ignores it). */
export interface TextOptions {
  /** The text's language code, e.g. `'en'`; required by the XLM tokenizer, ignored by SentencePiece. */
  lang?: string;
}

/**
 * Text to ids and back. `encode` returns the bare ids (no `<s>`/`</s>`: {@link Batch.from} frames them);
 * `decode` drops control ids. The async forms run off the JS thread.
 */
export interface Tokenizer {
  /** Which tokenizer this is. */
  readonly kind: TokenizerKind;
  /** The model's languages in id order (XLM's `id2lang`), when the tokenizer records them. */
  readonly languages?: readonly string[];
  /** Ids in the vocabulary, special ones included. */
  readonly vocabSize: number;
  /** The special ids. */
  readonly specialIds: SpecialIds;
  /** A SHA-256 (hex) of everything that decides the ids: what a token store or a cache records. */
  readonly hash: string;
  /** Ids of one text. */
  encode(text: string, opts?: TextOptions): number[];
  /** Ids of each text. */
  encode(texts: string[], opts?: TextOptions): number[][];
  /** {@link encode} off the JS thread. */
  encodeAsync(text: string, opts?: TextOptions): Promise<number[]>;
  /** {@link encode} off the JS thread. */
  encodeAsync(texts: string[], opts?: TextOptions): Promise<number[][]>;
  /** The ids of many texts as two flat arrays (the token store's form), off the JS thread. */
  encodeFlatAsync(texts: string[], opts?: TextOptions): Promise<FlatIds>;
  /** Text of one id sequence. */
  decode(ids: number[], opts?: TextOptions): string;
  /** Text of each id sequence. */
  decode(ids: number[][], opts?: TextOptions): string[];
  /** {@link decode} of many id sequences off the JS thread. */
  decodeAsync(ids: number[][], opts?: TextOptions): Promise<string[]>;
  /** The id of a piece or word (the unk id when the vocabulary lacks it). */
  pieceToId(piece: string): number;
  /** The piece or word of `id`. @throws RangeError outside the vocabulary. */
  idToPiece(id: number): string;
  /** The files this tokenizer is made of, by their names beside a model (`tokenizer.model`, or `tokenizer.json`, `codes`, `vocab`). */
  files(): Record<string, Buffer>;
}
