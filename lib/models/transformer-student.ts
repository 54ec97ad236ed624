/**
 * TransformerStudent: an XLM transformer student initialised from scratch (XLM's initialisation), with its own
 * sizes — fewer layers, narrower, fewer heads than the teacher — rather than cut from the teacher's layers.
 * Intermediate-layer distillation maps its layers onto the teacher's uniformly (lib/loss/intermediate.ts).
 */
import type { XlmConfig, XlmOptions } from './config';
import type { NativeModuleHandle } from './native-model';
import { loadModelFile } from './model-file';
import { checkTiedWeights, createXlmModule, XlmModel } from './xlm';

const MODEL_TYPE = 'xlm-scratch-student';

export class TransformerStudent extends XlmModel {
  readonly kind = MODEL_TYPE;

  private constructor(handle: NativeModuleHandle, config: XlmConfig) {
    super(handle, Object.freeze(config));
  }

  /** A freshly initialised student (XLM's initialisation; seed with `manualSeed`); unset keys take XLM_DEFAULTS. */
  static create(options: XlmOptions): TransformerStudent {
    const { handle, config } = createXlmModule(options, 'Student.transformer');
    return new TransformerStudent(handle, config);
  }

  /** Loads a student saved by {@link save}. */
  static async load(path: string): Promise<TransformerStudent> {
    const where = `Student.load(${JSON.stringify(path)})`;
    return loadModelFile(
      path,
      MODEL_TYPE,
      where,
      (config) => {
        const { handle, config: resolved } = createXlmModule(config, `${where}: bad config`);
        return new TransformerStudent(handle, resolved);
      },
      (tensors) => checkTiedWeights(tensors, where)
    );
  }
}
