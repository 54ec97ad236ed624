/**
 * TransformerStudent: an XLM transformer student initialised from scratch (XLM's initialisation), with its own
 * sizes — fewer layers, narrower, fewer heads than the teacher — rather than cut from the teacher's layers.
 * Intermediate-layer distillation maps its layers onto the teacher's uniformly (lib/loss/intermediate.ts).
 */
import type { OptionNamer } from '../common/options';
import { resolveXlmConfig, type XlmConfig, type XlmOptions } from './config';
import type { NativeModuleHandle } from './native-model';
import { loadModelFile } from './model-file';
import { checkTiedWeights, createXlmModule, XlmModel } from './xlm';

const MODEL_TYPE = 'xlm-scratch-student';

/**
 * The sizes a from-scratch transformer student takes when not given: the quality run's 3-1 × 256 student, a
 * third of the layers and half the width of XLM_DEFAULTS' 6-6 × 512 teacher; every other key takes XLM_DEFAULTS.
 */
export const TRANSFORMER_STUDENT_DEFAULTS = Object.freeze({
  /** Encoder layers. */
  encoderLayers: 3,
  /** Decoder layers. */
  decoderLayers: 1,
  /** Model width. */
  embDim: 256,
  /** Attention heads. */
  nHeads: 4,
});

/** `options` with the sizes it leaves unset from {@link TRANSFORMER_STUDENT_DEFAULTS} (a non-object as it is, for the check's error). */
function withStudentSizes(options: unknown): unknown {
  if (options === null || typeof options !== 'object') return options;
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...TRANSFORMER_STUDENT_DEFAULTS, ...given };
}

/**
 * A from-scratch transformer student's config as {@link TransformerStudent.create} resolves it: unset sizes from
 * {@link TRANSFORMER_STUDENT_DEFAULTS}, the rest from XLM_DEFAULTS, every field checked (errors named by `names`).
 */
export function resolveTransformerStudentConfig(options: unknown, where: string, names?: OptionNamer): XlmConfig {
  return resolveXlmConfig(withStudentSizes(options), where, names);
}

export class TransformerStudent extends XlmModel {
  readonly kind = MODEL_TYPE;

  private constructor(handle: NativeModuleHandle, config: XlmConfig) {
    super(handle, Object.freeze(config));
  }

  /**
   * A freshly initialised student (XLM's initialisation; seed with `manualSeed`); unset sizes take
   * {@link TRANSFORMER_STUDENT_DEFAULTS}, other unset keys XLM_DEFAULTS.
   */
  static create(options: XlmOptions): TransformerStudent {
    const { handle, config } = createXlmModule(withStudentSizes(options), 'Student.transformer');
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
