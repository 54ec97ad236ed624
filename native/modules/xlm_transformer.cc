// See xlm_transformer.h. The math follows bench/reference/xlm.py op for op (post-LayerNorm, eps 1e-12, q divided
// by sqrt(dh) before q·kᵀ, masked keys at -inf, softmax in float32, pads zeroed after the embedding block and
// after every layer), so fp32 outputs agree to ~1e-6.
#include "modules/xlm_transformer.h"
#include "modules/source_groups.h"
#include "inference/step_attention.h"

#include <cmath>
#include <limits>

namespace xkt {

namespace {

constexpr double kLayerNormEps = 1e-12;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

torch::nn::LayerNorm makeLayerNorm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(kLayerNormEps));
}

// [N, T] bool, true on real tokens (t < length).
torch::Tensor lengthMask(const torch::Tensor& lengths, int64_t maxLen) {
  return torch::arange(maxLen, lengths.options()).unsqueeze(0) < lengths.unsqueeze(1);
}

void checkDevice(const torch::Tensor& t, const torch::Tensor& weight, const std::string& name) {
  if (t.device() != weight.device()) {
    throw ArgError("argument '" + name + "' is on " + deviceName(t.device()) + " but the model is on " +
                   deviceName(weight.device()) + " (move one with .to())");
  }
}

void checkIdRange(const torch::Tensor& ids, int64_t V, const std::string& name, bool perStep = false) {
  checkValuesInRange(
      ids, 0, V,
      "argument '" + name + "': token ids must lie in [0, " + std::to_string(V) + "), the model's vocabulary", perStep);
}

void checkLengths(const torch::Tensor& lengths, int64_t B, int64_t maxLen, const std::string& name) {
  if (lengths.scalar_type() != c10::kLong || lengths.dim() != 1) {
    throw ArgError("argument '" + name + "' must be a 1-d int64 tensor, got " + describeTensor(lengths));
  }
  if (lengths.size(0) != B) {
    throw ArgError("argument '" + name + "' has " + std::to_string(lengths.size(0)) + " entries for " +
                   std::to_string(B) + " sentences");
  }
  checkValuesInRange(
      lengths, 1, maxLen + 1,
      "argument '" + name + "': every length must lie in [1, " + std::to_string(maxLen) + "] (the padded width)");
}

void checkWidth(int64_t T, int64_t maxPositions, const std::string& name) {
  if (T < 1) throw ArgError("argument '" + name + "' must hold at least one token per sentence");
  if (T > maxPositions) {
    throw ArgError("argument '" + name + "' is " + std::to_string(T) + " tokens wide but the model has only " +
                       std::to_string(maxPositions) + " positions (config.maxPositions)",
                   ArgError::Kind::Range);
  }
}

// Language ids: [N] (one per sentence) or [N, T]; undefined when the model has no language embeddings.
torch::Tensor checkLangs(const torch::Tensor& langs, int64_t N, int64_t T, const XlmConfig& c,
                         const torch::Tensor& weight, const std::string& name, bool perStep = false) {
  if (!langs.defined() || c.nLangs <= 1) return {};
  if (langs.scalar_type() != c10::kLong) {
    throw ArgError("argument '" + name + "' must be an int64 tensor, got " + describeTensor(langs));
  }
  bool perSentence = langs.dim() == 1 && langs.size(0) == N;
  bool perToken = langs.dim() == 2 && langs.size(0) == N && langs.size(1) == T;
  if (!perSentence && !perToken) {
    throw ArgError("argument '" + name + "' must be [" + std::to_string(N) + "] or [" + std::to_string(N) + ", " +
                   std::to_string(T) + "], got " + describeTensor(langs));
  }
  checkDevice(langs, weight, name);
  checkValuesInRange(
      langs, 0, c.nLangs,
      "argument '" + name + "' holds a language id outside [0, " + std::to_string(c.nLangs) + ") (config.nLangs)",
      perStep);
  return langs;
}

