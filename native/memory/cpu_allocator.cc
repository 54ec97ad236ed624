// See cpu_allocator.h. The numbers behind the defaults are in BENCHMARKS.md ("CPU memory").
#include "memory/cpu_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/alignment.h>
#include <mimalloc.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "common/define.h"

namespace xkt {

namespace {

// Allocator::allocate lost its const and copy_data became pure virtual in LibTorch 2.3.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define XKT_ALLOCATE_CONST
#define XKT_HAS_COPY_DATA 1
#else
#define XKT_ALLOCATE_CONST const
#define XKT_HAS_COPY_DATA 0
#endif

void releaseBlock(void* p) { mi_free(p); }

class MimallocCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) XKT_ALLOCATE_CONST override {
    if (n == 0) return {nullptr, nullptr, &releaseBlock, c10::Device(c10::DeviceType::CPU)};
    void* p = mi_malloc_aligned(n, c10::gAlignment);
    if (p == nullptr) {
      TORCH_CHECK_WITH(OutOfMemoryError, false, "CPU: failed to allocate ", n,
                       " bytes (mimalloc); set XLM_KD_TORCH_ALLOCATOR=libtorch to compare");
    }
    return {p, p, &releaseBlock, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &releaseBlock; }
#if XKT_HAS_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override { std::memcpy(dest, src, count); }
#endif
};

const char* g_name = "libtorch";

std::string requestedAllocator() {
  const char* v = std::getenv("XLM_KD_TORCH_ALLOCATOR");
  return v == nullptr || *v == '\0' ? "mimalloc" : v;
}

}  // namespace

void installCpuAllocator() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::string want = requestedAllocator();
    if (want == "libtorch") return;
    if (want != "mimalloc") {
      // An unknown value must not silently change behaviour: keep LibTorch's allocator and say so.
      fprintf(stderr, "xlm-kd-torch: XLM_KD_TORCH_ALLOCATOR=%s is not 'mimalloc' or 'libtorch'; using 'libtorch'\n",
              want.c_str());
      return;
    }
    // Freed pages go back to the OS only after this many ms without reuse (mimalloc's default is 10 ms):
    // a training or decoding step reuses its transient memory instead of faulting fresh pages in.
    // MIMALLOC_PURGE_DELAY in the environment still wins (mimalloc reads it on first use).
    mi_option_set_default(mi_option_purge_delay, 1000);
    // Address space is reserved for mimalloc's arenas 4 GiB at a time (1 GiB by default; only touched pages
    // cost memory): blocks above 16 MiB that no longer fit an arena came straight from the OS, were unmapped on
    // free and faulted in again at every step (test/memory.test.ts "big transient tensors reuse memory" counts
    // the faults). MIMALLOC_ARENA_RESERVE still wins.
    mi_option_set_default(mi_option_arena_reserve, 4L * 1024 * 1024);  // KiB
    // Big blocks ask for transparent huge pages (THP is often in 'madvise' mode).
    mi_option_set_default(mi_option_allow_thp, 1);
    static MimallocCpuAllocator allocator;
    // Priority above LibTorch's default registration (0), so a later default registration cannot undo it.
    c10::SetCPUAllocator(&allocator, /*priority=*/1);
    g_name = "mimalloc";
  });
}

void registerMemory(Napi::Env env, Napi::Object exports) {
  define(env, exports, "allocatorInfo", [](Args& a) {
    auto o = Napi::Object::New(a.env());
    o.Set("cpu", Napi::String::New(a.env(), g_name));
    size_t elapsed = 0, user = 0, sys = 0, rss = 0, peakRss = 0, commit = 0, peakCommit = 0, faults = 0;
    if (std::strcmp(g_name, "mimalloc") == 0) {
      mi_process_info(&elapsed, &user, &sys, &rss, &peakRss, &commit, &peakCommit, &faults);
    }
    o.Set("committedBytes", Napi::Number::New(a.env(), static_cast<double>(commit)));
    // The options in force (the environment's MIMALLOC_* included), so a reference can be run with the same.
    const bool mi = std::strcmp(g_name, "mimalloc") == 0;
    o.Set("purgeDelayMs",
          mi ? Napi::Number::New(a.env(), static_cast<double>(mi_option_get(mi_option_purge_delay))) : a.env().Null());
    o.Set("transparentHugePages", Napi::Boolean::New(a.env(), mi && mi_option_is_enabled(mi_option_allow_thp)));
    o.Set("peakCommittedBytes", Napi::Number::New(a.env(), static_cast<double>(peakCommit)));
    return o;
  });
  define(env, exports, "releaseMemory", [](Args& a) {
    // Returns every free page the allocator holds to the OS now (the purge delay would do it later).
    if (std::strcmp(g_name, "mimalloc") == 0) mi_collect(true);
    return a.env().Undefined();
  });
}

}  // namespace xkt
