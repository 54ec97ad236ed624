// The CUDA runtime as torch.cuda names it: synchronize, the caching allocator's memory statistics, emptying its
// cache, and each device's RNG state (for checkpoints that resume bit-identically on a GPU). Synchronizing and
// the RNG go through LibTorch's CUDA hooks, present in every build; the allocator statistics need the CUDA
// libraries, so they exist only in an addon built against a CUDA LibTorch (XKT_WITH_CUDA). Without CUDA every
// call is an error that says so.
#include "cuda/runtime.h"

#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/cuda.h>

#include "common/define.h"
#include "common/tensor_wrap.h"

#ifdef XKT_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace xkt {

namespace {

void requireCuda(const char* what) {
  if (!torch::cuda::is_available()) {
    throw ArgError(std::string(what) + " needs CUDA, which is not available here (" +
                   (at::detail::getCUDAHooks().hasCUDA() ? "no CUDA device is visible" : "this LibTorch has no CUDA") +
                   ")");
  }
}

// Argument i: a device index, defaulting to the current device.
c10::DeviceIndex deviceIndex(Args& a, size_t i) {
  const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  if (!a.has(i)) return at::detail::getCUDAHooks().getCurrentDevice();
  const int64_t d = a.nonNegativeInteger(i, "device");
  if (d >= count) {
    throw ArgError(
        "argument 'device' is " + std::to_string(d) + " but there are " + std::to_string(count) + " CUDA device(s)",
        ArgError::Kind::Range);
  }
  return static_cast<c10::DeviceIndex>(d);
}

#ifdef XKT_WITH_CUDA
Napi::Value memoryStatsOf(Napi::Env env, c10::DeviceIndex d) {
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(d);
  const auto agg = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  auto o = Napi::Object::New(env);
  o.Set("allocated", Napi::Number::New(env, static_cast<double>(stats.allocated_bytes[agg].current)));
  o.Set("maxAllocated", Napi::Number::New(env, static_cast<double>(stats.allocated_bytes[agg].peak)));
  o.Set("reserved", Napi::Number::New(env, static_cast<double>(stats.reserved_bytes[agg].current)));
  o.Set("maxReserved", Napi::Number::New(env, static_cast<double>(stats.reserved_bytes[agg].peak)));
  return o;
}
#endif

[[noreturn]] void noCudaBuild(const char* what) {
  throw ArgError(std::string(what) + " needs an addon built against a CUDA LibTorch; this one was built without CUDA");
}

}  // namespace

void registerCudaRuntime(Napi::Env env, Napi::Object exports) {
  // cudaSynchronize(device?): waits for every kernel queued on the device.
  define(env, exports, "cudaSynchronize", [](Args& a) {
    requireCuda("cuda.synchronize");
    torch::cuda::synchronize(deviceIndex(a, 0));
    return a.env().Undefined();
  });
  // cudaMemoryStats(device?) -> { allocated, maxAllocated, reserved, maxReserved } bytes of the caching allocator.
  define(env, exports, "cudaMemoryStats", [](Args& a) -> Napi::Value {
    requireCuda("cuda.memoryAllocated");
#ifdef XKT_WITH_CUDA
    return memoryStatsOf(a.env(), deviceIndex(a, 0));
#else
    noCudaBuild("cuda.memoryAllocated");
#endif
  });
  define(env, exports, "cudaResetPeakMemoryStats", [](Args& a) -> Napi::Value {
    requireCuda("cuda.resetPeakMemoryStats");
#ifdef XKT_WITH_CUDA
    c10::cuda::CUDACachingAllocator::resetPeakStats(deviceIndex(a, 0));
    return a.env().Undefined();
#else
    noCudaBuild("cuda.resetPeakMemoryStats");
#endif
  });
  // cudaEmptyCache(): hands the allocator's unused cached blocks back to the driver.
  define(env, exports, "cudaEmptyCache", [](Args& a) -> Napi::Value {
    requireCuda("cuda.emptyCache");
#ifdef XKT_WITH_CUDA
    c10::cuda::CUDACachingAllocator::emptyCache();
    return a.env().Undefined();
#else
    noCudaBuild("cuda.emptyCache");
#endif
  });
  // cudaRngState(device) / cudaSetRngState(device, state): the device generator's state, as
  // torch.cuda.get_rng_state(device) / set_rng_state.
  define(env, exports, "cudaRngState", [](Args& a) {
    requireCuda("cuda.getRngState");
    auto gen = at::detail::getCUDAHooks().getDefaultGenerator(deviceIndex(a, 0));
    std::lock_guard<std::mutex> lock(gen.mutex());
    return TensorWrap::wrap(a.env(), gen.get_state());
  });
  define(env, exports, "cudaSetRngState", [](Args& a) {
    requireCuda("cuda.setRngState");
    const auto d = deviceIndex(a, 0);
    auto state = a.tensor(1, "state");
    if (state.scalar_type() != c10::kByte || state.dim() != 1) {
      throw ArgError("argument 'state' must be a 1-d uint8 tensor from cuda.getRngState(), got " +
                     describeTensor(state));
    }
    auto gen = at::detail::getCUDAHooks().getDefaultGenerator(d);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state.to(torch::kCPU));
    return a.env().Undefined();
  });
}

}  // namespace xkt