// XLM's sinusoids: pos / 10000^(2*(j//2)/D), sin on even j, cos on odd j; float64, rounded to float32.
torch::Tensor sinusoidTable(int64_t nPos, int64_t dim) {
  auto pos = torch::arange(nPos, torch::kFloat64).unsqueeze(1);
  auto j = torch::arange(dim, torch::kFloat64).unsqueeze(0);
  auto angle = pos / torch::pow(torch::tensor(10000.0, torch::kFloat64), 2 * torch::floor_divide(j, 2) / dim);
  auto out = torch::empty({nPos, dim}, torch::kFloat64);
  out.slice(1, 0, dim, 2).copy_(torch::sin(angle.slice(1, 0, dim, 2)));
  out.slice(1, 1, dim, 2).copy_(torch::cos(angle.slice(1, 1, dim, 2)));
  return out.to(torch::kFloat32);
}

XlmDecoderState& xlmState(DecoderState& state) {
  auto* s = dynamic_cast<XlmDecoderState*>(&state);
  if (s == nullptr)
    throw ArgError("argument 'state' comes from another kind of model's encode(), not an XLM transformer's");
  return *s;
}

}  // namespace

// ---- building blocks ----------------------------------------------------------------------------------------

MultiHeadAttentionImpl::MultiHeadAttentionImpl(int64_t dim, int64_t heads, double attentionDropout)
    : dim(dim), heads(heads), attentionDropout(attentionDropout) {
  q_lin = register_module("q_lin", torch::nn::Linear(dim, dim));
  k_lin = register_module("k_lin", torch::nn::Linear(dim, dim));
  v_lin = register_module("v_lin", torch::nn::Linear(dim, dim));
  out_lin = register_module("out_lin", torch::nn::Linear(dim, dim));
}

torch::Tensor MultiHeadAttentionImpl::split(const torch::Tensor& x) const {
  return x.view({x.size(0), x.size(1), heads, dim / heads}).transpose(1, 2);
}

torch::Tensor MultiHeadAttentionImpl::attend(const torch::Tensor& x, const torch::Tensor& k, const torch::Tensor& v,
                                             const torch::Tensor& masked, int64_t group,
                                             const torch::Tensor& qProjected, torch::Tensor* probs) {
  const int64_t N = x.size(0), Q = x.size(1), dh = dim / heads;
  auto qp = qProjected.defined() ? qProjected : lin(q_lin, x);
  // A decode step (one query per row, no dropout) is fused on the CPU; see step_attention.h.
  if (!probs && Q == 1 && !is_training() && stepAttentionApplies(qp, k, v) &&
      (!masked.defined() || masked.numel() == k.size(0) * k.size(2))) {
    return lin(out_lin, stepAttention(qp, k, v, masked, group));
  }
  // A group's queries stack along the query axis: [G, H, group·Q, dh] against its shared [G, H, K, dh].
  auto q = qp.reshape({N / group, group * Q, heads, dh}).transpose(1, 2) / std::sqrt(static_cast<double>(dh));
  auto scores = torch::matmul(q, k.transpose(2, 3));  // [G, H, group·Q, K]
  if (masked.defined()) scores = scores.masked_fill(masked, kNegInf);
  auto weights = torch::softmax(scores, -1, torch::kFloat32).to(scores.scalar_type());
  if (probs) {
    if (group != 1) throw ArgError("attention distributions are recorded for full forward passes only");
    *probs = weights;
  }
  weights = torch::dropout(weights, attentionDropout, is_training());
  auto ctx = torch::matmul(weights, v).transpose(1, 2).reshape({N, Q, dim});
  return lin(out_lin, ctx);
}

FeedForwardImpl::FeedForwardImpl(int64_t dim, int64_t hidden, double dropout, bool gelu)
    : dropout(dropout), gelu(gelu) {
  lin1 = register_module("lin1", torch::nn::Linear(dim, hidden));
  lin2 = register_module("lin2", torch::nn::Linear(hidden, dim));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  auto h = kernels ? kernels->linear(lin1, x) : lin1(x);
  h = gelu ? torch::gelu(h) : torch::relu(h);  // torch::gelu's default is the erf form, as XLM's
  return torch::dropout(kernels ? kernels->linear(lin2, h) : lin2(h), dropout, is_training());
}

TiedProjectionImpl::TiedProjectionImpl(const torch::Tensor& tiedWeight, int64_t vocab) {
  weight = register_parameter("weight", tiedWeight);
  bias = register_parameter("bias", torch::zeros({vocab}));
}

PredLayerImpl::PredLayerImpl(const torch::Tensor& tiedWeight, int64_t vocab) {
  proj = register_module("proj", TiedProjection(tiedWeight, vocab));
}

