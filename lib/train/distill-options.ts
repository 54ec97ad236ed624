/**
 * The options of `distill`: the training family's (lib/train/options.ts), the loss family's temperature and
 * alpha (lib/loss/options.ts), and distillation's own — mode, loss form, the offline cache, the sequence-level
 * translations — with their one set of defaults ({@link DISTILL_DEFAULTS}) and their one check.
 */
import { type OptionNamer, OptionReader, optionNames } from '../common/options';
import type { DecodeOptions } from '../decode/options';
import { LOSS_DEFAULTS } from '../loss/options';
import { type IntermediateKdOptions, readIntermediateKd, type ResolvedIntermediateKd } from '../loss/intermediate';
import type { Seq2Seq } from '../models/seq2seq';
import { type ResolvedTrainingOptions, readTrainingOptions, TRAINING_OPTION_KEYS, type TrainingOptions } from './options';

/**
 * How the student learns from the teacher: 'online' (the teacher runs beside the student), 'offline' (its top-k cached
 * once), 'sequence' (its translations as targets).
 */
export type DistillMode = 'online' | 'offline' | 'sequence';

/** How the online loss meets the vocabulary: full logits, or chunks of rows from the hidden states. */
export type DistillLossForm = 'dense' | 'chunked' | 'auto';

/** What {@link distill} takes: the training options plus the teacher, the student and the KD settings. */
export interface DistillOptions extends TrainingOptions {
  /** The model distilled from; it is never trained. */
  teacher: Seq2Seq;
  /** The model trained. */
  student: Seq2Seq;
  /** Default 'online'. */
  mode?: DistillMode;
  /**
   * Weight of the KD term in [0, 1] (default the loss family's, 0.5; 'sequence' defaults to 0: label-smoothed
   * cross-entropy on the teacher's translations, as Kim & Rush train on them).
   */
  alpha?: number;
  /**
   * Moves alpha linearly from `alpha` to `to` over the first `steps` updates, then keeps `to` (e.g. lean on the
   * teacher early and on the references late). Default: alpha stays fixed.
   */
  alphaSchedule?: { to: number; steps: number };
  /**
   * Softmax temperature of the KD term. Default the loss family's, 2; in mode 'offline' 1
   * ({@link DISTILL_DEFAULTS}.offlineTemperature).
   */
  temperature?: number;
  /**
   * 'online': 'dense' (student and teacher logits [N, V], the fastest while they fit), 'chunked' (the
   * fused-linear loss from both models' hidden states, a chunk of rows at a time: memory independent of V),
   * or 'auto' (default: dense while the logits fit comfortably — on a GPU while they take under a quarter of its
   * free memory, on the CPU up to 256 MiB — else chunked). Both give the same loss.
   */
  lossForm?: DistillLossForm;
  /** 'offline': entries per token kept in the cache (default 8). */
  topK?: number;
  /** 'offline': the cache file (default runDir/teacher-topk.cache). */
  cacheFile?: string;
  /** 'offline': bytes that identify the tokenizer (its `hash`), so a cache made with another tokenizer is refused. */
  tokenizerModel?: Uint8Array;
  /**
   * 'sequence': where the teacher's translations are kept (default runDir/sequence-kd: token-store parts runDir/sequence-kd.r<rank>.idx/.bin); students of one
   * teacher and one corpus can share the file, so the teacher translates the corpus once.
   */
  sequenceFile?: string;
  /** 'sequence': how the teacher translates the sources (default beam 5, XLM's length rule). */
  sequenceDecoding?: DecodeOptions;
  /**
   * Intermediate-layer distillation (transformer student and teacher; modes 'online' and 'sequence'): hidden
   * states and attention distributions of mapped layers (lib/loss/intermediate.ts). Off by default.
   */
  intermediate?: IntermediateKdOptions;
}

