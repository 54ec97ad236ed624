// Autograd from JS: requires_grad, backward, .grad, zeroing grads and the (thread-local) grad mode.
#include "common/async.h"
#include "tensor/register.h"
#include "common/tensor_wrap.h"

namespace xkt {

namespace {
struct BackwardArgs {
  torch::Tensor self, gradient;
  bool retainGraph;
};

// backward(self, gradient?, retainGraph?): self must have a graph; a non-scalar self needs a gradient.
BackwardArgs readBackwardArgs(Args& a) {
  auto t = a.tensor(0, "self");
  if (!t.requires_grad()) {
    throw ArgError("argument 'self' does not require grad and has no grad_fn: nothing to differentiate");
  }
  auto grad = a.optTensor(1, "gradient");
  if (!grad && t.numel() != 1) {
    throw ArgError("argument 'gradient' is required when 'self' is not a scalar (" + describeTensor(t) + ")");
  }
  return {t, grad ? *grad : torch::Tensor(), a.boolean(2, "retainGraph", false)};
}
}  // namespace

void registerTensorAutograd(Napi::Env env, Napi::Object exports) {
  define(env, exports, "requiresGrad",
         [](Args& a) { return Napi::Boolean::New(a.env(), a.tensor(0, "self").requires_grad()); });
  define(env, exports, "setRequiresGrad", [](Args& a) {
    auto t = a.tensor(0, "self");
    bool flag = a.boolean(1, "requiresGrad", true);
    if (flag && !at::isFloatingType(t.scalar_type())) {
      throw ArgError("only floating-point tensors can require gradients, got " + dtypeName(t.scalar_type()));
    }
    t.set_requires_grad(flag);
    return a.env().Undefined();
  });
  // The Promise form resolves when every leaf's .grad is written.
  defineSyncAndAsync(
      env, exports, "backward", readBackwardArgs,
      [](const auto& in) {
        in.self.backward(in.gradient, in.retainGraph);
        return true;
      },
      [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
  define(env, exports, "grad", [](Args& a) -> Napi::Value {
    auto g = a.tensor(0, "self").grad();
    if (!g.defined()) return a.env().Null();
    return TensorWrap::wrap(a.env(), g);
  });
  // assign(self, src): src's values into self's storage, outside autograd (restoring a leaf parameter).
  define(env, exports, "assign", [](Args& a) {
    auto self = a.tensor(0, "self");
    auto src = a.tensor(1, "src");
    if (self.sizes() != src.sizes()) {
      throw ArgError("argument 'src' must have the shape of 'self' (" + describeTensor(self) + "), got " +
                     describeTensor(src));
    }
    torch::NoGradGuard noGrad;
    self.copy_(src);
    return a.env().Undefined();
  });
  define(env, exports, "zeroGrad", [](Args& a) {
    auto t = a.tensor(0, "self");
    if (t.grad().defined()) t.mutable_grad() = torch::Tensor();
    return a.env().Undefined();
  });
  define(env, exports, "setGradEnabled", [](Args& a) {
    bool prev = c10::GradMode::is_enabled();
    c10::GradMode::set_enabled(a.boolean(0, "enabled", true));
    return Napi::Boolean::New(a.env(), prev);
  });
  define(env, exports, "isGradEnabled",
         [](Args& a) { return Napi::Boolean::New(a.env(), c10::GradMode::is_enabled()); });
}

}  // namespace xkt
