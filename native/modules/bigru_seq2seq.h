// The BiGRU student: a bidirectional-GRU encoder over packed sequences and a GRU decoder
// with content-based attention and input feeding (Luong et al. 2015), behind the Seq2SeqModule interface so
// the trainer, the distiller and beam search drive it exactly as they drive the XLM transformer.
//
//   encoder  embeddings [V, E] -> dropout -> GRU(E, H, encoderLayers, bidirectional, dropout between layers)
//            over pack_padded_sequence(lengths, enforce_sorted=false): padding never enters the recurrence,
//            outputs at pads are zeros and final states are those of each sentence's last real token.
//   bridge   decoder layer l starts from tanh(bridge([h_fwd; h_bwd] of encoder layer
//            max(0, encoderLayers - decoderLayers + l))): the layers are aligned from the top, the same
//            bridge Linear(2H -> H) serves every layer; with equal depths it is layer l -> layer l.
//   decoder  x_t = [dropout(emb(y_{t-1})); h~_{t-1}]  (input feeding, h~_0 = 0)
//            h_t = GRU(E + H, H, decoderLayers)(x_t, h_{t-1})
//            a_t = softmax(score(h_t, s_j) masked with -inf at source pads);  c_t = sum_j a_tj s_j  [2H]
//            h~_t = dropout(tanh(combine [c_t; h_t]))       (combine: Linear(3H -> H), no bias, as Luong eq. 5)
//            logits = proj h~_t                             (proj.weight tied to decoder.embeddings when E == H)
//   score    'luong'    (default) general: h_t^T W s_j, W = attention.key [H, 2H]: one matmul per step, keys
//                       W s_j computed once per source in encode(); cheapest for the many steps of beam search.
//            'bahdanau' additive: v^T tanh(W_k s_j + W_q h_t): a little more expressive, a [N, S, H] tanh per
//                       step. Both use the current decoder state as the query (the Luong-style decoder with
//                       input feeding; OpenNMT's 'general' vs 'mlp'), so the rest of the model is the same.
//
// Parameter names follow PyTorch (bench/reference/bigru.py uses the same, so safetensors go both ways):
//   encoder.embeddings.weight, encoder.rnn.{weight,bias}_{ih,hh}_l{k}[_reverse], bridge.{weight,bias},
//   decoder.embeddings.weight, decoder.rnn.{weight,bias}_{ih,hh}_l{k}, decoder.attention.key.weight,
//   [decoder.attention.query.{weight,bias}, decoder.attention.v.weight], decoder.combine.weight,
//   decoder.proj.{weight,bias} (weight is decoder.embeddings.weight's tensor when tied).
#pragma once
#include "modules/seq2seq_module.h"

