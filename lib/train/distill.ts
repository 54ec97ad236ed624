/**
 * `distill({ teacher, student, mode, ... })`: trains a student from a teacher.
 * - 'online': word-level KD. Each batch, the teacher (eval mode, no grad) gives logits beside the student's,
 *   and the fused distillation loss mixes KL to the teacher at temperature T (weight alpha) with the
 *   label-smoothed cross-entropy on the references (weight 1 - alpha). With a large vocabulary the chunked
 *   form takes the hidden states of both models instead, so no [N, V] logits exist at all.
 * - 'offline': word-level KD from a teacher cache (lib/train/teacher-cache.ts): the teacher's top-k
 *   log-probabilities of every target token, computed once (resumably) into `cacheFile`, then streamed back
 *   in batch order into the sparse fused loss; the teacher does no work during training.
 * - 'sequence': sequence-level KD (Kim & Rush). The teacher's beam translations of the training sources
 *   (written once to `runDir/sequence-kd.jsonl` by distillSequences, resumable) replace the references;
 *   the student then trains on them with the same loss (alpha 0 = plain cross-entropy on the teacher's outputs).
 * With a ProcessGroup, 'online' runs each rank's own teacher on its own batches; for 'offline' and 'sequence'
 * rank 0 does the teacher's work once while the others wait at a barrier, and every rank then reads the file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Batcher, TokenPair } from '../data/batcher';
import { DecodeOptions } from '../decode/options';
import { distillLossAsync, distillLossChunkedAsync, DistillLossResult } from '../loss/distill';
import { Batch } from '../data/batch';
import { Seq2Seq } from '../models/seq2seq';
import { startWithoutGrad } from '../tensor/runtime';
import { distillSequences, readDistilledTargets } from './sequence-kd';
import { buildTeacherCache, TeacherCache } from './teacher-cache';
import { runTraining, TrainingOptions, TrainResult } from './trainer';

export type DistillMode = 'online' | 'offline' | 'sequence';

/** How the online loss meets the vocabulary: full logits, or chunks of rows from the hidden states. */
export type DistillLossForm = 'dense' | 'chunked' | 'auto';

// 'auto' goes chunked when one batch's logits would take more than this (per model, float32).
const CHUNKED_ABOVE_BYTES = 256 * 2 ** 20;

export interface DistillOptions extends TrainingOptions {
  teacher: Seq2Seq;
  student: Seq2Seq;
  /** Default 'online'. */
  mode?: DistillMode;
  /** Weight of the KD term in [0, 1] (default 0.5; 'sequence' defaults to 0: cross-entropy on the teacher's outputs). */
  alpha?: number;
  /** Softmax temperature of the KD term (default 2). */
  temperature?: number;
  /**
   * 'online': 'dense' (student and teacher logits [N, V], the fastest while they fit), 'chunked' (the
   * fused-linear loss from both models' hidden states, a chunk of rows at a time: memory independent of V),
   * or 'auto' (default: chunked for a batch whose logits would exceed 256 MiB). Both give the same loss.
   */
  lossForm?: DistillLossForm;
  /** 'offline': entries per token kept in the cache (default 8). */
  topK?: number;
  /** 'offline': the cache file (default runDir/teacher-topk.cache). */
  cacheFile?: string;
  /** 'offline': the tokenizer's model bytes (`SentencePiece.serializedModel()`), so a cache of another tokenizer is refused. */
  tokenizerModel?: Uint8Array;
  /**
   * 'sequence': where the teacher's translations are kept (default runDir/sequence-kd.jsonl); students of one
   * teacher and one corpus can share the file, so the teacher translates the corpus once.
   */
  sequenceFile?: string;
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
  if (mode !== 'online' && mode !== 'offline' && mode !== 'sequence') {
    throw new TypeError(`distill: option 'mode' must be 'online', 'offline' or 'sequence', got '${String(mode)}'`);
  }
  const lossForm = options.lossForm ?? 'auto';
  if (lossForm !== 'dense' && lossForm !== 'chunked' && lossForm !== 'auto') {
    throw new TypeError(`distill: option 'lossForm' must be 'dense', 'chunked' or 'auto', got '${String(lossForm)}'`);
  }
  const alpha = options.alpha ?? (mode === 'sequence' ? 0 : 0.5);
  const temperature = options.temperature ?? 2;
  const labelSmoothing = options.labelSmoothing ?? 0;
  teacher.eval();

