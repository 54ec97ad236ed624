// Seq2SeqModule's output layer at decoding time: the full vocabulary through the projection's kernel (when the
// model is prepacked or quantized), or a per-batch shortlist: restrictVocabulary keeps the projection's rows of
// the candidate ids once per batch (as a kernel of the same kind: an int8 row keeps its scale, so the
// candidates' logits are exactly the full layer's), and each step then multiplies by those rows only and
// normalises over the candidates (as Marian's shortlists do).
#include "modules/seq2seq_module.h"

namespace xkt {

torch::Tensor Seq2SeqModule::forwardInternals(const Seq2SeqBatch&, ForwardInternals&) {
  throw ArgError(
      "this " + kind() +
      " model does not expose its layers' hidden states and attention (intermediate-layer KD needs a transformer)");
}

std::shared_ptr<DecoderState> Seq2SeqModule::mergeStates(DecoderState&, DecoderState&) {
  throw ArgError("this " + kind() + " model cannot merge decoder states");
}

int64_t DecoderState::subsetBytes() const {
  int64_t n = 0;
  for (const auto* t : {&vocabIds, &subsetWeight, &subsetBias})
    n += t->defined() ? static_cast<int64_t>(t->nbytes()) : 0;
  return n + (subsetKernel ? subsetKernel->nbytes() : 0);
}

void Seq2SeqModule::restrictVocabulary(DecoderState& state, const torch::Tensor& ids) {
  auto [weight, bias] = outputProjection();
  const int64_t V = vocabSize();
  if (ids.scalar_type() != torch::kLong || ids.dim() != 1 || ids.size(0) == 0) {
    throw ArgError("argument 'ids' must be a non-empty 1-d int64 tensor of candidate ids, got " + describeTensor(ids));
  }
  checkValuesInRange(ids, 0, V, "argument 'ids' must lie in [0, " + std::to_string(V) + "), the model's vocabulary");
  if (std::get<0>(torch::_unique(ids)).size(0) != ids.size(0)) throw ArgError("argument 'ids' must not repeat an id");
  torch::NoGradGuard noGrad;
  auto idx = ids.to(weight.device());
  state.vocabIds = idx;
  state.subsetWeight = weight.detach().index_select(0, idx).contiguous();
  state.subsetBias = bias.defined() ? bias.detach().index_select(0, idx).contiguous() : torch::Tensor();
  state.subsetKernel = nullptr;
  if (auto k = kernels->find(weight)) {
    state.subsetKernel = k->kind() == LinearKernel::Kind::Int8
                             ? LinearKernel::int8FromSaved(k->qweight().index_select(0, idx),
                                                           k->scales().index_select(0, idx), state.subsetBias)
                             : LinearKernel::packed(state.subsetWeight, state.subsetBias);
  }
}

torch::Tensor Seq2SeqModule::outputLogProbs(const DecoderState& state, const torch::Tensor& hidden) {
  torch::Tensor logits;
  if (state.vocabIds.defined()) {
    logits = state.subsetKernel ? state.subsetKernel->apply(hidden)
                                : torch::linear(hidden, state.subsetWeight, state.subsetBias);
  } else {
    auto [weight, bias] = outputProjection();
    logits = kernels->linear(hidden, weight, bias);
  }
  return torch::log_softmax(logits.to(torch::kFloat32), -1);
}

}  // namespace xkt