namespace xkt {

// The config as lib/models/bigru.ts resolved it (defaults and checks live there; every field is given).
struct BiGruOptions {
  int64_t vocabSize = 0;
  int64_t embDim = 0;
  int64_t hiddenSize = 0;
  int64_t encoderLayers = 0;
  int64_t decoderLayers = 0;
  double dropout = 0;
  std::string attention;  // 'luong' | 'bahdanau'
  bool tieEmbeddings = false;
  int64_t padIndex = 0;
  int64_t eosIndex = 0;
};

// What encode() hands to decodeStep(): per hypothesis row n.
// The source side is kept once per slot, hypothesis n reads slot n / group (source_groups.h).
struct BiGruState : DecoderState {
  torch::Tensor memory;    // [G, S, 2H] encoder outputs (zeros at pads)
  torch::Tensor keys;      // [G, S, H] attention keys (attention.key applied to memory once)
  torch::Tensor padMask;   // [G, S] bool, true at source pads
  int64_t group = 1;       // hypotheses per slot: N = G * group
  torch::Tensor hidden;    // [L, N, H] decoder GRU state (batch on dim 1)
  torch::Tensor prevAttn;  // [N, H] previous attentional vector h~ (input feeding)
  int64_t batchSize() const override { return memory.size(0) * group; }
  torch::Tensor encoderOutput() const override { return group == 1 ? memory : memory.repeat_interleave(group, 0); }
  int64_t nbytes() const override;
};

// The attention score module: 'luong' registers key; 'bahdanau' registers key, query and v.
class BiGruAttentionImpl : public torch::nn::Module {
 public:
  BiGruAttentionImpl(const std::string& type, int64_t hidden);
  torch::Tensor keys(const torch::Tensor& memory);  // [N, S, 2H] -> [N, S, H]
  // keys [G, S, H], query [N, H] with rows n .. n + group - 1 reading keys n / group -> [G, group, S]
  torch::Tensor scores(const torch::Tensor& keys, const torch::Tensor& query, int64_t group);
  bool additive;
  torch::nn::Linear key{nullptr}, query{nullptr}, v{nullptr};
};
TORCH_MODULE(BiGruAttention);

// The output layer: its weight is either its own or the decoder embedding's tensor (registered under both names).
class BiGruProjImpl : public torch::nn::Module {
 public:
  BiGruProjImpl(int64_t vocab, int64_t hidden, const torch::Tensor& tiedWeight);
  torch::Tensor weight, bias;
};
TORCH_MODULE(BiGruProj);

class BiGruEncoderImpl : public torch::nn::Module {
 public:
  explicit BiGruEncoderImpl(const BiGruOptions& o);
  torch::nn::Embedding embeddings{nullptr};
  torch::nn::GRU rnn{nullptr};
};
TORCH_MODULE(BiGruEncoder);

class BiGruDecoderImpl : public torch::nn::Module {
 public:
  explicit BiGruDecoderImpl(const BiGruOptions& o);
  torch::nn::Embedding embeddings{nullptr};
  torch::nn::GRU rnn{nullptr};
  BiGruAttention attention{nullptr};
  torch::nn::Linear combine{nullptr};
  BiGruProj proj{nullptr};
};
TORCH_MODULE(BiGruDecoder);

class BiGruSeq2Seq : public Seq2SeqModule {
 public:
  explicit BiGruSeq2Seq(const BiGruOptions& o);

  torch::Tensor forward(const Seq2SeqBatch& batch) override;
  torch::Tensor forwardHidden(const Seq2SeqBatch& batch) override;
  std::pair<torch::Tensor, torch::Tensor> outputProjection() override;
  std::shared_ptr<DecoderState> encode(const torch::Tensor& src, const torch::Tensor& srcLen,
                                       const torch::Tensor& srcLang) override;
  torch::Tensor decodeStep(DecoderState& state, const torch::Tensor& tokens, const torch::Tensor& tgtLang) override;
  void reorder(DecoderState& state, const torch::Tensor& indices) override;
  std::shared_ptr<DecoderState> mergeStates(DecoderState& a, DecoderState& b) override;
  std::vector<InferenceLinear> inferenceLinears() override;
  std::string kind() const override { return "bigru"; }
  int64_t vocabSize() const override { return opts_.vocabSize; }

  const BiGruOptions& options() const { return opts_; }

 private:
  std::shared_ptr<BiGruState> encodeState(const torch::Tensor& src, const torch::Tensor& srcLen);
  // One decoder step for every row: embedded input [N, E]; updates state.hidden and state.prevAttn and
  // returns h~_t [N, H] (after dropout). forward() and decodeStep() both run exactly this.
  torch::Tensor step(BiGruState& state, const torch::Tensor& emb);
  // The decoder GRU's step through the model's inference kernels (prepacked or int8 gate projections), or
  // undefined when its layers have none: x [N, E + H] -> the top layer's new state; updates state.hidden.
  torch::Tensor kernelRnnStep(BiGruState& state, const torch::Tensor& x);

  BiGruOptions opts_;
  BiGruEncoder encoder_{nullptr};
  torch::nn::Linear bridge_{nullptr};
  BiGruDecoder decoder_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  std::vector<int64_t> bridgeLayers_;  // per decoder layer: the encoder layer whose final states start it
};

// Registers model kind "bigru" with moduleCreate (called once from addon.cc).
void registerBiGruSeq2Seq();

}  // namespace xkt
