// See adam.h. The update is torch.optim's single-tensor Adam, written with foreach ops so one native call
// steps every parameter; on the CPU each foreach op runs the same per-tensor kernel, so the numbers match.
#include "optim/adam.h"

#include <cmath>
#include <map>
#include <unordered_set>

#include "common/async.h"
#include "common/define.h"
#include "common/handle_wrap.h"
#include "common/tensor_wrap.h"

namespace xkt::optim {

namespace {

std::vector<at::Tensor> distinct(const std::vector<at::Tensor>& params, std::vector<int64_t>& indices) {
  std::vector<at::Tensor> out;
  std::unordered_set<const c10::TensorImpl*> seen;
  for (size_t i = 0; i < params.size(); i++) {
    const auto& p = params[i];
    const std::string where = "parameter " + std::to_string(i) + " " + describeTensor(p);
    if (!at::isFloatingType(p.scalar_type())) throw ArgError(where + " is not floating-point");
    if (!p.is_leaf()) throw ArgError(where + " is not a leaf (it was computed from other tensors)");
    if (!p.requires_grad()) throw ArgError(where + " does not require grad");
    if (!out.empty() && p.device() != out.front().device()) {
      throw ArgError(where + " is on another device than parameter 0 " + describeTensor(out.front()));
    }
    if (seen.insert(p.unsafeGetTensorImpl()).second) {
      out.push_back(p);
      indices.push_back(static_cast<int64_t>(i));
    }
  }
  if (out.empty()) throw ArgError("no parameters to optimize");
  return out;
}

}  // namespace

Adam::Adam(const std::vector<at::Tensor>& params, const AdamOptions& options) : options_(options) {
  params_ = distinct(params, inputIndices_);
  steps_.assign(params_.size(), 0);
  at::NoGradGuard noGrad;
  for (const auto& p : params_) {
    expAvg_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
    expAvgSq_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
  }
}

double Adam::clipGradNorm(double maxNorm, double gradScale) {
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> grads;
  for (const auto& p : params_) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return 0;
  // As torch.nn.utils.clip_grad_norm_: per-tensor norms, their norm, one clamped factor for all.
  auto norms = at::_foreach_norm(grads, 2);
  auto total = at::linalg_vector_norm(at::stack(norms), 2) / gradScale;
  const double norm = total.item<double>();
  if (!std::isfinite(norm)) {
    nonFinite_ = true;
    return norm;
  }
  if (maxNorm > 0) {
    auto coef = at::clamp_max(maxNorm / (total + 1e-6), 1.0) / gradScale;
    at::_foreach_mul_(grads, coef);
  } else if (gradScale != 1.0) {
    at::_foreach_mul_(grads, 1.0 / gradScale);
  }
  return norm;
}

bool Adam::step(double lr) {
  if (nonFinite_) {
    skipped_ += 1;
    return false;
  }
  at::NoGradGuard noGrad;
  const auto& o = options_;
  // Parameters with a gradient, grouped by their update count after this step (bias corrections differ).
  std::map<int64_t, std::vector<size_t>> groups;
  for (size_t i = 0; i < params_.size(); i++) {
    if (params_[i].grad().defined()) groups[++steps_[i]].push_back(i);
  }
  for (const auto& [step, idx] : groups) {
    std::vector<at::Tensor> ps, grads, m, v;
    for (size_t i : idx) {
      ps.push_back(params_[i]);
      grads.push_back(params_[i].grad());
      m.push_back(expAvg_[i]);
      v.push_back(expAvgSq_[i]);
    }
    if (o.weightDecay != 0) {
      if (o.decoupledWeightDecay) {
        at::_foreach_mul_(ps, 1 - lr * o.weightDecay);
      } else {
        grads = at::_foreach_add(grads, ps, o.weightDecay);
      }
    }
    at::_foreach_lerp_(m, grads, 1 - o.beta1);
    at::_foreach_mul_(v, o.beta2);
    at::_foreach_addcmul_(v, grads, grads, 1 - o.beta2);
    const double bc1 = 1 - std::pow(o.beta1, static_cast<double>(step));
    const double bc2 = 1 - std::pow(o.beta2, static_cast<double>(step));
    auto denom = at::_foreach_sqrt(v);
    at::_foreach_div_(denom, std::sqrt(bc2));
    at::_foreach_add_(denom, o.eps);
    at::_foreach_addcdiv_(ps, m, denom, -(lr / bc1));
  }
  return true;
}

void Adam::zeroGrad() {
  for (auto& p : params_) {
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
  }
  nonFinite_ = false;
}

Adam::State Adam::state() const {
  State s{steps_, {}, {}, skipped_};
  for (size_t i = 0; i < params_.size(); i++) {
    s.expAvg.push_back(expAvg_[i].clone());
    s.expAvgSq.push_back(expAvgSq_[i].clone());
  }
  return s;
}

void Adam::loadState(const State& s) {
  const size_t n = params_.size();
  if (s.steps.size() != n || s.expAvg.size() != n || s.expAvgSq.size() != n) {
    throw ArgError("optimizer state holds " + std::to_string(s.expAvg.size()) + " parameters, this optimizer has " +
                   std::to_string(n));
  }
  at::NoGradGuard noGrad;
  for (size_t i = 0; i < n; i++) {
    for (const auto* t : {&s.expAvg[i], &s.expAvgSq[i]}) {
      if (!t->defined() || t->sizes() != params_[i].sizes() || t->scalar_type() != params_[i].scalar_type()) {
        throw ArgError("optimizer state of parameter " + std::to_string(i) + " is " +
                       (t->defined() ? describeTensor(*t) : std::string("missing")) + ", expected " +
                       describeTensor(params_[i]));
      }
    }
    if (s.steps[i] < 0) throw ArgError("optimizer state of parameter " + std::to_string(i) + " has a negative step");
  }
  for (size_t i = 0; i < n; i++) {
    expAvg_[i].copy_(s.expAvg[i]);
    expAvgSq_[i].copy_(s.expAvgSq[i]);
  }
  steps_ = s.steps;
  skipped_ = s.skipped;
}

// ---- entry points -----------------------------------------------------------------------------------------

namespace {
using OptimizerWrap = HandleWrap<Adam>;

std::shared_ptr<Adam> unwrap(Args& a) { return OptimizerWrap::unwrap(a, 0, "optimizer"); }

double learningRate(Args& a, size_t i) {
  double lr = a.number(i, "lr");
  if (lr < 0) throw ArgError("argument 'lr' must be >= 0, got " + std::to_string(lr), ArgError::Kind::Range);
  return lr;
}

double maxNormOf(Args& a, size_t i) { return a.number(i, "maxNorm", /*allowNonFinite=*/true); }

// The loss scale the gradients carry (1 unless fp16 training scales its loss).
double gradScaleOf(Args& a, size_t i) {
  if (!a.has(i)) return 1.0;
  const double s = a.number(i, "gradScale");
  if (!(s > 0)) throw ArgError("argument 'gradScale' must be > 0, got " + std::to_string(s), ArgError::Kind::Range);
  return s;
}

struct ClipArgs {
  std::shared_ptr<Adam> opt;
  double maxNorm, gradScale;
};
}  // namespace

void registerOptim(Napi::Env env, Napi::Object exports) {
  OptimizerWrap::init(env, exports, "NativeOptimizer", "an optimizer (Adam/AdamW)");

  define(env, exports, "optimAdam", [](Args& a) {
    auto params = a.tensorList(0, "params");
    // Resolved and checked by lib/train/optimizer.ts.
    ObjectArg opts(a, 1, "options");
    AdamOptions o;
    o.decoupledWeightDecay = opts.boolean("decoupled");
    o.beta1 = opts.number("beta1");
    o.beta2 = opts.number("beta2");
    o.eps = opts.number("eps");
    o.weightDecay = opts.number("weightDecay");
    return OptimizerWrap::wrap(a.env(), std::make_shared<Adam>(params, o));
  });
  define(env, exports, "optimParamIndices", [](Args& a) {
    auto opt = unwrap(a);
    const auto& idx = opt->inputIndices();
    auto arr = Napi::Array::New(a.env(), idx.size());
    for (size_t i = 0; i < idx.size(); i++) arr.Set(i, Napi::Number::New(a.env(), static_cast<double>(idx[i])));
    return arr;
  });
  defineSyncAndAsync(
      env, exports, "optimStep",
      [](Args& a) {
        auto opt = unwrap(a);
        return std::make_pair(opt, learningRate(a, 1));
      },
      [](const auto& in) { return in.first->step(in.second); },
      [](Napi::Env env, bool& applied) -> Napi::Value { return Napi::Boolean::New(env, applied); });
  defineSyncAndAsync(
      env, exports, "optimClipGradNorm",
      [](Args& a) {
        auto opt = unwrap(a);
        const double maxNorm = maxNormOf(a, 1);
        return ClipArgs{opt, maxNorm, gradScaleOf(a, 2)};
      },
      [](const ClipArgs& in) { return in.opt->clipGradNorm(in.maxNorm, in.gradScale); },
      [](Napi::Env env, double& norm) -> Napi::Value { return Napi::Number::New(env, norm); });
  define(env, exports, "optimZeroGrad", [](Args& a) {
    unwrap(a)->zeroGrad();
    return a.env().Undefined();
  });
  define(env, exports, "optimSkippedSteps",
         [](Args& a) { return Napi::Number::New(a.env(), static_cast<double>(unwrap(a)->skippedSteps())); });
  define(env, exports, "optimState", [](Args& a) {
    auto s = unwrap(a)->state();
    auto o = Napi::Object::New(a.env());
    auto steps = Napi::Array::New(a.env(), s.steps.size());
    auto m = Napi::Array::New(a.env(), s.expAvg.size());
    auto v = Napi::Array::New(a.env(), s.expAvgSq.size());
    for (size_t i = 0; i < s.steps.size(); i++) {
      steps.Set(i, Napi::Number::New(a.env(), static_cast<double>(s.steps[i])));
      m.Set(i, TensorWrap::wrap(a.env(), s.expAvg[i]));
      v.Set(i, TensorWrap::wrap(a.env(), s.expAvgSq[i]));
    }
    o.Set("steps", steps);
    o.Set("expAvg", m);
    o.Set("expAvgSq", v);
    o.Set("skipped", Napi::Number::New(a.env(), static_cast<double>(s.skipped)));
    return o;
  });
  define(env, exports, "optimLoadState", [](Args& a) {
    auto opt = unwrap(a);
    Adam::State s;
    s.steps = a.intList(1, "steps");
    s.expAvg = a.tensorList(2, "expAvg");
    s.expAvgSq = a.tensorList(3, "expAvgSq");
    s.skipped = a.nonNegativeInteger(4, "skipped");
    opt->loadState(s);
    return a.env().Undefined();
  });
  define(env, exports, "optimDispose", [](Args& a) {
    OptimizerWrap::release(a, 0, "optimizer");
    return a.env().Undefined();
  });
}

}  // namespace xkt::optim
