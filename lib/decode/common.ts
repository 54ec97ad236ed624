/**
 * Steps shared by beam search and greedy decoding: encoding the batch (and restricting it to a shortlist),
 * per-row language ids, and the map between the decode step's output columns and token ids.
 */
import type { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/create';
import type { Device } from '../tensor/dtype';
import { Batch } from '../data/batch';
import type { DecoderState, Seq2Seq } from '../models/seq2seq';
import type { ResolvedDecodeOptions } from './options';
import { startWithoutGrad } from '../tensor/runtime';

/** The decode step's output columns: the whole vocabulary, or a batch's shortlist candidates. */
export interface OutputColumns {
  /** Columns of a decode step's log-probs. */
  size: number;
  /** The column of `</s>`. */
  eos: number;
  /** The token id of a column. */
  id: (column: number) => number;
  /** The column of a token id (undefined when the shortlist left it out). */
  column: (id: number) => number | undefined;
}

export interface EncodedBatch {
  state: DecoderState;
  columns: OutputColumns;
  /** Source lengths (framing included), per sentence. */
  srcLens: number[];
  /** Target language per sentence, when the batch or the options give one. */
  langs: number[] | undefined;
  device: Device;
}

/** Encodes the batch and repeats every sentence `copies` times (its beams) in the decoder state. */
export async function encodeForDecoding(model: Seq2Seq, batch: Batch, o: ResolvedDecodeOptions, copies: number): Promise<EncodedBatch> {
  if (!(batch instanceof Batch)) throw new TypeError("decode: argument 'batch' must be a Batch (see Batch.from)");
  const device = batch.src.device;
  const srcLens = Array.from(batch.srcLen.toArray() as BigInt64Array, Number);
  let langs: number[] | undefined;
  if (batch.tgtLang) langs = Array.from(batch.tgtLang.toArray() as BigInt64Array, Number);
  else if (o.tgtLang !== undefined) langs = srcLens.map(() => o.tgtLang as number);
  const state = await startWithoutGrad(() => model.encodeAsync(batch.src, batch.srcLen, batch.srcLang));
  const shortlist = o.shortlist === false ? undefined : (o.shortlist ?? model.shortlist);
  let columns: OutputColumns = { size: model.vocabSize, eos: model.eosIndex, id: (c) => c, column: (id) => id };
  if (shortlist) {
    if (!model.restrictVocabulary) throw new TypeError(`decode: this ${model.kind} model cannot decode over a shortlist (no restrictVocabulary)`);
    if (shortlist.vocabSize !== model.vocabSize)
      throw new RangeError(`decode: the shortlist is for ${shortlist.vocabSize} ids, the model has ${model.vocabSize}`);
    columns = restrictToCandidates(model, state, shortlist.candidates(Array.from(batch.src.toArray() as BigInt64Array, Number)), device);
  }
  if (copies > 1) {
    const rows = tensor(
      srcLens.flatMap((_, s) => new Array<number>(copies).fill(s)),
      { dtype: 'int64', device }
    );
    model.reorder(state, rows);
    rows.dispose();
  }
  return { state, columns, srcLens, langs, device };
}

/**
 * Restricts `state` to candidate ids (plus `</s>`; the model must have restrictVocabulary) and returns the
 * step output's columns over them.
 */
export function restrictToCandidates(model: Seq2Seq, state: DecoderState, candidates: Iterable<number>, device: Device): OutputColumns {
  const ids = [...new Set([...candidates, model.eosIndex])].sort((a, b) => a - b);
  const idTensor = tensor(ids, { dtype: 'int64', device });
  try {
    model.restrictVocabulary!(state, idTensor);
  } finally {
    idTensor.dispose();
  }
  const index = new Map(ids.map((id, c) => [id, c]));
  return { size: ids.length, eos: index.get(model.eosIndex)!, id: (c) => ids[c], column: (id) => index.get(id) };
}

/** The target language of each live row (`copies` rows per live sentence), or undefined. */
export function rowLanguages(langs: number[] | undefined, alive: number[], copies: number, device: Device): Tensor | undefined {
  if (!langs) return undefined;
  return tensor(
    alive.flatMap((s) => new Array<number>(copies).fill(langs[s])),
    { dtype: 'int64', device }
  );
}
