// Data-parallel communication on PyTorch's own distributed engine (c10d, as the pip wheel ships it): a
// process group over a TCPStore rendezvous with the Gloo backend on CPU, and the collectives the trainer
// needs (allReduce, broadcast, barrier, allGather), each off the JS thread. Every c10d or gloo exception
// (gloo::IoException is a plain std::exception) becomes a JS Error naming the rank and the operation.
#pragma once
#include <memory>
#include <string>

#include "common/errors.h"

namespace xkt {

void registerDistributed(Napi::Env env, Napi::Object exports);

}  // namespace xkt
