/** Steps shared by beam search and greedy decoding: encoding the batch and per-row language ids. */
import { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/create';
import { Device } from '../tensor/dtype';
import { Batch } from '../data/batch';
import { DecoderState, Seq2Seq } from '../models/seq2seq';
import { ResolvedDecodeOptions } from './options';
import { startWithoutGrad } from '../tensor/runtime';

export interface EncodedBatch {
  state: DecoderState;
  /** Source lengths (framing included), per sentence. */
  srcLens: number[];
  /** Target language per sentence, when the batch or the options give one. */
  langs: number[] | undefined;
  device: Device;
}

/** Encodes the batch and repeats every sentence `copies` times (its beams) in the decoder state. */
export async function encodeForDecoding(
  model: Seq2Seq,
  batch: Batch,
  o: ResolvedDecodeOptions,
  copies: number
): Promise<EncodedBatch> {
  if (!(batch instanceof Batch)) throw new TypeError("decode: argument 'batch' must be a Batch (see Batch.from)");
  const device = batch.src.device;
  const srcLens = Array.from(batch.srcLen.toArray() as BigInt64Array, Number);
  let langs: number[] | undefined;
  if (batch.tgtLang) langs = Array.from(batch.tgtLang.toArray() as BigInt64Array, Number);
  else if (o.tgtLang !== undefined) langs = srcLens.map(() => o.tgtLang as number);
  const state = await startWithoutGrad(() => model.encodeAsync(batch.src, batch.srcLen, batch.srcLang));
  if (copies > 1) {
    const rows = tensor(srcLens.flatMap((_, s) => new Array<number>(copies).fill(s)), { dtype: 'int64', device });
    model.reorder(state, rows);
    rows.dispose();
  }
  return { state, srcLens, langs, device };
}

/** The target language of each live row (`copies` rows per live sentence), or undefined. */
export function rowLanguages(langs: number[] | undefined, alive: number[], copies: number, device: Device): Tensor | undefined {
  if (!langs) return undefined;
  return tensor(alive.flatMap((s) => new Array<number>(copies).fill(langs[s])), { dtype: 'int64', device });
}
