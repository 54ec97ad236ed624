// The AVX512 (F, BW, VL, DQ) instance of the CPU row kernel: 16 float lanes, Sleef's exp. Used only when
// LibTorch reports AVX512 for this CPU.
#include "loss/kernel_prelude.h"

// at::vec uses `#pragma unroll` and clang pragmas that GCC does not know.
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
// GCC 12 false positive on the _mm512_undefined_*() operands inside its own intrinsics headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#if XKT_LOSS_X86_GCC
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c,bmi,bmi2,lzcnt,popcnt")
#define CPU_CAPABILITY AVX512
#define CPU_CAPABILITY_AVX512
#define XKT_LOSS_CAP cap_avx512
// In C++ GCC's target pragma does not define the ISA macros (the file is lexed before the pragma
// applies), and sleef.h declares its vector functions only under them: define them for this instance.
#ifndef __AVX__
#define __AVX__ 1
#define XKT_UNDEF__AVX__
#endif
#ifndef __AVX2__
#define __AVX2__ 1
#define XKT_UNDEF__AVX2__
#endif
#ifndef __AVX512F__
#define __AVX512F__ 1
#define XKT_UNDEF__AVX512F__
#endif
#include "loss/kernel_impl.h"
#ifdef XKT_UNDEF__AVX__
#undef __AVX__
#undef XKT_UNDEF__AVX__
#endif
#ifdef XKT_UNDEF__AVX2__
#undef __AVX2__
#undef XKT_UNDEF__AVX2__
#endif
#ifdef XKT_UNDEF__AVX512F__
#undef __AVX512F__
#undef XKT_UNDEF__AVX512F__
#endif
#pragma GCC pop_options

namespace xkt::loss {
RowRangeFn rowRangeAvx512() { return &cap_avx512::rowRange; }
}  // namespace xkt::loss
#else
namespace xkt::loss {
RowRangeFn rowRangeAvx512() { return nullptr; }
}  // namespace xkt::loss
#endif
