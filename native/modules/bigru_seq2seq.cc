// See bigru_seq2seq.h for the model. bench/reference/bigru.py is the same model in plain PyTorch, op for op,
// so the parity tests can hold forward and decodeStep to 1e-5 on shared safetensors weights.
#include "modules/bigru_seq2seq.h"
#include "modules/source_groups.h"

#include <cmath>
#include <limits>

namespace xkt {

namespace rnn_utils = torch::nn::utils::rnn;

int64_t BiGruState::nbytes() const {
  int64_t n = 0;
  for (const auto* t : {&memory, &keys, &padMask, &hidden, &prevAttn}) {
    if (t->defined()) n += static_cast<int64_t>(t->nbytes());
  }
  return n + subsetBytes();
}

// ---- submodules -------------------------------------------------------------------------------------------

BiGruAttentionImpl::BiGruAttentionImpl(const std::string& type, int64_t hidden) : additive(type == "bahdanau") {
  key = register_module("key", torch::nn::Linear(torch::nn::LinearOptions(2 * hidden, hidden).bias(false)));
  if (additive) {
    query = register_module("query", torch::nn::Linear(hidden, hidden));
    v = register_module("v", torch::nn::Linear(torch::nn::LinearOptions(hidden, 1).bias(false)));
  }
}

torch::Tensor BiGruAttentionImpl::keys(const torch::Tensor& memory) { return key(memory); }

torch::Tensor BiGruAttentionImpl::scores(const torch::Tensor& keys, const torch::Tensor& q, int64_t group) {
  auto qg = q.view({keys.size(0), group, q.size(1)});  // [G, group, H]
  if (additive)
    return v(torch::tanh(keys.unsqueeze(1) + query(qg).unsqueeze(2))).squeeze(3);  // v^T tanh(W_k s + W_q h)
  return torch::bmm(qg, keys.transpose(1, 2));                                     // h^T W s
}

BiGruProjImpl::BiGruProjImpl(int64_t vocab, int64_t hidden, const torch::Tensor& tiedWeight) {
  if (tiedWeight.defined()) {
    weight = register_parameter("weight", tiedWeight);
  } else {
    weight = register_parameter("weight", torch::empty({vocab, hidden}));
    torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));  // nn.Linear's default
  }
  bias = register_parameter("bias", torch::zeros({vocab}));
}

BiGruEncoderImpl::BiGruEncoderImpl(const BiGruOptions& o) {
  embeddings = register_module("embeddings", torch::nn::Embedding(o.vocabSize, o.embDim));
  rnn = register_module("rnn", torch::nn::GRU(torch::nn::GRUOptions(o.embDim, o.hiddenSize)
                                                  .num_layers(o.encoderLayers)
                                                  .dropout(o.encoderLayers > 1 ? o.dropout : 0.0)
                                                  .bidirectional(true)
                                                  .batch_first(true)));
}

BiGruDecoderImpl::BiGruDecoderImpl(const BiGruOptions& o) {
  const int64_t H = o.hiddenSize;
  embeddings = register_module("embeddings", torch::nn::Embedding(o.vocabSize, o.embDim));
  rnn = register_module("rnn", torch::nn::GRU(torch::nn::GRUOptions(o.embDim + H, H)
                                                  .num_layers(o.decoderLayers)
                                                  .dropout(o.decoderLayers > 1 ? o.dropout : 0.0)
                                                  .batch_first(true)));
  attention = register_module("attention", BiGruAttention(o.attention, H));
  combine = register_module("combine", torch::nn::Linear(torch::nn::LinearOptions(3 * H, H).bias(false)));
  proj = register_module("proj", BiGruProj(o.vocabSize, H, o.tieEmbeddings ? embeddings->weight : torch::Tensor()));
}

// ---- the model --------------------------------------------------------------------------------------------

