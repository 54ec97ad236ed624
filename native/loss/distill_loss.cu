// The CUDA row kernel of the fused distillation loss (built only when LibTorch has CUDA: CMakeLists.txt
// adds native/**/*.cu and defines XKT_WITH_CUDA=1). Same math as the CPU kernel (kernel_impl.h), in two
// reads of each row instead of three:
//   statistics: one pass with online softmax (FlashAttention's and Liger's running maximum and rescaled sums):
//     the student's maximum m with Z_T = Σ exp((s−m)/T) and Z_1 = Σ exp(s−m), the teacher's maximum with
//     Z_t = Σ exp((t−m_t)/T) and U = Σ exp((t−m_t)/T)·(t−s)/T, from which the KL cross term follows as
//     S1 = U − (m_t − m)/T · Z_t; and Σ s for label smoothing;
//   gradient: one pass that reads the row again and writes the gradient row (which may be the student row
//     itself: RowBatch::grad aliasing RowBatch::student, the in-place option).
// Loads are 16-byte vectors when the row allows (V a multiple of the vector width), math in float (float32,
// bfloat16, float16 inputs) or double. Rows are spread as one warp per row for small vocabularies and one
// 512-thread block per row for large ones. Pad rows (ignoreIndex) and the sparse top-k teacher as before.
#include "loss/distill_loss.h"

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <cfloat>
#include <cmath>

