// The XLM teacher: XLM's TransformerModel (facebookresearch/XLM, MT configuration) in LibTorch. One
// TransformerStack class is the encoder or the decoder; XlmSeq2Seq pairs them behind the Seq2SeqModule
// interface (model kind "xlm"; the TS Teacher and cut students both use it). bench/reference/xlm.py is the
// same model in plain PyTorch and its header is the spec (names, metadata, framing); parity tests hold the two
// to 1e-4.
//
//   embed    x = embeddings(ids) + pos(t) [+ lang_embeddings(lang) when nLangs > 1 and a language is given]
//            x = dropout(layer_norm_emb(x)) * mask                 mask: t < length (pads become zero)
//   layer i  x = LN1(x + dropout(SelfAttn(x)))        encoder: source pads masked; decoder: causal only
//            x = LN15(x + dropout(CrossAttn(x, enc))) decoder only; source pads masked
//            x = LN2(x + dropout(lin2(act(lin1(x))))) * mask      act: GELU (erf form) or ReLU; lin1 is 4·dim
//   attn     softmax((q / sqrt(dh)) kᵀ, masked keys at -inf, in float32) -> attention dropout -> · v -> out_lin
//   logits   x · embeddings.weightᵀ + pred_layer.proj.bias         (pred_layer.proj.weight IS embeddings.weight)
//   LayerNorm eps 1e-12 everywhere; positions learned (maxPositions rows) or sinusoidal (computed, never saved).
//   Init as XLM: embeddings N(0, dim^-1/2) with the pad row zero, LibTorch's Linear defaults, zero output bias.
//
// Parameter names are XLM's, under `encoder.` / `decoder.`: position_embeddings.weight, lang_embeddings.weight,
// embeddings.weight, layer_norm_emb.*, attentions.{i}.{q,k,v,out}_lin.*, layer_norm1.{i}.*, ffns.{i}.lin{1,2}.*,
// layer_norm2.{i}.*, decoder-only layer_norm15.{i}.* and encoder_attn.{i}.*, pred_layer.proj.{weight,bias}.
//
// Incremental decoding: encode() runs the encoder and computes every layer's cross-attention keys/values once;
// decodeStep() embeds only the new position, appends its self-attention keys/values to the per-layer caches
// and attends over them (no mask needed: every cached position precedes it).
#pragma once
#include "modules/seq2seq_module.h"