BiGruSeq2Seq::BiGruSeq2Seq(const BiGruOptions& o) : opts_(o) {
  encoder_ = register_module("encoder", BiGruEncoder(o));
  bridge_ = register_module("bridge", torch::nn::Linear(2 * o.hiddenSize, o.hiddenSize));
  decoder_ = register_module("decoder", BiGruDecoder(o));
  // Embeddings ~ N(0, E^-1/2): unit-variance rows would give the tied output layer huge initial logits.
  torch::NoGradGuard noGrad;
  const double std = 1.0 / std::sqrt(static_cast<double>(o.embDim));
  encoder_->embeddings->weight.normal_(0.0, std);
  decoder_->embeddings->weight.normal_(0.0, std);
  for (int64_t l = 0; l < o.decoderLayers; ++l) {
    bridgeLayers_.push_back(std::max<int64_t>(0, o.encoderLayers - o.decoderLayers + l));
  }
}

namespace {

void checkIdRange(const torch::Tensor& ids, int64_t V, const char* name, bool perStep = false) {
  checkValuesInRange(ids, 0, V,
                     std::string("argument '") + name + "': token ids must lie in [0, " + std::to_string(V) +
                         "), the model's vocabulary",
                     perStep);
}

void checkDevice(const torch::Tensor& t, const torch::Tensor& weight, const char* name) {
  if (t.device() != weight.device()) {
    throw ArgError(std::string("argument '") + name + "' is on " + deviceName(t.device()) + " but the model is on " +
                   deviceName(weight.device()) + " (move one with .to())");
  }
}

}  // namespace

std::shared_ptr<BiGruState> BiGruSeq2Seq::encodeState(const torch::Tensor& src, const torch::Tensor& srcLen) {
  const auto& W = encoder_->embeddings->weight;
  checkDevice(src, W, "src");
  const int64_t B = src.size(0), S = src.size(1), H = opts_.hiddenSize;
  if (B == 0 || S == 0)
    throw ArgError("argument 'src' must hold at least one sentence and one token, got " + describeTensor(src));
  if (srcLen.size(0) != B) {
    throw ArgError("argument 'srcLen' has " + std::to_string(srcLen.size(0)) + " entries for " + std::to_string(B) +
                   " sentences");
  }
  checkIdRange(src, opts_.vocabSize, "src");
  // pack_padded_sequence wants the lengths on the host.
  auto lenCpu = srcLen.to(torch::kCPU);
  checkValuesInRange(lenCpu, 1, S + 1,
                     "argument 'srcLen': every length must lie in [1, " + std::to_string(S) + "] (the padded width)");

  auto emb = torch::dropout(encoder_->embeddings(src), opts_.dropout, is_training());
  auto packed = rnn_utils::pack_padded_sequence(emb, lenCpu, /*batch_first=*/true, /*enforce_sorted=*/false);
  auto [out, hn] = encoder_->rnn->forward_with_packed_input(packed);  // hn [Le*2, B, H], original order
  auto memory = std::get<0>(rnn_utils::pad_packed_sequence(out, /*batch_first=*/true, 0.0, S));  // [B, S, 2H]

  auto st = std::make_shared<BiGruState>();
  st->memory = memory;
  st->keys = decoder_->attention->keys(memory);
  auto lenDev = srcLen.to(src.device());
  st->padMask = torch::arange(S, lenDev.options()).unsqueeze(0) >= lenDev.unsqueeze(1);
  // Final states per layer as [h_fwd; h_bwd] -> the decoder layers they start (aligned from the top).
  auto finals = hn.view({opts_.encoderLayers, 2, B, H}).permute({0, 2, 1, 3}).reshape({opts_.encoderLayers, B, 2 * H});
  auto pick = torch::tensor(bridgeLayers_, torch::TensorOptions().dtype(torch::kLong).device(finals.device()));
  st->hidden = torch::tanh(bridge_(finals.index_select(0, pick))).contiguous();  // [Ld, B, H]
  st->prevAttn = torch::zeros({B, H}, memory.options());
  return st;
}

