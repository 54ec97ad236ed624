// The native side of the Seq2Seq interface (docs/reference.md "Models"): every model the trainer, the distiller
// and beam search drive (the XLM transformer, the BiGRU) derives from Seq2SeqModule, so the JS binding in
// module_wrap.cc serves them all.
#pragma once
#include <memory>
#include <string>

#include "common/convert.h"
#include "inference/linear_kernel.h"

namespace xkt {

// A padded batch (built in TypeScript by Batch.from): ids are int64, lengths count real tokens.
struct Seq2SeqBatch {
  torch::Tensor src;      // [B, S]
  torch::Tensor srcLen;   // [B]
  torch::Tensor tgtIn;    // [B, T] (starts with </s>)
  torch::Tensor tgtLen;   // [B]
  torch::Tensor srcLang;  // [B] or undefined
  torch::Tensor tgtLang;  // [B] or undefined
};

// What encode() produces and decodeStep() consumes and grows: encoder outputs, masks and per-layer
// caches. Each model defines its own; the binding only moves it around.
struct DecoderState {
  virtual ~DecoderState() = default;
  virtual int64_t batchSize() const = 0;
  // The encoder's outputs [N, S, H] for the live rows (zeros at source pads).
  virtual torch::Tensor encoderOutput() const = 0;
  // Tensors a state holds, for device moves and memory reports.
  virtual int64_t nbytes() const = 0;
  // A vocabulary shortlist for this batch (Seq2SeqModule::restrictVocabulary): the candidate ids [C] and the
  // output projection's rows for them; decodeStep then gives log-probs [N, C] over the candidates only.
  torch::Tensor vocabIds, subsetWeight, subsetBias;
  std::shared_ptr<LinearKernel> subsetKernel;
  int64_t subsetBytes() const;
};

// A linear layer that inference may prepack or quantize, named by its weight's state-dict name. Encoder
// layers run once per batch; the rest at every decode step.
struct InferenceLinear {
  std::string name;
  torch::Tensor weight, bias;
  bool encoder = false;
};

// What a forward pass may record beside its logits, for intermediate-layer distillation: every layer's output
// ([B, S, D] encoder, [B, T, D] decoder) and attention distributions before dropout ([B, H, queries, keys]:
// encoder self-attention, decoder self-attention, decoder cross-attention), all differentiable.
struct ForwardInternals {
  bool hidden = false, attention = false;
  std::vector<torch::Tensor> encoderHidden, decoderHidden;
  std::vector<torch::Tensor> encoderSelfAttention, decoderSelfAttention, crossAttention;
};

class Seq2SeqModule : public torch::nn::Module {
 public:
  // Teacher-forced logits [B, T, V] (differentiable).
  virtual torch::Tensor forward(const Seq2SeqBatch& batch) = 0;
  // The last hidden states before the output projection [B, T, H] (for the chunked fused loss).
  virtual torch::Tensor forwardHidden(const Seq2SeqBatch& batch) = 0;
  // forward() that also records what `internals` asks for (hidden, attention) into it.
  virtual torch::Tensor forwardInternals(const Seq2SeqBatch& batch, ForwardInternals& internals);
  // The output projection: weight [V, H] and bias [V] (bias may be undefined).
  virtual std::pair<torch::Tensor, torch::Tensor> outputProjection() = 0;
  virtual std::shared_ptr<DecoderState> encode(const torch::Tensor& src, const torch::Tensor& srcLen,
                                               const torch::Tensor& srcLang) = 0;
  // One step for every live hypothesis: tokens [N] -> log-probs [N, V] (float32); grows the cache.
  virtual torch::Tensor decodeStep(DecoderState& state, const torch::Tensor& tokens, const torch::Tensor& tgtLang) = 0;
  // Keeps/reorders hypotheses: every cached tensor is index_selected along the batch dim.
  virtual void reorder(DecoderState& state, const torch::Tensor& indices) = 0;
  // A state holding a's hypotheses followed by b's, both from this model's encode(), each decoding on as it would have
  // alone, whatever step each is at: continuous batching lets new sentences join a running beam search this way. a and
  // b are left as they were; the merged state has no vocabulary shortlist (restrictVocabulary it again for the union of
  // both batches).
  virtual std::shared_ptr<DecoderState> mergeStates(DecoderState& a, DecoderState& b);
  virtual std::string kind() const = 0;
  virtual int64_t vocabSize() const = 0;
  // The linear layers decoding runs (the encoder's, flagged, and every decode step's: decoder projections,
  // FFNs, the output projection), which model.prepack() / model.quantize() replace by kernels.
  virtual std::vector<InferenceLinear> inferenceLinears() = 0;
  // Groups of those layers that read one input (weight, bias each), which kernels may fuse into one call.
  virtual std::vector<std::vector<std::pair<torch::Tensor, torch::Tensor>>> fusableLinears() { return {}; }

  // Restricts `state`'s decoding to the candidate ids [C] (int64, distinct, in range).
  void restrictVocabulary(DecoderState& state, const torch::Tensor& ids);
  // The decode step's log-probs [N, V] (or [N, C] over a shortlist) from the last hidden states [N, H].
  torch::Tensor outputLogProbs(const DecoderState& state, const torch::Tensor& hidden);

  // Prepacked / int8 kernels of the layers above; empty for a plain fp32 model.
  std::shared_ptr<KernelTable> kernels = std::make_shared<KernelTable>();
};

// Creates a model from its resolved JS config object; registered per model kind.
using ModuleFactory = std::function<std::shared_ptr<Seq2SeqModule>(ObjectArg& config)>;
void registerModuleKind(const std::string& kind, ModuleFactory factory);

}  // namespace xkt
