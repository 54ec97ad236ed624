// See linear_kernel.h. The oneDNN and fbgemm operators are reached through the dispatcher by their schema
// names (as torch.ops reaches them), so no private ATen header is needed.
#include "inference/linear_kernel.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>

#include "common/convert.h"

namespace xkt {

namespace {

const c10::OperatorHandle& op(const char* name) {
  // Looked up once per name; an operator missing from this LibTorch is a clear error, not a crash.
  static std::mutex m;
  static std::unordered_map<std::string, c10::OperatorHandle> cache;
  std::lock_guard<std::mutex> lock(m);
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  auto handle = c10::Dispatcher::singleton().findSchema({name, ""});
  if (!handle)
    throw std::runtime_error(std::string("this LibTorch has no operator ") + name +
                             " (needed for prepacked/int8 linear layers)");
  return cache.emplace(name, *handle).first->second;
}

c10::IValue call1(const char* name, std::vector<c10::IValue> args) {
  torch::jit::Stack stack(std::move(args));
  op(name).callBoxed(&stack);
  return std::move(stack.at(0));
}

struct SilentWarnings : c10::WarningHandler {
  void process(const c10::Warning&) override {}
};

torch::Tensor as2d(const torch::Tensor& x) { return x.reshape({-1, x.size(-1)}); }

torch::Tensor restore(const torch::Tensor& y, const torch::Tensor& x) {
  auto sizes = x.sizes().vec();
  sizes.back() = y.size(-1);
  return y.view(sizes);
}

void checkWeight(const torch::Tensor& w, const torch::Tensor& b) {
  if (w.dim() != 2 || w.scalar_type() != torch::kFloat32 || !w.device().is_cpu()) {
    throw ArgError("prepacked and int8 linear layers need float32 CPU weights [out, in], got " + describeTensor(w));
  }
  if (b.defined() && (b.dim() != 1 || b.size(0) != w.size(0)))
    throw ArgError("a linear layer's bias must be [" + std::to_string(w.size(0)) + "], got " + describeTensor(b));
}

}  // namespace

std::shared_ptr<LinearKernel> LinearKernel::packed(const torch::Tensor& weight, const torch::Tensor& bias) {
  checkWeight(weight, bias);
  c10::NoGradGuard noGrad;
  auto k = std::make_shared<LinearKernel>();
  k->kind_ = Kind::Packed;
  k->outFeatures_ = weight.size(0);
  // batch_size None: one layout for every number of rows (decoding changes it every step).
  k->weight_ = call1("mkldnn::_reorder_linear_weight", {weight.detach().contiguous(), c10::IValue()}).toTensor();
  k->bias_ = bias.defined() ? bias.detach().contiguous() : torch::Tensor();
  return k;
}

std::shared_ptr<LinearKernel> LinearKernel::int8(const torch::Tensor& weight, const torch::Tensor& bias) {
  checkWeight(weight, bias);
  c10::NoGradGuard noGrad;
  auto w = weight.detach().contiguous();
  // PyTorch's per-channel symmetric qint8 observer, to the bit: scale = max|row| / ((127 - -128) / 2), at least
  // float32's eps, and its own quantize_per_channel for the rounding; so an int8 model here equals
  // quantize_dynamic's with per_channel_dynamic_qconfig.
  auto scales = torch::clamp_min(w.abs().amax(1) / 127.5f, std::numeric_limits<float>::epsilon());
  SilentWarnings silent;
  c10::WarningUtils::WarningHandlerGuard guard(&silent);
  auto q =
      at::quantize_per_channel(w, scales.to(torch::kDouble), torch::zeros({w.size(0)}, torch::kLong), 0, torch::kQInt8)
          .int_repr();
  return int8FromSaved(q, scales, bias);
}

std::shared_ptr<LinearKernel> LinearKernel::int8FromSaved(const torch::Tensor& qweight, const torch::Tensor& scales,
                                                          const torch::Tensor& bias) {
  if (qweight.dim() != 2 || qweight.scalar_type() != torch::kInt8)
    throw ArgError("an int8 linear weight must be int8 [out, in], got " + describeTensor(qweight));
  if (scales.dim() != 1 || scales.size(0) != qweight.size(0) || scales.scalar_type() != torch::kFloat32) {
    throw ArgError("an int8 linear weight's scales must be float32 [" + std::to_string(qweight.size(0)) + "], got " +
                   describeTensor(scales));
  }
  if (!(scales > 0).all().item<bool>()) throw ArgError("an int8 linear weight's scales must all be > 0");
  c10::NoGradGuard noGrad;
  auto k = std::make_shared<LinearKernel>();
  k->kind_ = Kind::Int8;
  k->outFeatures_ = qweight.size(0);
  k->qweight_ = qweight.contiguous();
  k->scales_ = scales.contiguous();
  auto zeros = torch::zeros({qweight.size(0)}, torch::kLong);
  // LibTorch warns on every new quantized tensor that the quantized dtypes are deprecated (README, limits);
  // the warning is for Python users and is silenced here.
  SilentWarnings silent;
  c10::WarningUtils::WarningHandlerGuard guard(&silent);
  auto wq = at::_make_per_channel_quantized_tensor(k->qweight_, k->scales_.to(torch::kDouble), zeros, 0);
  k->bias_ = bias.defined() ? bias.detach().contiguous() : torch::Tensor();
  k->int8Params_ = call1("quantized::linear_prepack", {wq, k->bias_.defined() ? c10::IValue(k->bias_) : c10::IValue()});
  return k;
}

torch::Tensor LinearKernel::apply(const torch::Tensor& x) const {
  auto x2 = as2d(x.contiguous());
  torch::Tensor y;
  if (kind_ == Kind::Packed) {
    y = call1("mkldnn::_linear_pointwise",
              {x2, weight_, bias_.defined() ? c10::IValue(bias_) : c10::IValue(), std::string("none"),
               c10::List<std::optional<c10::Scalar>>(), c10::IValue()})
            .toTensor();
  } else {
    // reduce_range: 7-bit activations, as torch.ao's dynamic quantized Linear asks of fbgemm (no overflow in its int16
    // sums).
    y = call1("quantized::linear_dynamic", {x2, int8Params_, true}).toTensor();
  }
  return restore(y, x);
}

torch::Tensor LinearKernel::dequantized() const { return qweight_.to(torch::kFloat32) * scales_.unsqueeze(1); }

int64_t LinearKernel::nbytes() const {
  int64_t n = 0;
  for (const auto* t : {&weight_, &bias_, &qweight_, &scales_}) {
    if (t->defined()) n += static_cast<int64_t>(t->numel() * t->element_size());
  }
  // fbgemm's packed copy of the int8 weight.
  if (kind_ == Kind::Int8) n += qweight_.numel();
  return n;
}

std::shared_ptr<LinearKernel> KernelTable::find(const torch::Tensor& weight) const {
  if (table_.empty()) return nullptr;
  auto it = table_.find(weight.unsafeGetTensorImpl());
  return it == table_.end() ? nullptr : it->second;
}

std::shared_ptr<LinearKernel> KernelTable::findFused(const torch::Tensor& firstWeight) const {
  if (fused_.empty()) return nullptr;
  auto it = fused_.find(firstWeight.unsafeGetTensorImpl());
  return it == fused_.end() ? nullptr : it->second;
}

void KernelTable::fuse(const std::vector<std::vector<std::pair<torch::Tensor, torch::Tensor>>>& groups) {
  fused_.clear();
  for (const auto& group : groups) {
    std::vector<std::shared_ptr<LinearKernel>> ks;
    for (const auto& [w, b] : group) ks.push_back(find(w));
    if (ks.empty() || !ks[0] ||
        std::any_of(ks.begin(), ks.end(), [&](const auto& k) { return !k || k->kind() != ks[0]->kind(); }))
      continue;
    std::vector<torch::Tensor> biases;
    for (const auto& [w, b] : group) biases.push_back(b.defined() ? b.detach() : torch::zeros({w.size(0)}));
    auto bias = torch::cat(biases);
    if (ks[0]->kind() == LinearKernel::Kind::Int8) {
      // Rows keep their own scales, and the one input is quantized once: the same numbers as three calls.
      std::vector<torch::Tensor> q, s;
      for (const auto& k : ks) {
        q.push_back(k->qweight());
        s.push_back(k->scales());
      }
      setFused(group[0].first, LinearKernel::int8FromSaved(torch::cat(q), torch::cat(s), bias));
    } else {
      std::vector<torch::Tensor> ws;
      for (const auto& [w, b] : group) ws.push_back(w.detach());
      setFused(group[0].first, LinearKernel::packed(torch::cat(ws), bias));
    }
  }
}

int64_t KernelTable::nbytes() const {
  int64_t n = 0;
  for (const auto& [_, k] : table_) n += k->nbytes();
  return n;
}

torch::Tensor KernelTable::linear(const torch::Tensor& x, const torch::Tensor& weight,
                                  const torch::Tensor& bias) const {
  if (auto k = find(weight)) return k->apply(x);
  return torch::linear(x, weight, bias);
}

}  // namespace xkt
