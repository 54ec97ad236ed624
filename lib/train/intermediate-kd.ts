/**
 * `distill`'s intermediate-layer terms (option `intermediate`): the layer map (given, a cut student's own, or
 * uniform), the learned hidden-state projection when the widths differ (an auxiliary parameter the trainer
 * optimises and checkpoints), and the batch loss — the fused KD loss on both models' logits plus the weighted
 * hidden-state and attention terms of lib/loss/intermediate.ts.
 */
import type { Batch } from '../data/batch';
import { distillLossAsync, type DistillLossResult } from '../loss/distill';
import {
  attentionLoss,
  checkLayerMap,
  hiddenStateLoss,
  type IntermediateLayerMap,
  lengthMask,
  type ResolvedIntermediateKd,
  uniformLayerMap,
} from '../loss/intermediate';
import { CutStudent } from '../models/cut-student';
import type { ForwardInternals, Seq2Seq } from '../models/seq2seq';
import { randn } from '../tensor/create';
import { sameDevice } from '../tensor/device';
import { startWithoutGrad } from '../tensor/runtime';
import { tidy } from '../tensor/scope';
import type { Tensor } from '../tensor/tensor';

interface Sizes {
  encoder: number;
  decoder: number;
  width: number;
}

/** Layer counts and width of a transformer (a model with an XLM config), or an error naming the role. */
function sizesOf(model: Seq2Seq, role: string): Sizes {
  // A transformer is what has attention heads; a BiGRU has layer counts and widths too.
  const c = (model as { config?: { encoderLayers?: unknown; decoderLayers?: unknown; embDim?: unknown; nHeads?: unknown } }).config;
  if (
    !model.forwardInternalsAsync ||
    !c ||
    typeof c.nHeads !== 'number' ||
    typeof c.encoderLayers !== 'number' ||
    typeof c.decoderLayers !== 'number' ||
    typeof c.embDim !== 'number'
  ) {
    throw new TypeError(`distill: option 'intermediate' needs a transformer ${role} (its layers' states), not a ${model.kind} model`);
  }
  return { encoder: c.encoderLayers, decoder: c.decoderLayers, width: c.embDim };
}

/** What the intermediate terms need for a run: the layer map and the projection (when widths differ). */
export interface IntermediatePlan {
  options: ResolvedIntermediateKd;
  map: IntermediateLayerMap;
  /** W [D_teacher, D_student], trained with the student; undefined when the widths match. */
  projection?: Tensor;
}

export function planIntermediate(options: ResolvedIntermediateKd, student: Seq2Seq, teacher: Seq2Seq): IntermediatePlan {
  const s = sizesOf(student, 'student');
  const t = sizesOf(teacher, 'teacher');
  if (!sameDevice(student.device, teacher.device)) {
    throw new Error(`distill: option 'intermediate' needs the teacher on the student's device (${student.device}), not ${teacher.device}`);
  }
  const map =
    options.layerMap ??
    (student instanceof CutStudent
      ? { encoder: [...student.layerMap.encoder], decoder: [...student.layerMap.decoder] }
      : {
          encoder: uniformLayerMap(s.encoder, t.encoder),
          decoder: uniformLayerMap(s.decoder, t.decoder),
        });
  checkLayerMap(map, s, t);
  let projection: Tensor | undefined;
  if (options.hidden > 0 && s.width !== t.width) {
    projection = randn([t.width, s.width], { device: student.device }).mul(1 / Math.sqrt(s.width));
    projection.requiresGrad = true;
  }
  return { options, map, projection };
}

/** The auxiliary parameters the trainer must optimise and checkpoint. */
export function intermediateParameters(plan: IntermediatePlan | undefined): Map<string, Tensor> {
  return plan?.projection ? new Map([['intermediate.projection', plan.projection]]) : new Map<string, Tensor>();
}

function disposeAll(x: ForwardInternals): void {
  for (const t of [x.logits, ...x.encoderHidden, ...x.decoderHidden, ...x.encoderSelfAttention, ...x.decoderSelfAttention, ...x.crossAttention])
    t.dispose();
}

/** The batch loss: the fused KD loss on the logits plus the weighted intermediate terms. */
export async function intermediateBatchLoss(
  plan: IntermediatePlan,
  student: Seq2Seq,
  teacher: Seq2Seq,
  batch: Batch,
  loss: { alpha: number; temperature: number; labelSmoothing: number; ignoreIndex: number; reduction: 'sum' }
): Promise<DistillLossResult> {
  const { hidden, attention } = plan.options;
  const what = { hidden: hidden > 0, attention: attention > 0 };
  const s = await student.forwardInternalsAsync!(batch, what);
  let t: ForwardInternals | undefined;
  try {
    t = await startWithoutGrad(() => teacher.forwardInternalsAsync!(batch, what));
    const r = await distillLossAsync(s.logits, t.logits, batch.tgtOut, loss);
    const teacherSide = t;
    const total = tidy(() => {
      const src = lengthMask(batch.srcLen, batch.src.shape[1]);
      const tgt = lengthMask(batch.tgtLen, batch.tgtIn.shape[1]);
      const { map, projection } = plan;
      let extra = r.loss;
      if (hidden > 0) {
        const h = hiddenStateLoss(s.encoderHidden, teacherSide.encoderHidden, map.encoder, src, projection).add(
          hiddenStateLoss(s.decoderHidden, teacherSide.decoderHidden, map.decoder, tgt, projection)
        );
        extra = extra.add(h.mul(hidden));
      }
      if (attention > 0) {
        const a = attentionLoss(s.encoderSelfAttention, teacherSide.encoderSelfAttention, map.encoder, src)
          .add(attentionLoss(s.decoderSelfAttention, teacherSide.decoderSelfAttention, map.decoder, tgt))
          .add(attentionLoss(s.crossAttention, teacherSide.crossAttention, map.decoder, tgt));
        extra = extra.add(a.mul(attention));
      }
      return extra;
    });
    if (total !== r.loss) r.loss.dispose();
    return { loss: total, kd: r.kd, ce: r.ce };
  } finally {
    disposeAll(s);
    if (t) disposeAll(t);
  }
}
