// The CPU row kernel, compiled once per CPU capability (kernel_default.cc, kernel_avx2.cc,
// kernel_avx512.cc include kernel_impl.h with different target flags); distill_loss.cc picks one at run time.
#pragma once
#include "loss/distill_loss.h"

namespace xkt::loss {

// Processes rows [begin, end) of the batch (see RowBatch). Thread-safe across disjoint ranges.
using RowRangeFn = void (*)(const RowBatch& batch, const LossConfig& cfg, int64_t begin, int64_t end);

// nullptr when that capability is not compiled into this build (non-x86-64 or a compiler other than GCC).
RowRangeFn rowRangeDefault();
RowRangeFn rowRangeAvx2();
RowRangeFn rowRangeAvx512();

}  // namespace xkt::loss
