// The loss layer's JS entry points (register.cc); addon.cc calls registerLoss once.
#pragma once
#include "common/define.h"

namespace xkt {
void registerLoss(Napi::Env env, Napi::Object exports);  // distillLoss, distillLossChunked, distillLossReference, ...
}  // namespace xkt
