/**
 * The pipeline's student stage: a student made from its spec — cut from the teacher's layers, a fresh BiGRU,
 * or a file — trained from the teacher (online, offline or sequence-level KD) or, for comparison, without it
 * (cross-entropy on the references), in a run folder that resumes, and written as a model file.
 */
import type { BiGruOptions } from '../models/bigru';
import type { XlmOptions } from '../models/config';
import { loadModel } from '../models/load';
import type { Seq2Seq } from '../models/seq2seq';
import type { CutOptions } from '../surgery/cut';
import { Student } from '../surgery/student';
import { manualSeed } from '../tensor/create';
import { distill, type DistillOptions } from '../train/distill';
import { DISTILL_DEFAULTS, type DistillMode } from '../train/distill-options';
import type { TrainingOptions } from '../train/options';
import { train } from '../train/train';
import type { TrainResult } from '../train/trainer';
import { validationScores } from '../train/validate';
import { finishRun } from './finish';
import { dataLog, loadTrainingData, tokenizerNear, type ValidationDecoding } from './training-data';

/** How to make the student: a cut of the teacher, a fresh transformer or BiGRU (the vocabulary comes from the teacher), or a file. */
export type StudentSpec =
  | ({ kind: 'cut' } & CutOptions)
  | ({ kind: 'bigru' } & Omit<BiGruOptions, 'vocabSize' | 'padIndex' | 'eosIndex'>)
  | ({ kind: 'transformer' } & Omit<XlmOptions, 'vocabSize' | 'padIndex' | 'eosIndex' | 'unkIndex'>)
  | { kind: 'file'; path: string };

/** How the student learns: from the teacher by one of the KD modes, or without it ('none': cross-entropy). */
export type StudentMode = DistillMode | 'none';

/** distill's own options, as a student stage sets them. */
export type KdOptions = Pick<
  DistillOptions,
  'alpha' | 'alphaSchedule' | 'temperature' | 'lossForm' | 'topK' | 'cacheFile' | 'sequenceFile' | 'sequenceDecoding' | 'intermediate'
>;

/** What {@link distillStudent} takes. */
export interface DistillStudentOptions {
  /** The teacher's model file. */
  teacher: string;
  /** Which student: a cut of the teacher, a fresh transformer or BiGRU, or a model file. */
  student: StudentSpec;
  /** A data folder with the teacher's tokenizer (or `tokenizer`). */
  data: string;
  /** The run folder (checkpoints, metrics); running again resumes. */
  run: string;
  /** The model file written at the end (the tokenizer's files are written beside it). */
  out: string;
  /** The tokenizer's file (default: the one beside the teacher, else the data folder's tokenizer.model). */
  tokenizer?: string;
  /** Default distill's, 'online'. */
  mode?: StudentMode;
  /** The KD options; defaults: distill's (lib/train/distill-options.ts). */
  kd?: KdOptions;
  /** How to train (the data, validation set and run folder come from the options above). */
  training: Omit<TrainingOptions, 'data' | 'valid' | 'runDir'>;
  /** How much of the valid split is decoded at each validation. */
  valid?: ValidationDecoding;
}

/** A student's kind, for its defaults: a cut of the teacher, a transformer from scratch, or a BiGRU. */
export type StudentKind = 'cut' | 'transformer' | 'bigru';

/** A student kind's learning rate and warm-up. */
export interface StudentTrainingDefaults {
  /** Peak learning rate. */
  lr: number;
  /** Linear warm-up updates of the inverse-sqrt schedule. */
  warmupUpdates: number;
}

/** What {@link withStudentDefaults} gives back. */
export interface StudentDefaultsApplied {
  /** The training options, the defaults filled in. */
  training: DistillStudentOptions['training'];
  /** The KD options, the defaults filled in. */
  kd: KdOptions;
  /** What was filled, as words for the log (empty when the caller gave everything). */
  filled: string[];
}

