// Registers the CUDA runtime API as torch.cuda names it (see runtime.cc).
#pragma once
#include "common/errors.h"

namespace xkt {

void registerCudaRuntime(Napi::Env env, Napi::Object exports);

}  // namespace xkt
