// LibTorch's CPU allocator for this process. By default every CPU tensor's storage comes from mimalloc
// (third_party/mimalloc), not glibc: LibTorch's 64-byte-aligned blocks then never interleave with the small
// allocations of the JS wrappers, so synchronous create/dispose loops stop fragmenting glibc's heap, and
// freed big blocks stay mapped for a while, so a training step does not page-fault its activations in anew.
// XLM_KD_TORCH_ALLOCATOR=libtorch keeps LibTorch's own allocator (see docs/reference.md "Memory").
#pragma once
#include "common/node_api.h"

namespace xkt {

// Installs the allocator chosen by XLM_KD_TORCH_ALLOCATOR once per process (idempotent, any thread).
void installCpuAllocator();

// allocatorInfo() and releaseMemory() on the addon's exports.
void registerMemory(Napi::Env env, Napi::Object exports);

}  // namespace xkt
