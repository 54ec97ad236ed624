// Everything the CPU kernel instances need that does not depend on the CPU capability, included before
// kernel_avx2.cc / kernel_avx512.cc switch the compiler's target: inline functions from these headers are
// then compiled for the baseline ISA in every object file, so the linker can never pick an AVX copy of
// one for code that runs on any CPU.
#pragma once
#include <ATen/ATen.h>
#include <ATen/AccumulateType.h>
#include <ATen/Dispatch.h>
#include <ATen/NumericUtils.h>
#include <ATen/jiterator_macros.h>
#include <ATen/native/Math.h>
#include <ATen/native/quantized/AffineQuantizerBase.h>
#include <c10/util/BFloat16-math.h>
#include <c10/util/MathConstants.h>
#include <c10/util/complex.h>
#include <c10/util/copysign.h>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "loss/kernel.h"

// The AVX2/AVX512 instances need GCC's `#pragma GCC target` (CMakeLists.txt compiles every file with the
// same flags); elsewhere only the portable instance is built.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define XKT_LOSS_X86_GCC 1
#else
#define XKT_LOSS_X86_GCC 0
#endif
