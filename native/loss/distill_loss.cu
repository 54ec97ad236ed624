// The CUDA row kernel of the fused distillation loss (built only when LibTorch has CUDA: CMakeLists.txt
// adds native/**/*.cu and defines XKT_WITH_CUDA=1). One block per row, warp-shuffle + shared-memory block
// reductions, the same three passes and math as the CPU kernel (kernel_impl.h): maxima; partition
// functions and the KL cross term; the gradient row, then the label term and the sparse teacher's k terms.
// Math in float (float32/bfloat16/float16 inputs) or double (float64). Contract: see RowBatch in
// distill_loss.h (contiguous rows, labels already validated).
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

constexpr int kThreads = 512;
constexpr int kWarps = kThreads / 32;

__device__ __forceinline__ float dexp(float x) { return expf(x); }
__device__ __forceinline__ double dexp(double x) { return ::exp(x); }
__device__ __forceinline__ float dlog(float x) { return logf(x); }
__device__ __forceinline__ double dlog(double x) { return ::log(x); }
template <typename T>
__device__ __forceinline__ T lowest();
template <>
__device__ __forceinline__ float lowest<float>() { return -FLT_MAX; }
template <>
__device__ __forceinline__ double lowest<double>() { return -DBL_MAX; }

struct SumOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a > b ? a : b; }
};

// Reduces v over the block; every thread gets the result. `shared` holds kWarps values.
template <typename T, typename Op>
__device__ T blockReduce(T v, Op op, T identity, T* shared) {
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = threadIdx.x < kWarps ? shared[threadIdx.x] : identity;
  if (warp == 0) {
    for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (lane == 0) shared[0] = v;
  }
  __syncthreads();
  v = shared[0];
  __syncthreads();  // shared is reused by the next reduction
  return v;
}

// The loss's scalars (shared with the CPU kernels, see distill_loss.h) and this batch's shape of the teacher.
template <typename acc_t>
struct Params : KernelScalars<acc_t> {
  int64_t k = 0;  // entries per row of a sparse teacher
  bool hasTargets = false;
};