torch::Tensor XlmDecoderState::encoderOutput() const {
  return group == 1 ? encoderOut : encoderOut.repeat_interleave(group, 0);
}

int64_t XlmDecoderState::nbytes() const {
  int64_t n = 0;
  for (const auto* t : {&encoderOut, &srcPad}) n += t->defined() ? static_cast<int64_t>(t->nbytes()) : 0;
  for (const auto* list : {&crossK, &crossV, &selfK, &selfV}) {
    for (const auto& t : *list) n += t.defined() ? static_cast<int64_t>(t.nbytes()) : 0;
  }
  return n + subsetBytes();
}

// ---- one stack ----------------------------------------------------------------------------------------------

TransformerStackImpl::TransformerStackImpl(const XlmConfig& c, bool isDecoder, std::shared_ptr<KernelTable> kernels)
    : config(c), isDecoder(isDecoder), nLayers(isDecoder ? c.decoderLayers : c.encoderLayers), kernels_(kernels) {
  const int64_t D = c.embDim;
  const double stdev = std::pow(static_cast<double>(D), -0.5);
  // Registration order = XLM's state-dict order.
  if (!c.sinusoidal) {
    position_embeddings = register_module("position_embeddings", torch::nn::Embedding(c.maxPositions, D));
  } else {
    sinusoids_ = sinusoidTable(c.maxPositions, D);
  }
  if (c.nLangs > 1) lang_embeddings = register_module("lang_embeddings", torch::nn::Embedding(c.nLangs, D));
  // padding_idx: lookups of <pad> give no gradient to its row, as in XLM (the tied output layer still does).
  embeddings = register_module(
      "embeddings", torch::nn::Embedding(torch::nn::EmbeddingOptions(c.vocabSize, D).padding_idx(c.padIndex)));
  layer_norm_emb = register_module("layer_norm_emb", makeLayerNorm(D));
  attentions = register_module("attentions", torch::nn::ModuleList());
  layer_norm1 = register_module("layer_norm1", torch::nn::ModuleList());
  ffns = register_module("ffns", torch::nn::ModuleList());
  layer_norm2 = register_module("layer_norm2", torch::nn::ModuleList());
  if (isDecoder) {
    layer_norm15 = register_module("layer_norm15", torch::nn::ModuleList());
    encoder_attn = register_module("encoder_attn", torch::nn::ModuleList());
  }
  for (int64_t i = 0; i < nLayers; ++i) {
    selfAttn_.push_back(MultiHeadAttention(D, c.nHeads, c.attentionDropout));
    selfAttn_.back()->kernels = kernels;
    attentions->push_back(selfAttn_.back());
    ln1_.push_back(makeLayerNorm(D));
    layer_norm1->push_back(ln1_.back());
    if (isDecoder) {
      ln15_.push_back(makeLayerNorm(D));
      layer_norm15->push_back(ln15_.back());
      crossAttn_.push_back(MultiHeadAttention(D, c.nHeads, c.attentionDropout));
      crossAttn_.back()->kernels = kernels;
      encoder_attn->push_back(crossAttn_.back());
    }
    ffn_.push_back(FeedForward(D, 4 * D, c.dropout, c.gelu));
    ffn_.back()->kernels = kernels;
    ffns->push_back(ffn_.back());
    ln2_.push_back(makeLayerNorm(D));
    layer_norm2->push_back(ln2_.back());
  }
  pred_layer = register_module("pred_layer", PredLayer(embeddings->weight, c.vocabSize));

  // XLM's init: embeddings N(0, dim^-1/2) with the pad row zero; Linear layers keep LibTorch's (= PyTorch's)
  // defaults; LayerNorms ones/zeros; the output bias zero.
  torch::NoGradGuard noGrad;
  if (position_embeddings) position_embeddings->weight.normal_(0, stdev);
  if (lang_embeddings) lang_embeddings->weight.normal_(0, stdev);
  embeddings->weight.normal_(0, stdev);
  embeddings->weight[c.padIndex].zero_();
}