/** The defaults of distillation's own options (temperature and alpha: the loss family's {@link LOSS_DEFAULTS}). */
export const DISTILL_DEFAULTS = Object.freeze({
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the assertion widens the frozen default's type (typescript-eslint#12376)
  mode: 'online' as DistillMode,
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the assertion widens the frozen default's type (typescript-eslint#12376)
  lossForm: 'auto' as DistillLossForm,
  /** alpha in mode 'sequence': train on the teacher's translations alone. */
  sequenceAlpha: 0,
  /**
   * T in mode 'offline'. The cache keeps the teacher's top k, renormalised: at T = 2 the quality run's teacher
   * has 23 % of its softened mass in its top 8 (96 % at T = 1), so the target is far sharper than the teacher
   * and the BiGRU, whose output reads a tanh-bounded vector, learned nothing from it (8.3 test BLEU, 22.2 at
   * T = 1 and without a teacher). The 3-1 transformer reached 33.0 at T = 2 and 32.1 at T = 1 (seed 1):
   * T = 1 costs little where T = 2 works and saves the students it breaks (BENCHMARKS.md "quality").
   */
  offlineTemperature: 1,
  topK: 8,
  /** alphaSchedule.steps when only `to` is given: alpha moves to `to` after the first update. */
  alphaScheduleSteps: 1,
  sequenceBeam: 5,
  /** lossForm 'auto' goes chunked when one batch's logits would take more than this (per model, float32). */
  chunkedAboveBytes: 256 * 2 ** 20,
});

const DISTILL_KEYS = [
  'teacher',
  'student',
  'mode',
  'alpha',
  'temperature',
  'lossForm',
  'topK',
  'cacheFile',
  'tokenizerModel',
  'sequenceFile',
  'sequenceDecoding',
  'intermediate',
  'alphaSchedule',
];

/** {@link DistillOptions} resolved. */
export interface ResolvedDistillOptions {
  /** {@inheritDoc DistillOptions.teacher} */
  teacher: Seq2Seq;
  /** {@inheritDoc DistillOptions.student} */
  student: Seq2Seq;
  /** {@inheritDoc DistillOptions.mode} */
  mode: DistillMode;
  /** {@inheritDoc DistillOptions.alpha} */
  alpha: number;
  /** {@inheritDoc DistillOptions.temperature} */
  temperature: number;
  /** {@inheritDoc DistillOptions.lossForm} */
  lossForm: DistillLossForm;
  /** {@inheritDoc DistillOptions.topK} */
  topK: number;
  /** {@inheritDoc DistillOptions.cacheFile} */
  cacheFile?: string;
  /** {@inheritDoc DistillOptions.tokenizerModel} */
  tokenizerModel?: Uint8Array;
  /** {@inheritDoc DistillOptions.sequenceFile} */
  sequenceFile?: string;
  /** {@inheritDoc DistillOptions.sequenceDecoding} */
  sequenceDecoding: DecodeOptions;
  /** {@inheritDoc DistillOptions.intermediate} */
  intermediate?: ResolvedIntermediateKd;
  /** {@inheritDoc DistillOptions.alphaSchedule} */
  alphaSchedule?: { to: number; steps: number };
  /** The training options, resolved. */
  training: ResolvedTrainingOptions;
}

/** alpha at update `step` under the options' schedule. */
export function alphaAt(o: Pick<ResolvedDistillOptions, 'alpha' | 'alphaSchedule'>, step: number): number {
  const s = o.alphaSchedule;
  if (!s) return o.alpha;
  return step >= s.steps ? s.to : o.alpha + ((s.to - o.alpha) * step) / s.steps;
}

function isModel(m: unknown): m is Seq2Seq {
  return typeof m === 'object' && m !== null && typeof (m as Seq2Seq).forward === 'function';
}

/** The numbers and choices of distillation (mode, alpha, temperature, loss form, top-k), read with the caller's reader. */
function readKdKnobs(r: OptionReader): Pick<ResolvedDistillOptions, 'mode' | 'alpha' | 'temperature' | 'lossForm' | 'topK'> {
  const D = DISTILL_DEFAULTS;
  const mode = r.oneOf('mode', ['online', 'offline', 'sequence'] as const, D.mode);
  return {
    mode,
    alpha: r.number('alpha', mode === 'sequence' ? D.sequenceAlpha : LOSS_DEFAULTS.alpha, { min: 0, max: 1 }),
    temperature: r.number('temperature', mode === 'offline' ? D.offlineTemperature : LOSS_DEFAULTS.temperature, { min: 0, above: true }),
    lossForm: r.oneOf('lossForm', ['dense', 'chunked', 'auto'] as const, D.lossForm),
    topK: r.integer('topK', D.topK, 1),
  };
}

