// Attention of one query per hypothesis over cached keys and values (a decode step), fused on the CPU: for
// each (row, head) the scores, their softmax and the weighted sum of values in one pass, with no intermediate
// tensors. LibTorch's path for the same step is a scale, two batched matmuls over thousands of tiny matrices,
// a masked_fill and a softmax, each a separate op with its own allocation and thread fork. (Its effect on
// whole decoding is in BENCHMARKS.md, section fast-inference.)
#pragma once
#include "common/pch.h"

namespace xkt {

// Whether stepAttention serves these tensors: CPU float32 with no gradient to record, one query per row, and
// keys/values whose last dimension is contiguous.
bool stepAttentionApplies(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

// q [N, 1, H·dh] (projected, not yet scaled); k, v [G, H, T, dh] (any strides but the last), row n reading
// slot n / group (N = G·group); masked: undefined, or bool [G, 1, 1, T] (true = may not attend).
// Returns the context [N, 1, H·dh]: softmax(q·kᵀ / √dh) v per head, as MultiHeadAttention::attend computes it.
torch::Tensor stepAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                            const torch::Tensor& masked, int64_t group);

}  // namespace xkt
