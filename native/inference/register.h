// Registers native/inference's entry points (see register.cc).
#pragma once
#include "common/errors.h"

namespace xkt {

void registerInference(Napi::Env env, Napi::Object exports);

}  // namespace xkt