torch::Tensor TransformerStackImpl::embed(const torch::Tensor& ids, int64_t start, const torch::Tensor& langs) {
  const int64_t T = ids.size(1);
  const auto& W = embeddings->weight;
  if (start + T > config.maxPositions) {
    throw ArgError("position " + std::to_string(start + T - 1) + " is beyond the model's " +
                       std::to_string(config.maxPositions) + " positions (config.maxPositions)",
                   ArgError::Kind::Range);
  }
  torch::Tensor pos;
  if (config.sinusoidal) {
    if (sinusoids_.device() != W.device() || sinusoids_.scalar_type() != W.scalar_type()) {
      sinusoids_ = sinusoidTable(config.maxPositions, config.embDim).to(W.device(), W.scalar_type());
    }
    pos = sinusoids_.narrow(0, start, T);
  } else {
    pos = position_embeddings->weight.narrow(0, start, T);  // == lookup of positions start..start+T-1
  }
  return finishEmbedding(embeddings(ids) + pos, langs);
}

torch::Tensor TransformerStackImpl::embedAt(const torch::Tensor& ids, const torch::Tensor& positions,
                                            const torch::Tensor& langs) {
  const auto& W = embeddings->weight;
  torch::Tensor pos;
  if (config.sinusoidal) {
    if (sinusoids_.device() != W.device() || sinusoids_.scalar_type() != W.scalar_type()) {
      sinusoids_ = sinusoidTable(config.maxPositions, config.embDim).to(W.device(), W.scalar_type());
    }
    pos = sinusoids_.index_select(0, positions);
  } else {
    pos = position_embeddings(positions);
  }
  return finishEmbedding(embeddings(ids) + pos.unsqueeze(1), langs);
}

torch::Tensor TransformerStackImpl::finishEmbedding(torch::Tensor x, const torch::Tensor& langs) {
  if (langs.defined() && config.nLangs > 1) {
    auto l = lang_embeddings(langs);
    x = x + (langs.dim() == 1 ? l.unsqueeze(1) : l);
  }
  return torch::dropout(layer_norm_emb(x), config.dropout, is_training());
}

torch::Tensor TransformerStackImpl::forward(const torch::Tensor& ids, const torch::Tensor& lengths,
                                            const torch::Tensor& langs, const torch::Tensor& srcEnc,
                                            const torch::Tensor& srcPad, ForwardInternals* record) {
  const bool attention = record && record->attention;
  auto* hiddenOut = record ? (isDecoder ? &record->decoderHidden : &record->encoderHidden) : nullptr;
  auto* selfOut = record ? (isDecoder ? &record->decoderSelfAttention : &record->encoderSelfAttention) : nullptr;
  const int64_t B = ids.size(0), T = ids.size(1);
  auto x = embed(ids, 0, langs);
  auto keep = lengthMask(lengths, T).unsqueeze(-1).to(x.scalar_type());  // [B, T, 1]
  x = x * keep;
  torch::Tensor selfMasked;
  if (isDecoder) {
    selfMasked =
        torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(x.device())).triu(1).view({1, 1, T, T});
  } else {
    selfMasked = lengthMask(lengths, T).logical_not().view({B, 1, 1, T});
  }
  for (int64_t i = 0; i < nLayers; ++i) {
    auto& sa = selfAttn_[i];
    torch::Tensor selfProbs, crossProbs;
    auto a = sa->attend(x, sa->split(sa->lin(sa->k_lin, x)), sa->split(sa->lin(sa->v_lin, x)), selfMasked, 1, {},
                        attention ? &selfProbs : nullptr);
    x = ln1_[i](x + torch::dropout(a, config.dropout, is_training()));
    if (isDecoder) {
      auto& ca = crossAttn_[i];
      a = ca->attend(x, ca->split(ca->lin(ca->k_lin, srcEnc)), ca->split(ca->lin(ca->v_lin, srcEnc)), srcPad, 1, {},
                     attention ? &crossProbs : nullptr);
      x = ln15_[i](x + torch::dropout(a, config.dropout, is_training()));
    }
    x = ln2_[i](x + ffn_[i](x));
    x = x * keep;
    if (record && record->hidden) hiddenOut->push_back(x);
    if (attention) {
      selfOut->push_back(selfProbs);
      if (isDecoder) record->crossAttention.push_back(crossProbs);
    }
  }
  return x;
}

void TransformerStackImpl::fillCrossCache(XlmDecoderState& st) {
  st.crossK.resize(nLayers);
  st.crossV.resize(nLayers);
  for (int64_t i = 0; i < nLayers; ++i) {
    auto& ca = crossAttn_[i];
    st.crossK[i] = ca->split(ca->lin(ca->k_lin, st.encoderOut)).contiguous();
    st.crossV[i] = ca->split(ca->lin(ca->v_lin, st.encoderOut)).contiguous();
  }
}