namespace xkt {

// The config as lib/models/config.ts resolved it (defaults and checks live there; every field is given).
struct XlmConfig {
  int64_t vocabSize = 0;
  int64_t embDim = 0;
  int64_t nHeads = 0;
  int64_t encoderLayers = 0;
  int64_t decoderLayers = 0;
  double dropout = 0;
  double attentionDropout = 0;
  bool gelu = true;  // activation 'gelu' (erf form) or 'relu'
  int64_t nLangs = 0;
  int64_t padIndex = 0;
  int64_t eosIndex = 0;
  int64_t unkIndex = 0;
  int64_t maxPositions = 0;
  bool sinusoidal = false;
};

// XLM's MultiHeadAttention: q_lin, k_lin, v_lin, out_lin (all [D, D] with bias).
class MultiHeadAttentionImpl : public torch::nn::Module {
 public:
  MultiHeadAttentionImpl(int64_t dim, int64_t heads, double attentionDropout);
  // [N, L, D] -> [N, H, L, dh]
  torch::Tensor split(const torch::Tensor& x) const;
  // x [N, Q, D] attends to k, v [N / group, H, K, dh]: rows n .. n + group - 1 share keys/values n / group.
  // `masked` (bool, broadcastable to [N / group, H, group·Q, K], true = may NOT attend) may be undefined.
  // -> [N, Q, D] (after out_lin)
  // `q` [N, Q, D], when given, is q_lin(x) already computed (a fused q/k/v projection).
  // `probs`, when given, receives the attention distribution before dropout [N, H, Q, K].
  torch::Tensor attend(const torch::Tensor& x, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor& masked, int64_t group = 1, const torch::Tensor& q = {},
                       torch::Tensor* probs = nullptr);
  // The layer through its inference kernel when the model has one (the model's KernelTable).
  torch::Tensor lin(const torch::nn::Linear& layer, const torch::Tensor& x) const {
    return kernels ? kernels->linear(layer, x) : torch::linear(x, layer->weight, layer->bias);
  }
  int64_t dim, heads;
  double attentionDropout;
  torch::nn::Linear q_lin{nullptr}, k_lin{nullptr}, v_lin{nullptr}, out_lin{nullptr};
  std::shared_ptr<KernelTable> kernels;
};
TORCH_MODULE(MultiHeadAttention);

// XLM's TransformerFFN: dropout(lin2(act(lin1(x)))), lin1 [4D, D], lin2 [D, 4D].
class FeedForwardImpl : public torch::nn::Module {
 public:
  FeedForwardImpl(int64_t dim, int64_t hidden, double dropout, bool gelu);
  torch::Tensor forward(const torch::Tensor& x);
  double dropout;
  bool gelu;
  torch::nn::Linear lin1{nullptr}, lin2{nullptr};
  std::shared_ptr<KernelTable> kernels;
};
TORCH_MODULE(FeedForward);

// pred_layer.proj: its weight is the stack's embeddings tensor (registered under both names), its bias its own.
class TiedProjectionImpl : public torch::nn::Module {
 public:
  TiedProjectionImpl(const torch::Tensor& tiedWeight, int64_t vocab);
  torch::Tensor weight, bias;
};
TORCH_MODULE(TiedProjection);

class PredLayerImpl : public torch::nn::Module {
 public:
  PredLayerImpl(const torch::Tensor& tiedWeight, int64_t vocab);
  TiedProjection proj{nullptr};
};
TORCH_MODULE(PredLayer);

// What encode() produces and decodeStep() grows. The source side is kept once per slot, hypothesis n reads
// slot n / group (source_groups.h): a sentence's beams share its encoder output and cross-attention
// keys/values, and its K queries attend to them in one matrix product.
struct XlmDecoderState : DecoderState {
  torch::Tensor encoderOut;                   // [G, S, D] (zeros at pads)
  torch::Tensor srcPad;                       // [G, 1, 1, S] bool, true at source pads
  std::vector<torch::Tensor> crossK, crossV;  // per decoder layer [G, H, S, dh], computed in encode()
  int64_t group = 1;                          // hypotheses per slot: N = G * group
  std::vector<torch::Tensor> selfK, selfV;    // per decoder layer [N, H, step, dh] (undefined before step 0)
  // Rows of selfK/selfV that reorder() kept (CPU int64), gathered by the next step: reorder runs on the JS
  // thread between steps, the step on a worker whose OpenMP team is already awake, and two reorders compose.
  torch::Tensor pendingRows;
  int64_t step = 0;  // positions in the self-attention caches
  // Rows merged in at different steps (mergeStates): per row (CPU int64 [N]), the cache positions before its
  // own first one, which it may not attend to; its own position is step - selfStart. Undefined when all start at 0.
  torch::Tensor selfStart;
  int64_t batchSize() const override { return encoderOut.size(0) * group; }
  torch::Tensor encoderOutput() const override;
  int64_t nbytes() const override;
};

// XLM's TransformerModel: the encoder (isDecoder false) or the decoder.
class TransformerStackImpl : public torch::nn::Module {
 public:
  TransformerStackImpl(const XlmConfig& c, bool isDecoder, std::shared_ptr<KernelTable> kernels = nullptr);
  // The embedding block for ids [N, T] at positions start .. start+T-1; langs [N] or [N, T] (or undefined).
  torch::Tensor embed(const torch::Tensor& ids, int64_t start, const torch::Tensor& langs);
  // One token per row at its own position (positions [N] int64 on the ids' device).
  torch::Tensor embedAt(const torch::Tensor& ids, const torch::Tensor& positions, const torch::Tensor& langs);
  // Adds language embeddings, layer norm and dropout to token + position embeddings.
  torch::Tensor finishEmbedding(torch::Tensor x, const torch::Tensor& langs);
  // Full pass -> [N, T, D]. Encoder: srcEnc/srcPad undefined. Decoder: causal, cross-attends to srcEnc
  // [N, S, D] with srcPad [N, 1, 1, S] (true at pads).
  // `record`, when given, receives each layer's output and attention distributions (ForwardInternals).
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& lengths, const torch::Tensor& langs,
                        const torch::Tensor& srcEnc = {}, const torch::Tensor& srcPad = {},
                        ForwardInternals* record = nullptr);
  // Decoder only: every layer's cross-attention keys/values of st.encoderOut.
  void fillCrossCache(XlmDecoderState& st);
  // Decoder only: position st.step for tokens [N] -> [N, D]; grows the self-attention caches.
  torch::Tensor step(XlmDecoderState& st, const torch::Tensor& tokens, const torch::Tensor& langs);

