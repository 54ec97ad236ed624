/**
 * Teacher: XLM's translation transformer (facebookresearch/XLM `TransformerModel`, MT configuration), the big
 * model students learn from, implemented natively (native/modules/xlm_transformer.{h,cc}) behind the
 * {@link Seq2Seq} interface.
 *
 * ```ts
 * const teacher = Teacher.create({ vocabSize: 32000 });            // 6+6 layers, 512 wide, 8 heads
 * const logits = teacher.forward(Batch.from({ src, tgt }));        // [B, T, V]
 * await teacher.save('teacher.safetensors');
 * const again = await Teacher.load('teacher.safetensors');         // or a converted Facebook checkpoint
 * ```
 *
 * The model (bench/reference/xlm.py is the same model in PyTorch, and its header the file format):
 * - embeddings + learned (or sinusoidal) positions [+ language embeddings when `nLangs > 1`], LayerNorm,
 *   dropout; pads zeroed.
 * - post-LayerNorm blocks: `LN1(x + SelfAttn(x))`, decoder-only `LN15(x + CrossAttn(x, enc))`,
 *   `LN2(x + FFN(x))` with FFN width 4·embDim and GELU (erf) or ReLU; LayerNorm eps 1e-12; dropout on the
 *   attention weights; source pads masked; the decoder is causal.
 * - output layer `pred_layer.proj`: weight tied to the decoder's embeddings, its own bias.
 * - targets start with `</s>` (id 1), as in XLM; {@link Batch.from} frames them so.
 *
 * Weights carry XLM's state-dict names under `encoder.` / `decoder.` (`embeddings.weight`,
 * `position_embeddings.weight`, `lang_embeddings.weight`, `layer_norm_emb.*`, `attentions.{i}.{q,k,v,out}_lin.*`,
 * `layer_norm1.{i}.*`, `ffns.{i}.lin{1,2}.*`, `layer_norm2.{i}.*`, `layer_norm15.{i}.*`, `encoder_attn.{i}.*`,
 * `pred_layer.proj.*`); {@link stateDict} lists the tied `pred_layer.proj.weight` under its own name too, as
 * XLM's state dicts do, while {@link namedParameters} and {@link parameters} hold it once.
 * tools/convert-xlm-checkpoint.py turns Facebook XLM `.pth` checkpoints into files {@link Teacher.load} reads.
 */
import type { XlmConfig, XlmOptions } from './config';
import type { NativeModuleHandle } from './native-model';
import { loadModelFile } from './model-file';
import { checkTiedWeights, createXlmModule, XlmModel } from './xlm';

/** Model type written to (and expected in) a file's `model_type` metadata. */
const MODEL_TYPE = 'xlm-teacher';

export class Teacher extends XlmModel {
  readonly kind = MODEL_TYPE;

  private constructor(
    handle: NativeModuleHandle,
    config: XlmConfig,
    /**
     * Metadata of the file the teacher was loaded from other than `model_type` and `config` (the converter
     * writes `langs`, `source` and `xlm_params`); written back unchanged by {@link save}.
     */
    readonly extraMetadata: Readonly<Record<string, string>> = {}
  ) {
    super(handle, Object.freeze(config));
  }

  protected override metadata(): Record<string, string> {
    return { ...this.extraMetadata, ...super.metadata() };
  }

  /**
   * A freshly initialised teacher, as XLM initialises one: word, position and language embeddings
   * N(0, embDim^-1/2) with the pad row zero, LibTorch's (= PyTorch's) defaults for linear layers, LayerNorms
   * at one/zero, a zero output bias. Unset keys take {@link XLM_DEFAULTS}; seed with `manualSeed` for
   * reproducible weights. The model starts in training mode.
   * @throws TypeError / RangeError naming the field: missing `vocabSize`, an unknown key, a non-integer or
   *   non-positive size, `embDim` not divisible by `nHeads`, a special id >= `vocabSize`, a dropout outside
   *   [0, 1), an unknown activation.
   */
  static create(options: XlmOptions): Teacher {
    const { handle, config } = createXlmModule(options, 'Teacher.create');
    return new Teacher(handle, config);
  }

  /**
   * Loads a teacher written by {@link save}, by bench/reference/xlm.py or by tools/convert-xlm-checkpoint.py:
   * the file's `model_type` must be `'xlm-teacher'` and its `config` metadata (JSON) builds the model; every
   * weight must be present with the right shape (nothing else may be), and each side's
   * `pred_layer.proj.weight` must equal its `embeddings.weight`, since XLM ties them. The teacher comes back on
   * the CPU, in eval mode.
   * @throws Error naming the file for a missing, truncated or corrupt file, another model type, missing or
   *   bad config metadata, untied output weights, missing/unexpected names or wrong shapes.
   */
  static async load(path: string): Promise<Teacher> {
    const where = `Teacher.load(${JSON.stringify(path)})`;
    return loadModelFile(
      path,
      MODEL_TYPE,
      where,
      (config, metadata) => {
        const { handle, config: resolved } = createXlmModule(config, `${where}: bad config`);
        const extra = Object.fromEntries(Object.entries(metadata).filter(([k]) => k !== 'model_type' && k !== 'config'));
        return new Teacher(handle, resolved, Object.freeze(extra));
      },
      (tensors) => checkTiedWeights(tensors, where)
    );
  }
}