// The self-attention caches' rows that reorder() kept, gathered now (see XlmDecoderState::pendingRows).
static void applyPendingRows(XlmDecoderState& st) {
  if (!st.pendingRows.defined()) return;
  auto idx = st.pendingRows.to(st.encoderOut.device());
  for (auto* list : {&st.selfK, &st.selfV}) {
    for (auto& t : *list) {
      if (t.defined()) t = t.index_select(0, idx);
    }
  }
  st.pendingRows = torch::Tensor();
}

// Rows merged in at different steps: drops the cache positions no row attends to any more, and returns each
// row's own position and the self-attention mask of this step ([N, 1, 1, step + 1], true = masked; undefined
// once every row starts at 0).
static std::pair<torch::Tensor, torch::Tensor> rowPositions(XlmDecoderState& st, const torch::Device& device) {
  const int64_t trim = st.selfStart.min().item<int64_t>();
  if (trim > 0) {
    for (auto* list : {&st.selfK, &st.selfV}) {
      for (auto& t : *list) t = t.narrow(2, trim, t.size(2) - trim);
    }
    st.selfStart = st.selfStart - trim;
    st.step -= trim;
  }
  auto positions = (st.step - st.selfStart).to(device);
  if (st.selfStart.max().item<int64_t>() == 0) {
    st.selfStart = torch::Tensor();
    return {positions, torch::Tensor()};
  }
  const int64_t N = st.selfStart.size(0);
  auto masked =
      torch::arange(st.step + 1, torch::kLong).unsqueeze(0).lt(st.selfStart.unsqueeze(1)).view({N, 1, 1, st.step + 1});
  return {positions, masked.to(device)};
}

torch::Tensor TransformerStackImpl::step(XlmDecoderState& st, const torch::Tensor& tokens, const torch::Tensor& langs) {
  if (static_cast<int64_t>(st.crossK.size()) != nLayers) fillCrossCache(st);
  st.selfK.resize(nLayers);
  st.selfV.resize(nLayers);
  applyPendingRows(st);
  torch::Tensor x, selfMasked;
  if (st.selfStart.defined()) {
    auto [positions, masked] = rowPositions(st, tokens.device());
    if (st.step >= config.maxPositions) {
      throw ArgError("position " + std::to_string(st.step) + " is beyond the model's " +
                         std::to_string(config.maxPositions) + " positions (config.maxPositions)",
                     ArgError::Kind::Range);
    }
    x = embedAt(tokens.unsqueeze(1), positions, langs);
    selfMasked = masked;
  } else {
    x = embed(tokens.unsqueeze(1), st.step, langs);  // [N, 1, D]
  }
  for (int64_t i = 0; i < nLayers; ++i) {
    auto& sa = selfAttn_[i];
    torch::Tensor q, k, v;
    if (auto fused = kernels_ ? kernels_->findFused(sa->q_lin->weight) : nullptr) {
      auto qkv = fused->apply(x).chunk(3, -1);
      q = qkv[0];
      k = sa->split(qkv[1]);
      v = sa->split(qkv[2]);
    } else {
      k = sa->split(sa->lin(sa->k_lin, x));
      v = sa->split(sa->lin(sa->v_lin, x));
    }
    if (st.selfK[i].defined()) {
      k = torch::cat({st.selfK[i], k}, 2);
      v = torch::cat({st.selfV[i], v}, 2);
    } else {
      k = k.contiguous();
      v = v.contiguous();
    }
    st.selfK[i] = k;
    st.selfV[i] = v;
    auto a = sa->attend(x, k, v, selfMasked, 1, q);
    x = ln1_[i](x + torch::dropout(a, config.dropout, is_training()));
    auto& ca = crossAttn_[i];
    a = ca->attend(x, st.crossK[i], st.crossV[i], st.srcPad, st.group);
    x = ln15_[i](x + torch::dropout(a, config.dropout, is_training()));
    x = ln2_[i](x + ffn_[i](x));
  }
  st.step += 1;
  return x.squeeze(1);
}

// ---- encoder-decoder ----------------------------------------------------------------------------------------

