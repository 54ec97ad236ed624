// The fused distillation loss's entry points (see distill_loss.h): the custom autograd functions of the
// dense/sparse and the chunked fused-linear forms, and the plain LibTorch composition used as the reference.
// Tensor checks are in validate.cc, the kernels' dispatch in kernel_dispatch.cc.
#include "loss/distill_loss.h"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/graph_task.h>

#include <algorithm>

#include "common/convert.h"
#include "loss/validate.h"

#ifdef XKT_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#endif

namespace xkt::loss {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::ScalarType mathType(at::ScalarType t) { return t == at::kDouble ? at::kDouble : at::kFloat; }

// ---- shared preparation ----------------------------------------------------------------------------------

// Everything the row kernel reads, flattened to rows: [N, V] / [N, k] / [N], contiguous.
struct Rows {
  int64_t N = 0, V = 0;
  std::vector<int64_t> lead;
  at::Tensor teacher, indices, logProbs, targets;
  int64_t count = 0;  // non-pad rows
};

// Teacher and targets of the dense/sparse forms, validated against a [.., V] reference (the student
// logits; in the chunked form the leading shape comes from the hidden states).
Rows prepareRows(at::IntArrayRef lead, int64_t V, const at::Tensor& ref, const char* refName, at::IntArrayRef refShape,
                 const Teacher& teacher, const std::optional<at::Tensor>& targets, const LossConfig& cfg,
                 at::ScalarType math) {
  Rows r;
  r.lead = lead.vec();
  r.V = V;
  r.N = c10::multiply_integers(lead);
  if (teacher.kind == Teacher::Kind::Sparse) {
    checkSparseTeacher(teacher, lead, V, ref, refName, refShape);
    const int64_t k = teacher.indices.size(-1);
    r.indices = teacher.indices.to(at::kLong).reshape({r.N, k}).contiguous();
    r.logProbs = teacher.logProbs.to(math).reshape({r.N, k}).contiguous();
  }
  checkTargets(targets, lead, V, ref, refName, cfg);
  if (targets && targets->defined()) {
    r.targets = targets->to(at::kLong).reshape({r.N}).contiguous();
    r.count = r.N == 0 ? 0 : r.targets.ne(cfg.ignoreIndex).sum().item<int64_t>();
  } else {
    r.count = r.N;
  }
  return r;
}

// Per-row parts -> (loss, kd, ce) for the reduction. Pad rows hold 0; 'mean' divides by the non-pad count
// (a batch of only pad rows gives 0, not NaN).
LossResult reduceRows(const at::Tensor& kdRow, const at::Tensor& ceRow, const Rows& r, const LossConfig& cfg) {
  auto rows = kdRow * cfg.alpha + ceRow * (1.0 - cfg.alpha);
  switch (cfg.reduction) {
    case Reduction::Mean: {
      const double d = static_cast<double>(std::max<int64_t>(r.count, 1));
      return {rows.sum() / d, kdRow.sum() / d, ceRow.sum() / d};
    }
    case Reduction::Sum:
      return {rows.sum(), kdRow.sum(), ceRow.sum()};
    default:
      return {rows.view(r.lead), kdRow.view(r.lead), ceRow.view(r.lead)};
  }
}

double gradScaleOf(const Rows& r, const LossConfig& cfg) {
  return cfg.reduction == Reduction::Mean ? 1.0 / static_cast<double>(std::max<int64_t>(r.count, 1)) : 1.0;
}

// The saved gradient times the incoming one. Without retain_graph the saved tensor is taken out of the
// context and scaled in place, so backward allocates nothing and autograd can steal the tensor for .grad.
at::Tensor takeScaled(AutogradContext* ctx, const char* key, const at::Tensor& go, bool perRow) {
  auto it = ctx->saved_data.find(key);
  TORCH_CHECK(it != ctx->saved_data.end(),
              "distillLoss: this loss was already backpropagated and its saved gradient consumed; pass "
              "retainGraph: true to the first backward() to backpropagate twice");
  at::Tensor g = it->second.toTensor();
  const bool keep = torch::autograd::get_current_graph_task_keep_graph();
  if (!keep) ctx->saved_data.erase(it);
  if (!go.defined()) return g;
  if (perRow) {
    auto f = go.unsqueeze(-1).to(g.scalar_type());
    return keep ? g * f : g.mul_(f);
  }
  if (go.numel() == 1 && go.item<double>() == 1.0) return g;
  auto f = go.to(g.scalar_type());
  return keep ? g * f : g.mul_(f);
}

// ---- dense / sparse form -----------------------------------------------------------------------------------

struct DenseInputs {
  at::Tensor s2;  // [N, V] contiguous student logits
  Rows rows;
};

struct DistillLossFn : public torch::autograd::Function<DistillLossFn> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& student, const DenseInputs* in, LossConfig cfg,
                               bool wantGrad) {
    const Rows& r = in->rows;
    const auto math = mathType(student.scalar_type());
    RowBatch b;
    b.student = in->s2;
    b.teacher = r.teacher;
    b.indices = r.indices;
    b.logProbs = r.logProbs;
    b.targets = r.targets;
    b.kdRow = at::empty({r.N}, student.options().dtype(math));
    b.ceRow = at::empty({r.N}, student.options().dtype(math));
    b.gradScale = gradScaleOf(r, cfg);
    // In place: the kernel writes each row's gradient over the row it has just read (s2 is the student's own
    // storage when the student is contiguous, else already a copy).
    if (wantGrad) b.grad = cfg.gradInPlace ? in->s2 : at::empty({r.N, r.V}, in->s2.options());
    distillRows(b, cfg);
    auto res = reduceRows(b.kdRow, b.ceRow, r, cfg);
    if (wantGrad) ctx->saved_data["grad"] = b.grad.view(student.sizes());
    ctx->saved_data["perRow"] = cfg.reduction == Reduction::None;
    ctx->mark_non_differentiable({res.kd, res.ce});
    return {res.loss, res.kd, res.ce};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const bool perRow = ctx->saved_data["perRow"].toBool();
    return {takeScaled(ctx, "grad", grads[0], perRow), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// ---- chunked fused-linear form ------------------------------------------------------------------------------

struct ChunkedInputs {
  at::Tensor h2;  // [N, H] contiguous
  at::Tensor w;   // [V, H] contiguous
  std::optional<at::Tensor> bias;
  Teacher::Kind teacherKind = Teacher::Kind::Logits;
  at::Tensor th2, tw, tb;  // hidden teacher: [N, Ht], [V, Ht], [V] or undefined
  Rows rows;
  int64_t chunk = 1;
};

struct ChunkedLossFn : public torch::autograd::Function<ChunkedLossFn> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                               const std::optional<at::Tensor>& bias, const ChunkedInputs* in, LossConfig cfg,
                               bool needH, bool needW, bool needB) {
    const Rows& r = in->rows;
    const int64_t N = r.N, V = r.V, H = in->h2.size(1), C = std::max<int64_t>(1, std::min(in->chunk, N));
    const auto dtype = hidden.scalar_type();
    const auto math = mathType(dtype);
    const auto opts = hidden.options();
    const bool wantGrad = needH || needW || needB;

    auto kdRow = at::empty({N}, opts.dtype(math));
    auto ceRow = at::empty({N}, opts.dtype(math));
    at::Tensor gH = needH ? at::empty({N, H}, opts) : at::Tensor();
    at::Tensor gW = needW ? at::empty({V, H}, opts.dtype(math)).zero_() : at::Tensor();
    at::Tensor gB = needB ? at::zeros({V}, opts.dtype(math)) : at::Tensor();
    // Chunk buffers, reused: student logits, their gradient, and the teacher's logits (hidden teacher).
    const int64_t rowsBuf = N == 0 ? 0 : C;
    auto logitsBuf = at::empty({rowsBuf, V}, opts);
    at::Tensor gradBuf = wantGrad ? at::empty({rowsBuf, V}, opts) : at::Tensor();
    at::Tensor teacherBuf =
        in->teacherKind == Teacher::Kind::Hidden ? at::empty({rowsBuf, V}, in->th2.options()) : at::Tensor();
    const double scale = gradScaleOf(r, cfg);
    const auto wT = in->w.t();
    const auto twT = in->tw.defined() ? in->tw.t() : at::Tensor();

    for (int64_t start = 0; start < N; start += C) {
      const int64_t c = std::min(C, N - start);
      auto hc = in->h2.narrow(0, start, c);
      auto lc = logitsBuf.narrow(0, 0, c);
      if (in->bias) {
        at::addmm_out(lc, *in->bias, hc, wT);
      } else {
        at::mm_out(lc, hc, wT);
      }
      RowBatch b;
      b.student = lc;
      switch (in->teacherKind) {
        case Teacher::Kind::Logits:
          b.teacher = r.teacher.narrow(0, start, c);
          break;
        case Teacher::Kind::Sparse:
          b.indices = r.indices.narrow(0, start, c);
          b.logProbs = r.logProbs.narrow(0, start, c);
          break;
        case Teacher::Kind::Hidden: {
          auto tc = teacherBuf.narrow(0, 0, c);
          if (cfg.alpha > 0) {
            auto thc = in->th2.narrow(0, start, c);
            if (in->tb.defined()) {
              at::addmm_out(tc, in->tb, thc, twT);
            } else {
              at::mm_out(tc, thc, twT);
            }
          }
          b.teacher = tc;
          break;
        }
      }
      if (r.targets.defined()) b.targets = r.targets.narrow(0, start, c);
      b.kdRow = kdRow.narrow(0, start, c);
      b.ceRow = ceRow.narrow(0, start, c);
      b.gradScale = scale;
      if (wantGrad) b.grad = gradBuf.narrow(0, 0, c);
      distillRows(b, cfg);
      if (!wantGrad) continue;
      const auto& gc = b.grad;
      if (needH) {
        auto ghc = gH.narrow(0, start, c);
        at::mm_out(ghc, gc, in->w);
      }
      if (needW) gW.addmm_(gc.t().to(math), hc.to(math));
      if (needB) gB.add_(gc.sum(at::IntArrayRef{0}, false, math));
    }
    auto res = reduceRows(kdRow, ceRow, r, cfg);
    if (needH) ctx->saved_data["gH"] = gH.view(hidden.sizes());
    if (needW) ctx->saved_data["gW"] = gW.to(weight.scalar_type());
    if (needB) ctx->saved_data["gB"] = gB.to(bias->scalar_type());
    ctx->mark_non_differentiable({res.kd, res.ce});
    return {res.loss, res.kd, res.ce};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto& go = grads[0];
    auto take = [&](const char* key) {
      return ctx->saved_data.count(key) ? takeScaled(ctx, key, go, false) : at::Tensor();
    };
    auto gH = take("gH");
    auto gW = take("gW");
    auto gB = take("gB");
    return {gH, gW, gB, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

// ---- entry points ---------------------------------------------------------------------------------------------

int64_t defaultChunkSize(int64_t rows, int64_t vocab, const at::Device& device, int64_t elementSize) {
  rows = std::max<int64_t>(rows, 1);
  vocab = std::max<int64_t>(vocab, 1);
#ifdef XKT_WITH_CUDA
  if (device.is_cuda()) {
    c10::cuda::CUDAGuard guard(device);
    size_t freeBytes = 0, totalBytes = 0;
    C10_CUDA_CHECK(cudaMemGetInfo(&freeBytes, &totalBytes));
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    const auto agg = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    const double cached = static_cast<double>(stats.reserved_bytes[agg].current - stats.allocated_bytes[agg].current);
    const double budget = 0.25 * (static_cast<double>(freeBytes) + cached);
    int64_t c = static_cast<int64_t>(
        budget / (3.0 * static_cast<double>(vocab) * static_cast<double>(std::max<int64_t>(elementSize, 1))));
    c = std::max<int64_t>(c / 64 * 64, 1024);
    return std::min(c, rows);
  }
#endif
  (void)device;
  (void)elementSize;
  const int64_t c = (int64_t(1) << 23) / vocab;
  return std::max<int64_t>(1, std::min<int64_t>(c, rows));
}

// ---- entry points ---------------------------------------------------------------------------------------------

LossResult fusedLoss(const at::Tensor& student, const Teacher& teacher, const std::optional<at::Tensor>& targets,
                     const LossConfig& cfg) {
  checkRowsTensor(student, "student", "logits");
  if (teacher.kind == Teacher::Kind::Hidden) {
    typeError("a teacher given as hidden states + projection needs the chunked form (distillLossChunked)");
  }
  const auto lead = student.sizes().slice(0, student.dim() - 1);
  const int64_t V = student.size(-1);
  if (V < 1) rangeError("argument 'student' has an empty vocab dim: " + describeTensor(student));
  const auto math = mathType(student.scalar_type());
  DenseInputs in;
  if (teacher.kind == Teacher::Kind::Logits) checkDenseTeacher(teacher.logits, student);
  in.rows = prepareRows(lead, V, student, "student", student.sizes(), teacher, targets, cfg, math);
  in.s2 = student.detach().reshape({in.rows.N, V}).contiguous();
  if (teacher.kind == Teacher::Kind::Logits)
    in.rows.teacher = teacher.logits.detach().reshape({in.rows.N, V}).contiguous();
  const bool wantGrad = at::GradMode::is_enabled() && student.requires_grad();
  auto out = DistillLossFn::apply(student, &in, cfg, wantGrad);
  return {out[0], out[1], out[2]};
}

LossResult fusedLossChunked(const at::Tensor& hidden, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                            const Teacher& teacher, const std::optional<at::Tensor>& targets, const LossConfig& cfg,
                            int64_t chunkSize) {
  checkRowsTensor(hidden, "hidden", "hidden states");
  const int64_t V = checkProjection(hidden, weight, bias, {"hidden", "weight", "bias"});
  const int64_t H = hidden.size(-1);
  const auto lead = hidden.sizes().slice(0, hidden.dim() - 1);
  checkChunkedTeacher(teacher, lead, V, hidden);
  const auto math = mathType(hidden.scalar_type());
  ChunkedInputs in;
  in.teacherKind = teacher.kind;
  in.rows = prepareRows(lead, V, hidden, "hidden", hidden.sizes(), teacher, targets, cfg, math);
  const int64_t N = in.rows.N;
  in.h2 = hidden.detach().reshape({N, H}).contiguous();
  in.w = weight.detach().contiguous();
  if (bias && bias->defined()) in.bias = bias->detach().contiguous();
  if (teacher.kind == Teacher::Kind::Logits) in.rows.teacher = teacher.logits.detach().reshape({N, V}).contiguous();
  if (teacher.kind == Teacher::Kind::Hidden) {
    in.th2 = teacher.hidden.detach().reshape({N, teacher.hidden.size(-1)}).contiguous();
    in.tw = teacher.weight.detach().contiguous();
    if (teacher.bias && teacher.bias->defined()) in.tb = teacher.bias->detach().contiguous();
  }
  in.chunk = chunkSize > 0 ? chunkSize : defaultChunkSize(N, V, hidden.device(), hidden.element_size());
  const bool gradOn = at::GradMode::is_enabled();
  const bool needH = gradOn && hidden.requires_grad();
  const bool needW = gradOn && weight.requires_grad();
  const bool hasBias = bias && bias->defined();
  const bool needB = gradOn && hasBias && bias->requires_grad();
  std::optional<at::Tensor> biasArg = hasBias ? bias : std::nullopt;
  auto out = ChunkedLossFn::apply(hidden, weight, biasArg, &in, cfg, needH, needW, needB);
  return {out[0], out[1], out[2]};
}

LossResult referenceLoss(const at::Tensor& student, const Teacher& teacher, const std::optional<at::Tensor>& targets,
                         const LossConfig& cfg) {
  checkRowsTensor(student, "student", "logits");
  if (teacher.kind == Teacher::Kind::Hidden) typeError("the reference loss takes teacher logits or a sparse teacher");
  const auto lead = student.sizes().slice(0, student.dim() - 1);
  const int64_t V = student.size(-1);
  const auto dt = student.scalar_type();
  if (teacher.kind == Teacher::Kind::Logits) checkDenseTeacher(teacher.logits, student);
  Rows r = prepareRows(lead, V, student, "student", student.sizes(), teacher, targets, cfg, dt);
  const int64_t N = r.N;
  const double T = cfg.temperature;
  auto s2 = student.reshape({N, V});
  auto mask = r.targets.defined() ? r.targets.ne(cfg.ignoreIndex) : at::ones({N}, student.options().dtype(at::kBool));
  auto zeros = at::zeros({N}, student.options());
  at::Tensor kdRows = zeros, ceRows = zeros;
  if (cfg.alpha > 0) {
    auto logpT = at::log_softmax(s2 / T, -1);
    if (teacher.kind == Teacher::Kind::Logits) {
      auto logqT = at::log_softmax(teacher.logits.detach().reshape({N, V}).to(dt) / T, -1);
      kdRows = at::kl_div(logpT, logqT, at::Reduction::None, /*log_target=*/true).sum(-1) * (T * T);
    } else {
      auto lq = at::log_softmax(r.logProbs / T, -1);
      auto q = lq.exp();
      auto term = at::where(q.gt(0), q * (lq - logpT.gather(1, r.indices)), at::zeros_like(q));
      kdRows = term.sum(-1) * (T * T);
    }
    kdRows = at::where(mask, kdRows, zeros);
  }
  if (cfg.alpha < 1) {
    ceRows =
        at::cross_entropy_loss(s2, r.targets, std::nullopt, at::Reduction::None, cfg.ignoreIndex, cfg.labelSmoothing);
  }
  auto rows = kdRows * cfg.alpha + ceRows * (1.0 - cfg.alpha);
  switch (cfg.reduction) {
    case Reduction::Mean: {
      const double d = static_cast<double>(std::max<int64_t>(r.count, 1));
      return {rows.sum() / d, (kdRows.sum() / d).detach(), (ceRows.sum() / d).detach()};
    }
    case Reduction::Sum:
      return {rows.sum(), kdRows.sum().detach(), ceRows.sum().detach()};
    default:
      return {rows.view(lead), kdRows.view(lead).detach(), ceRows.view(lead).detach()};
  }
}

}  // namespace xkt::loss