/**
 * The learning rate and warm-up a student trains with when the caller gives neither (the library's general
 * defaults, lr 5e-4 over XLM's 4,000 warm-up updates, are a big teacher's: a student distilled for 1,000 updates
 * would never leave its warm-up). From the quality run (docs/results.md): students at lr 1e-3 with 300 warm-up
 * updates (3 seeds each way; 2e-3 with 200 did not train the post-norm students, one seed). The BiGRU at 4e-3
 * over 100: twice the learning rate gave +12.4 BLEU (2e-3 over 1e-3, the quality run; 3 seeds at 2e-3), and 4e-3
 * over 100 warm-up updates beat 2e-3 over 300 wherever it was tried, one seed each: 37.1 against 22.4
 * validation BLEU at update 900 (`xlm-kd distill`, en→fr, 8,000 pieces), 8.7 against 3.3 at 500 (a 128/128
 * BiGRU on the demo's data), 35.2 against 34.6 at 1,000 with 300 warm-up updates (the quality run).
 */
export const STUDENT_TRAINING_DEFAULTS: Readonly<Record<StudentKind, Readonly<StudentTrainingDefaults>>> = Object.freeze({
  cut: Object.freeze({ lr: 1e-3, warmupUpdates: 300 }),
  transformer: Object.freeze({ lr: 1e-3, warmupUpdates: 300 }),
  bigru: Object.freeze({ lr: 4e-3, warmupUpdates: 100 }),
});

/**
 * Online KD of a transformer from scratch, when the caller sets no alpha: alpha from 0.9 down to 0.1 over the
 * run (the quality run, 3 seeds: 34.5 ± 0.4 BLEU against 32.9 ± 1.1 at a constant 0.5, +3.9 over no teacher).
 */
export const TRANSFORMER_ALPHA_SCHEDULE: Readonly<{
  /** Alpha at the first update. */
  from: number;
  /** Alpha at the last update. */
  to: number;
}> = Object.freeze({ from: 0.9, to: 0.1 });

/** The kind of a student (a file's by its model type). */
export function studentKind(spec: StudentSpec, student: Seq2Seq): StudentKind {
  if (spec.kind !== 'file') return spec.kind;
  return student.kind === 'bigru-student' ? 'bigru' : student.kind === 'xlm-scratch-student' ? 'transformer' : 'cut';
}

/**
 * The training and KD options with the student's defaults filled where the caller left them out: its learning
 * rate and warm-up (unless a schedule is given), and for a transformer from scratch in online mode the alpha
 * schedule (when the run's length is known in updates). Returns what it filled, for the log.
 */
export function withStudentDefaults(
  kind: StudentKind,
  mode: StudentMode,
  training: DistillStudentOptions['training'],
  kd: KdOptions = {}
): StudentDefaultsApplied {
  const d = STUDENT_TRAINING_DEFAULTS[kind];
  const filled: string[] = [];
  const t = { ...training };
  if (t.schedule === undefined) {
    if (t.optimizer?.lr === undefined) {
      t.optimizer = { ...t.optimizer, lr: d.lr };
      filled.push(`lr ${d.lr}`);
    }
    if (t.warmupUpdates === undefined) {
      t.warmupUpdates = d.warmupUpdates;
      filled.push(`warm-up ${d.warmupUpdates}`);
    }
  }
  const k = { ...kd };
  if (kind === 'transformer' && mode === 'online' && k.alpha === undefined && k.alphaSchedule === undefined && t.maxSteps !== undefined) {
    const s = TRANSFORMER_ALPHA_SCHEDULE;
    k.alpha = s.from;
    k.alphaSchedule = { to: s.to, steps: t.maxSteps };
    filled.push(`alpha ${s.from} -> ${s.to} over ${t.maxSteps} updates`);
  }
  return { training: t, kd: k, filled };
}

/** Makes the student the spec asks for (deterministic for a seed). */
export async function makeStudent(spec: StudentSpec, teacher: Seq2Seq, seed: number): Promise<Seq2Seq> {
  manualSeed(seed);
  if (spec.kind === 'file') return loadModel(spec.path);
  if (spec.kind === 'cut') {
    const { kind: _, ...cut } = spec;
    return Student.fromTeacher(teacher, cut);
  }
  if (spec.kind === 'transformer') {
    const { kind: _, ...sizes } = spec;
    return Student.transformer({ ...sizes, vocabSize: teacher.vocabSize, padIndex: teacher.padIndex, eosIndex: teacher.eosIndex });
  }
  const { kind: _, ...bigru } = spec;
  return Student.bigru({ ...bigru, vocabSize: teacher.vocabSize, padIndex: teacher.padIndex, eosIndex: teacher.eosIndex });
}