  let data = options.data;
  if (mode === 'sequence') data = await teacherTargets(options, data);
  const loss = { alpha, temperature, labelSmoothing, ignoreIndex: student.padIndex, reduction: 'sum' as const };
  const describe = { task: 'distill', mode, alpha, temperature, labelSmoothing, teacher: { kind: teacher.kind, parameters: teacher.numParameters() } };
  if (mode === 'offline') {
    const batcher = data instanceof Batcher ? data : new Batcher(data, { seed: options.seed ?? 0, ...options.batching });
    const cache = await openCache(options, batcher);
    try {
      return await runTraining(
        student,
        async (m, batch, plan) => {
          const s = await m.forwardAsync(batch);
          const t = cache.sparseTeacher(plan.indices, batch.tgtOut.shape[1]);
          try {
            return await distillLossAsync(s, t, batch.tgtOut, loss);
          } finally {
            for (const x of [s, t.indices, t.logProbs]) x.dispose();
          }
        },
        { ...options, data: batcher },
        { ...describe, topK: cache.header.k }
      );
    } finally {
      cache.close();
    }
  }
  const chunked = (batch: Batch) =>
    lossForm === 'chunked' || (lossForm === 'auto' && batch.tgtOut.numel * student.vocabSize * 4 > CHUNKED_ABOVE_BYTES);
  return runTraining(
    student,
    async (m, batch) => {
      if (chunked(batch)) return chunkedLoss(m, teacher, batch, alpha, loss);
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
    describe
  );
}

/** The online loss from both models' hidden states and output projections (distillLossChunked). */
async function chunkedLoss(
  student: Seq2Seq,
  teacher: Seq2Seq,
  batch: Batch,
  alpha: number,
  loss: { alpha: number; temperature: number; labelSmoothing: number; ignoreIndex: number; reduction: 'sum' }
): Promise<DistillLossResult> {
  const h = await student.forwardHiddenAsync(batch);
  const own = student.outputProjection();
  // With alpha = 0 the kernel never reads the teacher: stand in the student's own (detached) states.
  const th = alpha > 0 ? await startWithoutGrad(() => teacher.forwardHiddenAsync(batch)) : h.detach();
  const tp = alpha > 0 ? teacher.outputProjection() : { weight: own.weight.detach(), bias: own.bias?.detach() ?? null };
  try {
    return await distillLossChunkedAsync(h, own.weight, own.bias, { hidden: th, weight: tp.weight, bias: tp.bias }, batch.tgtOut, loss);
  } finally {
    for (const x of [h, th, own.weight, own.bias, tp.weight, tp.bias]) x?.dispose();
  }
}

/**
 * Runs `work` (the teacher's translations or cache, written to a file every rank reads) on rank 0 alone; the
 * other ranks wait for it (bounded by the group's timeout).
 */
async function onRankZero(options: DistillOptions, work: () => Promise<void>): Promise<void> {
  const group = options.group && options.group.worldSize > 1 ? options.group : undefined;
  if (!group || group.rank === 0) await work();
  await group?.barrier();
}

/** Builds (or resumes, or reuses) the teacher's top-k cache of the batcher's pairs and opens it. */
async function openCache(options: DistillOptions, batcher: Batcher): Promise<TeacherCache> {
  const file = options.cacheFile ?? (options.runDir ? path.join(options.runDir, 'teacher-topk.cache') : undefined);
  if (!file) throw new TypeError("distill: mode 'offline' needs 'cacheFile' or 'runDir' (where the teacher's top-k cache is kept)");
  if (options.runDir) fs.mkdirSync(options.runDir, { recursive: true });
  const log = options.log === undefined ? (l: string) => console.log(l) : options.log ?? (() => undefined);
  const source = { teacher: options.teacher, pairs: batcher.pairs, k: options.topK ?? 8, tokenizer: options.tokenizerModel };
  let last = 0;
  await onRankZero(options, async () => {
    const built = await buildTeacherCache({
      ...source,
      file,
      onProgress: (done, total) => {
        if (done - last >= 1000 || done === total) {
          log(`offline KD: teacher top-${source.k} cached for ${done}/${total} pairs`);
          last = done;
        }
      },
    });
    log(`offline KD: cache ${file}, ${(built.bytes / 2 ** 20).toFixed(1)} MB (${built.rows} target tokens x top-${built.k}, int32 ids + float16 log-probs)`);
  });
  return TeacherCache.open(file, source);
}

/** The training pairs with the teacher's translations as targets (translated once, resumably). */
async function teacherTargets(options: DistillOptions, data: TokenPair[] | Batcher): Promise<TokenPair[]> {
  const out = options.sequenceFile ?? (options.runDir ? path.join(options.runDir, 'sequence-kd.jsonl') : undefined);
  if (!out) throw new TypeError("distill: mode 'sequence' needs 'sequenceFile' or 'runDir' (where the teacher's translations are kept)");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const pairs = data instanceof Batcher ? [...data.pairs] : data;
  const log = options.log === undefined ? (l: string) => console.log(l) : options.log ?? (() => undefined);
  let last = 0;
  await onRankZero(options, () =>
    distillSequences(options.teacher, pairs.map((p) => p.src), {
      beamSize: 5,
      ...options.sequenceDecoding,
      out,
      onProgress: (done, total) => {
        if (done - last >= 500 || done === total) {
          log(`sequence-level KD: teacher translated ${done}/${total} sources`);
          last = done;
        }
      },
    }).then(() => undefined)
  );
  const targets = readDistilledTargets(out, pairs.length);
  return pairs.map((p, i) => ({ src: p.src, tgt: targets[i].tgt }));
}
