// The portable instance of the CPU row kernel (at::vec's generic Vectorized: plain loops, std::exp).
#include "loss/kernel_prelude.h"

// at::vec uses `#pragma unroll` and clang pragmas that GCC does not know.
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
// GCC 12 false positive on the _mm512_undefined_*() operands inside its own intrinsics headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define CPU_CAPABILITY DEFAULT
#define XKT_LOSS_CAP cap_default
#include "loss/kernel_impl.h"

namespace xkt::loss {
RowRangeFn rowRangeDefault() { return &cap_default::rowRange; }
}  // namespace xkt::loss
