// See step_attention.h. The dot products and the weighted sums run over 8 lanes (a loop the compiler turns
// into one AVX2 FMA per 8 floats in the avx2 clone; the default clone serves older CPUs); the exponentials are
// the C library's. Results differ from LibTorch's only by rounding (summation order).
#include "inference/step_attention.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace xkt {

namespace {

constexpr int kLanes = 8;

struct Layout {
  const float* data;
  int64_t slot, head, pos;  // strides in floats
};

inline __attribute__((always_inline)) float dot(const float* a, const float* b, int64_t n) {
  float acc[kLanes] = {};
  int64_t d = 0;
  for (; d + kLanes <= n; d += kLanes) {
    for (int j = 0; j < kLanes; ++j) acc[j] += a[d + j] * b[d + j];
  }
  float sum = 0;
  for (; d < n; ++d) sum += a[d] * b[d];
  for (int j = 0; j < kLanes; ++j) sum += acc[j];
  return sum;
}

// A range of (row, head) pairs i: out[i] = Σ_t softmax_t(q[i]·k_t) v_t over the pair's slot's keys/values.
__attribute__((target_clones("avx2,fma", "default"))) void attendRange(int64_t begin, int64_t end, const float* q,
                                                                       const Layout& K, const Layout& V, int64_t H,
                                                                       int64_t T, int64_t dh, int64_t group,
                                                                       const bool* mask, float* scores, float* out) {
  for (int64_t i = begin; i < end; ++i) {
    const int64_t n = i / H, h = i % H, g = n / group;
    const float* qi = q + i * dh;
    const float* k = K.data + g * K.slot + h * K.head;
    const float* v = V.data + g * V.slot + h * V.head;
    const bool* masked = mask != nullptr ? mask + g * T : nullptr;
    float best = -std::numeric_limits<float>::infinity();
    for (int64_t t = 0; t < T; ++t) {
      scores[t] = masked != nullptr && masked[t] ? -std::numeric_limits<float>::infinity() : dot(qi, k + t * K.pos, dh);
      best = std::max(best, scores[t]);
    }
    float total = 0;
    for (int64_t t = 0; t < T; ++t) {
      scores[t] = std::exp(scores[t] - best);
      total += scores[t];
    }
    float* o = out + i * dh;
    std::fill(o, o + dh, 0.0f);
    for (int64_t t = 0; t < T; ++t) {
      if (scores[t] == 0.0f) continue;
      const float w = scores[t] / total;
      const float* vt = v + t * V.pos;
      for (int64_t d = 0; d < dh; ++d) o[d] += w * vt[d];
    }
  }
}

}  // namespace

bool stepAttentionApplies(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  if (torch::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad())) return false;
  for (const auto* t : {&q, &k, &v}) {
    if (!t->device().is_cpu() || t->scalar_type() != torch::kFloat32) return false;
  }
  return q.dim() == 3 && q.size(1) == 1 && k.dim() == 4 && v.dim() == 4 && k.stride(3) == 1 && v.stride(3) == 1;
}

torch::Tensor stepAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                            const torch::Tensor& masked, int64_t group) {
  const int64_t N = q.size(0), H = k.size(1), T = k.size(2), dh = k.size(3);
  const double scale = std::sqrt(static_cast<double>(dh));
  // As attend(): q divided by √dh before the product.
  auto qs = (q.reshape({N, H * dh}) / scale).contiguous();
  auto out = torch::empty({N, 1, H * dh}, q.options());
  torch::Tensor mask;
  if (masked.defined()) mask = masked.reshape({masked.size(0), T}).to(torch::kBool).contiguous();
  const Layout K{k.data_ptr<float>(), k.stride(0), k.stride(1), k.stride(2)};
  const Layout V{v.data_ptr<float>(), v.stride(0), v.stride(1), v.stride(2)};
  const float* qp = qs.data_ptr<float>();
  float* op = out.data_ptr<float>();
  const bool* mp = mask.defined() ? mask.data_ptr<bool>() : nullptr;
  const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(1, T * dh));
  at::parallel_for(0, N * H, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(T);
    attendRange(begin, end, qp, K, V, H, T, dh, group, mp, scores.data(), op);
  });
  return out;
}

}  // namespace xkt