XlmSeq2Seq::XlmSeq2Seq(const XlmConfig& c) : config(c) {
  encoder = register_module("encoder", TransformerStack(c, false, kernels));
  decoder = register_module("decoder", TransformerStack(c, true, kernels));
}

std::vector<std::vector<std::pair<torch::Tensor, torch::Tensor>>> XlmSeq2Seq::fusableLinears() {
  std::vector<std::vector<std::pair<torch::Tensor, torch::Tensor>>> groups;
  for (int64_t i = 0; i < decoder->nLayers; ++i) {
    auto a = decoder->attentions[i]->as<MultiHeadAttentionImpl>();
    groups.push_back(
        {{a->q_lin->weight, a->q_lin->bias}, {a->k_lin->weight, a->k_lin->bias}, {a->v_lin->weight, a->v_lin->bias}});
  }
  return groups;
}

std::vector<InferenceLinear> XlmSeq2Seq::inferenceLinears() {
  std::vector<InferenceLinear> out;
  auto add = [&](const std::string& name, const torch::nn::Linear& l) {
    out.push_back({name + ".weight", l->weight, l->bias});
  };
  for (int64_t i = 0; i < decoder->nLayers; ++i) {
    const auto n = std::to_string(i);
    for (auto [list, prefix] :
         {std::pair{&decoder->attentions, "attentions"}, std::pair{&decoder->encoder_attn, "encoder_attn"}}) {
      auto a = (*list)[i]->as<MultiHeadAttentionImpl>();
      const std::string p = std::string("decoder.") + prefix + "." + n;
      add(p + ".q_lin", a->q_lin);
      add(p + ".k_lin", a->k_lin);
      add(p + ".v_lin", a->v_lin);
      add(p + ".out_lin", a->out_lin);
    }
    auto f = decoder->ffns[i]->as<FeedForwardImpl>();
    add("decoder.ffns." + n + ".lin1", f->lin1);
    add("decoder.ffns." + n + ".lin2", f->lin2);
  }
  const auto& proj = decoder->pred_layer->proj;
  out.push_back({"decoder.pred_layer.proj.weight", proj->weight, proj->bias});
  for (int64_t i = 0; i < encoder->nLayers; ++i) {
    const auto n = std::to_string(i);
    auto a = encoder->attentions[i]->as<MultiHeadAttentionImpl>();
    auto f = encoder->ffns[i]->as<FeedForwardImpl>();
    for (auto [name, l] : {std::pair{"attentions." + n + ".q_lin", a->q_lin},
                           {"attentions." + n + ".k_lin", a->k_lin},
                           {"attentions." + n + ".v_lin", a->v_lin},
                           {"attentions." + n + ".out_lin", a->out_lin},
                           {"ffns." + n + ".lin1", f->lin1},
                           {"ffns." + n + ".lin2", f->lin2}}) {
      out.push_back({"encoder." + name + ".weight", l->weight, l->bias, /*encoder=*/true});
    }
  }
  return out;
}

torch::Tensor XlmSeq2Seq::runEncoder(const torch::Tensor& src, const torch::Tensor& srcLen,
                                     const torch::Tensor& srcLang, const std::string& prefix,
                                     ForwardInternals* record) {
  const auto& W = encoder->embeddings->weight;
  if (src.scalar_type() != c10::kLong || src.dim() != 2) {
    throw ArgError("argument '" + prefix + "src' must be a 2-d int64 tensor, got " + describeTensor(src));
  }
  const int64_t B = src.size(0), S = src.size(1);
  if (B == 0)
    throw ArgError("argument '" + prefix + "src' must hold at least one sentence, got " + describeTensor(src));
  checkWidth(S, config.maxPositions, prefix + "src");
  checkDevice(src, W, prefix + "src");
  checkDevice(srcLen, W, prefix + "srcLen");
  checkIdRange(src, config.vocabSize, prefix + "src");
  checkLengths(srcLen, B, S, prefix + "srcLen");
  return encoder->forward(src, srcLen, checkLangs(srcLang, B, S, config, W, prefix + "srcLang"), {}, {}, record);
}

torch::Tensor XlmSeq2Seq::forwardHidden(const Seq2SeqBatch& b) {
  ForwardInternals none;
  return forwardWith(b, none);
}

