/**
 * Layer surgery: a smaller XLM transformer whose embeddings, positions, language embeddings,
 * layer_norm_emb, output projection and chosen layers are deep copies of the teacher's. The layer map is
 * kept in the student's metadata (CutStudent) so later work can match student layers to teacher layers.
 */
import type { Seq2Seq } from '../models/seq2seq';
import { CutStudent, type LayerMap } from '../models/cut-student';
import { XlmModel } from '../models/xlm';
import type { Tensor } from '../tensor/tensor';
import { chooseLayers, type LayerChoice, type LayerStrategy, teacherNameFor } from './layer-map';

/** Which teacher layers to keep on each side. */
export interface CutOptions {
  /** A count or the teacher's layer indices (default: all of the teacher's encoder layers). */
  encoderLayers?: LayerChoice;
  /** A count or the teacher's layer indices (default 1). */
  decoderLayers?: LayerChoice;
  /** How a count picks layers (default 'spread': first and last kept, the rest evenly spaced; one layer is the top one). */
  strategy?: LayerStrategy;
}

/**
 * The defaults of {@link CutOptions}: the whole encoder and one decoder layer. Decoding time is spent in the
 * decoder, step after step, while the encoder runs once per sentence: a deep encoder with a shallow decoder
 * keeps most of the quality at a fraction of the decoding time (Kasai et al. 2020, "Deep Encoder, Shallow
 * Decoder"). The encoder's default is all of the teacher's layers, so it has no value here.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the assertion widens the frozen default's type (typescript-eslint#12376)
export const CUT_DEFAULTS = Object.freeze({ decoderLayers: 1, strategy: 'spread' as LayerStrategy });

/** Cuts a student from `teacher` (see {@link CutOptions}); the teacher is never modified. */
export function cutStudent(teacher: Seq2Seq, opts: CutOptions = {}): CutStudent {
  if (!(teacher instanceof XlmModel)) {
    throw new TypeError(
      `layer surgery: the teacher must be an XLM transformer (Teacher or cut Student), got a '${teacher?.kind ?? typeof teacher}' model without transformer layers`
    );
  }
  if (opts === null || typeof opts !== 'object') throw new TypeError('layer surgery: options must be an object');
  const t = teacher.config;
  const strategy = opts.strategy ?? CUT_DEFAULTS.strategy;
  const map: LayerMap = {
    encoder: chooseLayers(opts.encoderLayers ?? t.encoderLayers, t.encoderLayers, strategy, 'encoder'),
    decoder: chooseLayers(opts.decoderLayers ?? CUT_DEFAULTS.decoderLayers, t.decoderLayers, strategy, 'decoder'),
  };
  // A student cut from a cut student maps back to the original teacher's layers.
  const origin = teacher instanceof CutStudent ? teacher.layerMap : undefined;
  const config = { ...t, encoderLayers: map.encoder.length, decoderLayers: map.decoder.length };
  const student = CutStudent.create(
    config,
    {
      encoder: origin ? map.encoder.map((l) => origin.encoder[l]) : map.encoder,
      decoder: origin ? map.decoder.map((l) => origin.decoder[l]) : map.decoder,
    },
    'layer surgery'
  );
  const source = teacher.stateDict();
  const picked = new Map<string, Tensor>();
  for (const name of student.stateDict().keys()) {
    const from = source.get(teacherNameFor(name, map));
    if (!from) throw new Error(`layer surgery: the teacher has no parameter for ${name}`);
    picked.set(name, from);
  }
  student.loadStateDict(picked, { strict: true }); // copies values: the student owns its storage
  return teacher.training ? student.train() : student.eval();
}