/**
 * The KD knobs (mode, alpha, temperature, loss form, top-k), the alpha schedule and the intermediate-layer terms, read and checked with
 * the caller's reader (the CLI's names its flags); intermediate KD in mode 'offline' is refused.
 */
export function readKdOptions(
  r: OptionReader
): Pick<ResolvedDistillOptions, 'mode' | 'alpha' | 'temperature' | 'lossForm' | 'topK' | 'alphaSchedule' | 'intermediate'> {
  const knobs = readKdKnobs(r);
  const intermediate = readIntermediateKd(r);
  let alphaSchedule: { to: number; steps: number } | undefined;
  const raw = r.raw('alphaSchedule');
  if (raw !== undefined) {
    if (raw === null || typeof raw !== 'object') r.fail('alphaSchedule', '{ to, steps }', true);
    const s = r.nested('alphaSchedule', ['to', 'steps']);
    if ((raw as { to?: unknown }).to === undefined) s.fail('to', 'the final alpha in [0, 1]');
    alphaSchedule = { to: s.number('to', 0, { min: 0, max: 1 }), steps: s.integer('steps', DISTILL_DEFAULTS.alphaScheduleSteps, 1) };
  }
  if (intermediate && knobs.mode === 'offline') {
    throw new TypeError(
      `${r.head}${r.name('intermediate')} needs the teacher's forward pass at every batch: ${r.name('mode')} must be 'online' or 'sequence', not 'offline'`
    );
  }
  return { ...knobs, intermediate, alphaSchedule };
}

/** Fills the defaults of every family `distill` takes and checks the values, the two models included. */
export function resolveDistillOptions(where: string, options: unknown, names: OptionNamer = optionNames): ResolvedDistillOptions {
  const r: OptionReader = new OptionReader(where, options, [...TRAINING_OPTION_KEYS, ...DISTILL_KEYS], names);
  const teacher = r.raw('teacher');
  const student = r.raw('student');
  if (!isModel(teacher)) r.fail('teacher', 'a model (Seq2Seq)', true);
  if (!isModel(student)) r.fail('student', 'a model (Seq2Seq)', true);
  if (teacher === student) throw new TypeError(`${where}: the teacher and the student must be different models`);
  if (teacher.vocabSize !== student.vocabSize || teacher.padIndex !== student.padIndex || teacher.eosIndex !== student.eosIndex) {
    throw new Error(
      `${where}: the student's vocabulary (${student.vocabSize} ids, pad ${student.padIndex}, eos ${student.eosIndex}) differs from the ` +
        `teacher's (${teacher.vocabSize}, pad ${teacher.padIndex}, eos ${teacher.eosIndex}): both must use one tokenizer`
    );
  }
  const D = DISTILL_DEFAULTS;
  const knobs = readKdOptions(r);
  const string = (key: string) => {
    const v = r.raw(key);
    if (v !== undefined && typeof v !== 'string') r.fail(key, 'a file path', true);
    return v;
  };
  const tokenizerModel = r.raw('tokenizerModel');
  if (tokenizerModel !== undefined && !(tokenizerModel instanceof Uint8Array)) r.fail('tokenizerModel', 'a Uint8Array', true);
  const decoding = r.raw('sequenceDecoding');
  if (decoding !== undefined && (decoding === null || typeof decoding !== 'object')) r.fail('sequenceDecoding', 'decoding options', true);
  return {
    teacher,
    student,
    ...knobs,
    cacheFile: string('cacheFile'),
    tokenizerModel,
    sequenceFile: string('sequenceFile'),
    sequenceDecoding: { beamSize: D.sequenceBeam, ...(decoding as DecodeOptions | undefined) },
    training: readTrainingOptions(r),
  };
}
