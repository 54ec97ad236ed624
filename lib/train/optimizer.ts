/**
 * Adam and AdamW bound natively to a model's distinct parameters (native/optim): one native call steps them
 * all, with torch.optim's arithmetic, so a run equals `torch.optim.Adam/AdamW` on the same gradients.
 * Gradient clipping returns the norm; a non-finite norm makes the next `step()` a counted no-op, so a bad
 * batch never reaches the weights. State goes in and out as named tensors for checkpoints.
 */
import { OptionReader } from '../common/options';
import { native, type NativeOptimizer } from '../native';
import { Tensor } from '../tensor';

/** Options of {@link Adam} and {@link AdamW} (PyTorch's names and defaults, except `lr`). */
export interface AdamOptions {
  /** Learning rate of `step()` when none is given (default 1e-3); a schedule usually sets it per step. */
  lr?: number;
  /** Decay rates of the moment estimates (default [0.9, 0.999]; XLM's MT recipes use [0.9, 0.98]). */
  betas?: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** L2 penalty folded into the gradient (Adam) or decoupled decay of the weights (AdamW). Default 0 (AdamW: 0.01). */
  weightDecay?: number;
}

/** The defaults of {@link AdamOptions}: torch.optim.Adam's (AdamW's weight decay: 0.01, as torch.optim.AdamW). */
export const ADAM_DEFAULTS = Object.freeze({ lr: 1e-3, betas: Object.freeze<[number, number]>([0.9, 0.999]), eps: 1e-8, weightDecay: 0 });

/** Adam's `betas` option: two decay rates in [0, 1). */
export function readBetas(r: OptionReader, fallback: readonly [number, number]): [number, number] {
  const v = r.raw('betas') ?? fallback;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((b) => typeof b === 'number' && b >= 0 && b < 1)) r.fail('betas', 'two numbers in [0, 1)');
  const [b1, b2] = v as number[];
  return [b1, b2];
}

/** Parameters to optimize: a model's `namedParameters()` (names go into the state dict) or a plain list. */
export type OptimizerParameters = Map<string, Tensor> | Tensor[];

/** Adam (Kingma & Ba), as `torch.optim.Adam`. */
export class Adam {
  /** Learning rate used by `step()` when it is given none. */
  lr: number;
  private handle: NativeOptimizer | undefined;
  private readonly names: string[];

  constructor(params: OptimizerParameters, options: AdamOptions = {}) {
    const r = new OptionReader(this.constructor.name, options, ['lr', 'betas', 'eps', 'weightDecay']);
    const D = ADAM_DEFAULTS;
    this.lr = r.number('lr', D.lr, { min: 0 });
    const betas = readBetas(r, D.betas);
    const entries: [string, Tensor][] = params instanceof Map ? [...params] : params.map((t, i) => [String(i), t]);
    this.handle = native().optimAdam(
      entries.map(([, t]) => t.native),
      {
        decoupled: this.decoupled(),
        beta1: betas[0],
        beta2: betas[1],
        eps: r.number('eps', D.eps, { min: 0 }),
        weightDecay: r.number('weightDecay', this.defaultWeightDecay(), { min: 0 }),
      }
    );
    // The native side keeps each tensor once (tied weights), named here by its first entry.
    this.names = native()
      .optimParamIndices(this.handle)
      .map((i) => entries[i][0]);
  }

  /** @internal AdamW overrides: weight decay applied to the weights, not the gradient. */
  protected decoupled(): boolean {
    return false;
  }
  /** @internal */
  protected defaultWeightDecay(): number {
    return 0;
  }

  private get native(): NativeOptimizer {
    if (!this.handle) throw new Error(`${this.constructor.name}: the optimizer was disposed`);
    return this.handle;
  }

  /** Names of the distinct parameters, in the order of the state. */
  get parameterNames(): string[] {
    return [...this.names];
  }

  /**
   * Applies one update to every parameter that has a gradient. Returns false when it was skipped because
   * the last `clipGradNorm()` found a non-finite norm (see {@link skippedSteps}).
   */
  step(lr: number = this.lr): boolean {
    return native().optimStep(this.native, lr);
  }
  /** {@link step} on the compute thread; the event loop keeps running. */
  async stepAsync(lr: number = this.lr): Promise<boolean> {
    return native().optimStepAsync(this.native, lr);
  }

  /**
   * The 2-norm of all gradients together (as `torch.nn.utils.clip_grad_norm_` returns); scales the gradients
   * down to `maxNorm` when above it. Pass `Infinity` to only measure. A non-finite norm leaves the gradients
   * as they are and makes the next `step()` a no-op. Gradients of a loss multiplied by `gradScale` (fp16's
   * dynamic loss scale, see GradScaler) are divided by it in the same pass, and the norm is the unscaled one.
   */
  clipGradNorm(maxNorm: number, gradScale = 1): number {
    return native().optimClipGradNorm(this.native, maxNorm, gradScale);
  }
  /** {@link clipGradNorm} on the compute thread. */
  async clipGradNormAsync(maxNorm: number, gradScale = 1): Promise<number> {
    return native().optimClipGradNormAsync(this.native, maxNorm, gradScale);
  }

  /** Drops every gradient (PyTorch's `set_to_none`); the next backward starts from nothing. */
  zeroGrad(): void {
    native().optimZeroGrad(this.native);
  }

  /** Steps skipped because of a non-finite gradient norm, since creation (kept across stateDict round trips). */
  get skippedSteps(): number {
    return native().optimSkippedSteps(this.native);
  }

  /**
   * The state as named tensors (for safetensors): `exp_avg.NAME`, `exp_avg_sq.NAME` (copies) and `step.NAME`
   * (int64 scalar) per parameter, plus `skipped_steps`.
   */
  stateDict(): Map<string, Tensor> {
    const s = native().optimState(this.native);
    const out = new Map<string, Tensor>();
    this.names.forEach((name, i) => {
      out.set(`exp_avg.${name}`, new Tensor(s.expAvg[i]));
      out.set(`exp_avg_sq.${name}`, new Tensor(s.expAvgSq[i]));
      out.set(`step.${name}`, scalarInt(s.steps[i]));
    });
    out.set('skipped_steps', scalarInt(s.skipped));
    return out;
  }

  /** Restores a {@link stateDict}; every entry must be there with the parameter's shape and dtype. */
  loadStateDict(state: Map<string, Tensor>): void {
    const need = (key: string): Tensor => {
      const t = state.get(key);
      if (!t) throw new Error(`${this.constructor.name}.loadStateDict: the state has no '${key}' (is it from another model?)`);
      return t;
    };
    native().optimLoadState(
      this.native,
      this.names.map((n) => Number(need(`step.${n}`).item())),
      this.names.map((n) => need(`exp_avg.${n}`).native),
      this.names.map((n) => need(`exp_avg_sq.${n}`).native),
      Number(need('skipped_steps').item())
    );
  }

  /** Frees the moment tensors now (the parameters belong to the model). */
  dispose(): void {
    if (this.handle) native().optimDispose(this.handle);
    this.handle = undefined;
  }
}

/** AdamW (Loshchilov & Hutter): Adam with decoupled weight decay (default 0.01), as `torch.optim.AdamW`. */
export class AdamW extends Adam {
  protected override decoupled(): boolean {
    return true;
  }
  protected override defaultWeightDecay(): number {
    return 0.01;
  }
}

function scalarInt(n: number): Tensor {
  return new Tensor(native().fromBytes(new BigInt64Array([BigInt(n)]), [], 'int64'));
}
