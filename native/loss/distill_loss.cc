// The fused distillation loss's entry points (see distill_loss.h): argument validation, the CPU kernel
// dispatch and its row-parallel loop, the custom autograd functions of the dense/sparse and the chunked
// fused-linear forms, and the plain LibTorch composition used as the reference.
#include "loss/distill_loss.h"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/graph_task.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>

#include "common/convert.h"
#include "common/errors.h"
#include "loss/kernel.h"

namespace xkt::loss {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// ---- messages ---------------------------------------------------------------------------------------------

std::string num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string shapeStr(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

[[noreturn]] void typeError(const std::string& msg) { throw ArgError(msg, ArgError::Kind::Type); }
[[noreturn]] void rangeError(const std::string& msg) { throw ArgError(msg, ArgError::Kind::Range); }

// ---- validation -------------------------------------------------------------------------------------------

void checkConfig(const LossConfig& c) {
  if (!std::isfinite(c.temperature) || c.temperature <= 0) {
    rangeError("option 'temperature' must be a finite number > 0, got " + num(c.temperature));
  }
  if (!(c.alpha >= 0 && c.alpha <= 1)) rangeError("option 'alpha' must be in [0, 1], got " + num(c.alpha));
  if (!(c.labelSmoothing >= 0 && c.labelSmoothing < 1)) {
    rangeError("option 'labelSmoothing' must be in [0, 1), got " + num(c.labelSmoothing));
  }
}

void checkDefined(const at::Tensor& t, const char* name) {
  if (!t.defined()) typeError(std::string("argument '") + name + "' must be a Tensor");
}

void checkFloating(const at::Tensor& t, const char* name) {
  checkDefined(t, name);
  if (!at::isFloatingType(t.scalar_type())) {
    typeError(std::string("argument '") + name + "' must be a floating-point tensor, got " + describeTensor(t));
  }
}

void checkSameDevice(const at::Tensor& t, const char* name, const at::Tensor& ref, const char* refName) {
  if (t.device() != ref.device()) {
    typeError(std::string("argument '") + name + "' is on " + deviceName(t.device()) + " but '" + refName + "' is on " +
              deviceName(ref.device()));
  }
}

// `t` must have the leading shape `lead` plus one last dim; returns that last dim.
int64_t checkLeading(const at::Tensor& t, const char* name, at::IntArrayRef lead, const char* refName,
                     at::IntArrayRef refShape) {
  if (t.dim() != static_cast<int64_t>(lead.size()) + 1 || t.sizes().slice(0, lead.size()) != lead) {
    typeError(std::string("argument '") + name + "' has shape " + shapeStr(t.sizes()) + " but '" + refName +
              "' has shape " + shapeStr(refShape) + ": the leading dims must match");
  }
  return t.size(-1);
}

// Student logits (or hidden states): floating, [N, X] or [B, T, X] (any number of leading dims).
void checkRowsTensor(const at::Tensor& t, const char* name, const char* what) {
  checkFloating(t, name);
  if (t.dim() < 2) {
    typeError(std::string("argument '") + name + "' must be " + what + " of shape [N, " + (what[0] == 'l' ? "V" : "H") +
              "] or [B, T, " + (what[0] == 'l' ? "V" : "H") + "], got " + describeTensor(t));
  }
}

void checkDenseTeacher(const at::Tensor& teacher, const at::Tensor& student) {
  checkFloating(teacher, "teacher");
  checkSameDevice(teacher, "teacher", student, "student");
  if (teacher.dim() == student.dim() && teacher.sizes().slice(0, teacher.dim() - 1) ==
                                            student.sizes().slice(0, student.dim() - 1) &&
      teacher.size(-1) != student.size(-1)) {
    typeError("vocab mismatch: 'teacher' has V = " + std::to_string(teacher.size(-1)) + " but 'student' has V = " +
              std::to_string(student.size(-1)) + " (shapes " + shapeStr(teacher.sizes()) + " and " +
              shapeStr(student.sizes()) + ")");
  }
  if (teacher.sizes() != student.sizes()) {
    typeError("argument 'teacher' has shape " + shapeStr(teacher.sizes()) + " but 'student' has shape " +
              shapeStr(student.sizes()) + ": they must match");
  }
}

void checkSparseTeacher(const Teacher& t, at::IntArrayRef lead, int64_t V, const at::Tensor& ref, const char* refName,
                        at::IntArrayRef refShape) {
  checkDefined(t.indices, "teacher.indices");
  checkDefined(t.logProbs, "teacher.logProbs");
  if (!at::isIntegralType(t.indices.scalar_type(), /*includeBool=*/false)) {
    typeError("argument 'teacher.indices' must be an integer tensor, got " + describeTensor(t.indices));
  }
  checkFloating(t.logProbs, "teacher.logProbs");
  checkSameDevice(t.indices, "teacher.indices", ref, refName);
  checkSameDevice(t.logProbs, "teacher.logProbs", ref, refName);
  const int64_t k = checkLeading(t.indices, "teacher.indices", lead, refName, refShape);
  if (t.logProbs.sizes() != t.indices.sizes()) {
    typeError("argument 'teacher.logProbs' has shape " + shapeStr(t.logProbs.sizes()) + " but 'teacher.indices' has shape " +
              shapeStr(t.indices.sizes()) + ": they must match");
  }
  if (k < 1 || k > V) {
    rangeError("the sparse teacher's k (last dim of 'teacher.indices') must be in [1, V = " + std::to_string(V) +
               "], got " + std::to_string(k));
  }
  if (t.indices.numel() == 0) return;
  auto idx = t.indices.to(at::kLong);
  auto bad = idx.lt(0).logical_or(idx.ge(V));
  if (bad.any().item<bool>()) {
    int64_t pos = bad.reshape(-1).nonzero().select(1, 0)[0].item<int64_t>();
    rangeError("argument 'teacher.indices' holds " + std::to_string(idx.reshape(-1)[pos].item<int64_t>()) +
               " at flat index " + std::to_string(pos) + ", outside the vocab [0, " + std::to_string(V) + ")");
  }
  auto lp = t.logProbs;
  if (lp.isnan().any().item<bool>() || lp.isposinf().any().item<bool>()) {
    rangeError("argument 'teacher.logProbs' must hold finite values or -Infinity, not NaN or +Infinity");
  }
  if (!lp.isfinite().any(-1).all().item<bool>()) {
    rangeError("argument 'teacher.logProbs' has a row whose k values are all -Infinity (no teacher mass)");
  }
}

// Labels: integer, the leading shape, in [0, V) or ignoreIndex. Absent only when alpha == 1.
void checkTargets(const std::optional<at::Tensor>& targets, at::IntArrayRef lead, int64_t V, const at::Tensor& ref,
                  const char* refName, const LossConfig& cfg) {
  if (!targets || !targets->defined()) {
    if (cfg.alpha < 1) typeError("argument 'targets' is required unless alpha == 1 (then it only masks pad tokens)");
    return;
  }
  const auto& y = *targets;
  if (!at::isIntegralType(y.scalar_type(), /*includeBool=*/false)) {
    typeError("argument 'targets' must be an integer tensor of labels, got " + describeTensor(y));
  }
  checkSameDevice(y, "targets", ref, refName);
  if (y.sizes() != lead) {
    typeError("argument 'targets' has shape " + shapeStr(y.sizes()) + ", expected " + shapeStr(lead) + " ('" +
              refName + "' without its last dim)");
  }
  if (y.numel() == 0) return;
  auto yl = y.to(at::kLong).reshape(-1);
  auto bad = yl.ne(cfg.ignoreIndex).logical_and(yl.lt(0).logical_or(yl.ge(V)));
  if (bad.any().item<bool>()) {
    int64_t pos = bad.nonzero().select(1, 0)[0].item<int64_t>();
    rangeError("argument 'targets' holds label " + std::to_string(yl[pos].item<int64_t>()) + " at flat index " +
               std::to_string(pos) + ", outside [0, " + std::to_string(V) + ") and not ignoreIndex (" +
               std::to_string(cfg.ignoreIndex) + ")");
  }
}

at::ScalarType mathType(at::ScalarType t) { return t == at::kDouble ? at::kDouble : at::kFloat; }

// ---- CPU kernel choice and the row-parallel loop ---------------------------------------------------------

enum Cap : int { kCapDefault = 0, kCapAvx2 = 1, kCapAvx512 = 2 };
const char* const kCapNames[] = {"DEFAULT", "AVX2", "AVX512"};

RowRangeFn capFn(int cap) {
  switch (cap) {
    case kCapAvx512: return rowRangeAvx512();
    case kCapAvx2: return rowRangeAvx2();
    default: return rowRangeDefault();
  }
}

bool cpuSupports(int cap) {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (cap == kCapAvx512) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && cpuSupports(kCapAvx2);
  }
  if (cap == kCapAvx2) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
           __builtin_cpu_supports("bmi2");
  }
#else
  if (cap != kCapDefault) return false;
#endif
  return true;
}

