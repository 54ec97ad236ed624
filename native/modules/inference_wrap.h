// Registers the JS entry points of a model's inference form (see inference_wrap.cc).
#pragma once
#include "common/errors.h"

namespace xkt {

void registerInference(Napi::Env env, Napi::Object exports);

}  // namespace xkt
