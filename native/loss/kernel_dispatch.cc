// Runs the fused loss's row kernel on the batch's device: on the CPU, the widest kernel instance (kernel_*.cc)
// this build has and this CPU runs, as LibTorch itself chooses (ATEN_CPU_CAPABILITY lowers it), over rows in
// parallel on LibTorch's OpenMP pool; on CUDA, distill_loss.cu.
#include <ATen/Parallel.h>
#include <ATen/Version.h>

#include <algorithm>
#include <atomic>

#include "loss/kernel.h"
#include "loss/validate.h"

namespace xkt::loss {

namespace {

// ---- CPU kernel choice and the row-parallel loop ---------------------------------------------------------

enum Cap : int { kCapDefault = 0, kCapAvx2 = 1, kCapAvx512 = 2 };
const char* const kCapNames[] = {"DEFAULT", "AVX2", "AVX512"};

RowRangeFn capFn(int cap) {
  switch (cap) {
    case kCapAvx512:
      return rowRangeAvx512();
    case kCapAvx2:
      return rowRangeAvx2();
    default:
      return rowRangeDefault();
  }
}

bool cpuSupports(int cap) {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (cap == kCapAvx512) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && cpuSupports(kCapAvx2);
  }
  if (cap == kCapAvx2) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
           __builtin_cpu_supports("bmi2");
  }
#else
  if (cap != kCapDefault) return false;
#endif
  return true;
}

bool usable(int cap) { return capFn(cap) != nullptr && cpuSupports(cap); }

// What LibTorch itself uses on this CPU (honours ATEN_CPU_CAPABILITY), capped by what this build has.
int detectCap() {
  const std::string s = at::get_cpu_capability();
  int cap = s == "AVX512" ? kCapAvx512 : s == "AVX2" ? kCapAvx2 : kCapDefault;
  while (cap > kCapDefault && !usable(cap)) --cap;
  return cap;
}

std::atomic<int> g_cap{-1};

int currentCap() {
  int cap = g_cap.load();
  if (cap < 0) {
    cap = detectCap();
    g_cap.store(cap);
  }
  return cap;
}

}  // namespace

void distillRows(const RowBatch& batch, const LossConfig& cfg) {
  if (batch.student.is_cuda()) {
#ifdef XKT_WITH_CUDA
    distillRowsCuda(batch, cfg);
    return;
#else
    TORCH_CHECK(false, "distillLoss: tensors are on CUDA but this addon was built without its CUDA kernels");
#endif
  }
  TORCH_CHECK(batch.student.device().is_cpu(), "distillLoss: unsupported device ", batch.student.device());
  const RowRangeFn fn = capFn(currentCap());
  const int64_t N = batch.student.size(0), V = batch.student.size(1);
  // Rows per task: about 32K logits, so small vocabularies still give each thread enough work.
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(V, 1));
  at::parallel_for(0, N, grain, [&](int64_t b, int64_t e) { fn(batch, cfg, b, e); });
}

std::string cpuKernelCapability() { return kCapNames[currentCap()]; }

void setCpuKernelCapability(const std::string& name) {
  if (name == "auto") {
    g_cap.store(detectCap());
    return;
  }
  for (int cap = kCapDefault; cap <= kCapAvx512; ++cap) {
    if (name != kCapNames[cap]) continue;
    if (!usable(cap)) {
      rangeError("CPU kernel '" + name + "' is not available here (" +
                 (capFn(cap) ? "this CPU lacks the instructions" : "not compiled into this build") + ")");
    }
    g_cap.store(cap);
    return;
  }
  rangeError("unknown CPU kernel '" + name + "'; expected 'auto', 'DEFAULT', 'AVX2' or 'AVX512'");
}

}  // namespace xkt::loss
