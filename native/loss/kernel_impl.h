// The CPU row kernel of the fused distillation loss. Included once per CPU capability by kernel_*.cc, each
// of which defines CPU_CAPABILITY (so at::vec::Vectorized is the AVX2 / AVX512 / portable one, in its own
// inline namespace) and XKT_LOSS_CAP (the namespace of this instance) before including it. No include
// guard on purpose.
//
// Per row, no [N, V] temporaries, the row stays in cache between passes:
//   pass 1: max of s (and of t)
//   pass 2: Z = sum exp((s - max)/T) [stashed in the gradient row], Z_t, sum q*(log q - log p) pieces,
//           Z_1 = sum exp(s - max) (when T != 1), sum (s - max) (label smoothing)
//   pass 3: gradient row = scale * (alpha*T*(p_T - q_T) + (1 - alpha)*(p - eps/V)), then the label term and
//           (sparse teacher) the k teacher terms are subtracted.
// Math in float (float32/bfloat16/float16 inputs; reduced-precision rows are converted to a per-thread
// float row first) or double (float64 inputs).

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <ATen/Dispatch.h>
#include <ATen/cpu/vec/vec.h>

namespace xkt::loss::XKT_LOSS_CAP {
namespace {

using at::vec::Vectorized;

// x^n for n in {2, 4}
template <typename V>
inline V ipow(const V& x, int n) {
  const V x2 = x * x;
  return n == 4 ? x2 * x2 : x2;
}

template <typename acc_t>
inline acc_t hsum(const Vectorized<acc_t>& v) {
  alignas(64) acc_t buf[Vectorized<acc_t>::size()];
  v.store(buf);
  acc_t s = 0;
  for (int64_t i = 0; i < Vectorized<acc_t>::size(); ++i) s += buf[i];
  return s;
}

template <typename acc_t>
inline acc_t hmax(const Vectorized<acc_t>& v) {
  alignas(64) acc_t buf[Vectorized<acc_t>::size()];
  v.store(buf);
  acc_t m = buf[0];
  for (int64_t i = 1; i < Vectorized<acc_t>::size(); ++i) m = std::max(m, buf[i]);
  return m;
}

// One row. t: dense teacher row or nullptr; idx/lp/k: sparse teacher or nullptr; y: label or -1 (no
// label); g: gradient row (math dtype) or nullptr. Writes T^2*KL and CE_eps of the row.
template <typename acc_t>
void rowKernel(const acc_t* s, const acc_t* t, const int64_t* idx, const acc_t* lp, int64_t k, int64_t y, acc_t* g,
               const KernelScalars<acc_t>& p, acc_t* kdOut, acc_t* ceOut) {
  using Vec = Vectorized<acc_t>;
  constexpr int64_t W = Vec::size();
  const int64_t V = p.V;
  const int64_t Vv = V - V % W;
  const bool dense = p.kd && t != nullptr;
  const bool sparse = p.kd && idx != nullptr;
  const bool smooth = p.ce && p.eps > 0;
  const bool needZ1 = p.ce && !(p.kd && p.t1);  // otherwise Z_1 == Z_T
  constexpr acc_t kLowest = std::numeric_limits<acc_t>::lowest();
  constexpr acc_t kNegInf = -std::numeric_limits<acc_t>::infinity();

  // ---- pass 1: maxima
  acc_t ms, mt = 0;
  {
    Vec vs(kNegInf), vt(kNegInf);
    int64_t v = 0;
    if (dense) {
      for (; v < Vv; v += W) {
        vs = at::vec::maximum(vs, Vec::loadu(s + v));
        vt = at::vec::maximum(vt, Vec::loadu(t + v));
      }
    } else {
      for (; v < Vv; v += W) vs = at::vec::maximum(vs, Vec::loadu(s + v));
    }
    ms = hmax(vs);
    mt = hmax(vt);
    for (; v < V; ++v) {
      ms = std::max(ms, s[v]);
      if (dense) mt = std::max(mt, t[v]);
    }
  }

  // ---- pass 2: partition functions and the KL cross term
  acc_t ZT = 0, Zt = 0, S1 = 0, Z1 = 0, sumShift = 0;
  {
    const Vec vms(ms), vmt(mt), vinvT(p.invT), vlow(kLowest);
    Vec zT(acc_t(0)), zt(acc_t(0)), s1(acc_t(0)), z1(acc_t(0)), ssh(acc_t(0));
    int64_t v = 0;
    for (; v < Vv; v += W) {
      const Vec d = Vec::loadu(s + v) - vms;
      if (p.kd) {
        const Vec a = at::vec::maximum(d * vinvT, vlow);
        const Vec ea = a.exp();
        zT = zT + ea;
        if (g) ea.store(g + v);
        if (dense) {
          const Vec b = at::vec::maximum((Vec::loadu(t + v) - vmt) * vinvT, vlow);
          const Vec eb = b.exp();
          zt = zt + eb;
          s1 = at::vec::fmadd(eb, b - a, s1);
        }
        if (needZ1) z1 = z1 + (p.tPow ? ipow(ea, p.tPow) : d.exp());
      } else {
        const Vec e1 = d.exp();
        z1 = z1 + e1;
        if (g) e1.store(g + v);
      }
      if (smooth) ssh = ssh + d;
    }
    ZT = hsum(zT);
    Zt = hsum(zt);
    S1 = hsum(s1);
    Z1 = hsum(z1);
    sumShift = hsum(ssh);
    for (; v < V; ++v) {
      const acc_t d = s[v] - ms;
      if (p.kd) {
        const acc_t a = std::max(d * p.invT, kLowest);
        const acc_t ea = std::exp(a);
        ZT += ea;
        if (g) g[v] = ea;
        if (dense) {
          const acc_t b = std::max((t[v] - mt) * p.invT, kLowest);
          const acc_t eb = std::exp(b);
          Zt += eb;
          S1 += eb * (b - a);
        }
        if (needZ1) Z1 += p.tPow ? ipow(ea, p.tPow) : std::exp(d);
      } else {
        const acc_t e1 = std::exp(d);
        Z1 += e1;
        if (g) g[v] = e1;
      }
      if (smooth) sumShift += d;
    }
  }
  if (p.kd && p.t1) Z1 = ZT;
  const acc_t lZT = p.kd ? std::log(ZT) : acc_t(0);
  const acc_t lZ1 = p.ce ? std::log(Z1) : acc_t(0);
  const acc_t lZt = dense ? std::log(Zt) : acc_t(0);

  // ---- the row's loss parts
  acc_t kd = 0, ce = 0, mq = 0, lZq = 0;
  if (dense) kd = p.T2 * (S1 / Zt - lZt + lZT);
  if (sparse) {
    mq = kNegInf;
    for (int64_t i = 0; i < k; ++i) mq = std::max(mq, lp[i] * p.invT);
    acc_t Zq = 0;
    for (int64_t i = 0; i < k; ++i) Zq += std::exp(lp[i] * p.invT - mq);
    lZq = std::log(Zq);
    for (int64_t i = 0; i < k; ++i) {
      const acc_t lq = lp[i] * p.invT - mq - lZq;
      const acc_t q = std::exp(lq);
      if (q > 0) kd += q * (lq - ((s[idx[i]] - ms) * p.invT - lZT));
    }
    kd *= p.T2;
  }
  if (p.ce && y >= 0) {
    ce = p.smoothKeep * (lZ1 - (s[y] - ms));
    if (smooth) ce += p.eps * (lZ1 - sumShift / static_cast<acc_t>(V));
  }
  *kdOut = kd;
  *ceOut = ce;
  if (!g) return;

  // ---- pass 3: the gradient row
  {
    const acc_t rZT = p.kd ? acc_t(1) / ZT : acc_t(0);
    const acc_t rZ1 = acc_t(1) / Z1;
    const Vec vms(ms), vmt(mt), vinvT(p.invT), vlow(kLowest), vrZT(rZT), vrZ1(rZ1), vlZt(lZt), vlZ1(lZ1), vcA(p.cA),
        vcC(p.cC), vepsV(p.epsOverV);
    int64_t v = 0;
    if (p.kd) {
      for (; v < Vv; v += W) {
        const Vec ea = Vec::loadu(g + v);
        const Vec pT = ea * vrZT;
        Vec diff = pT;
        if (dense) {
          const Vec b = at::vec::maximum((Vec::loadu(t + v) - vmt) * vinvT, vlow);
          diff = pT - (b - vlZt).exp();
        }
        Vec gv = vcA * diff;
        if (p.ce) {
          const Vec pr = p.t1 ? pT : p.tPow ? ipow(ea, p.tPow) * vrZ1 : (Vec::loadu(s + v) - vms - vlZ1).exp();
          gv = at::vec::fmadd(vcC, pr - vepsV, gv);
        }
        gv.store(g + v);
      }
      for (; v < V; ++v) {
        const acc_t ea = g[v];
        const acc_t pT = ea * rZT;
        acc_t diff = pT;
        if (dense) diff = pT - std::exp(std::max((t[v] - mt) * p.invT, kLowest) - lZt);
        acc_t gv = p.cA * diff;
        if (p.ce) gv += p.cC * ((p.t1 ? pT : p.tPow ? ipow(ea, p.tPow) * rZ1 : std::exp(s[v] - ms - lZ1)) - p.epsOverV);
        g[v] = gv;
      }
    } else {
      for (; v < Vv; v += W) (vcC * (Vec::loadu(g + v) * vrZ1 - vepsV)).store(g + v);
      for (; v < V; ++v) g[v] = p.cC * (g[v] * rZ1 - p.epsOverV);
    }
  }
  if (p.ce && y >= 0) g[y] -= p.cC * p.smoothKeep;
  if (sparse) {
    for (int64_t i = 0; i < k; ++i) g[idx[i]] -= p.cA * std::exp(lp[i] * p.invT - mq - lZq);
  }
}

// Row r of a [N, V] contiguous tensor as math-dtype values: the row itself when the dtypes agree, else a
// conversion into `buf`.
template <typename acc_t>
const acc_t* rowAs(const at::Tensor& x, int64_t r, int64_t V, std::vector<acc_t>& buf) {
  if (x.scalar_type() == c10::CppTypeToScalarType<acc_t>::value) return x.const_data_ptr<acc_t>() + r * V;
  buf.resize(V);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "distillRowAs",
                                  [&] { at::vec::convert(x.const_data_ptr<scalar_t>() + r * V, buf.data(), V); });
  return buf.data();
}

template <typename acc_t>
void rowRangeTyped(const RowBatch& b, const LossConfig& cfg, int64_t begin, int64_t end) {
  const int64_t V = b.student.size(1);
  const auto p = kernelScalars<acc_t>(cfg, V, b.gradScale);

  const int64_t* y = b.targets.defined() ? b.targets.const_data_ptr<int64_t>() : nullptr;
  const bool sparse = b.indices.defined();
  const int64_t k = sparse ? b.indices.size(1) : 0;
  const int64_t* idx = sparse ? b.indices.const_data_ptr<int64_t>() : nullptr;
  const acc_t* lp = sparse ? b.logProbs.const_data_ptr<acc_t>() : nullptr;
  acc_t* kdRow = b.kdRow.data_ptr<acc_t>();
  acc_t* ceRow = b.ceRow.data_ptr<acc_t>();
  const bool wantGrad = b.grad.defined();
  const bool gradDirect = wantGrad && b.grad.scalar_type() == c10::CppTypeToScalarType<acc_t>::value;
  const int64_t gradRowBytes = wantGrad ? V * static_cast<int64_t>(b.grad.element_size()) : 0;
  char* gradBase = wantGrad ? static_cast<char*>(b.grad.data_ptr()) : nullptr;

  // The gradient written over the student's own rows (LossConfig::gradInPlace): the kernel stashes values in the
  // gradient row while it still reads the student row, so the row is read from a copy.
  const bool inPlace = wantGrad && b.grad.data_ptr() == b.student.data_ptr();
  std::vector<acc_t> sBuf, tBuf, gBuf, sCopy;
  if (wantGrad && !gradDirect) gBuf.resize(V);
  for (int64_t r = begin; r < end; ++r) {
    const int64_t label = y ? y[r] : -1;
    if (y && label == cfg.ignoreIndex) {
      kdRow[r] = 0;
      ceRow[r] = 0;
      if (wantGrad) std::memset(gradBase + r * gradRowBytes, 0, gradRowBytes);
      continue;
    }
    const acc_t* s = rowAs<acc_t>(b.student, r, V, sBuf);
    if (inPlace && gradDirect) {
      sCopy.assign(s, s + V);
      s = sCopy.data();
    }
    const acc_t* t = (p.kd && b.teacher.defined()) ? rowAs<acc_t>(b.teacher, r, V, tBuf) : nullptr;
    acc_t* g = nullptr;
    if (wantGrad) g = gradDirect ? reinterpret_cast<acc_t*>(gradBase + r * gradRowBytes) : gBuf.data();
    rowKernel<acc_t>(s, t, idx ? idx + r * k : nullptr, lp ? lp + r * k : nullptr, k, label, g, p, kdRow + r,
                     ceRow + r);
    if (wantGrad && !gradDirect) {
      AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, b.grad.scalar_type(), "distillRowOut", [&] {
        at::vec::convert(gBuf.data(), reinterpret_cast<scalar_t*>(gradBase + r * gradRowBytes), V);
      });
    }
  }
}

void rowRange(const RowBatch& b, const LossConfig& cfg, int64_t begin, int64_t end) {
  if (b.student.scalar_type() == at::kDouble) {
    rowRangeTyped<double>(b, cfg, begin, end);
  } else {
    rowRangeTyped<float>(b, cfg, begin, end);
  }
}

}  // namespace
}  // namespace xkt::loss::XKT_LOSS_CAP
