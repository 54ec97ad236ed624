/**
 * What `xlm-kd translate`, `evaluate` and `bench` share for fast decoding: the flags that load a model
 * prepacked or int8 and turn its shortlist off, and the loading itself.
 */
import type { DecodeOptions } from '../decode/options';
import { loadModel } from '../models/load';
import type { Seq2Seq } from '../models/seq2seq';
import type { FlagValues } from './args';
import { UsageError } from './io';

/** parseArgs specs of the flags. */
export const decodingFlagSpecs = {
  int8: { type: 'boolean' },
  prepack: { type: 'boolean' },
  'no-shortlist': { type: 'boolean' },
} as const;

/** Their help text. */
export const decodingFlagsHelp = `Fast decoding:
      --int8               quantize the decoder's linear layers to int8 as the model loads
      --prepack            prepack them (float32, oneDNN layout) as the model loads
      --no-shortlist       decode over the whole vocabulary even if the model file names a shortlist
`;

/** Loads a model as the flags ask. */
export async function loadForDecoding(file: string, v: FlagValues): Promise<Seq2Seq> {
  if (v.int8 === true && v.prepack === true) throw new UsageError('--int8 and --prepack exclude each other');
  const inference = v.int8 === true ? 'int8' : v.prepack === true ? 'packed' : undefined;
  return loadModel(file, { inference });
}

/** The decoding options the flags imply. */
export function decodingOptions(v: FlagValues): Pick<DecodeOptions, 'shortlist'> {
  return v['no-shortlist'] === true ? { shortlist: false } : {};
}
