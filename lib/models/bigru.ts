/**
 * BiGruStudent: the small, fast student — a bidirectional-GRU encoder over packed sequences and
 * a GRU decoder with content-based attention and input feeding (Luong et al. 2015), implemented natively
 * (native/modules/bigru_seq2seq.{h,cc}) behind the same {@link Seq2Seq} interface as the XLM teacher, so
 * training, distillation and beam search drive it with the same code.
 *
 * ```ts
 * const student = BiGruStudent.create({ vocabSize: 32000 });       // defaults: see BIGRU_DEFAULTS
 * const logits = student.forward(Batch.from({ src, tgt }));        // [B, T, V]
 * await student.save('student.safetensors');
 * const again = await BiGruStudent.load('student.safetensors');
 * ```
 *
 * The model, in one line per part (bench/reference/bigru.py is the same model in PyTorch):
 * - encoder: embeddings → dropout → `encoderLayers`-layer bidirectional GRU over the packed batch (pads never
 *   enter the recurrence), dropout between layers; outputs `[B, S, 2·hiddenSize]`.
 * - bridge: each decoder layer starts from `tanh(Linear(2H → H)([h_fwd; h_bwd]))` of an encoder layer (the
 *   layers aligned from the top; with equal depths layer l → layer l).
 * - decoder: GRU over `[emb(y_{t-1}); h̃_{t-1}]` (input feeding), attention over the encoder outputs with
 *   source pads masked, `h̃_t = tanh(W_c [context; h_t])`, output layer over the vocabulary (tied to the
 *   decoder embeddings when `tieEmbeddings`).
 * Source and target language ids are accepted and ignored (no language embeddings).
 */
import type { OptionNamer } from '../common/options';
import { checkSpecialIds, configNames, configReader } from './config';
import { loadModelFile } from './model-file';
import { type BaseModelConfig, NativeSeq2Seq, type NativeModuleHandle, createNativeModule } from './native-model';

/**
 * The attention score.
 * - `'luong'` (default): Luong's "general" score `h_tᵀ W s_j` — one batched matmul per step against keys
 *   `W s_j` computed once per source, the cheapest choice for the many steps of beam search.
 * - `'bahdanau'`: the additive score `vᵀ tanh(W_k s_j + W_q h_t)` — a little more expressive, one
 *   `[N, S, H]` tanh per step. The query is the current decoder state in both (a Luong-style decoder).
 */
export type BiGruAttentionType = 'luong' | 'bahdanau';

/** The full BiGRU config, as saved in a model file's metadata. */
export interface BiGruConfig extends BaseModelConfig {
  /** Size of the shared BPE vocabulary (source and target). Required. */
  vocabSize: number;
  /** Embedding size of both embeddings. Default 256. */
  embDim: number;
  /** GRU size: per direction in the encoder (outputs are 2×), and the decoder's. Default 256. */
  hiddenSize: number;
  /** Bidirectional encoder layers. Default 1. */
  encoderLayers: number;
  /** Decoder GRU layers. Default 1. */
  decoderLayers: number;
  /** Dropout on embeddings, between GRU layers and on the attentional vector (training only). Default 0.1. */
  dropout: number;
  /** Attention score. Default `'luong'`. */
  attention: BiGruAttentionType;
  /** Output layer shares the decoder embedding matrix (needs `embDim === hiddenSize`). Default: `embDim === hiddenSize`. */
  tieEmbeddings: boolean;
  /** Padding id. Default 2 (XLM's `<pad>`). */
  padIndex: number;
  /** End-of-sentence id. Default 1 (XLM's `</s>`). */
  eosIndex: number;
}

/** What {@link BiGruStudent.create} takes: `vocabSize` and any fields to override. */
export type BiGruOptions = Partial<BiGruConfig> & { vocabSize: number };

/**
 * Defaults: a 1-1 layer, 256-wide student (about 18M parameters at a 32k vocabulary, most of them the two
 * embedding matrices) that decodes several times faster than a 6-6 transformer teacher.
 */