bool usable(int cap) { return capFn(cap) != nullptr && cpuSupports(cap); }

// What LibTorch itself uses on this CPU (honours ATEN_CPU_CAPABILITY), capped by what this build has.
int detectCap() {
  const std::string s = at::get_cpu_capability();
  int cap = s == "AVX512" ? kCapAvx512 : s == "AVX2" ? kCapAvx2 : kCapDefault;
  while (cap > kCapDefault && !usable(cap)) --cap;
  return cap;
}

std::atomic<int> g_cap{-1};

int currentCap() {
  int cap = g_cap.load();
  if (cap < 0) {
    cap = detectCap();
    g_cap.store(cap);
  }
  return cap;
}

// Runs fn over [0, n) in chunks on LibTorch's intra-op thread count. at::parallel_for is only parallel in
// translation units compiled with OpenMP, which the addon is not (CMakeLists.txt passes no -fopenmp), so
// without it the chunks go to LibTorch's inter-op pool (at::launch) and the calling thread; chunks are
// claimed from a counter, so the caller finishes the work alone if the pool is busy.
void parallelRows(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
#ifdef _OPENMP
  at::parallel_for(0, n, grain, fn);
#else
  const int64_t threads = std::max(1, at::get_num_threads());
  const int64_t maxChunks = (n + grain - 1) / grain;
  const int64_t chunks = std::min(maxChunks, threads * 4);
  if (threads <= 1 || chunks <= 1 || at::in_parallel_region()) {
    fn(0, n);
    return;
  }
  struct State {
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> done{0};
    int64_t chunks = 0, n = 0, per = 0;
    const std::function<void(int64_t, int64_t)>* fn = nullptr;
    std::mutex m;
    std::condition_variable cv;
    std::exception_ptr error;
  };
  auto st = std::make_shared<State>();
  st->chunks = chunks;
  st->n = n;
  st->per = (n + chunks - 1) / chunks;
  st->fn = &fn;
  auto work = [st]() {
    for (;;) {
      const int64_t i = st->next.fetch_add(1);
      if (i >= st->chunks) return;  // a late helper never touches fn: all chunks may be done already
      const int64_t b = std::min(st->n, i * st->per), e = std::min(st->n, b + st->per);
      try {
        if (b < e) (*st->fn)(b, e);
      } catch (...) {
        std::lock_guard<std::mutex> lk(st->m);
        if (!st->error) st->error = std::current_exception();
      }
      if (st->done.fetch_add(1) + 1 == st->chunks) {
        std::lock_guard<std::mutex> lk(st->m);
        st->cv.notify_all();
      }
    }
  };
  for (int64_t t = 1; t < std::min(threads, chunks); ++t) at::launch(work);
  work();
  std::unique_lock<std::mutex> lk(st->m);
  st->cv.wait(lk, [&] { return st->done.load() == st->chunks; });
  if (st->error) std::rethrow_exception(st->error);
#endif
}

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
    case Reduction::Sum: return {rows.sum(), kdRow.sum(), ceRow.sum()};
    default: return {rows.view(r.lead), kdRow.view(r.lead), ceRow.view(r.lead)};
  }
}