/** What {@link distillStudent} gives back. */
export interface DistillStudentResult {
  /** The training run's result (its `best.score` is the student's best validation BLEU). */
  result: TrainResult;
  /** The weights written to `out` (undefined on ranks other than 0). */
  weights?: string;
  /** The student, as trained. */
  student: Seq2Seq;
  /**
   * The teacher's BLEU on the student's validation sentences, decoded as the student's validations were (same
   * sentences, beam and languages), once at the end; undefined without a teacher (mode 'none'), without
   * validation text, or on ranks other than 0.
   */
  teacherValidBleu?: number;
  /** What the run found worth saying beyond its numbers (e.g. {@link teacherWeakerNote}); empty when nothing. */
  notes: string[];
}

/**
 * The note for a student whose best validation BLEU is above its teacher's on the same sentences (compared as
 * printed, to 2 decimals), else undefined: the teacher is the weak side, and more KD from it will not help.
 */
export function teacherWeakerNote(studentBleu: number, teacherBleu: number): string | undefined {
  const [s, t] = [studentBleu.toFixed(2), teacherBleu.toFixed(2)];
  if (Number(s) <= Number(t)) return undefined;
  return (
    `the student (BLEU ${s}) beats its teacher (BLEU ${t}) on validation: the teacher is undertrained for this data; ` +
    `train it longer (--patience, --max-minutes), try the alpha schedule (--alpha-to 0.1 --alpha-steps N), or sequence-level KD (--mode sequence)`
  );
}

/**
 * Distils (or resumes) and writes the student to `out` (as one rank of several, rank 0 alone writes it); then
 * scores the teacher on the same validation sentences and notes when the student beats it.
 */
export async function distillStudent(o: DistillStudentOptions): Promise<DistillStudentResult> {
  const data = await loadTrainingData(o.data, o.tokenizer ?? tokenizerNear(o.teacher), o.valid, dataLog(o.training.log));
  const teacher = await loadModel(o.teacher);
  if (teacher.vocabSize !== data.tokenizer.vocabSize) {
    throw new Error(
      `the teacher has ${teacher.vocabSize} ids but the tokenizer ${data.tokenizerPath} has ${data.tokenizer.vocabSize}: use the teacher's tokenizer`
    );
  }
  // The student's initial weights come from their own seed, so they do not depend on what ran before.
  const student = await makeStudent(o.student, teacher, (o.training.seed ?? 0) + 1);
  const kind = studentKind(o.student, student);
  const mode = o.mode ?? DISTILL_DEFAULTS.mode;
  const { training, kd, filled } = withStudentDefaults(kind, mode, o.training, o.mode === 'none' ? undefined : o.kd);
  if (filled.length > 0) dataLog(o.training.log)(`${kind} student defaults: ${filled.join(', ')} (README, "Defaults")`);
  const common = { ...training, batching: { ...training.batching, ...data.languageIds }, data: data.train, valid: data.valid, runDir: o.run };
  const result =
    mode === 'none'
      ? await train(student, common)
      : await distill({ ...common, ...kd, teacher, student, mode, tokenizerModel: Buffer.from(data.tokenizer.hash, 'hex') });
  if (o.training.group && o.training.group.rank !== 0) return { result, student, notes: [] };
  const weights = await finishRun(result, o.run, o.out, data.tokenizer);
  // The teacher is scored here rather than read from its own run's metrics: those may come from other
  // sentences (another data folder, --valid-sentences), another beam, or not exist (an imported or cut file).
  const notes: string[] = [];
  let teacherValidBleu: number | undefined;
  if (mode !== 'none' && result.best && data.valid) {
    teacherValidBleu = (await validationScores(teacher, data.valid))?.bleu;
    const note = teacherValidBleu === undefined ? undefined : teacherWeakerNote(result.best.score, teacherValidBleu);
    if (note) notes.push(note);
  }
  return { result, weights, student, teacherValidBleu, notes };
}