export const BIGRU_DEFAULTS: Readonly<Omit<BiGruConfig, 'vocabSize' | 'tieEmbeddings'>> = Object.freeze({
  embDim: 256,
  hiddenSize: 256,
  encoderLayers: 1,
  decoderLayers: 1,
  dropout: 0.1,
  attention: 'luong',
  padIndex: 2,
  eosIndex: 1,
});

const CONFIG_KEYS: ReadonlyArray<keyof BiGruConfig> = [
  'vocabSize',
  'embDim',
  'hiddenSize',
  'encoderLayers',
  'decoderLayers',
  'dropout',
  'attention',
  'tieEmbeddings',
  'padIndex',
  'eosIndex',
];

/** Model type written to (and expected in) a file's metadata. */
const MODEL_TYPE = 'bigru-student';

/** Fills {@link BIGRU_DEFAULTS} and checks every field; errors name the field. */
function resolveBiGruConfig(options: unknown, where: string, names: OptionNamer = configNames): BiGruConfig {
  const r = configReader(options, where, CONFIG_KEYS, names);
  const D = BIGRU_DEFAULTS;
  const embDim = r.integer('embDim', D.embDim, 1);
  const hiddenSize = r.integer('hiddenSize', D.hiddenSize, 1);
  const c: BiGruConfig = {
    vocabSize: r.integer('vocabSize', 1, 1),
    embDim,
    hiddenSize,
    encoderLayers: r.integer('encoderLayers', D.encoderLayers, 1),
    decoderLayers: r.integer('decoderLayers', D.decoderLayers, 1),
    dropout: r.number('dropout', D.dropout, { min: 0, max: 1, below: true }),
    attention: r.oneOf('attention', ['luong', 'bahdanau'] as const, D.attention),
    // Tied when the sizes allow it: the output layer reads the hiddenSize-wide attentional vector.
    tieEmbeddings: r.boolean('tieEmbeddings', embDim === hiddenSize),
    padIndex: r.integer('padIndex', D.padIndex, 0),
    eosIndex: r.integer('eosIndex', D.eosIndex, 0),
  };
  if (c.tieEmbeddings && embDim !== hiddenSize) {
    throw new RangeError(
      `${r.head}${r.name('tieEmbeddings')} needs embDim == hiddenSize (the output layer reads the hiddenSize-dim attentional vector), got embDim ${embDim} and hiddenSize ${hiddenSize}`
    );
  }
  checkSpecialIds(c, ['padIndex', 'eosIndex'], r);
  return c;
}

export class BiGruStudent extends NativeSeq2Seq<BiGruConfig> {
  readonly kind = MODEL_TYPE;

  private constructor(handle: NativeModuleHandle, config: BiGruConfig) {
    super(handle, Object.freeze(config));
  }

  /**
   * A freshly initialised BiGRU (embeddings ~ N(0, 1/embDim), LibTorch's defaults elsewhere; seed with
   * `manualSeed` for reproducible weights). Throws a TypeError/RangeError naming the bad field: missing
   * `vocabSize`, a non-positive size, an unknown `attention`, `tieEmbeddings` with `embDim !== hiddenSize`,
   * an unknown key.
   */
  static create(options: BiGruOptions): BiGruStudent {
    const config = resolveBiGruConfig(options, 'BiGruStudent.create');
    return new BiGruStudent(createNativeModule('bigru', config), config);
  }

  /**
   * Loads a model written by {@link save} (or by bench/reference/bigru.py): checks the file's `model_type`
   * is `'bigru-student'`, rebuilds the model from the config in its metadata and copies every weight (the
   * names and shapes must match exactly). The model is on the CPU, in eval mode.
   */
  static async load(path: string): Promise<BiGruStudent> {
    const where = `BiGruStudent.load(${JSON.stringify(path)})`;
    return loadModelFile(path, MODEL_TYPE, where, (options) => {
      const config = resolveBiGruConfig(options, `${where}: bad config`);
      return new BiGruStudent(createNativeModule('bigru', config), config);
    });
  }
}