double gradScaleOf(const Rows& r, const LossConfig& cfg) {
  return cfg.reduction == Reduction::Mean ? 1.0 / static_cast<double>(std::max<int64_t>(r.count, 1)) : 1.0;
}

int64_t rowGrain(int64_t V) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(V, 1)); }

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
    if (wantGrad) b.grad = at::empty({r.N, r.V}, in->s2.options());
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
        case Teacher::Kind::Logits: b.teacher = r.teacher.narrow(0, start, c); break;
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

// ---- kernel dispatch ------------------------------------------------------------------------------------------

void distillRows(const RowBatch& batch, const LossConfig& cfg) {
  if (batch.student.is_cuda()) {
#ifdef XKT_WITH_CUDA
    distillRowsCuda(batch, cfg);
    return;
#else
    TORCH_CHECK(false, "distillLoss: tensors are on CUDA but this addon was built without its CUDA kernels");
#endif
  }
  TORCH_CHECK(batch.student.device().is_cpu(), "distillLoss: unsupported device ", batch.student.device());
  const RowRangeFn fn = capFn(currentCap());
  const int64_t N = batch.student.size(0), V = batch.student.size(1);
  parallelRows(N, rowGrain(V), [&](int64_t b, int64_t e) { fn(batch, cfg, b, e); });
}

