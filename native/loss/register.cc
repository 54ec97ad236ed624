// JS bindings of the fused distillation loss (native/loss): argument parsing only; validation and math live
// in distill_loss.cc. Every function returns [loss, kd, ce] (kd and ce detached).
#include "loss/register.h"

#include "common/async.h"

#include "loss/distill_loss.h"
#include "tensor/tensor_wrap.h"

#ifdef XKT_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace xkt {

namespace {

using loss::LossConfig;
using loss::LossResult;
using loss::Reduction;
using loss::Teacher;

// [kind, A, B, C]: 'logits' A = logits; 'sparse' A = indices, B = logProbs; 'hidden' A = hidden,
// B = weight, C = bias (or null).
Teacher parseTeacher(Args& a, size_t i, bool allowHidden) {
  const std::string kind = a.string(i, "teacherKind");
  Teacher t;
  if (kind == "logits") {
    t.kind = Teacher::Kind::Logits;
    t.logits = a.tensor(i + 1, "teacher");
  } else if (kind == "sparse") {
    t.kind = Teacher::Kind::Sparse;
    t.indices = a.tensor(i + 1, "teacher.indices");
    t.logProbs = a.tensor(i + 2, "teacher.logProbs");
  } else if (kind == "hidden" && allowHidden) {
    t.kind = Teacher::Kind::Hidden;
    t.hidden = a.tensor(i + 1, "teacher.hidden");
    t.weight = a.tensor(i + 2, "teacher.weight");
    t.bias = a.optTensor(i + 3, "teacher.bias");
  } else {
    throw ArgError("argument 'teacherKind' must be " + std::string(allowHidden ? "'logits', 'sparse' or 'hidden'" : "'logits' or 'sparse'") +
                       ", got '" + kind + "'",
                   ArgError::Kind::Range);
  }
  return t;
}

// [temperature, alpha, labelSmoothing, ignoreIndex, reduction]; ranges are checked by distill_loss.cc.
LossConfig parseConfig(Args& a, size_t i) {
  LossConfig c;
  c.temperature = a.number(i, "temperature", /*allowNonFinite=*/true);
  c.alpha = a.number(i + 1, "alpha", true);
  c.labelSmoothing = a.number(i + 2, "labelSmoothing", true);
  c.ignoreIndex = a.integer(i + 3, "ignoreIndex");
  const std::string r = a.string(i + 4, "reduction");
  if (r == "mean") {
    c.reduction = Reduction::Mean;
  } else if (r == "sum") {
    c.reduction = Reduction::Sum;
  } else if (r == "none") {
    c.reduction = Reduction::None;
  } else {
    throw ArgError("option 'reduction' must be 'mean', 'sum' or 'none', got '" + r + "'", ArgError::Kind::Range);
  }
  return c;
}

Napi::Value result(Napi::Env env, const LossResult& r) {
  auto arr = Napi::Array::New(env, 3);
  arr.Set(0u, TensorWrap::wrap(env, r.loss));
  arr.Set(1u, TensorWrap::wrap(env, r.kd));
  arr.Set(2u, TensorWrap::wrap(env, r.ce));
  return arr;
}

// The arguments of distillLossChunked(Async), read on the JS thread.
struct ChunkedArgs {
  torch::Tensor hidden, weight;
  std::optional<torch::Tensor> bias, targets;
  Teacher teacher;
  LossConfig cfg;
  int64_t chunk;
};

ChunkedArgs readChunked(Args& a) {
  ChunkedArgs c{a.tensor(0, "hidden"), a.tensor(1, "weight"), a.optTensor(2, "bias"), a.optTensor(7, "targets"),
                parseTeacher(a, 3, true), parseConfig(a, 8), 0};
  c.chunk = a.has(13) ? a.nonNegativeInteger(13, "chunkSize") : 0;
  return c;
}

}  // namespace

