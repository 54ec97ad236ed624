/**
 * Dynamic loss scaling for fp16 training, as `torch.amp.GradScaler`: the loss is multiplied by a scale before
 * backward so small float16 gradients do not flush to zero; the optimizer step divides it out again (in the
 * clipping pass, Adam.clipGradNorm's `gradScale`). An update whose gradients overflowed is skipped and the scale
 * halves; after `growthInterval` clean updates in a row it doubles. The scale and the run of clean updates go
 * into every checkpoint, so a resumed fp16 run continues with the same scale.
 */
import { type Tensor, tensor } from '../tensor';

/** torch.amp.GradScaler's defaults. */
export const GRAD_SCALER_DEFAULTS = Object.freeze({ initScale: 2 ** 16, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2000 });

export class GradScaler {
  /** The current loss scale. */
  scale: number = GRAD_SCALER_DEFAULTS.initScale;
  /** Clean updates since the scale last changed. */
  growthTracker = 0;

  /**
   * After an update's gradients were checked: an overflow (non-finite unscaled norm) halves the scale, a run of
   * `growthInterval` clean updates doubles it.
   */
  update(overflow: boolean): void {
    const D = GRAD_SCALER_DEFAULTS;
    if (overflow) {
      this.scale *= D.backoffFactor;
      this.growthTracker = 0;
      return;
    }
    this.growthTracker += 1;
    if (this.growthTracker === D.growthInterval) {
      this.scale *= D.growthFactor;
      this.growthTracker = 0;
    }
  }

  /** Its state for a checkpoint, as `scaler.state` (float64 [scale, growthTracker]). */
  stateDict(): Map<string, Tensor> {
    return new Map([['scaler.state', tensor([this.scale, this.growthTracker], { dtype: 'float64' })]]);
  }

  /** Restores {@link stateDict}'s state; throws when the checkpoint has none (it was not an fp16 run). */
  loadStateDict(tensors: Map<string, Tensor>, where: string): void {
    const t = tensors.get('scaler.state');
    if (!t) throw new Error(`${where} has no loss-scaler state: it was not written by an fp16 run`);
    const [scale, tracker] = Array.from(t.toArray() as Float64Array);
    if (!(scale > 0) || !Number.isInteger(tracker) || tracker < 0) throw new Error(`${where} holds a bad loss-scaler state [${scale}, ${tracker}]`);
    this.scale = scale;
    this.growthTracker = tracker;
  }
}
