/**
 * `xlm-kd distill`: trains a student from a teacher — a cut of the teacher's layers, a fresh BiGRU, or a
 * student file — by word-level KD online (the teacher runs beside the student), offline (the teacher's top-k
 * per token cached once) or sequence-level KD (the teacher's translations as targets), in a run folder that
 * resumes, and writes the student's model file.
 */
import * as fs from 'node:fs';
import { loadModel } from '../models/load';
import { Seq2Seq } from '../models/seq2seq';
import { LayerStrategy } from '../surgery/layer-map';
import { Student } from '../surgery/student';
import { manualSeed } from '../tensor/create';
import { distill, DistillMode } from '../train/distill';
import { TrainingOptions, TrainResult } from '../train/trainer';
import { choice, FlagValues, int, layerPair, num, parseFlags, required, str } from './args';
import { CliIO } from './io';
import { joinGroup, launchIfAsked } from './ranks';
import { describeRun, finishRun, loadTrainingData, runFlags, trainingFlagSpecs, trainingFlagsHelp, trainingOptions, validFlags } from './training-flags';

export const distillUsage = `Usage: xlm-kd distill --teacher T.safetensors --data DIR --run DIR --student cut|bigru|FILE
                      --mode online|offline|sequence (--max-steps N | ...) [options]

Distils the teacher into a student. Loss = (1 - alpha) * cross-entropy + alpha * T^2 * KL(teacher_T || student_T).

Student and method:
  -m, --teacher FILE       the teacher; required
      --student S          cut (layer surgery from the teacher), bigru (a fresh BiGRU seq2seq) or a
                           student file from 'xlm-kd cut' / an earlier run (default cut)
      --student-layers E-D layers of a cut student (default: all encoder layers, 1 decoder layer)
      --strategy S         which teacher layers a cut keeps: spread, first or last (default spread)
      --bigru-dim N        BiGRU embedding size (default 256)
      --bigru-hidden N     BiGRU hidden size (default 256)
      --bigru-layers E-D   BiGRU encoder and decoder layers (default 1-1)
      --mode M             online, offline (top-k cache in RUN/teacher-topk.cache) or sequence
                           (teacher beam-5 translations in RUN/sequence-kd.jsonl) (default online)
      --alpha X            weight of the KD term in [0, 1] (default 0.5; sequence: 0)
      --temperature X      softmax temperature of the KD term (default 2)
      --top-k N            offline: teacher entries kept per token (default 8)
${trainingFlagsHelp}  -h, --help               show this help
`;

/** How to make the student. */
export type StudentSpec =
  | { kind: 'cut'; encoderLayers?: number; decoderLayers?: number; strategy?: LayerStrategy }
  | { kind: 'bigru'; embDim?: number; hiddenSize?: number; encoderLayers?: number; decoderLayers?: number }
  | { kind: 'file'; path: string };

/** What {@link distillStudent} takes. */
export interface DistillStudentOptions {
  teacher: string;
  student: StudentSpec;
  data: string;
  run: string;
  out: string;
  tokenizer?: string;
  mode?: DistillMode;
  alpha?: number;
  temperature?: number;
  topK?: number;
  training: Omit<TrainingOptions, 'data'>;
  valid?: { sentences: number; beam: number };
}

/** Makes the student the spec asks for (deterministic for a seed). */
export async function makeStudent(spec: StudentSpec, teacher: Seq2Seq, seed: number): Promise<Seq2Seq> {
  manualSeed(seed);
  if (spec.kind === 'file') return loadModel(spec.path);
  if (spec.kind === 'cut') {
    return Student.fromTeacher(teacher, { encoderLayers: spec.encoderLayers, decoderLayers: spec.decoderLayers ?? 1, strategy: spec.strategy });
  }
  return Student.bigru({
    vocabSize: teacher.vocabSize, embDim: spec.embDim ?? 256, hiddenSize: spec.hiddenSize ?? 256, encoderLayers: spec.encoderLayers ?? 1,
    decoderLayers: spec.decoderLayers ?? 1, padIndex: teacher.padIndex, eosIndex: teacher.eosIndex,
  });
}

