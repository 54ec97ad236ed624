/**
 * `distill({ teacher, student, mode, ... })`: trains a student from a teacher.
 * - 'online': word-level KD. Each batch, the teacher (eval mode, no grad) gives logits beside the student's,
 *   and the fused distillation loss mixes KL to the teacher at temperature T (weight alpha) with the
 *   label-smoothed cross-entropy on the references (weight 1 - alpha).
 * - 'sequence': sequence-level KD (Kim & Rush). The teacher's beam translations of the training sources
 *   (written once to `runDir/sequence-kd.jsonl` by distillSequences, resumable) replace the references;
 *   the student then trains on them with the same loss (alpha 0 = plain cross-entropy on the teacher's outputs).
 */
import * as path from 'path';
import { Batcher, TokenPair } from '../data/batcher';
import { DecodeOptions } from '../decode/options';
import { distillLossAsync } from '../loss/distill';
import { Seq2Seq } from '../models/seq2seq';
import { startWithoutGrad } from '../tensor/runtime';
import { distillSequences, readDistilledTargets } from './sequence-kd';
import { runTraining, TrainingOptions, TrainResult } from './trainer';

export type DistillMode = 'online' | 'sequence';

export interface DistillOptions extends TrainingOptions {
  teacher: Seq2Seq;
  student: Seq2Seq;
  /** Default 'online'. */
  mode?: DistillMode;
  /** Weight of the KD term in [0, 1] (default 0.5; 'sequence' defaults to 0: cross-entropy on the teacher's outputs). */
  alpha?: number;
  /** Softmax temperature of the KD term (default 2). */
  temperature?: number;
  /** 'sequence': how the teacher translates the sources (default beam 5, XLM's length rule). */
  sequenceDecoding?: DecodeOptions;
}

/** Distils `teacher` into `student`; the teacher is never trained. */
export async function distill(options: DistillOptions): Promise<TrainResult> {
  if (!options || typeof options !== 'object') throw new TypeError('distill: options must be an object');
  const { teacher, student } = options;
  if (!teacher || typeof teacher.forward !== 'function') throw new TypeError("distill: option 'teacher' must be a model (Seq2Seq)");
  if (!student || typeof student.forward !== 'function') throw new TypeError("distill: option 'student' must be a model (Seq2Seq)");
  if (teacher === student) throw new TypeError('distill: the teacher and the student must be different models');
  if (teacher.vocabSize !== student.vocabSize || teacher.padIndex !== student.padIndex || teacher.eosIndex !== student.eosIndex) {
    throw new Error(
      `distill: the student's vocabulary (${student.vocabSize} ids, pad ${student.padIndex}, eos ${student.eosIndex}) differs from the ` +
        `teacher's (${teacher.vocabSize}, pad ${teacher.padIndex}, eos ${teacher.eosIndex}): both must use one tokenizer`
    );
  }
  const mode = options.mode ?? 'online';
  if (mode !== 'online' && mode !== 'sequence') throw new TypeError(`distill: option 'mode' must be 'online' or 'sequence', got '${String(mode)}'`);
  const alpha = options.alpha ?? (mode === 'sequence' ? 0 : 0.5);
  const temperature = options.temperature ?? 2;
  const labelSmoothing = options.labelSmoothing ?? 0;
  teacher.eval();

  let data = options.data;
  if (mode === 'sequence') data = await teacherTargets(options, data);
  const loss = { alpha, temperature, labelSmoothing, ignoreIndex: student.padIndex, reduction: 'sum' as const };
  return runTraining(
    student,
    async (m, batch) => {
      const s = await m.forwardAsync(batch);
      // With alpha = 0 the kernel never reads the teacher: skip its forward.
      const t = alpha > 0 ? await startWithoutGrad(() => teacher.forwardAsync(batch)) : s.detach();
      try {
        return await distillLossAsync(s, t, batch.tgtOut, loss);
      } finally {
        s.dispose();
        t.dispose();
      }
    },
    { ...options, data },
    { task: 'distill', mode, alpha, temperature, labelSmoothing, teacher: { kind: teacher.kind, parameters: teacher.numParameters() } }
  );
}

/** The training pairs with the teacher's translations as targets (translated once, resumably). */
async function teacherTargets(options: DistillOptions, data: TokenPair[] | Batcher): Promise<TokenPair[]> {
  if (!options.runDir) throw new TypeError("distill: mode 'sequence' needs 'runDir' (the teacher's translations are kept there)");
  const pairs = data instanceof Batcher ? [...data.pairs] : data;
  const out = path.join(options.runDir, 'sequence-kd.jsonl');
  const log = options.log === undefined ? (l: string) => console.log(l) : options.log ?? (() => undefined);
  let last = 0;
  await distillSequences(options.teacher, pairs.map((p) => p.src), {
    beamSize: 5,
    ...options.sequenceDecoding,
    out,
    onProgress: (done, total) => {
      if (done - last >= 500 || done === total) {
        log(`sequence-level KD: teacher translated ${done}/${total} sources`);
        last = done;
      }
    },
  });
  const targets = readDistilledTargets(out, pairs.length);
  return pairs.map((p, i) => ({ src: p.src, tgt: targets[i].tgt }));
}
