// Registers native entry points whose bodies can throw anything: the wrapper turns ArgError into a JS
// TypeError/RangeError and c10::Error / std::exception into a JS Error naming the function. Heavy calls get
// their sync and Promise forms from one description (defineSyncAndAsync), so the two cannot drift apart.
#pragma once
#include <functional>
#include <string>
#include <utility>

#include "common/async.h"
#include "common/convert.h"

namespace xkt {

using NativeBody = std::function<Napi::Value(Args&)>;

void define(Napi::Env env, Napi::Object target, const std::string& name, NativeBody body);

// Registers `name` and `name + "Async"`. Both read their arguments on the JS thread with `read(Args&)`, run
// `work(const In&)` (here, or on the compute thread for the Promise form) and turn its result into a JS value
// with `toJs(Napi::Env, Out&)`. `afterSync(Args&)`, when given, runs after the sync form (e.g. to re-report a
// handle's bytes to V8; the Promise form has no Args left by then).
template <typename Read, typename Work, typename ToJs>
void defineSyncAndAsync(Napi::Env env, Napi::Object target, const std::string& name, Read read, Work work, ToJs toJs,
                        std::function<void(Args&)> afterSync = nullptr) {
  using In = std::decay_t<decltype(read(std::declval<Args&>()))>;
  using Out = std::decay_t<decltype(work(std::declval<const In&>()))>;
  define(env, target, name, [read, work, toJs, afterSync](Args& a) -> Napi::Value {
    In in = read(a);
    Out out = work(in);
    Napi::Value value = toJs(a.env(), out);
    if (afterSync) afterSync(a);
    return value;
  });
  const std::string asyncName = name + "Async";
  define(env, target, asyncName, [read, work, toJs, asyncName](Args& a) -> Napi::Value {
    auto in = std::make_shared<In>(read(a));
    return AsyncTask<Out>::start(
        a.env(), asyncName, [in, work]() { return work(*in); }, toJs);
  });
}

}  // namespace xkt
