// Registers beamTopk (see beam_topk.cc).
#pragma once
#include "common/errors.h"

namespace xkt {

void registerBeamTopk(Napi::Env env, Napi::Object exports);

}  // namespace xkt
