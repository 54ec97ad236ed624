// See ema.h.
#include "optim/ema.h"

#include "common/define.h"
#include "common/handle_wrap.h"
#include "common/tensor_wrap.h"

namespace xkt::optim {

ParameterAverage::ParameterAverage(const std::vector<at::Tensor>& params) : params_(params) {
  if (params_.empty()) throw ArgError("no parameters to average");
  at::NoGradGuard noGrad;
  for (size_t i = 0; i < params_.size(); i++) {
    if (!at::isFloatingType(params_[i].scalar_type())) {
      throw ArgError("parameter " + std::to_string(i) + " " + describeTensor(params_[i]) + " is not floating-point");
    }
    shadow_.push_back(params_[i].detach().clone());
  }
}

void ParameterAverage::update(double decay) {
  at::NoGradGuard noGrad;
  at::_foreach_lerp_(shadow_, params_, 1 - decay);
}

void ParameterAverage::swap() {
  at::NoGradGuard noGrad;
  for (size_t i = 0; i < params_.size(); i++) {
    auto tmp = params_[i].detach().clone();
    params_[i].detach().copy_(shadow_[i]);
    shadow_[i].copy_(tmp);
  }
}

void ParameterAverage::load(const std::vector<at::Tensor>& values) {
  if (values.size() != shadow_.size()) {
    throw ArgError("the average holds " + std::to_string(shadow_.size()) + " tensors, got " +
                   std::to_string(values.size()));
  }
  for (size_t i = 0; i < values.size(); i++) {
    if (values[i].sizes() != shadow_[i].sizes()) {
      throw ArgError("average " + std::to_string(i) + " is " + describeTensor(values[i]) + ", expected " +
                     describeTensor(shadow_[i]));
    }
  }
  at::NoGradGuard noGrad;
  for (size_t i = 0; i < values.size(); i++) shadow_[i].copy_(values[i]);
}

namespace {
using AverageWrap = HandleWrap<ParameterAverage>;
}

void registerAverage(Napi::Env env, Napi::Object exports) {
  AverageWrap::init(env, exports, "NativeParameterAverage", "a parameter average (ParameterAverage)");
  define(env, exports, "averageCreate", [](Args& a) {
    return AverageWrap::wrap(a.env(), std::make_shared<ParameterAverage>(a.tensorList(0, "params")));
  });
  define(env, exports, "averageUpdate", [](Args& a) {
    auto avg = AverageWrap::unwrap(a, 0, "average");
    double decay = a.number(1, "decay");
    if (!(decay >= 0 && decay <= 1)) throw ArgError("argument 'decay' must be in [0, 1]", ArgError::Kind::Range);
    avg->update(decay);
    return a.env().Undefined();
  });
  define(env, exports, "averageSwap", [](Args& a) {
    AverageWrap::unwrap(a, 0, "average")->swap();
    return a.env().Undefined();
  });
  define(env, exports, "averageTensors", [](Args& a) {
    const auto& ts = AverageWrap::unwrap(a, 0, "average")->averages();
    auto arr = Napi::Array::New(a.env(), ts.size());
    for (size_t i = 0; i < ts.size(); i++) arr.Set(i, TensorWrap::wrap(a.env(), ts[i].clone()));
    return arr;
  });
  define(env, exports, "averageLoad", [](Args& a) {
    AverageWrap::unwrap(a, 0, "average")->load(a.tensorList(1, "values"));
    return a.env().Undefined();
  });
  define(env, exports, "averageDispose", [](Args& a) {
    AverageWrap::release(a, 0, "average");
    return a.env().Undefined();
  });
}

}  // namespace xkt::optim