std::string cpuKernelCapability() { return kCapNames[currentCap()]; }

void setCpuKernelCapability(const std::string& name) {
  if (name == "auto") {
    g_cap.store(detectCap());
    return;
  }
  for (int cap = kCapDefault; cap <= kCapAvx512; ++cap) {
    if (name != kCapNames[cap]) continue;
    if (!usable(cap)) {
      rangeError("CPU kernel '" + name + "' is not available here (" +
                 (capFn(cap) ? "this CPU lacks the instructions" : "not compiled into this build") + ")");
    }
    g_cap.store(cap);
    return;
  }
  rangeError("unknown CPU kernel '" + name + "'; expected 'auto', 'DEFAULT', 'AVX2' or 'AVX512'");
}

int64_t defaultChunkSize(int64_t rows, int64_t vocab) {
  const int64_t c = (int64_t(1) << 23) / std::max<int64_t>(vocab, 1);
  return std::max<int64_t>(1, std::min<int64_t>(c, std::max<int64_t>(rows, 1)));
}

// ---- entry points ---------------------------------------------------------------------------------------------

LossResult fusedLoss(const at::Tensor& student, const Teacher& teacher, const std::optional<at::Tensor>& targets,
                     const LossConfig& cfg) {
  checkConfig(cfg);
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
  if (teacher.kind == Teacher::Kind::Logits) in.rows.teacher = teacher.logits.detach().reshape({in.rows.N, V}).contiguous();
  const bool wantGrad = at::GradMode::is_enabled() && student.requires_grad();
  auto out = DistillLossFn::apply(student, &in, cfg, wantGrad);
  return {out[0], out[1], out[2]};
}

