// The fused distillation loss: types shared by the CPU kernels (kernel_*.cc), the CUDA kernel
// (distill_loss.cu) and the entry points (distill_loss.cc). ATen-only on purpose: nvcc compiles this
// header, so nothing from node-addon-api may appear here.
//
//   L = alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE_eps(s, y)
//
// per target token, over the tokens whose label is not ignoreIndex; CE_eps is cross-entropy with
// PyTorch's label smoothing (target q_eps = (1 - eps) * onehot(y) + eps / V). The gradient w.r.t. the
// student logits of one row is
//
//   alpha * T * (softmax(s/T) - softmax(t/T)) + (1 - alpha) * (softmax(s) - q_eps)
//
// times the reduction's scale (1 / #non-pad rows for 'mean'). Pad rows give 0 loss and 0 gradient.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <optional>

namespace xkt::loss {

enum class Reduction { Mean, Sum, None };

// The options as lib/loss/options.ts resolved and checked them (their defaults and ranges live there).
struct LossConfig {
  double temperature = 0;
  double alpha = 0;
  double labelSmoothing = 0;
  int64_t ignoreIndex = 0;
  Reduction reduction = Reduction::Mean;
  // Write the gradient into the student logits' own storage (when they are contiguous): no [N, V] buffer
  // besides the inputs, for a caller that no longer needs the logits (Liger's in-place option).
  bool gradInPlace = false;
};

// The scalars a row kernel (the CPU kernels of kernel_impl.h, the CUDA kernel) reads for one batch: derived
// once from the options, the vocabulary and the reduction's gradient scale by kernelScalars(), in double, then
// cast to the kernel's math type.
template <typename acc_t>
struct KernelScalars {
  int64_t V = 0;
  int64_t ignoreIndex = 0;
  acc_t T = 1, invT = 1, T2 = 1;
  acc_t eps = 0, epsOverV = 0, smoothKeep = 1;  // smoothKeep = 1 - eps
  acc_t cA = 0;                                 // gradScale * alpha * T
  acc_t cC = 0;                                 // gradScale * (1 - alpha)
  bool kd = true, ce = true, t1 = true;         // alpha > 0, alpha < 1, T == 1
  int tPow = 0;  // 2 or 4 when T is exactly that: exp(s - max) = exp((s - max)/T)^T, one exp fewer per pass
};

template <typename acc_t>
inline KernelScalars<acc_t> kernelScalars(const LossConfig& cfg, int64_t V, double gradScale) {
  const double T = cfg.temperature, eps = cfg.labelSmoothing;
  KernelScalars<acc_t> p;
  p.V = V;
  p.ignoreIndex = cfg.ignoreIndex;
  p.T = static_cast<acc_t>(T);
  p.invT = static_cast<acc_t>(1.0 / T);
  p.T2 = static_cast<acc_t>(T * T);
  p.eps = static_cast<acc_t>(eps);
  p.epsOverV = static_cast<acc_t>(eps / static_cast<double>(V));
  p.smoothKeep = static_cast<acc_t>(1.0 - eps);
  p.cA = static_cast<acc_t>(gradScale * cfg.alpha * T);
  p.cC = static_cast<acc_t>(gradScale * (1.0 - cfg.alpha));
  p.kd = cfg.alpha > 0;
  p.ce = cfg.alpha < 1;
  p.t1 = T == 1.0;
  p.tPow = T == 2.0 ? 2 : T == 4.0 ? 4 : 0;
  return p;
}

// One batch of rows for the row kernel. Every tensor is contiguous and on the same device.
//   student   [N, V] floating (float64 -> float64 math; float32/bfloat16/float16 -> float32 math)
//   teacher   [N, V] floating, or undefined (sparse teacher, or alpha == 0)
//   indices   [N, k] int64 and logProbs [N, k] in the math dtype: the sparse (top-k) teacher
//   targets   [N] int64, or undefined (no labels: only allowed when alpha == 1)
//   grad      [N, V] in the student's dtype, or undefined (no gradient wanted); may be `student` itself
//             (LossConfig::gradInPlace): every kernel reads a row's values before writing its gradient
//   kdRow, ceRow [N] in the math dtype: per-row T^2*KL and CE_eps (0 for pad rows and for a part whose
//             weight is 0: kd when alpha == 0, ce when alpha == 1)
// Labels must already be validated (in [0, V) or ignoreIndex).
struct RowBatch {
  at::Tensor student;
  at::Tensor teacher;
  at::Tensor indices;
  at::Tensor logProbs;
  at::Tensor targets;
  at::Tensor grad;
  at::Tensor kdRow;
  at::Tensor ceRow;
  double gradScale = 1.0;  // multiplies every gradient row (1 / #non-pad rows for 'mean')
};

// Runs the row kernel on the batch's device: the CPU kernel for the best CPU capability LibTorch reports
// (DEFAULT / AVX2 / AVX512), or the CUDA kernel.
void distillRows(const RowBatch& batch, const LossConfig& cfg);

#ifdef XKT_WITH_CUDA
// distill_loss.cu: one block per row. Same contract as distillRows.
void distillRowsCuda(const RowBatch& batch, const LossConfig& cfg);
#endif

// The teacher of a loss call.
//   Logits: logits [.., V] (same leading shape as the student)
//   Sparse: indices [.., k] int, logProbs [.., k] floating: the teacher's top-k (log-)probabilities. The
//           teacher distribution is softmax(logProbs / T) over the k entries: the missing tail mass is
//           renormalised over the k (the tail gets probability 0), so any per-row shift (log-probs or
//           logits) gives the same result, and k == V with all indices reproduces the dense loss.
//   Hidden: (chunked form only) hidden [.., Ht], weight [V, Ht], bias [V] (optional): logits are computed
//           chunk by chunk, under no-grad.
struct Teacher {
  enum class Kind { Logits, Sparse, Hidden };
  Kind kind = Kind::Logits;
  at::Tensor logits;
  at::Tensor indices;
  at::Tensor logProbs;
  at::Tensor hidden;
  at::Tensor weight;
  std::optional<at::Tensor> bias;
};

struct LossResult {
  at::Tensor loss;  // differentiable w.r.t. the student (logits, or hidden/weight/bias in the chunked form)
  at::Tensor kd;    // T^2 * KL part, reduced like the loss, detached
  at::Tensor ce;    // CE_eps part, reduced like the loss, detached
};

}  // namespace xkt::loss

