/**
 * The pipeline's teacher stage: a Teacher (an XLM transformer, XLM_DEFAULTS for whatever the caller leaves
 * out) trained with cross-entropy on a data folder, in a run folder that resumes, and written as a model file.
 */
import type { XlmOptions } from '../models/config';
import { Teacher } from '../models/teacher';
import { manualSeed } from '../tensor/create';
import type { TrainingOptions } from '../train/options';
import { train } from '../train/train';
import type { TrainResult } from '../train/trainer';
import { finishRun } from './finish';
import { dataLog, loadTrainingData, tokenizerNear, type ValidationDecoding } from './training-data';

/** What {@link trainTeacher} takes. */
export interface TrainTeacherOptions {
  /** A data folder with a tokenizer (or `tokenizer`). */
  data: string;
  /** The run folder (checkpoints, metrics); running again resumes. */
  run: string;
  /** The model file written at the end (the tokenizer's files are written beside it). */
  out: string;
  /** The tokenizer's file (default: the one beside `init`, else the data folder's tokenizer.model). */
  tokenizer?: string;
  /** The teacher's config, without the vocabulary (which the tokenizer sets); not with `init`. */
  model?: Omit<XlmOptions, 'vocabSize'>;
  /**
   * Start from this teacher file instead of a fresh model (its config and weights), e.g. one `xlm-kd import-xlm`
   * made from a pretrained XLM checkpoint: fine-tuning.
   */
  init?: string;
  /** How to train (the data, validation set and run folder come from the options above). */
  training: Omit<TrainingOptions, 'data' | 'valid' | 'runDir'>;
  /** How much of the valid split is decoded at each validation. */
  valid?: ValidationDecoding;
}

/**
 * Trains (or resumes) a teacher and writes it to `out`; resolves to the result and the weights' source. As one
 * rank of several (`training.group`), only rank 0 writes `out` (the others resolve with `weights` undefined).
 */
export async function trainTeacher(o: TrainTeacherOptions): Promise<{ result: TrainResult; weights?: string; model: Teacher }> {
  const data = await loadTrainingData(
    o.data,
    o.tokenizer ?? (o.init !== undefined ? tokenizerNear(o.init) : undefined),
    o.valid,
    dataLog(o.training.log)
  );
  manualSeed(o.training.seed ?? 0);
  let model: Teacher;
  if (o.init !== undefined) {
    if (o.model !== undefined && Object.values(o.model).some((v) => v !== undefined)) {
      throw new TypeError("trainTeacher: options 'model' and 'init' exclude each other (the init file sets the model)");
    }
    model = await Teacher.load(o.init);
    if (model.vocabSize < data.tokenizer.vocabSize) {
      throw new Error(
        `${o.init} has ${model.vocabSize} ids but the tokenizer ${data.tokenizerPath} has ${data.tokenizer.vocabSize}: use the model's tokenizer`
      );
    }
  } else model = Teacher.create({ ...o.model, vocabSize: data.tokenizer.vocabSize });
  const batching = { ...o.training.batching, ...data.languageIds };
  const result = await train(model, { ...o.training, batching, data: data.train, valid: data.valid, runDir: o.run });
  if (o.training.group && o.training.group.rank !== 0) return { result, model };
  const weights = await finishRun(result, o.run, o.out, data.tokenizer);
  return { result, weights, model };
}
