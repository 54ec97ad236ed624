// An exponential moving average of a model's parameters (Marian's exponential smoothing, Polyak averaging):
// shadow copies updated after each optimizer step with one foreach call, swapped in for validation and saved
// beside the raw weights.
#pragma once
#include <vector>

#include "common/pch.h"

namespace xkt::optim {

class ParameterAverage {
 public:
  explicit ParameterAverage(const std::vector<at::Tensor>& params);  // distinct floating-point tensors
  // shadow = decay * shadow + (1 - decay) * param
  void update(double decay);
  // Exchanges the values of the parameters and their averages (twice restores both).
  void swap();
  const std::vector<at::Tensor>& averages() const { return shadow_; }
  void load(const std::vector<at::Tensor>& values);  // checks count and shapes; copies

 private:
  std::vector<at::Tensor> params_, shadow_;
};

void registerAverage(Napi::Env env, Napi::Object exports);

}  // namespace xkt::optim
