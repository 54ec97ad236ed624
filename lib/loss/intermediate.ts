/**
 * Intermediate-layer distillation (TinyBERT, MiniLM), for transformer students: besides the output
 * distribution, a student layer imitates the teacher layer it is mapped to —
 * - hidden states: `Σ_positions mean_d (W·h_s − h_t)²` over real (non-pad) positions, W a learned projection
 *   [D_t, D_s] when the widths differ (none when they match);
 * - attention: `Σ_queries mean_heads KL(p_t ‖ p_s)` over real query positions, for encoder self-attention,
 *   decoder self-attention and cross-attention; with different head counts both sides are averaged over heads
 *   first.
 * Sums over positions, like the fused loss's 'sum' reduction, so the trainer's division by the batch's target
 * tokens weighs every term alike. The teacher's tensors are read without gradient.
 */
import type { OptionReader } from '../common/options';
import type { Tensor } from '../tensor/tensor';
import { arange } from '../tensor/create';

/** Student layer i → teacher layer, per stack. */
export interface IntermediateLayerMap {
  /** For each student encoder layer, the teacher encoder layer it learns from. */
  encoder: number[];
  /** For each student decoder layer, the teacher decoder layer it learns from. */
  decoder: number[];
}

/** The intermediate-layer terms of `distill` (mode 'online' or 'sequence': they need the teacher's forward). */
export interface IntermediateKdOptions {
  /** Weight of the hidden-state term (default 0: off). */
  hidden?: number;
  /** Weight of the attention term (default 0: off). */
  attention?: number;
  /**
   * Which teacher layer each student layer imitates. Default: a cut student's own layer map (the layers it was
   * copied from), else uniform — student layer i of n maps to teacher layer ⌈(i+1)·m/n⌉ − 1 of m, so the last
   * maps to the last.
   */
  layerMap?: IntermediateLayerMap;
}

/** {@link IntermediateKdOptions} resolved. */
export interface ResolvedIntermediateKd {
  /** Weight of the hidden-state term. */
  hidden: number;
  /** Weight of the attention term. */
  attention: number;
  /** Which teacher layer each student layer imitates (undefined: the student's own map, else uniform). */
  layerMap?: IntermediateLayerMap;
}

/** The defaults of {@link IntermediateKdOptions}: both terms off. */
export const INTERMEDIATE_KD_DEFAULTS = Object.freeze({
  /** Weight of the hidden-state term. */
  hidden: 0,
  /** Weight of the attention term. */
  attention: 0,
});

/** Reads `distill`'s `intermediate` option (undefined when absent or both weights are 0). */
export function readIntermediateKd(r: OptionReader): ResolvedIntermediateKd | undefined {
  const raw = r.raw('intermediate');
  if (raw === undefined) return undefined;
  if (raw === null || typeof raw !== 'object') r.fail('intermediate', '{ hidden?, attention?, layerMap? }', true);
  const sub = r.nested('intermediate', ['hidden', 'attention', 'layerMap']);
  const hidden = sub.number('hidden', INTERMEDIATE_KD_DEFAULTS.hidden, { min: 0 });
  const attention = sub.number('attention', INTERMEDIATE_KD_DEFAULTS.attention, { min: 0 });
  const map = sub.raw('layerMap');
  const isList = (x: unknown) => Array.isArray(x) && x.every((i) => Number.isInteger(i) && i >= 0);
  if (
    map !== undefined &&
    !(map && typeof map === 'object' && isList((map as IntermediateLayerMap).encoder) && isList((map as IntermediateLayerMap).decoder))
  ) {
    sub.fail('layerMap', '{ encoder: number[], decoder: number[] } of teacher layer indices', true);
  }
  if (hidden === 0 && attention === 0) {
    // A map with both terms off would be silently ignored.
    if (map !== undefined) {
      throw new TypeError(
        `${sub.head}${sub.name('layerMap')} is given but both terms are off: set ${sub.name('hidden')} or ${sub.name('attention')} above 0`
      );
    }
    return undefined;
  }
  return { hidden, attention, layerMap: map as IntermediateLayerMap | undefined };
}

/** Uniform map of n student layers onto m teacher layers (the last onto the last). */
export function uniformLayerMap(n: number, m: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.ceil(((i + 1) * m) / n) - 1);
}

/** Checks a layer map against the two models' layer counts. */
export function checkLayerMap(
  map: IntermediateLayerMap,
  student: { encoder: number; decoder: number },
  teacher: { encoder: number; decoder: number }
): void {
  for (const side of ['encoder', 'decoder'] as const) {
    if (map[side].length !== student[side]) {
      throw new RangeError(
        `distill: intermediate.layerMap.${side} must name a teacher layer for each of the student's ${student[side]} ${side} layers, got ${map[side].length}`
      );
    }
    const bad = map[side].find((l) => l >= teacher[side]);
    if (bad !== undefined)
      throw new RangeError(`distill: intermediate.layerMap.${side} names teacher layer ${bad}, but the teacher has ${teacher[side]} ${side} layers`);
  }
}

/** [B, T] float mask: 1 at positions below each row's length. */
export function lengthMask(lengths: Tensor, width: number): Tensor {
  const positions = arange(width, undefined, 1, { dtype: 'int64', device: lengths.device }).unsqueeze(0);
  return positions.lt(lengths.unsqueeze(1)).to('float32');
}

/**
 * Hidden-state term of one stack: Σ over mapped layers and real positions of mean_d (W·h_s − h_t)².
 * `projection` W is [D_t, D_s], or undefined when the widths match.
 */
export function hiddenStateLoss(student: Tensor[], teacher: Tensor[], map: number[], mask: Tensor, projection?: Tensor): Tensor {
  let total: Tensor | undefined;
  student.forEach((hs, i) => {
    const s = projection ? hs.matmul(projection.transpose(0, 1)) : hs;
    const term = s.sub(teacher[map[i]].detach()).pow(2).mean(-1).mul(mask).sum();
    total = total ? total.add(term) : term;
  });
  return total!;
}

const FLOOR = 1e-12;

/**
 * Attention term of one kind of attention: Σ over mapped layers and real query positions of the mean over heads
 * of KL(p_t ‖ p_s) (keys the teacher gives no weight contribute nothing). Distributions are [B, H, Q, K].
 */
export function attentionLoss(student: Tensor[], teacher: Tensor[], map: number[], queryMask: Tensor): Tensor {
  let total: Tensor | undefined;
  student.forEach((ps, i) => {
    let p = ps;
    let q = teacher[map[i]].detach();
    if (p.shape[1] !== q.shape[1]) {
      p = p.mean(1, { keepdim: true });
      q = q.mean(1, { keepdim: true });
    }
    const kl = q.mul(q.maximum(FLOOR).log().sub(p.maximum(FLOOR).log())).sum(-1); // [B, H, Q]
    const term = kl.mean(1).mul(queryMask).sum();
    total = total ? total.add(term) : term;
  });
  return total!;
}
