// Read-only memory maps of files as JS ArrayBuffers: how the token store (lib/data/token-store.ts) reads its
// index without copying it into each process, so ranks on one machine share the page cache.
#pragma once
#include "common/node_api.h"

namespace xkt {

void registerMappedFiles(Napi::Env env, Napi::Object exports);

}  // namespace xkt
