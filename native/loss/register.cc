// JS bindings of the fused distillation loss (native/loss): each form takes its tensors, a teacher object and
// one options object that lib/loss/options.ts resolved and checked; the tensor checks and the math live in
// distill_loss.cc. Every form returns [loss, kd, ce] (kd and ce detached).
#include "loss/register.h"

#include "common/define.h"
#include "common/tensor_wrap.h"
#include "loss/distill_loss.h"

namespace xkt {

namespace {

using loss::LossConfig;
using loss::LossResult;
using loss::Reduction;
using loss::Teacher;

// { kind: 'logits', logits } | { kind: 'sparse', indices, logProbs } | { kind: 'hidden', hidden, weight, bias? }
// ('hidden' only in the chunked form).
Teacher readTeacher(Args& a, size_t i, bool allowHidden) {
  ObjectArg o(a, i, "teacher");
  const auto kind = o.oneOf("kind", allowHidden ? std::vector<std::string>{"logits", "sparse", "hidden"}
                                                : std::vector<std::string>{"logits", "sparse"});
  Teacher t;
  if (kind == "logits") {
    t.kind = Teacher::Kind::Logits;
    t.logits = o.tensor("logits");
  } else if (kind == "sparse") {
    t.kind = Teacher::Kind::Sparse;
    t.indices = o.tensor("indices");
    t.logProbs = o.tensor("logProbs");
  } else {
    t.kind = Teacher::Kind::Hidden;
    t.hidden = o.tensor("hidden");
    t.weight = o.tensor("weight");
    t.bias = o.optTensor("bias");
  }
  return t;
}

// { temperature, alpha, labelSmoothing, ignoreIndex, reduction, gradInPlace? }
LossConfig readConfig(ObjectArg& o, bool chunked) {
  LossConfig c;
  c.temperature = o.number("temperature");
  c.alpha = o.number("alpha");
  c.labelSmoothing = o.number("labelSmoothing");
  c.ignoreIndex = o.integer("ignoreIndex");
  const auto r = o.oneOf(
      "reduction", chunked ? std::vector<std::string>{"mean", "sum"} : std::vector<std::string>{"mean", "sum", "none"});
  c.reduction = r == "mean" ? Reduction::Mean : r == "sum" ? Reduction::Sum : Reduction::None;
  c.gradInPlace = o.has("gradInPlace") && o.boolean("gradInPlace");
  return c;
}

Napi::Value resultToJs(Napi::Env env, LossResult& r) {
  auto arr = Napi::Array::New(env, 3);
  arr.Set(0u, TensorWrap::wrap(env, r.loss));
  arr.Set(1u, TensorWrap::wrap(env, r.kd));
  arr.Set(2u, TensorWrap::wrap(env, r.ce));
  return arr;
}

// distillLoss(student, teacher, targets | null, options)
struct DenseArgs {
  at::Tensor student;
  Teacher teacher;
  std::optional<at::Tensor> targets;
  LossConfig cfg;
};

DenseArgs readDense(Args& a) {
  DenseArgs d{a.tensor(0, "student"), readTeacher(a, 1, false), a.optTensor(2, "targets"), {}};
  ObjectArg o(a, 3, "options");
  d.cfg = readConfig(o, false);
  return d;
}

// distillLossChunked(hidden, weight, bias | null, teacher, targets | null, options + chunkSize (0 = automatic))
struct ChunkedArgs {
  at::Tensor hidden, weight;
  std::optional<at::Tensor> bias;
  Teacher teacher;
  std::optional<at::Tensor> targets;
  LossConfig cfg;
  int64_t chunk = 0;
};

ChunkedArgs readChunked(Args& a) {
  ChunkedArgs c{a.tensor(0, "hidden"),
                a.tensor(1, "weight"),
                a.optTensor(2, "bias"),
                readTeacher(a, 3, true),
                a.optTensor(4, "targets"),
                {},
                0};
  ObjectArg o(a, 5, "options");
  c.cfg = readConfig(o, true);
  c.chunk = o.integer("chunkSize");
  return c;
}

}  // namespace

void registerLoss(Napi::Env env, Napi::Object exports) {
  defineSyncAndAsync(
      env, exports, "distillLoss", readDense,
      [](const DenseArgs& d) { return loss::fusedLoss(d.student, d.teacher, d.targets, d.cfg); }, resultToJs);
  define(env, exports, "distillLossReference", [](Args& a) {
    auto d = readDense(a);
    auto r = loss::referenceLoss(d.student, d.teacher, d.targets, d.cfg);
    return resultToJs(a.env(), r);
  });
  defineSyncAndAsync(
      env, exports, "distillLossChunked", readChunked,
      [](const ChunkedArgs& c) {
        return loss::fusedLossChunked(c.hidden, c.weight, c.bias, c.teacher, c.targets, c.cfg, c.chunk);
      },
      resultToJs);
  // distillLossDefaultChunkSize(rows, vocab, device?, elementSize?): the rows per chunk chosen when chunkSize is 0.
  define(env, exports, "distillLossDefaultChunkSize", [](Args& a) {
    const auto device = a.has(2) ? parseDevice(a.string(2, "device")) : c10::Device(c10::kCPU);
    const int64_t elementSize = a.has(3) ? a.positiveInteger(3, "elementSize") : 4;
    return Napi::Number::New(
        a.env(), static_cast<double>(loss::defaultChunkSize(a.nonNegativeInteger(0, "rows"),
                                                            a.positiveInteger(1, "vocab"), device, elementSize)));
  });
  // distillLossKernel(name?): the CPU kernel variant in use; with a name ('auto', 'DEFAULT', 'AVX2',
  // 'AVX512') selects it first. For tests and benchmarks.
  define(env, exports, "distillLossKernel", [](Args& a) {
    if (a.has(0)) loss::setCpuKernelCapability(a.string(0, "name"));
    return Napi::String::New(a.env(), loss::cpuKernelCapability());
  });
}

}  // namespace xkt
