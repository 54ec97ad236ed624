// Adam and AdamW over a model's distinct parameters, stepped with one native call per step (foreach ops over
// all parameters), with PyTorch's arithmetic so that a run equals torch.optim.Adam/AdamW on the same gradients,
// and gradient-norm clipping as torch.nn.utils.clip_grad_norm_ does it. A non-finite norm marks the pending
// gradients bad: the next step() skips (and counts) instead of applying them.
#pragma once
#include <vector>

#include "common/pch.h"

namespace xkt::optim {

// As lib/train/optimizer.ts resolved them (ADAM_DEFAULTS and the checks live there).
struct AdamOptions {
  bool decoupledWeightDecay = false;  // AdamW
  double beta1 = 0;
  double beta2 = 0;
  double eps = 0;
  double weightDecay = 0;
};

class Adam {
 public:
  // Parameters that share one tensor (tied weights) are kept once. All must be floating-point leaves.
  Adam(const std::vector<at::Tensor>& params, const AdamOptions& options);

  // The 2-norm of all gradients; when finite and above maxNorm, scales them to maxNorm (maxNorm <= 0: no scaling).
  // Gradients of a loss scaled by `gradScale` (fp16 training's dynamic loss scale) are unscaled in the same pass,
  // as torch.amp.GradScaler.unscale_ before clipping: the norm returned is the unscaled one.
  double clipGradNorm(double maxNorm, double gradScale = 1.0);
  // Applies one update with learning rate lr; false (and counted) when the last clipGradNorm saw a non-finite norm.
  bool step(double lr);
  // Sets every gradient to undefined (PyTorch's set_to_none), which also clears the non-finite mark.
  void zeroGrad();

  const std::vector<at::Tensor>& params() const { return params_; }
  // For each kept parameter, its position in the list given to the constructor.
  const std::vector<int64_t>& inputIndices() const { return inputIndices_; }
  const AdamOptions& options() const { return options_; }
  int64_t skippedSteps() const { return skipped_; }

  // State for checkpoints: per parameter, its update count and first and second moments.
  struct State {
    std::vector<int64_t> steps;
    std::vector<at::Tensor> expAvg, expAvgSq;
    int64_t skipped = 0;
  };
  State state() const;
  void loadState(const State& s);  // checks count, shapes, dtypes and devices; copies the values

 private:
  std::vector<at::Tensor> params_;
  std::vector<int64_t> inputIndices_;
  AdamOptions options_;
  std::vector<int64_t> steps_;
  std::vector<at::Tensor> expAvg_, expAvgSq_;
  bool nonFinite_ = false;
  int64_t skipped_ = 0;
};

void registerOptim(Napi::Env env, Napi::Object exports);

}  // namespace xkt::optim
