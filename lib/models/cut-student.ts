/**
 * CutStudent: an XLM transformer made by layer surgery (lib/surgery/cut.ts), which keeps in its metadata the
 * teacher layer each of its layers was copied from, so later work can match student layers to teacher layers.
 */
import type { XlmConfig } from './config';
import type { NativeModuleHandle } from './native-model';
import { loadModelFile } from './model-file';
import { checkTiedWeights, createXlmModule, XlmModel } from './xlm';

const MODEL_TYPE = 'xlm-student';

/** The teacher layer each student layer was copied from, per side. */
export interface LayerMap {
  /** For each student encoder layer, the teacher encoder layer it was copied from. */
  encoder: number[];
  /** For each student decoder layer, the teacher decoder layer it was copied from. */
  decoder: number[];
}

/**
 * An XLM transformer cut from a teacher's layers (layer surgery), remembering which teacher layer each layer came from.
 */
export class CutStudent extends XlmModel {
  readonly kind = MODEL_TYPE;

  /** @param layerMap - the teacher layer each student layer was copied from (kept in the file's metadata). */
  private constructor(
    handle: NativeModuleHandle,
    config: XlmConfig,
    readonly layerMap: Readonly<LayerMap>
  ) {
    super(handle, Object.freeze(config));
  }

  protected override metadata(): Record<string, string> {
    return { ...super.metadata(), layer_map: JSON.stringify(this.layerMap) };
  }

  /**
   * @internal A fresh student with `config`'s layer counts and this layer map; lib/surgery fills its weights.
   */
  static create(config: XlmConfig, layerMap: LayerMap, where: string): CutStudent {
    const { handle, config: resolved } = createXlmModule(config, where);
    return new CutStudent(handle, resolved, layerMap);
  }

  /** Loads a cut student saved by {@link save}: config and layer map from the metadata. */
  static async load(path: string): Promise<CutStudent> {
    const where = `Student.load(${JSON.stringify(path)})`;
    return loadModelFile(
      path,
      MODEL_TYPE,
      where,
      (config, metadata) => {
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
      },
      (tensors) => checkTiedWeights(tensors, where)
    );
  }
}
