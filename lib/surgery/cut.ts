/**
 * Layer surgery: a smaller XLM transformer whose embeddings, positions, language embeddings,
 * layer_norm_emb, output projection and chosen layers are deep copies of the teacher's. The layer map is
 * kept in the student's metadata so later work can match student layers to teacher layers.
 */
import { Seq2Seq } from '../models/seq2seq';
import { XlmConfig } from '../models/config';
import { NativeModuleHandle } from '../models/native-model';
import { loadModelFile } from '../models/model-file';
import { checkTiedWeights, createXlmModule, XlmModel } from '../models/xlm';
import { Tensor } from '../tensor/tensor';
import { chooseLayers, LayerChoice, LayerMap, LayerStrategy, teacherNameFor } from './layer-map';

const MODEL_TYPE = 'xlm-student';

/** Which teacher layers to keep on each side (a side left out keeps all its layers). */
export interface CutOptions {
  encoderLayers?: LayerChoice;
  decoderLayers?: LayerChoice;
  /** How a count picks layers (default 'spread': first and last kept, the rest evenly spaced). */
  strategy?: LayerStrategy;
}

export class CutStudent extends XlmModel {
  readonly kind = MODEL_TYPE;

  private constructor(handle: NativeModuleHandle, config: XlmConfig, readonly layerMap: Readonly<LayerMap>) {
    super(handle, Object.freeze(config));
  }

  protected override metadata(): Record<string, string> {
    return { ...super.metadata(), layer_map: JSON.stringify(this.layerMap) };
  }

  /** Cuts a student from `teacher` (see {@link CutOptions}); the teacher is never modified. */
  static fromTeacher(teacher: Seq2Seq, opts: CutOptions = {}): CutStudent {
    if (!(teacher instanceof XlmModel)) {
      throw new TypeError(`layer surgery: the teacher must be an XLM transformer (Teacher or cut Student), got a '${teacher?.kind ?? typeof teacher}' model without transformer layers`);
    }
    if (opts === null || typeof opts !== 'object') throw new TypeError('layer surgery: options must be an object');
    const t = teacher.config;
    const strategy = opts.strategy ?? 'spread';
    const map: LayerMap = {
      encoder: chooseLayers(opts.encoderLayers ?? t.encoderLayers, t.encoderLayers, strategy, 'encoder'),
      decoder: chooseLayers(opts.decoderLayers ?? t.decoderLayers, t.decoderLayers, strategy, 'decoder'),
    };
    // A student cut from a cut student maps back to the original teacher's layers.
    const origin = teacher instanceof CutStudent ? teacher.layerMap : undefined;
    const config = { ...t, encoderLayers: map.encoder.length, decoderLayers: map.decoder.length };
    const { handle } = createXlmModule(config, 'layer surgery');
    const student = new CutStudent(handle, config, {
      encoder: origin ? map.encoder.map((l) => origin.encoder[l]) : map.encoder,
      decoder: origin ? map.decoder.map((l) => origin.decoder[l]) : map.decoder,
    });
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

  /** Loads a cut student saved by {@link save}: config and layer map from the metadata. */
  static async load(path: string): Promise<CutStudent> {
    const where = `Student.load(${JSON.stringify(path)})`;
    return loadModelFile(path, MODEL_TYPE, where, (config, metadata) => {
      let layerMap: LayerMap;
      try {
        layerMap = JSON.parse(metadata.layer_map ?? '') as LayerMap;
      } catch {
        throw new Error(`${where}: the file has no valid 'layer_map' metadata`);
      }
      const { handle, config: resolved } = createXlmModule(config, `${where}: bad config`);
      if (layerMap.encoder?.length !== resolved.encoderLayers || layerMap.decoder?.length !== resolved.decoderLayers) {
        throw new Error(`${where}: the 'layer_map' metadata does not match the config's layer counts`);
      }
      return new CutStudent(handle, resolved, layerMap);
    }, (tensors) => checkTiedWeights(tensors, where));
  }
}