void registerLoss(Napi::Env env, Napi::Object exports) {
  // distillLoss(student, teacherKind, A, B, targets|null, temperature, alpha, labelSmoothing, ignoreIndex, reduction)
  define(env, exports, "distillLoss", [](Args& a) {
    auto student = a.tensor(0, "student");
    auto teacher = parseTeacher(a, 1, false);
    auto targets = a.optTensor(4, "targets");
    auto cfg = parseConfig(a, 5);
    return result(a.env(), loss::fusedLoss(student, teacher, targets, cfg));
  });
  // distillLossAsync: the same on the compute thread (the training loop's Promise form).
  define(env, exports, "distillLossAsync", [](Args& a) {
    auto student = a.tensor(0, "student");
    auto teacher = parseTeacher(a, 1, false);
    auto targets = a.optTensor(4, "targets");
    auto cfg = parseConfig(a, 5);
    return AsyncTask<LossResult>::start(
        a.env(), "distillLossAsync", [student, teacher, targets, cfg] { return loss::fusedLoss(student, teacher, targets, cfg); },
        [](Napi::Env env, LossResult& r) { return result(env, r); });
  });
  // distillLossReference: same arguments; the plain LibTorch composition with ordinary autograd.
  define(env, exports, "distillLossReference", [](Args& a) {
    auto student = a.tensor(0, "student");
    auto teacher = parseTeacher(a, 1, false);
    auto targets = a.optTensor(4, "targets");
    auto cfg = parseConfig(a, 5);
    return result(a.env(), loss::referenceLoss(student, teacher, targets, cfg));
  });
  // distillLossChunked(hidden, weight, bias|null, teacherKind, A, B, C, targets|null, temperature, alpha,
  //                    labelSmoothing, ignoreIndex, reduction, chunkSize (0 = automatic))
  define(env, exports, "distillLossChunked", [](Args& a) {
    auto c = readChunked(a);
    return result(a.env(), loss::fusedLossChunked(c.hidden, c.weight, c.bias, c.teacher, c.targets, c.cfg, c.chunk));
  });
  // distillLossChunkedAsync: the same on the compute thread (online distillation with a large vocabulary).
  define(env, exports, "distillLossChunkedAsync", [](Args& a) {
    auto c = readChunked(a);
    return AsyncTask<LossResult>::start(
        a.env(), "distillLossChunkedAsync",
        [c] { return loss::fusedLossChunked(c.hidden, c.weight, c.bias, c.teacher, c.targets, c.cfg, c.chunk); },
        [](Napi::Env env, LossResult& r) { return result(env, r); });
  });
  // distillLossDefaultChunkSize(rows, vocab): the rows per chunk chosen when chunkSize is 0.
  define(env, exports, "distillLossDefaultChunkSize", [](Args& a) {
    return Napi::Number::New(a.env(), static_cast<double>(loss::defaultChunkSize(a.nonNegativeInteger(0, "rows"),
                                                                                 a.positiveInteger(1, "vocab"))));
  });
  // distillLossKernel(name?): the CPU kernel variant in use; with a name ('auto', 'DEFAULT', 'AVX2',
  // 'AVX512') selects it first. For tests and benchmarks.
  define(env, exports, "distillLossKernel", [](Args& a) {
    if (a.has(0)) loss::setCpuKernelCapability(a.string(0, "name"));
    return Napi::String::New(a.env(), loss::cpuKernelCapability());
  });
  // distillLossCudaMemory(reset?): {allocated, peak} bytes of the CUDA caching allocator on the current
  // device (peak since the last reset; reset: true resets it first), or null without CUDA kernels.
  define(env, exports, "distillLossCudaMemory", [](Args& a) -> Napi::Value {
#ifdef XKT_WITH_CUDA
    if (!torch::cuda::is_available()) return a.env().Null();
    const auto dev = c10::cuda::current_device();
    if (a.boolean(0, "reset", false)) c10::cuda::CUDACachingAllocator::resetPeakStats(dev);
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(dev);
    const auto& s = stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)];
    auto obj = Napi::Object::New(a.env());
    obj.Set("allocated", Napi::Number::New(a.env(), static_cast<double>(s.current)));
    obj.Set("peak", Napi::Number::New(a.env(), static_cast<double>(s.peak)));
    return obj;
#else
    return a.env().Null();
#endif
  });
}

}  // namespace xkt