torch::Tensor BiGruSeq2Seq::kernelRnnStep(BiGruState& s, const torch::Tensor& x) {
  // all_weights(): per layer weight_ih, weight_hh, bias_ih, bias_hh (a vector of handles, cheap per step).
  const auto w = decoder_->rnn->all_weights();
  if (is_training() || !kernels->find(w[0])) return {};
  // LibTorch's GRU cell (aten/src/ATen/native/RNN.cpp), gate for gate: r, z from both projections, n from
  // the input's plus r times the hidden's.
  torch::Tensor input = x;
  std::vector<torch::Tensor> layers;
  for (int64_t l = 0; l < opts_.decoderLayers; ++l) {
    auto h = s.hidden[l];
    auto gi = kernels->linear(input, w[4 * l], w[4 * l + 2]).chunk(3, 1);
    auto gh = kernels->linear(h, w[4 * l + 1], w[4 * l + 3]).chunk(3, 1);
    auto reset = (gh[0] + gi[0]).sigmoid_();
    auto update = (gh[1] + gi[1]).sigmoid_();
    auto fresh = (gi[2] + gh[2] * reset).tanh_();
    input = (h - fresh).mul_(update).add_(fresh);
    layers.push_back(input);
  }
  s.hidden = torch::stack(layers);
  return input;
}

torch::Tensor BiGruSeq2Seq::step(BiGruState& s, const torch::Tensor& emb) {
  auto x = torch::cat({emb, s.prevAttn}, 1);  // [N, E + H]: input feeding
  auto h = kernelRnnStep(s, x);               // [N, H], the top layer's new state
  if (!h.defined()) {
    auto [out, hidden] = decoder_->rnn->forward(x.unsqueeze(1), s.hidden);
    s.hidden = hidden;
    h = out.squeeze(1);
  }
  auto scores = decoder_->attention->scores(s.keys, h, s.group)
                    .masked_fill(s.padMask.unsqueeze(1), -std::numeric_limits<double>::infinity());  // [G, group, S]
  auto align = torch::softmax(scores, -1);
  auto context = torch::bmm(align, s.memory).view({h.size(0), s.memory.size(2)});            // [N, 2H]
  auto attn = torch::tanh(kernels->linear(decoder_->combine, torch::cat({context, h}, 1)));  // [N, H]
  attn = torch::dropout(attn, opts_.dropout, is_training());
  s.prevAttn = attn;
  return attn;
}

torch::Tensor BiGruSeq2Seq::forwardHidden(const Seq2SeqBatch& batch) {
  auto st = encodeState(batch.src, batch.srcLen);
  checkDevice(batch.tgtIn, decoder_->embeddings->weight, "batch.tgtIn");
  const int64_t T = batch.tgtIn.size(1);
  if (T == 0)
    throw ArgError("argument 'batch.tgtIn' must hold at least one token per sentence, got " +
                   describeTensor(batch.tgtIn));
  auto emb = torch::dropout(decoder_->embeddings(batch.tgtIn), opts_.dropout, is_training());  // [B, T, E]
  std::vector<torch::Tensor> steps;
  steps.reserve(T);
  for (int64_t t = 0; t < T; ++t) steps.push_back(step(*st, emb.select(1, t)));
  return torch::stack(steps, 1);  // [B, T, H]
}

torch::Tensor BiGruSeq2Seq::forward(const Seq2SeqBatch& batch) {
  return kernels->linear(forwardHidden(batch), decoder_->proj->weight, decoder_->proj->bias);
}

std::vector<InferenceLinear> BiGruSeq2Seq::inferenceLinears() {
  // A step's matrix products: the decoder GRU's gate projections (input and hidden, per layer), the
  // attentional combine and the output layer. The encoder's bidirectional GRU runs once per batch through
  // LibTorch's packed-sequence kernel and stays float32.
  std::vector<InferenceLinear> out;
  const auto w = decoder_->rnn->all_weights();  // as in kernelRnnStep
  for (int64_t l = 0; l < opts_.decoderLayers; ++l) {
    const auto n = std::to_string(l);
    out.push_back({"decoder.rnn.weight_ih_l" + n, w[4 * l], w[4 * l + 2]});
    out.push_back({"decoder.rnn.weight_hh_l" + n, w[4 * l + 1], w[4 * l + 3]});
  }
  out.push_back({"decoder.combine.weight", decoder_->combine->weight, decoder_->combine->bias});
  out.push_back({"decoder.proj.weight", decoder_->proj->weight, decoder_->proj->bias});
  return out;
}

std::pair<torch::Tensor, torch::Tensor> BiGruSeq2Seq::outputProjection() {
  return {decoder_->proj->weight, decoder_->proj->bias};
}