  XlmConfig config;
  bool isDecoder;
  int64_t nLayers;
  torch::nn::Embedding position_embeddings{nullptr}, lang_embeddings{nullptr}, embeddings{nullptr};
  torch::nn::LayerNorm layer_norm_emb{nullptr};
  torch::nn::ModuleList attentions{nullptr}, layer_norm1{nullptr}, ffns{nullptr}, layer_norm2{nullptr},
      layer_norm15{nullptr}, encoder_attn{nullptr};
  PredLayer pred_layer{nullptr};

 private:
  // The i-th layer's sublayers, typed (the ModuleLists above own them and give them their names).
  std::vector<MultiHeadAttention> selfAttn_, crossAttn_;
  std::vector<torch::nn::LayerNorm> ln1_, ln15_, ln2_;
  std::vector<FeedForward> ffn_;
  std::shared_ptr<KernelTable> kernels_;  // the model's inference kernels (null for a stack built alone)
  torch::Tensor sinusoids_;               // [maxPositions, D] (not a parameter or buffer: never saved); moved on demand
};
TORCH_MODULE(TransformerStack);

class XlmSeq2Seq : public Seq2SeqModule {
 public:
  explicit XlmSeq2Seq(const XlmConfig& c);

  torch::Tensor forward(const Seq2SeqBatch& batch) override;
  torch::Tensor forwardHidden(const Seq2SeqBatch& batch) override;
  torch::Tensor forwardInternals(const Seq2SeqBatch& batch, ForwardInternals& internals) override;
  std::pair<torch::Tensor, torch::Tensor> outputProjection() override;
  std::shared_ptr<DecoderState> encode(const torch::Tensor& src, const torch::Tensor& srcLen,
                                       const torch::Tensor& srcLang) override;
  torch::Tensor decodeStep(DecoderState& state, const torch::Tensor& tokens, const torch::Tensor& tgtLang) override;
  void reorder(DecoderState& state, const torch::Tensor& indices) override;
  std::shared_ptr<DecoderState> mergeStates(DecoderState& a, DecoderState& b) override;
  std::vector<InferenceLinear> inferenceLinears() override;
  std::vector<std::vector<std::pair<torch::Tensor, torch::Tensor>>> fusableLinears() override;
  std::string kind() const override { return "xlm"; }
  int64_t vocabSize() const override { return config.vocabSize; }

  // The encoder's output [B, S, D] (zeros at pads), inputs validated; `prefix` goes before argument names in
  // errors ("batch." from forward).
  torch::Tensor runEncoder(const torch::Tensor& src, const torch::Tensor& srcLen, const torch::Tensor& srcLang,
                           const std::string& prefix = "", ForwardInternals* record = nullptr);
  // The decoder's last hidden states [B, T, D] for a batch, recording what `record` asks for.
  torch::Tensor forwardWith(const Seq2SeqBatch& batch, ForwardInternals& record);

  XlmConfig config;
  TransformerStack encoder{nullptr}, decoder{nullptr};
};

// Registers model kind "xlm" with moduleCreate (called once from addon.cc).
void registerXlmTransformer();

}  // namespace xkt