/** Distils (or resumes) and writes the student to `out` (as one rank of several, rank 0 alone writes it). */
export async function distillStudent(o: DistillStudentOptions): Promise<{ result: TrainResult; weights?: string; student: Seq2Seq }> {
  const data = await loadTrainingData(o.data, o.tokenizer, o.valid?.sentences, o.valid?.beam);
  const teacher = await loadModel(o.teacher);
  if (teacher.vocabSize !== data.tokenizer.vocabSize) {
    throw new Error(`the teacher has ${teacher.vocabSize} ids but the tokenizer ${data.tokenizerPath} has ${data.tokenizer.vocabSize}: use the teacher's tokenizer`);
  }
  const student = await makeStudent(o.student, teacher, (o.training.seed ?? 0) + 1);
  const result = await distill({
    ...o.training, data: data.train, valid: data.valid, runDir: o.run, teacher, student, mode: o.mode ?? 'online', alpha: o.alpha,
    temperature: o.temperature, topK: o.topK, tokenizerModel: data.tokenizer.serialize(),
  });
  if (o.training.group && o.training.group.rank !== 0) return { result, student };
  const weights = await finishRun(result, o.run, o.out, data.tokenizerPath);
  return { result, weights, student };
}

function studentFlags(v: FlagValues): StudentSpec {
  const s = str(v, 'student') ?? 'cut';
  if (s === 'cut') {
    const raw = str(v, 'student-layers');
    const [e, d] = raw === undefined ? [undefined, 1] : layerPair(v, 'student-layers', [1, 1]);
    return { kind: 'cut', encoderLayers: e, decoderLayers: d, strategy: choice<LayerStrategy>(v, 'strategy', ['spread', 'first', 'last'], 'spread') };
  }
  if (s === 'bigru') {
    const [encoderLayers, decoderLayers] = layerPair(v, 'bigru-layers', [1, 1]);
    return { kind: 'bigru', embDim: int(v, 'bigru-dim', 1, 256), hiddenSize: int(v, 'bigru-hidden', 1, 256), encoderLayers, decoderLayers };
  }
  if (!fs.existsSync(s)) throw new Error(`--student ${s}: not cut, bigru or an existing model file`);
  return { kind: 'file', path: s };
}

/** Runs `xlm-kd distill`. */
export async function runDistill(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(args, {
    ...trainingFlagSpecs, teacher: { type: 'string', short: 'm' }, student: { type: 'string' }, 'student-layers': { type: 'string' },
    strategy: { type: 'string' }, 'bigru-dim': { type: 'string' }, 'bigru-hidden': { type: 'string' }, 'bigru-layers': { type: 'string' },
    mode: { type: 'string' }, alpha: { type: 'string' }, temperature: { type: 'string' }, 'top-k': { type: 'string' },
  }, distillUsage, io);
  if (!v) return 0;
  const teacher = required(v, 'teacher');
  const o: DistillStudentOptions = {
    ...runFlags(v), teacher, student: studentFlags(v), mode: choice<DistillMode>(v, 'mode', ['online', 'offline', 'sequence'], 'online'),
    alpha: num(v, 'alpha', undefined, 0, 1), temperature: num(v, 'temperature', undefined, 0.01), topK: int(v, 'top-k', 1),
    training: trainingOptions(v), valid: validFlags(v),
  };
  if (!fs.existsSync(teacher)) throw new Error(`cannot read --teacher ${teacher}: no such file`);
  const launched = await launchIfAsked(v, 'distill', args, io);
  if (launched !== undefined) return launched;
  const group = await joinGroup(v);
  try {
    const { result, weights } = await distillStudent({ ...o, training: { ...o.training, group } });
    if (weights !== undefined) io.stdout.write(`${o.out}: ${o.student.kind} student, ${o.mode} KD, ${describeRun(result, weights)}\n`);
  } finally {
    group?.destroy();
  }
  return 0;
}