torch::Tensor XlmSeq2Seq::forwardInternals(const Seq2SeqBatch& b, ForwardInternals& internals) {
  const auto& proj = decoder->pred_layer->proj;
  return kernels->linear(forwardWith(b, internals), proj->weight, proj->bias);
}

torch::Tensor XlmSeq2Seq::forwardWith(const Seq2SeqBatch& b, ForwardInternals& record) {
  const int64_t B = b.src.size(0), S = b.src.size(1), T = b.tgtIn.size(1);
  const auto& W = decoder->embeddings->weight;
  checkWidth(T, config.maxPositions, "batch.tgtIn");
  checkDevice(b.tgtIn, W, "batch.tgtIn");
  checkDevice(b.tgtLen, W, "batch.tgtLen");
  checkLengths(b.tgtLen, B, T, "batch.tgtLen");
  auto tgtLang = checkLangs(b.tgtLang, B, T, config, W, "batch.tgtLang");
  auto enc = runEncoder(b.src, b.srcLen, b.srcLang, "batch.", &record);
  auto srcPad = lengthMask(b.srcLen, S).logical_not().view({B, 1, 1, S});
  return decoder->forward(b.tgtIn, b.tgtLen, tgtLang, enc, srcPad, &record);
}

torch::Tensor XlmSeq2Seq::forward(const Seq2SeqBatch& b) {
  const auto& proj = decoder->pred_layer->proj;
  return kernels->linear(forwardHidden(b), proj->weight, proj->bias);
}

std::pair<torch::Tensor, torch::Tensor> XlmSeq2Seq::outputProjection() {
  return {decoder->pred_layer->proj->weight, decoder->pred_layer->proj->bias};
}

std::shared_ptr<DecoderState> XlmSeq2Seq::encode(const torch::Tensor& src, const torch::Tensor& srcLen,
                                                 const torch::Tensor& srcLang) {
  auto st = std::make_shared<XlmDecoderState>();
  st->encoderOut = runEncoder(src, srcLen, srcLang);
  const int64_t B = src.size(0), S = src.size(1);
  st->srcPad = lengthMask(srcLen, S).logical_not().view({B, 1, 1, S});
  decoder->fillCrossCache(*st);
  return st;
}

torch::Tensor XlmSeq2Seq::decodeStep(DecoderState& state, const torch::Tensor& tokens, const torch::Tensor& tgtLang) {
  auto& st = xlmState(state);
  const auto& W = decoder->embeddings->weight;
  if (tokens.dim() != 1 || tokens.size(0) != st.batchSize()) {
    throw ArgError("argument 'tokens' must be [" + std::to_string(st.batchSize()) + "] (one per hypothesis), got " +
                   describeTensor(tokens));
  }
  checkDevice(tokens, W, "tokens");
  checkIdRange(tokens, config.vocabSize, "tokens", /*perStep=*/true);
  auto langs = checkLangs(tgtLang, tokens.size(0), 1, config, W, "tgtLang", /*perStep=*/true);
  if (langs.defined() && langs.dim() == 2) langs = langs.select(1, 0);
  return outputLogProbs(st, decoder->step(st, tokens, langs));
}

void XlmSeq2Seq::reorder(DecoderState& state, const torch::Tensor& indices) {
  auto& st = xlmState(state);
  const auto device = st.encoderOut.device();
  const auto r = regroup(indices, st.group, st.encoderOut.size(0));
  if (!r.sameSlots) {
    auto slots = slotIndex(r, device);
    st.encoderOut = st.encoderOut.index_select(0, slots);
    st.srcPad = st.srcPad.index_select(0, slots);
    for (auto* list : {&st.crossK, &st.crossV}) {
      for (auto& t : *list) t = t.index_select(0, slots);
    }
  }
  st.group = r.group;
  if (r.identity) return;
  if (st.selfStart.defined()) st.selfStart = st.selfStart.index_select(0, r.rows);
  // (A clone: r.rows may share the caller's index tensor, which JS can still change.)
  st.pendingRows = st.pendingRows.defined() ? st.pendingRows.index_select(0, r.rows) : r.rows.clone();
}

