/**
 * The loss family's options — temperature, alpha, label smoothing, the pad label and the reduction — with their
 * one set of defaults and their one check. The fused loss, cross-entropy, `train`, `distill` and the CLI all
 * resolve through here; the native kernels receive the resolved object and check only tensors.
 *
 * The defaults are the translation recipe, not PyTorch's neutral values: label smoothing 0.1 (Vaswani et al.
 * 2017, fairseq's translation examples), temperature 2 (Hinton et al. 2015; the value KD recipes for NMT use),
 * alpha 0.5 (equal weight to the teacher and the references). Pass `labelSmoothing: 0` for PyTorch's plain
 * `cross_entropy`, `temperature: 1` for the plain KL.
 */
import { type OptionNamer, OptionReader, optionNames } from '../common/options';

/** How per-token losses are combined: mean over non-pad tokens, their sum, or one value per token. */
export type Reduction = 'mean' | 'sum' | 'none';

/** The loss options every loss function and training run takes. */
export interface LossOptions {
  /** Softmax temperature T of the KD term, a finite number > 0. Default 2. */
  temperature?: number;
  /** Weight of the KD term, in [0, 1]; the CE term gets 1 − alpha. Default 0.5. */
  alpha?: number;
  /** Label smoothing ε of the CE term, in [0, 1): the target is (1 − ε)·onehot(y) + ε/V. Default 0.1. */
  labelSmoothing?: number;
  /** Label of pad tokens, which are left out of loss and gradient. Default 2 (XLM's pad id). */
  ignoreIndex?: number;
  /** Default 'mean' (over non-pad tokens). */
  reduction?: Reduction;
}

/** The defaults of {@link LossOptions}: see this file's header for why these values. */
export const LOSS_DEFAULTS: Readonly<Required<LossOptions>> = Object.freeze({
  temperature: 2,
  alpha: 0.5,
  labelSmoothing: 0.1,
  ignoreIndex: 2,
  reduction: 'mean',
});

/** Every field filled and checked. */
export type ResolvedLossOptions = Required<LossOptions>;

/** The keys of {@link LossOptions}. */
export const LOSS_OPTION_KEYS: readonly string[] = Object.keys(LOSS_DEFAULTS);

/** Where and how {@link resolveLossOptions} reads. */
export interface LossOptionsContext {
  /** The reductions this form offers (default all three). */
  reductions?: readonly Reduction[];
  /** Keys the caller reads itself from the same object (e.g. the chunked form's chunkSize). */
  extraKeys?: readonly string[];
  /** How options are named in errors (the CLI names its flags). */
  names?: OptionNamer;
}

/** Fills {@link LOSS_DEFAULTS} into `opts` and checks every value; errors name the option and `where`. */
export function resolveLossOptions(where: string, opts: unknown, context: LossOptionsContext = {}): ResolvedLossOptions {
  const r = new OptionReader(where, opts, [...LOSS_OPTION_KEYS, ...(context.extraKeys ?? [])], context.names ?? optionNames);
  return readLossOptions(r, context.reductions);
}

/** The loss fields of an options object that carries others too (the trainer's), read with its reader. */
export function readLossOptions(r: OptionReader, reductions: readonly Reduction[] = ['mean', 'sum', 'none']): ResolvedLossOptions {
  return {
    temperature: r.number('temperature', LOSS_DEFAULTS.temperature, { min: 0, above: true }),
    alpha: r.number('alpha', LOSS_DEFAULTS.alpha, { min: 0, max: 1 }),
    labelSmoothing: r.number('labelSmoothing', LOSS_DEFAULTS.labelSmoothing, { min: 0, max: 1, below: true }),
    ignoreIndex: r.number('ignoreIndex', LOSS_DEFAULTS.ignoreIndex, { integer: true }),
    reduction: r.oneOf('reduction', reductions, LOSS_DEFAULTS.reduction),
  };
}
