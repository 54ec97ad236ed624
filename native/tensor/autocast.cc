// Autocast (torch.autocast) from JS: the thread-local state of the JS thread, read and set as one object.
// Native Promise forms capture it when they start (common/async.h), so a training step or a decode started
// inside lib/tensor's autocast() runs its forward in the lower precision on the compute thread.
#include "common/async.h"
#include "common/define.h"
#include "tensor/register.h"

namespace xkt {

namespace {

Napi::Value stateToJs(Napi::Env env, const AutocastState& s) {
  auto o = Napi::Object::New(env);
  o.Set("cpu", Napi::Boolean::New(env, s.cpu));
  o.Set("cuda", Napi::Boolean::New(env, s.cuda));
  o.Set("cpuDtype", Napi::String::New(env, dtypeName(s.cpuDtype)));
  o.Set("cudaDtype", Napi::String::New(env, dtypeName(s.cudaDtype)));
  return o;
}

c10::ScalarType lowerPrecision(const ObjectArg& o, const char* key) {
  const auto name = o.oneOf(key, {"bfloat16", "float16"});
  return name == "bfloat16" ? at::kBFloat16 : at::kHalf;
}

}  // namespace

void registerTensorAutocast(Napi::Env env, Napi::Object exports) {
  define(env, exports, "autocastState", [](Args& a) { return stateToJs(a.env(), AutocastState::current()); });
  // setAutocastState({ cpu, cuda, cpuDtype, cudaDtype }) -> the previous state. Leaving autocast drops the
  // weights it cached, as PyTorch does when its outermost autocast region exits.
  define(env, exports, "setAutocastState", [](Args& a) {
    ObjectArg o(a, 0, "state");
    AutocastState next{o.boolean("cpu"), o.boolean("cuda"), lowerPrecision(o, "cpuDtype"),
                       lowerPrecision(o, "cudaDtype")};
    const auto prev = AutocastState::current();
    next.apply();
    if (prev.any() && !next.any()) at::autocast::clear_cache();
    return stateToJs(a.env(), prev);
  });
}

}  // namespace xkt