namespace xkt::loss {

namespace {

constexpr int kBlock = 512;               // threads per block, both layouts
constexpr int64_t kWarpRowsBelow = 4096;  // V below this: one warp per row (16 rows per block)

__device__ __forceinline__ float dexp(float x) { return __expf(x); }
__device__ __forceinline__ double dexp(double x) { return ::exp(x); }
__device__ __forceinline__ float dlog(float x) { return __logf(x); }
__device__ __forceinline__ double dlog(double x) { return ::log(x); }
template <typename T>
__device__ __forceinline__ T lowest();
template <>
__device__ __forceinline__ float lowest<float>() {
  return -FLT_MAX;
}
template <>
__device__ __forceinline__ double lowest<double>() {
  return -DBL_MAX;
}

// exp(x) that is 0 for x = −∞ − (−∞) (a running maximum still at −∞ holds an empty sum).
template <typename T>
__device__ __forceinline__ T rescale(T from, T to, T invT) {
  return from == to ? T(1) : dexp((from - to) * invT);
}

// ---- reductions over the threads of one row -------------------------------------------------------------------

template <typename T>
__device__ __forceinline__ T warpSum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <typename T>
__device__ __forceinline__ T warpMax(T v) {
  for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Row-wide reductions: a warp (kRowThreads == 32, no shared memory) or the whole block (kRowThreads == kBlock,
// through `shared`, which holds one value per warp). Every thread of the row gets the result.
template <int kRowThreads, typename T>
struct RowReduce {
  T* shared;
  __device__ T sum(T v) {
    v = warpSum(v);
    if constexpr (kRowThreads == 32) {
      return v;
    } else {
      return viaShared(
          v, [](T a, T b) { return a + b; }, T(0), true);
    }
  }
  __device__ T max(T v) {
    v = warpMax(v);
    if constexpr (kRowThreads == 32) {
      return v;
    } else {
      return viaShared(
          v, [](T a, T b) { return fmax(a, b); }, T(-INFINITY), false);
    }
  }
  // A softmax statistic (maximum, rescaled sums): the warps' partials combine at the common maximum.
  template <int N>
  __device__ void online(T& m, T (&z)[N], const T (&scale)[N]) {
    const T mAll = max(m);
    for (int i = 0; i < N; ++i) z[i] = sum(m == -INFINITY ? T(0) : z[i] * rescale(m, mAll, scale[i]));
    m = mAll;
  }

 private:
  template <typename Op>
  __device__ T viaShared(T v, Op op, T identity, bool) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    v = threadIdx.x < kBlock / 32 ? shared[threadIdx.x] : identity;
    if (warp == 0) {
      for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
      if (lane == 0) shared[0] = v;
    }
    __syncthreads();
    v = shared[0];
    __syncthreads();  // shared is reused by the next reduction
    return v;
  }
};

// The loss's scalars (shared with the CPU kernels, see distill_loss.h) and this batch's shape of the teacher.
template <typename acc_t>
struct Params : KernelScalars<acc_t> {
  int64_t N = 0;
  int64_t k = 0;  // entries per row of a sparse teacher
};

// A 16-byte pack of VEC elements.
template <typename scalar_t, int VEC>
struct alignas(16) Pack {
  scalar_t v[VEC];
};

// Calls f(v, s, t) for every element of the row this thread covers, as 16-byte vectors when `vec` (V is a
// multiple of VEC), else one element at a time; t is 0 without a dense teacher.
template <int kRowThreads, int VEC, typename scalar_t, typename acc_t, typename F>
__device__ __forceinline__ void forRow(const scalar_t* s, const scalar_t* t, int64_t V, bool vec, int lane, F f) {
  if (vec) {
    for (int64_t base = static_cast<int64_t>(lane) * VEC; base < V; base += static_cast<int64_t>(kRowThreads) * VEC) {
      const Pack<scalar_t, VEC> ps = *reinterpret_cast<const Pack<scalar_t, VEC>*>(s + base);
      Pack<scalar_t, VEC> pt;
      if (t) pt = *reinterpret_cast<const Pack<scalar_t, VEC>*>(t + base);
#pragma unroll
      for (int i = 0; i < VEC; ++i)
        f(base + i, static_cast<acc_t>(ps.v[i]), t ? static_cast<acc_t>(pt.v[i]) : acc_t(0));
    }
  } else {
    for (int64_t v = lane; v < V; v += kRowThreads)
      f(v, static_cast<acc_t>(s[v]), t ? static_cast<acc_t>(t[v]) : acc_t(0));
  }
}

// `student` and `grad` may alias (in-place gradient): each element is read before it is written, by the
// same thread, and the row's other reads (label, sparse entries) happen before the gradient pass.
template <int kRowThreads, int VEC, typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kBlock)
    distillRowKernel(const scalar_t* student,
                     const scalar_t* __restrict__ teacher,  // or nullptr
                     const int64_t* __restrict__ indices,   // or nullptr
                     const acc_t* __restrict__ logProbs,
                     const int64_t* __restrict__ targets,  // or nullptr
                     scalar_t* grad,                       // or nullptr
                     acc_t* __restrict__ kdRow, acc_t* __restrict__ ceRow, Params<acc_t> p, bool vec) {
  __shared__ acc_t shared[kBlock / 32];
  constexpr int kRowsPerBlock = kBlock / kRowThreads;
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kRowThreads;
  const int lane = threadIdx.x % kRowThreads;
  // (A block of warp rows may run past N; a block row never does. Warps leave independently.)
  if (r >= p.N) return;
  RowReduce<kRowThreads, acc_t> red{shared};
  const int64_t V = p.V;
  const scalar_t* s = student + r * V;
  const scalar_t* t = teacher ? teacher + r * V : nullptr;
  scalar_t* g = grad ? grad + r * V : nullptr;
  const int64_t y = targets ? targets[r] : -1;
  if (targets && y == p.ignoreIndex) {
    if (g) {
      for (int64_t v = lane; v < V; v += kRowThreads) g[v] = scalar_t(0);
    }
    if (lane == 0) {
      kdRow[r] = 0;
      ceRow[r] = 0;
    }
    return;
  }
  const bool dense = p.kd && t != nullptr;
  const bool sparse = p.kd && indices != nullptr;
  const bool smooth = p.ce && p.eps > 0;
  const bool needZ1 = p.ce && !(p.kd && p.t1);
  const acc_t negInf = -INFINITY;
  const acc_t invT = p.invT;
  // Differences of −∞ logits stay finite, as the CPU kernel's clamp to the lowest value keeps them.
  const acc_t floorV = lowest<acc_t>() * (p.T < acc_t(1) ? p.T : acc_t(1)) * acc_t(0.25);

  // ---- statistics, one read of the row
  acc_t m = negInf, ZT = 0, Z1 = 0, sumS = 0;  // student
  acc_t mt = negInf, Zt = 0, U = 0;            // dense teacher
  forRow<kRowThreads, VEC, scalar_t, acc_t>(s, dense ? t : nullptr, V, vec, lane, [&](int64_t, acc_t sv, acc_t tv) {
    sv = fmax(sv, floorV);
    if (sv > m) {
      if (m != negInf) {
        ZT *= dexp((m - sv) * invT);
        Z1 *= dexp(m - sv);
      }
      m = sv;
    }
    const acc_t eT = dexp((sv - m) * invT);
    ZT += eT;
    if (needZ1) Z1 += p.tPow == 2 ? eT * eT : p.tPow == 4 ? (eT * eT) * (eT * eT) : dexp(sv - m);
    if (smooth) sumS += sv;
    if (dense) {
      tv = fmax(tv, floorV);
      if (tv > mt) {
        if (mt != negInf) {
          const acc_t c = dexp((mt - tv) * invT);
          Zt *= c;
          U *= c;
        }
        mt = tv;
      }
      const acc_t eb = dexp((tv - mt) * invT);
      Zt += eb;
      U += eb * ((tv - sv) * invT);
    }
  });
  {
    acc_t z[2] = {ZT, Z1};
    const acc_t sc[2] = {invT, acc_t(1)};
    red.online(m, z, sc);
    ZT = z[0];
    Z1 = z[1];
  }
  if (dense) {
    acc_t z[2] = {Zt, U};
    const acc_t sc[2] = {invT, invT};
    red.online(mt, z, sc);
    Zt = z[0];
    U = z[1];
  }
  if (smooth) sumS = red.sum(sumS);
  if (p.kd && p.t1) Z1 = ZT;
  const acc_t lZT = p.kd || p.t1 ? dlog(ZT) : acc_t(0);
  const acc_t lZ1 = p.ce ? dlog(Z1) : acc_t(0);
  const acc_t lZt = dense ? dlog(Zt) : acc_t(0);

  // ---- the row's loss parts (the sparse teacher's k terms: a row-wide pass over k)
  acc_t kd = 0, mq = 0, lZq = 0;
  if (dense) {
    const acc_t S1 = U - (mt - m) * invT * Zt;
    kd = p.T2 * (S1 / Zt - lZt + lZT);
  }
  if (sparse) {
    const int64_t* idx = indices + r * p.k;
    const acc_t* lp = logProbs + r * p.k;
    mq = negInf;
    for (int64_t i = lane; i < p.k; i += kRowThreads) mq = fmax(mq, lp[i] * invT);
    mq = red.max(mq);
    acc_t Zq = 0;
    for (int64_t i = lane; i < p.k; i += kRowThreads) Zq += dexp(lp[i] * invT - mq);
    lZq = dlog(red.sum(Zq));
    acc_t part = 0;
    for (int64_t i = lane; i < p.k; i += kRowThreads) {
      const acc_t lq = lp[i] * invT - mq - lZq;
      const acc_t q = dexp(lq);
      if (q > 0) part += q * (lq - ((fmax(static_cast<acc_t>(s[idx[i]]), floorV) - m) * invT - lZT));
    }
    kd = p.T2 * red.sum(part);
  }
  acc_t sy = 0;
  if (p.ce && y >= 0) sy = fmax(static_cast<acc_t>(s[y]), floorV);
  if (lane == 0) {
    acc_t ce = 0;
    if (p.ce && y >= 0) {
      ce = p.smoothKeep * (lZ1 - (sy - m));
      if (smooth) ce += p.eps * (lZ1 - (sumS / static_cast<acc_t>(V) - m));
    }
    kdRow[r] = kd;
    ceRow[r] = ce;
  }
  if (!g) return;
  // Every read of s[y] and s[idx] above is done before any thread of the row writes its gradient.
  if constexpr (kRowThreads == 32) {
    __syncwarp();
  } else {
    __syncthreads();
  }

  // ---- gradient, the second read of the row; the label term folded in per element
  const acc_t cA = p.cA, cC = p.cC, epsOverV = p.epsOverV;
  auto gradOf = [&](int64_t v, acc_t sv, acc_t tv) {
    const acc_t d = fmax(sv, floorV) - m;
    acc_t gv;
    if (p.kd) {
      const acc_t pT = dexp(d * invT - lZT);
      acc_t diff = pT;
      if (dense) diff = pT - dexp((fmax(tv, floorV) - mt) * invT - lZt);
      gv = cA * diff;
      if (p.ce) gv += cC * ((p.t1 ? pT : dexp(d - lZ1)) - epsOverV);
    } else {
      gv = cC * (dexp(d - lZ1) - epsOverV);
    }
    if (p.ce && v == y) gv -= cC * p.smoothKeep;
    return static_cast<scalar_t>(gv);
  };
  if (vec) {
    for (int64_t base = static_cast<int64_t>(lane) * VEC; base < V; base += static_cast<int64_t>(kRowThreads) * VEC) {
      const Pack<scalar_t, VEC> ps = *reinterpret_cast<const Pack<scalar_t, VEC>*>(s + base);
      Pack<scalar_t, VEC> pt;
      if (dense) pt = *reinterpret_cast<const Pack<scalar_t, VEC>*>(t + base);
      Pack<scalar_t, VEC> out;
#pragma unroll
      for (int i = 0; i < VEC; ++i)
        out.v[i] = gradOf(base + i, static_cast<acc_t>(ps.v[i]), dense ? static_cast<acc_t>(pt.v[i]) : acc_t(0));
      *reinterpret_cast<Pack<scalar_t, VEC>*>(g + base) = out;
    }
  } else {
    for (int64_t v = lane; v < V; v += kRowThreads)
      g[v] = gradOf(v, static_cast<acc_t>(s[v]), dense ? static_cast<acc_t>(t[v]) : acc_t(0));
  }
  if (sparse) {
    // Indices may repeat within a row: accumulate the k terms one at a time, in order, from one thread,
    // after the whole row is written.
    if constexpr (kRowThreads == 32) {
      __syncwarp();
    } else {
      __syncthreads();
    }
    if (lane == 0) {
      const int64_t* idx = indices + r * p.k;
      const acc_t* lp = logProbs + r * p.k;
      for (int64_t i = 0; i < p.k; ++i) {
        const acc_t q = dexp(lp[i] * invT - mq - lZq);
        g[idx[i]] = static_cast<scalar_t>(static_cast<acc_t>(g[idx[i]]) - cA * q);
      }
    }
  }
}

template <int kRowThreads, typename scalar_t, typename acc_t>
void launch(const RowBatch& b, const at::Tensor& teacher, const Params<acc_t>& p, cudaStream_t stream) {
  constexpr int VEC = 16 / sizeof(scalar_t);
  constexpr int kRowsPerBlock = kBlock / kRowThreads;
  const scalar_t* s = b.student.const_data_ptr<scalar_t>();
  const scalar_t* t = teacher.defined() ? teacher.const_data_ptr<scalar_t>() : nullptr;
  scalar_t* g = b.grad.defined() ? static_cast<scalar_t*>(b.grad.data_ptr()) : nullptr;
  auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
  const bool vec = p.V % VEC == 0 && aligned(s) && (!t || aligned(t)) && (!g || aligned(g));
  const auto blocks = static_cast<unsigned>((p.N + kRowsPerBlock - 1) / kRowsPerBlock);
  distillRowKernel<kRowThreads, VEC, scalar_t, acc_t>
      <<<blocks, kBlock, 0, stream>>>(s, t, b.indices.defined() ? b.indices.const_data_ptr<int64_t>() : nullptr,
                                      b.logProbs.defined() ? b.logProbs.const_data_ptr<acc_t>() : nullptr,
                                      b.targets.defined() ? b.targets.const_data_ptr<int64_t>() : nullptr, g,
                                      b.kdRow.mutable_data_ptr<acc_t>(), b.ceRow.mutable_data_ptr<acc_t>(), p, vec);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace

void distillRowsCuda(const RowBatch& b, const LossConfig& cfg) {
  const int64_t N = b.student.size(0), V = b.student.size(1);
  if (N == 0) return;
  c10::cuda::CUDAGuard guard(b.student.device());
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  // The kernel reads the teacher in the student's dtype (a converted copy when they differ).
  at::Tensor teacher = b.teacher;
  if (teacher.defined() && teacher.scalar_type() != b.student.scalar_type()) {
    teacher = teacher.to(b.student.scalar_type()).contiguous();
  }
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, b.student.scalar_type(), "distillRowsCuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    Params<acc_t> p;
    static_cast<KernelScalars<acc_t>&>(p) = kernelScalars<acc_t>(cfg, V, b.gradScale);
    p.N = N;
    p.k = b.indices.defined() ? b.indices.size(1) : 0;
    if (V < kWarpRowsBelow) {
      launch<32, scalar_t, acc_t>(b, teacher, p, stream);
    } else {
      launch<kBlock, scalar_t, acc_t>(b, teacher, p, stream);
    }
  });
}

}  // namespace xkt::loss
