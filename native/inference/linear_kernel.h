// Linear layers prepared for inference, which the models use in place of their fp32 weights once a model is
// prepacked or quantized (model.prepack() / model.quantize()):
//   packed: the fp32 weight reordered once into oneDNN's blocked layout (mkldnn::_reorder_linear_weight), so no
//           GEMM call repacks it; the same numbers as the plain layer up to summation order;
//   int8:   the weight quantized per output channel (symmetric, scale = max|w_row| / 127, as PyTorch's
//           per-channel weight observer) and packed by fbgemm; activations quantized per call
//           (quantized::linear_dynamic with reduce_range, exactly what torch.ao's quantize_dynamic runs).
// A KernelTable maps a layer's weight tensor to its kernel; models look their linears up there.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>

#include "common/errors.h"

namespace xkt {

class LinearKernel {
 public:
  enum class Kind { Packed, Int8 };
  static std::shared_ptr<LinearKernel> packed(const torch::Tensor& weight, const torch::Tensor& bias);
  static std::shared_ptr<LinearKernel> int8(const torch::Tensor& weight, const torch::Tensor& bias);
  // From a saved int8 weight [N, K] and its per-row scales [N] (float32).
  static std::shared_ptr<LinearKernel> int8FromSaved(const torch::Tensor& qweight, const torch::Tensor& scales,
                                                     const torch::Tensor& bias);

  // x [..., K] -> [..., N]
  torch::Tensor apply(const torch::Tensor& x) const;
  Kind kind() const { return kind_; }
  // int8 only: the quantized weight (int8 [N, K]) and scales (float32 [N]) to save; and the weight as the
  // int8 kernel sees it (dequantized), for the model's fp32 parameter.
  const torch::Tensor& qweight() const { return qweight_; }
  const torch::Tensor& scales() const { return scales_; }
  torch::Tensor dequantized() const;
  int64_t nbytes() const;

 private:
  Kind kind_ = Kind::Packed;
  int64_t outFeatures_ = 0;
  torch::Tensor weight_, bias_;     // packed: the reordered weight and the bias
  torch::Tensor qweight_, scales_;  // int8: what is saved
  c10::IValue int8Params_;          // int8: fbgemm's LinearPackedParams
};

// The kernels of one model, by weight tensor. Empty for a plain fp32 model (every lookup then falls through).
class KernelTable {
 public:
  void set(const torch::Tensor& weight, std::shared_ptr<LinearKernel> kernel) {
    table_[weight.unsafeGetTensorImpl()] = std::move(kernel);
  }
  std::shared_ptr<LinearKernel> find(const torch::Tensor& weight) const;
  bool empty() const { return table_.empty(); }
  void clear() {
    table_.clear();
    fused_.clear();
  }
  // Layers that read the same input, fused into one kernel (their weights stacked by rows), by the first
  // layer's weight: a decoder step's self-attention q, k and v in one call instead of three.
  void setFused(const torch::Tensor& firstWeight, std::shared_ptr<LinearKernel> kernel) {
    fused_[firstWeight.unsafeGetTensorImpl()] = std::move(kernel);
  }
  std::shared_ptr<LinearKernel> findFused(const torch::Tensor& firstWeight) const;
  // Rebuilds every fused kernel from the layers' own kernels (each group: all of one kind, else none).
  void fuse(const std::vector<std::vector<std::pair<torch::Tensor, torch::Tensor>>>& groups);
  int64_t nbytes() const;
  // linear(x, weight, bias) through the weight's kernel when it has one.
  torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) const;
  torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x) const {
    return linear(x, layer->weight, layer->bias);
  }

 private:
  std::unordered_map<const void*, std::shared_ptr<LinearKernel>> table_, fused_;
};

}  // namespace xkt