std::shared_ptr<DecoderState> BiGruSeq2Seq::encode(const torch::Tensor& src, const torch::Tensor& srcLen,
                                                   const torch::Tensor& srcLang) {
  return encodeState(src, srcLen);  // no language embeddings: srcLang is accepted and ignored
}

static BiGruState& bigruState(DecoderState& state) {
  auto* s = dynamic_cast<BiGruState*>(&state);
  if (s == nullptr) throw ArgError("argument 'state' comes from another kind of model's encode(), not a BiGRU's");
  return *s;
}

torch::Tensor BiGruSeq2Seq::decodeStep(DecoderState& state, const torch::Tensor& tokens, const torch::Tensor& tgtLang) {
  auto& s = bigruState(state);
  checkDevice(tokens, decoder_->embeddings->weight, "tokens");
  checkIdRange(tokens, opts_.vocabSize, "tokens", /*perStep=*/true);
  auto emb = torch::dropout(decoder_->embeddings(tokens), opts_.dropout, is_training());
  return outputLogProbs(s, step(s, emb));
}

void BiGruSeq2Seq::reorder(DecoderState& state, const torch::Tensor& indices) {
  auto& s = bigruState(state);
  const auto device = s.memory.device();
  const auto r = regroup(indices, s.group, s.memory.size(0));
  if (!r.sameSlots) {
    auto slots = slotIndex(r, device);
    s.memory = s.memory.index_select(0, slots);
    s.keys = s.keys.index_select(0, slots);
    s.padMask = s.padMask.index_select(0, slots);
  }
  s.group = r.group;
  if (r.identity) return;
  auto idx = r.rows.to(device);
  s.prevAttn = s.prevAttn.index_select(0, idx);
  s.hidden = s.hidden.index_select(1, idx);  // [L, N, H]: batch on dim 1
}

std::shared_ptr<DecoderState> BiGruSeq2Seq::mergeStates(DecoderState& sa, DecoderState& sb) {
  auto& a = bigruState(sa);
  auto& b = bigruState(sb);
  const int64_t group = mergedGroup(a.group, b.group);
  // (A shortlist is per batch: the merged state has none, and the caller restricts it again to the union.)
  // The recurrent state has no notion of step: only the source side needs padding to the longer source.
  const int64_t S = std::max(a.memory.size(1), b.memory.size(1));
  auto pad = [S, group](const BiGruState& s, const torch::Tensor& source, bool value) {
    auto t = regroupSlots(source, s.group, group);
    const int64_t extra = S - t.size(1);
    if (extra == 0) return t;
    auto shape = t.sizes().vec();
    shape[1] = extra;
    return torch::cat({t, value ? torch::ones(shape, t.options()) : torch::zeros(shape, t.options())}, 1);
  };
  auto out = std::make_shared<BiGruState>();
  out->group = group;
  out->memory = torch::cat({pad(a, a.memory, false), pad(b, b.memory, false)}, 0);
  out->keys = torch::cat({pad(a, a.keys, false), pad(b, b.keys, false)}, 0);
  out->padMask = torch::cat({pad(a, a.padMask, true), pad(b, b.padMask, true)}, 0);
  out->hidden = torch::cat({a.hidden, b.hidden}, 1);  // [L, N, H]
  out->prevAttn = torch::cat({a.prevAttn, b.prevAttn}, 0);
  return out;
}

// ---- registration -----------------------------------------------------------------------------------------

void registerBiGruSeq2Seq() {
  registerModuleKind("bigru", [](ObjectArg& c) -> std::shared_ptr<Seq2SeqModule> {
    BiGruOptions o;
    o.vocabSize = c.integer("vocabSize");
    o.embDim = c.integer("embDim");
    o.hiddenSize = c.integer("hiddenSize");
    o.encoderLayers = c.integer("encoderLayers");
    o.decoderLayers = c.integer("decoderLayers");
    o.dropout = c.number("dropout");
    o.attention = c.oneOf("attention", {"luong", "bahdanau"});
    o.tieEmbeddings = c.boolean("tieEmbeddings");
    o.padIndex = c.integer("padIndex");
    o.eosIndex = c.integer("eosIndex");
    return std::make_shared<BiGruSeq2Seq>(o);
  });
}

}  // namespace xkt
