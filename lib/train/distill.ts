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
 *   (written once to the token store `runDir/sequence-kd.r*` by distillSequences, resumable) replace the references;
 *   the student then trains on them with the same loss (alpha 0 = plain cross-entropy on the teacher's outputs).
 * `intermediate` adds hidden-state and attention terms of mapped layers (online and sequence; lib/train/intermediate-kd.ts).
 * With a ProcessGroup, 'online' runs each rank's own teacher on its own batches; for 'offline' and 'sequence'
 * rank 0 builds the teacher cache once while the others wait at a barrier, every rank translates its share of
 * 'sequence''s sources, and every rank then reads the files.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { Batcher } from '../data/batcher';
import { ArrayPairSource, isPairSource, type PairSource, sideOf, SidesPairSource, type TokenPair } from '../data/pair-source';
import { defaultChunkSize, distillLossAsync, distillLossChunkedAsync, type DistillLossResult } from '../loss/distill';
import type { Batch } from '../data/batch';
import type { Seq2Seq } from '../models/seq2seq';
import { startWithoutGrad } from '../tensor/runtime';
import { sameDevice } from '../tensor/device';
import type { Device } from '../tensor/dtype';
import type { Tensor } from '../tensor/tensor';
import { distillSequences, DistilledTargets } from './sequence-kd';
import { buildTeacherCache, TeacherCache } from './teacher-cache';
import { alphaAt, DISTILL_DEFAULTS, type DistillOptions, resolveDistillOptions, type ResolvedDistillOptions } from './distill-options';
import { runTraining, type TrainResult } from './trainer';
import { intermediateBatchLoss, intermediateParameters, planIntermediate } from './intermediate-kd';

export type { DistillOptions, DistillMode, DistillLossForm } from './distill-options';

/** Distils `teacher` into `student`; the teacher is never trained. */
export async function distill(options: DistillOptions): Promise<TrainResult> {
  const o = resolveDistillOptions('distill', options);
  const { teacher, student, mode, alpha, temperature, lossForm } = o;
  const { labelSmoothing } = o.training;
  // `device` moves both models; a teacher left on another device gets the student's batches moved to it and
  // hands its outputs back (teacherOutputs).
  if (o.training.device !== undefined) teacher.to(o.training.device);
  teacher.eval();

  let data = o.training.data;
  if (mode === 'sequence') data = await teacherTargets(o, data);
  // alpha may follow a schedule (alphaSchedule): the loss options of the update about to be made.
  const lossAt = (step: number) => ({
    alpha: alphaAt(o, step),
    temperature,
    labelSmoothing,
    ignoreIndex: student.padIndex,
    reduction: 'sum' as const,
  });
  const describe = {
    task: 'distill',
    mode,
    alpha,
    temperature,
    labelSmoothing,
    teacher: { kind: teacher.kind, parameters: teacher.numParameters() },
    ...(o.alphaSchedule ? { alphaSchedule: o.alphaSchedule } : {}),
  };
  if (mode === 'offline') {
    const batcher = data instanceof Batcher ? data : new Batcher(data, { seed: o.training.seed, ...o.training.batching });
    const cache = await openCache(o, batcher);
    try {
      return await runTraining(
        student,
        async (m, batch, plan, step) => {
          const s = await m.forwardAsync(batch);
          const t = cache.sparseTeacher(plan.indices, batch.tgtOut.shape[1], batch.src.device);
          try {
            return await distillLossAsync(s, t, batch.tgtOut, lossAt(step));
          } finally {
            for (const x of [s, t.indices, t.logProbs]) x.dispose();
          }
        },
        { ...o.training, data: batcher },
        { ...describe, topK: cache.header.k }
      );
    } finally {
      cache.close();
    }
  }
  const plan = o.intermediate ? planIntermediate(o.intermediate, student, teacher) : undefined;
  if (plan) {
    const { hidden, attention } = plan.options;
    return runTraining(
      student,
      (m, batch, _plan, step) => intermediateBatchLoss(plan, m, teacher, batch, lossAt(step)),
      { ...o.training, data },
      { ...describe, intermediate: { hidden, attention, layerMap: plan.map } },
      intermediateParameters(plan)
    );
  }
  // 'auto': dense while the logits fit comfortably — on a GPU, while the device's chunk rule would take the whole
  // batch in one chunk (a quarter of its free memory); on the CPU, up to chunkedAboveBytes.
  const chunked = (batch: Batch) => {
    if (lossForm !== 'auto') return lossForm === 'chunked';
    const rows = batch.tgtOut.numel;
    if (student.device !== 'cpu') return defaultChunkSize(rows, student.vocabSize, { device: student.device }) < rows;
    return rows * student.vocabSize * 4 > DISTILL_DEFAULTS.chunkedAboveBytes;
  };
  return runTraining(
    student,
    async (m, batch, _plan, step) => {
      const loss = lossAt(step);
      if (chunked(batch)) return chunkedLoss(m, teacher, batch, loss.alpha, loss);
      const s = await m.forwardAsync(batch);
      // With alpha = 0 the kernel never reads the teacher: skip its forward.
      const t = loss.alpha > 0 ? await teacherOutputs(teacher, batch, (b) => teacher.forwardAsync(b)) : s.detach();
      try {
        return await distillLossAsync(s, t, batch.tgtOut, loss);
      } finally {
        s.dispose();
        t.dispose();
      }
    },
    { ...o.training, data },
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
  const th = alpha > 0 ? await teacherOutputs(teacher, batch, (b) => teacher.forwardHiddenAsync(b)) : h.detach();
  const tp = alpha > 0 ? onDevice(teacher.outputProjection(), batch.src.device) : { weight: own.weight.detach(), bias: own.bias?.detach() ?? null };
  try {
    return await distillLossChunkedAsync(h, own.weight, own.bias, { hidden: th, weight: tp.weight, bias: tp.bias }, batch.tgtOut, loss);
  } finally {
    for (const x of [h, th, own.weight, own.bias, tp.weight, tp.bias]) x?.dispose();
  }
}

/**
 * A teacher forward (no grad) on the student's batch, run where the teacher is: the batch goes to the teacher's
 * device when that differs, and the output comes back to the batch's.
 */
async function teacherOutputs(teacher: Seq2Seq, batch: Batch, forward: (b: Batch) => Promise<Tensor>): Promise<Tensor> {
  const there = batch.to(teacher.device);
  try {
    const out = await startWithoutGrad(() => forward(there));
    if (sameDevice(out.device, batch.src.device)) return out;
    const back = out.to(batch.src.device);
    out.dispose();
    return back;
  } finally {
    if (there !== batch) there.dispose();
  }
}

/** The teacher's output projection on the student's device. */
function onDevice(p: { weight: Tensor; bias: Tensor | null }, device: Device): { weight: Tensor; bias: Tensor | null } {
  if (sameDevice(p.weight.device, device)) return p;
  const moved = { weight: p.weight.to(device), bias: p.bias?.to(device) ?? null };
  p.weight.dispose();
  p.bias?.dispose();
  return moved;
}

/**
 * Runs `work` (the teacher's translations or cache, written to a file every rank reads) on rank 0 alone; the
 * other ranks wait for it (bounded by the group's timeout).
 */
async function onRankZero(o: ResolvedDistillOptions, work: () => Promise<void>): Promise<void> {
  const group = o.training.group && o.training.group.worldSize > 1 ? o.training.group : undefined;
  if (!group || group.rank === 0) await work();
  await group?.barrier();
}

/** Builds (or resumes, or reuses) the teacher's top-k cache of the batcher's pairs and opens it. */
async function openCache(o: ResolvedDistillOptions, batcher: Batcher): Promise<TeacherCache> {
  const { runDir } = o.training;
  const file = o.cacheFile ?? (runDir ? path.join(runDir, 'teacher-topk.cache') : undefined);
  if (!file) throw new TypeError("distill: mode 'offline' needs 'cacheFile' or 'runDir' (where the teacher's top-k cache is kept)");
  if (runDir) fs.mkdirSync(runDir, { recursive: true });
  const log = logOf(o);
  const source = { teacher: o.teacher, pairs: batcher.source, k: o.topK, tokenizer: o.tokenizerModel };
  let last = 0;
  await onRankZero(o, async () => {
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
    log(
      `offline KD: cache ${file}, ${(built.bytes / 2 ** 20).toFixed(1)} MB (${built.rows} target tokens x top-${built.k}, int32 ids + float16 log-probs)`
    );
  });
  return TeacherCache.open(file, source);
}

/**
 * The training pairs with the teacher's translations as targets (translated once, resumably). With a process
 * group every rank translates its share (sources i with i % ranks = rank) into its own part, then all read all.
 */
async function teacherTargets(o: ResolvedDistillOptions, data: TokenPair[] | PairSource | Batcher): Promise<PairSource> {
  const { runDir } = o.training;
  const out = o.sequenceFile ?? (runDir ? path.join(runDir, 'sequence-kd') : undefined);
  if (!out) throw new TypeError("distill: mode 'sequence' needs 'sequenceFile' or 'runDir' (where the teacher's translations are kept)");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const pairs: PairSource = data instanceof Batcher ? data.source : isPairSource(data) ? data : new ArrayPairSource(data, 'data');
  const log = logOf(o);
  const group = o.training.group && o.training.group.worldSize > 1 ? o.training.group : undefined;
  let last = 0;
  await distillSequences(o.teacher, pairs, {
    ...o.sequenceDecoding,
    out,
    rank: group?.rank ?? 0,
    worldSize: group?.worldSize ?? 1,
    tokenizerHash: o.tokenizerModel ? createHash('sha256').update(o.tokenizerModel).digest('hex') : undefined,
    onProgress: (done, total) => {
      if (done - last >= 500 || done === total) {
        log(`sequence-level KD: teacher translated ${done}/${total} sources${group ? ` (rank ${group.rank}'s share)` : ''}`);
        last = done;
      }
    },
  });
  await group?.barrier();
  return new SidesPairSource(sideOf(pairs, 'src'), DistilledTargets.open(out, pairs.size), {
    src: 'training sources',
    tgt: `teacher translations ${out}`,
  });
}

function logOf(o: ResolvedDistillOptions): (line: string) => void {
  const { log } = o.training;
  return log === undefined ? (l: string) => console.log(l) : (log ?? (() => undefined));
}