// ---- entry points (distill_loss.cc). They check their tensors (shapes, dtypes, devices, label ranges: see
// validate.h) and throw xkt::ArgError (a JS TypeError/RangeError naming the argument) on bad input; the
// options arrive resolved and checked. LibTorch failures surface as c10::Error.
namespace xkt::loss {

// Dense ([.., V] logits) or sparse teacher. A custom autograd function: its forward computes loss and
// gradient in one pass over the rows; backward only scales the saved gradient.
LossResult fusedLoss(const at::Tensor& student, const Teacher& teacher, const std::optional<at::Tensor>& targets,
                     const LossConfig& cfg);

// Chunked fused-linear form: student logits = hidden @ weight^T + bias, computed `chunkSize` rows at a time
// (0: automatic, see defaultChunkSize), so the full [N, V] student logits never exist. Gradients for
// hidden, weight and bias come out of the same pass. Reductions 'mean' and 'sum' only.
LossResult fusedLossChunked(const at::Tensor& hidden, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                            const Teacher& teacher, const std::optional<at::Tensor>& targets, const LossConfig& cfg,
                            int64_t chunkSize);

// The plain LibTorch composition (log_softmax, kl_div(log_target), cross_entropy(ignore_index,
// label_smoothing)) with ordinary autograd: the baseline for tests and the benchmark.
LossResult referenceLoss(const at::Tensor& student, const Teacher& teacher, const std::optional<at::Tensor>& targets,
                         const LossConfig& cfg);

// Rows per chunk when chunkSize is 0. CPU: about 8M elements (32 MB of float32 logits) per chunk, which stays in
// the caches. CUDA: as many rows as keep a chunk's three [rows, V] buffers (student and teacher logits, the
// gradient; `elementSize` bytes each) within a quarter of the device's free memory (free + cached by the
// allocator), at least 1024 rows (the GEMMs' efficient size) and a multiple of 64; `rows` when all fit.
int64_t defaultChunkSize(int64_t rows, int64_t vocab, const at::Device& device = at::kCPU, int64_t elementSize = 4);

// The CPU kernel variant in use ("DEFAULT", "AVX2", "AVX512"), and a way to force one (tests, benchmarks).
std::string cpuKernelCapability();
void setCpuKernelCapability(const std::string& name);  // throws ArgError when unknown or unsupported here

}  // namespace xkt::loss
