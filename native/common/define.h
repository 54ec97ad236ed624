// Registers a native entry point whose body can throw anything: the wrapper turns ArgError into a JS
// TypeError/RangeError and c10::Error / std::exception into a JS Error naming the function.
#pragma once
#include <functional>

#include "common/convert.h"

namespace xkt {

using NativeBody = std::function<Napi::Value(Args&)>;

void define(Napi::Env env, Napi::Object target, const char* name, NativeBody body);

}  // namespace xkt