LossResult fusedLossChunked(const at::Tensor& hidden, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                            const Teacher& teacher, const std::optional<at::Tensor>& targets, const LossConfig& cfg,
                            int64_t chunkSize) {
  checkConfig(cfg);
  if (cfg.reduction == Reduction::None) {
    rangeError("reduction 'none' is not supported by the chunked form: its gradients are computed in the forward "
               "pass, which needs a scalar loss; use 'mean' or 'sum'");
  }
  if (chunkSize < 0) rangeError("option 'chunkSize' must be a positive integer (or 0 for automatic), got " + std::to_string(chunkSize));
  checkRowsTensor(hidden, "hidden", "hidden states");
  checkFloating(weight, "weight");
  checkSameDevice(weight, "weight", hidden, "hidden");
  const int64_t H = hidden.size(-1);
  if (weight.dim() != 2 || weight.size(1) != H) {
    typeError("argument 'weight' must have shape [V, H] with H = " + std::to_string(H) + " (the last dim of 'hidden'), got " +
              describeTensor(weight));
  }
  if (weight.scalar_type() != hidden.scalar_type()) {
    typeError("argument 'weight' must have the dtype of 'hidden' (" + dtypeName(hidden.scalar_type()) + "), got " +
              describeTensor(weight));
  }
  const int64_t V = weight.size(0);
  if (V < 1) rangeError("argument 'weight' has an empty vocab dim: " + describeTensor(weight));
  if (bias && bias->defined()) {
    checkFloating(*bias, "bias");
    checkSameDevice(*bias, "bias", hidden, "hidden");
    if (bias->dim() != 1 || bias->size(0) != V) {
      typeError("argument 'bias' must have shape [V] with V = " + std::to_string(V) + " (rows of 'weight'), got " +
                describeTensor(*bias));
    }
    if (bias->scalar_type() != hidden.scalar_type()) {
      typeError("argument 'bias' must have the dtype of 'hidden' (" + dtypeName(hidden.scalar_type()) + "), got " +
                describeTensor(*bias));
    }
  }
  const auto lead = hidden.sizes().slice(0, hidden.dim() - 1);
  const auto math = mathType(hidden.scalar_type());
  ChunkedInputs in;
  in.teacherKind = teacher.kind;
  std::vector<int64_t> studentShape = lead.vec();
  studentShape.push_back(V);
  if (teacher.kind == Teacher::Kind::Logits) {
    checkFloating(teacher.logits, "teacher");
    checkSameDevice(teacher.logits, "teacher", hidden, "hidden");
    const int64_t tv = checkLeading(teacher.logits, "teacher", lead, "hidden", hidden.sizes());
    if (tv != V) {
      typeError("vocab mismatch: 'teacher' has V = " + std::to_string(tv) + " but 'weight' has V = " + std::to_string(V));
    }
  } else if (teacher.kind == Teacher::Kind::Hidden) {
    checkFloating(teacher.hidden, "teacher.hidden");
    checkFloating(teacher.weight, "teacher.weight");
    checkSameDevice(teacher.hidden, "teacher.hidden", hidden, "hidden");
    checkSameDevice(teacher.weight, "teacher.weight", hidden, "hidden");
    const int64_t Ht = checkLeading(teacher.hidden, "teacher.hidden", lead, "hidden", hidden.sizes());
    if (teacher.weight.dim() != 2 || teacher.weight.size(1) != Ht) {
      typeError("argument 'teacher.weight' must have shape [V, Ht] with Ht = " + std::to_string(Ht) +
                " (the last dim of 'teacher.hidden'), got " + describeTensor(teacher.weight));
    }
    if (teacher.weight.size(0) != V) {
      typeError("vocab mismatch: 'teacher.weight' has V = " + std::to_string(teacher.weight.size(0)) +
                " but 'weight' has V = " + std::to_string(V));
    }
    if (teacher.weight.scalar_type() != teacher.hidden.scalar_type()) {
      typeError("argument 'teacher.weight' must have the dtype of 'teacher.hidden', got " + describeTensor(teacher.weight));
    }
    if (teacher.bias && teacher.bias->defined()) {
      const auto& tb = *teacher.bias;
      checkFloating(tb, "teacher.bias");
      checkSameDevice(tb, "teacher.bias", hidden, "hidden");
      if (tb.dim() != 1 || tb.size(0) != V || tb.scalar_type() != teacher.hidden.scalar_type()) {
        typeError("argument 'teacher.bias' must be a [V = " + std::to_string(V) + "] tensor of the dtype of 'teacher.hidden', got " +
                  describeTensor(tb));
      }
    }
  }
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
  in.chunk = chunkSize > 0 ? chunkSize : defaultChunkSize(N, V);
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
  checkConfig(cfg);
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
    ceRows = at::cross_entropy_loss(s2, r.targets, std::nullopt, at::Reduction::None, cfg.ignoreIndex, cfg.labelSmoothing);
  }
  auto rows = kdRows * cfg.alpha + ceRows * (1.0 - cfg.alpha);
  switch (cfg.reduction) {
    case Reduction::Mean: {
      const double d = static_cast<double>(std::max<int64_t>(r.count, 1));
      return {rows.sum() / d, (kdRows.sum() / d).detach(), (ceRows.sum() / d).detach()};
    }
    case Reduction::Sum: return {rows.sum(), kdRows.sum().detach(), ceRows.sum().detach()};
    default: return {rows.view(lead), kdRows.view(lead).detach(), ceRows.view(lead).detach()};
  }
}

}  // namespace xkt::loss