std::shared_ptr<DecoderState> XlmSeq2Seq::mergeStates(DecoderState& sa, DecoderState& sb) {
  auto& a = xlmState(sa);
  auto& b = xlmState(sb);
  // (A shortlist is per batch: the merged state has none, and the caller restricts it again to the union.)
  torch::NoGradGuard noGrad;
  for (auto* s : {&a, &b}) {
    if (static_cast<int64_t>(s->crossK.size()) != decoder->nLayers) decoder->fillCrossCache(*s);
    applyPendingRows(*s);
  }
  auto out = std::make_shared<XlmDecoderState>();
  out->group = mergedGroup(a.group, b.group);
  // The source side: padded to the longer source (pads are masked), sentences of a then of b.
  const int64_t S = std::max(a.encoderOut.size(1), b.encoderOut.size(1));
  auto pad = [S, &out](const XlmDecoderState& s, const torch::Tensor& source, int64_t dim, bool value) {
    auto t = regroupSlots(source, s.group, out->group);
    const int64_t extra = S - t.size(dim);
    if (extra == 0) return t;
    auto shape = t.sizes().vec();
    shape[dim] = extra;
    auto filler = value ? torch::ones(shape, t.options()) : torch::zeros(shape, t.options());
    return torch::cat({t, filler}, dim);
  };
  out->encoderOut = torch::cat({pad(a, a.encoderOut, 1, false), pad(b, b.encoderOut, 1, false)}, 0);
  out->srcPad = torch::cat({pad(a, a.srcPad, 3, true), pad(b, b.srcPad, 3, true)}, 0);
  for (int64_t i = 0; i < decoder->nLayers; ++i) {
    out->crossK.push_back(torch::cat({pad(a, a.crossK[i], 2, false), pad(b, b.crossK[i], 2, false)}, 0));
    out->crossV.push_back(torch::cat({pad(a, a.crossV[i], 2, false), pad(b, b.crossV[i], 2, false)}, 0));
  }
  // The self-attention caches: the shorter one padded on the left, its rows told to skip the padding.
  const int64_t L = std::max(a.step, b.step);
  out->step = L;
  const int64_t H = config.nHeads, dh = config.embDim / config.nHeads;
  auto leftPad = [&](const XlmDecoderState& s, const torch::Tensor& t) {
    const int64_t N = s.batchSize();
    auto opts = s.encoderOut.options();
    if (!t.defined()) return torch::zeros({N, H, L, dh}, opts);
    if (t.size(2) == L) return t;
    return torch::cat({torch::zeros({N, H, L - t.size(2), dh}, opts), t}, 2);
  };
  if (L > 0) {
    for (int64_t i = 0; i < decoder->nLayers; ++i) {
      auto part = [&](XlmDecoderState& s, std::vector<torch::Tensor>& list) {
        return leftPad(s, i < static_cast<int64_t>(list.size()) ? list[i] : torch::Tensor());
      };
      out->selfK.push_back(torch::cat({part(a, a.selfK), part(b, b.selfK)}, 0));
      out->selfV.push_back(torch::cat({part(a, a.selfV), part(b, b.selfV)}, 0));
    }
  }
  auto starts = [L](const XlmDecoderState& s) {
    auto base = s.selfStart.defined() ? s.selfStart : torch::zeros({s.batchSize()}, torch::kLong);
    return base + (L - s.step);
  };
  auto start = torch::cat({starts(a), starts(b)}, 0);
  if (start.max().item<int64_t>() > 0) out->selfStart = start;
  return out;
}

// ---- registration -------------------------------------------------------------------------------------------

void registerXlmTransformer() {
  registerModuleKind("xlm", [](ObjectArg& o) -> std::shared_ptr<Seq2SeqModule> {
    XlmConfig c;
    c.vocabSize = o.integer("vocabSize");
    c.embDim = o.integer("embDim");
    c.nHeads = o.integer("nHeads");
    c.encoderLayers = o.integer("encoderLayers");
    c.decoderLayers = o.integer("decoderLayers");
    c.dropout = o.number("dropout");
    c.attentionDropout = o.number("attentionDropout");
    c.gelu = o.oneOf("activation", {"gelu", "relu"}) == "gelu";
    c.nLangs = o.integer("nLangs");
    c.padIndex = o.integer("padIndex");
    c.eosIndex = o.integer("eosIndex");
    c.unkIndex = o.integer("unkIndex");
    c.maxPositions = o.integer("maxPositions");
    c.sinusoidal = o.boolean("sinusoidalEmbeddings");
    return std::make_shared<XlmSeq2Seq>(c);
  });
}

}  // namespace xkt