template <typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kThreads) distillRowKernel(const scalar_t* __restrict__ student,
                                                            const scalar_t* __restrict__ teacher,  // or nullptr
                                                            const int64_t* __restrict__ indices,   // or nullptr
                                                            const acc_t* __restrict__ logProbs,
                                                            const int64_t* __restrict__ targets,   // or nullptr
                                                            scalar_t* __restrict__ grad,           // or nullptr
                                                            acc_t* __restrict__ kdRow, acc_t* __restrict__ ceRow,
                                                            Params<acc_t> p) {
  __shared__ acc_t shared[kWarps];
  const int64_t r = blockIdx.x;
  const int64_t V = p.V;
  const scalar_t* s = student + r * V;
  const scalar_t* t = teacher ? teacher + r * V : nullptr;
  scalar_t* g = grad ? grad + r * V : nullptr;
  const int64_t y = targets ? targets[r] : -1;
  if (targets && y == p.ignoreIndex) {
    if (g) {
      for (int64_t v = threadIdx.x; v < V; v += kThreads) g[v] = scalar_t(0);
    }
    if (threadIdx.x == 0) {
      kdRow[r] = 0;
      ceRow[r] = 0;
    }
    return;
  }
  const bool dense = p.kd && t != nullptr;
  const bool sparse = p.kd && indices != nullptr;
  const bool smooth = p.ce && p.eps > 0;
  const bool needZ1 = p.ce && !(p.kd && p.t1);
  const acc_t low = lowest<acc_t>();
  const acc_t negInf = -INFINITY;

  // pass 1: maxima
  acc_t ms = negInf, mt = negInf;
  for (int64_t v = threadIdx.x; v < V; v += kThreads) {
    ms = fmax(ms, static_cast<acc_t>(s[v]));
    if (dense) mt = fmax(mt, static_cast<acc_t>(t[v]));
  }
  ms = blockReduce(ms, MaxOp(), negInf, shared);
  if (dense) mt = blockReduce(mt, MaxOp(), negInf, shared);

  // pass 2: partition functions and the KL cross term
  acc_t ZT = 0, Zt = 0, S1 = 0, Z1 = 0, sumShift = 0;
  for (int64_t v = threadIdx.x; v < V; v += kThreads) {
    const acc_t d = static_cast<acc_t>(s[v]) - ms;
    if (p.kd) {
      const acc_t a = fmax(d * p.invT, low);
      ZT += dexp(a);
      if (dense) {
        const acc_t b = fmax((static_cast<acc_t>(t[v]) - mt) * p.invT, low);
        const acc_t eb = dexp(b);
        Zt += eb;
        S1 += eb * (b - a);
      }
      if (needZ1) Z1 += dexp(d);
    } else {
      Z1 += dexp(d);
    }
    if (smooth) sumShift += d;
  }
  if (p.kd) ZT = blockReduce(ZT, SumOp(), acc_t(0), shared);
  if (dense) {
    Zt = blockReduce(Zt, SumOp(), acc_t(0), shared);
    S1 = blockReduce(S1, SumOp(), acc_t(0), shared);
  }
  if (p.kd && p.t1) {
    Z1 = ZT;
  } else if (p.ce) {
    Z1 = blockReduce(Z1, SumOp(), acc_t(0), shared);
  }
  if (smooth) sumShift = blockReduce(sumShift, SumOp(), acc_t(0), shared);
  const acc_t lZT = p.kd ? dlog(ZT) : acc_t(0);
  const acc_t lZ1 = p.ce ? dlog(Z1) : acc_t(0);
  const acc_t lZt = dense ? dlog(Zt) : acc_t(0);

  // the row's loss parts (the sparse teacher's k terms: a block-wide pass over k)
  acc_t kd = 0, mq = 0, lZq = 0;
  if (dense) kd = p.T2 * (S1 / Zt - lZt + lZT);
  if (sparse) {
    const int64_t* idx = indices + r * p.k;
    const acc_t* lp = logProbs + r * p.k;
    mq = negInf;
    for (int64_t i = threadIdx.x; i < p.k; i += kThreads) mq = fmax(mq, lp[i] * p.invT);
    mq = blockReduce(mq, MaxOp(), negInf, shared);
    acc_t Zq = 0;
    for (int64_t i = threadIdx.x; i < p.k; i += kThreads) Zq += dexp(lp[i] * p.invT - mq);
    lZq = dlog(blockReduce(Zq, SumOp(), acc_t(0), shared));
    acc_t part = 0;
    for (int64_t i = threadIdx.x; i < p.k; i += kThreads) {
      const acc_t lq = lp[i] * p.invT - mq - lZq;
      const acc_t q = dexp(lq);
      if (q > 0) part += q * (lq - ((static_cast<acc_t>(s[idx[i]]) - ms) * p.invT - lZT));
    }
    kd = p.T2 * blockReduce(part, SumOp(), acc_t(0), shared);
  }
  if (threadIdx.x == 0) {
    acc_t ce = 0;
    if (p.ce && y >= 0) {
      ce = p.smoothKeep * (lZ1 - (static_cast<acc_t>(s[y]) - ms));
      if (smooth) ce += p.eps * (lZ1 - sumShift / static_cast<acc_t>(V));
    }
    kdRow[r] = kd;
    ceRow[r] = ce;
  }
  if (!g) return;

  // pass 3: the gradient row; the label and sparse-teacher terms are folded in per element (no second
  // write to the same element from another thread)
  for (int64_t v = threadIdx.x; v < V; v += kThreads) {
    const acc_t d = static_cast<acc_t>(s[v]) - ms;
    acc_t gv = 0;
    if (p.kd) {
      const acc_t pT = dexp(fmax(d * p.invT, low) - lZT);
      acc_t diff = pT;
      if (dense) diff = pT - dexp(fmax((static_cast<acc_t>(t[v]) - mt) * p.invT, low) - lZt);
      gv = p.cA * diff;
      if (p.ce) gv += p.cC * ((p.t1 ? pT : dexp(d - lZ1)) - p.epsOverV);
    } else {
      gv = p.cC * (dexp(d - lZ1) - p.epsOverV);
    }
    if (p.ce && v == y) gv -= p.cC * p.smoothKeep;
    g[v] = static_cast<scalar_t>(gv);
  }
  if (sparse) {
    // Indices may repeat within a row: accumulate the k terms one at a time, in order, from one thread,
    // after the whole row is written.
    __syncthreads();
    if (threadIdx.x == 0) {
      const int64_t* idx = indices + r * p.k;
      const acc_t* lp = logProbs + r * p.k;
      for (int64_t i = 0; i < p.k; ++i) {
        const acc_t q = dexp(lp[i] * p.invT - mq - lZq);
        g[idx[i]] = static_cast<scalar_t>(static_cast<acc_t>(g[idx[i]]) - p.cA * q);
      }
    }
  }
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
    p.k = b.indices.defined() ? b.indices.size(1) : 0;
    p.hasTargets = b.targets.defined();
    distillRowKernel<scalar_t, acc_t><<<static_cast<unsigned>(N), kThreads, 0, stream>>>(
        b.student.const_data_ptr<scalar_t>(), teacher.defined() ? teacher.const_data_ptr<scalar_t>() : nullptr,
        b.indices.defined() ? b.indices.const_data_ptr<int64_t>() : nullptr,
        b.logProbs.defined() ? b.logProbs.const_data_ptr<acc_t>() : nullptr,
        b.targets.defined() ? b.targets.const_data_ptr<int64_t>() : nullptr,
        b.grad.defined() ? b.grad.mutable_data_ptr<scalar_t>() : nullptr, b.kdRow.mutable_data_ptr<acc_t>(),
        b.ceRow.mutable_data_ptr<acc_t>(), p);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

}  // namespace xkt::loss
