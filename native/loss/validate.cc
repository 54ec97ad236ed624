// The fused loss's argument checks: the tensors' shapes, dtypes and devices, the sparse teacher's ids and
// log-probabilities, and the labels' range — what only native code can see. The options are resolved and
// checked once, in TypeScript (lib/loss/options.ts).
#include "loss/validate.h"

#include "common/convert.h"

namespace xkt::loss {

std::string shapeStr(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

[[noreturn]] void typeError(const std::string& msg) { throw ArgError(msg, ArgError::Kind::Type); }
[[noreturn]] void rangeError(const std::string& msg) { throw ArgError(msg, ArgError::Kind::Range); }

namespace {
void checkDefined(const at::Tensor& t, const char* name) {
  if (!t.defined()) typeError(std::string("argument '") + name + "' must be a Tensor");
}
}  // namespace

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
  if (teacher.dim() == student.dim() &&
      teacher.sizes().slice(0, teacher.dim() - 1) == student.sizes().slice(0, student.dim() - 1) &&
      teacher.size(-1) != student.size(-1)) {
    typeError("vocab mismatch: 'teacher' has V = " + std::to_string(teacher.size(-1)) +
              " but 'student' has V = " + std::to_string(student.size(-1)) + " (shapes " + shapeStr(teacher.sizes()) +
              " and " + shapeStr(student.sizes()) + ")");
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
    typeError("argument 'teacher.logProbs' has shape " + shapeStr(t.logProbs.sizes()) +
              " but 'teacher.indices' has shape " + shapeStr(t.indices.sizes()) + ": they must match");
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
    typeError("argument 'targets' has shape " + shapeStr(y.sizes()) + ", expected " + shapeStr(lead) + " ('" + refName +
              "' without its last dim)");
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

// A linear output layer: hidden [.., H] floating, weight [V, H] and bias [V] (optional) of hidden's dtype and
// device. `names` are the three arguments' names in errors. Returns V.
int64_t checkProjection(const at::Tensor& hidden, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                        const ProjectionNames& names) {
  checkFloating(hidden, names.hidden);
  checkFloating(weight, names.weight);
  checkSameDevice(weight, names.weight, hidden, names.hidden);
  const int64_t H = hidden.size(-1);
  const std::string w = names.weight, h = names.hidden;
  if (weight.dim() != 2 || weight.size(1) != H) {
    typeError("argument '" + w + "' must have shape [V, H] with H = " + std::to_string(H) + " (the last dim of '" + h +
              "'), got " + describeTensor(weight));
  }
  if (weight.scalar_type() != hidden.scalar_type()) {
    typeError("argument '" + w + "' must have the dtype of '" + h + "' (" + dtypeName(hidden.scalar_type()) +
              "), got " + describeTensor(weight));
  }
  const int64_t V = weight.size(0);
  if (V < 1) rangeError("argument '" + w + "' has an empty vocab dim: " + describeTensor(weight));
  if (bias && bias->defined()) {
    const std::string b = names.bias;
    checkFloating(*bias, names.bias);
    checkSameDevice(*bias, names.bias, hidden, names.hidden);
    if (bias->dim() != 1 || bias->size(0) != V || bias->scalar_type() != hidden.scalar_type()) {
      typeError("argument '" + b + "' must have shape [V] with V = " + std::to_string(V) + " (rows of '" + w +
                "') and the dtype of '" + h + "' (" + dtypeName(hidden.scalar_type()) + "), got " +
                describeTensor(*bias));
    }
  }
  return V;
}

void checkChunkedTeacher(const Teacher& teacher, at::IntArrayRef lead, int64_t V, const at::Tensor& hidden) {
  if (teacher.kind == Teacher::Kind::Logits) {
    checkFloating(teacher.logits, "teacher");
    checkSameDevice(teacher.logits, "teacher", hidden, "hidden");
    const int64_t tv = checkLeading(teacher.logits, "teacher", lead, "hidden", hidden.sizes());
    if (tv != V)
      typeError("vocab mismatch: 'teacher' has V = " + std::to_string(tv) +
                " but 'weight' has V = " + std::to_string(V));
  } else if (teacher.kind == Teacher::Kind::Hidden) {
    checkFloating(teacher.hidden, "teacher.hidden");
    checkSameDevice(teacher.hidden, "teacher.hidden", hidden, "hidden");
    checkLeading(teacher.hidden, "teacher.hidden", lead, "hidden", hidden.sizes());
    const int64_t tv = checkProjection(teacher.hidden, teacher.weight, teacher.bias,
                                       {"teacher.hidden", "teacher.weight", "teacher.bias"});
    if (tv != V) {
      typeError("vocab mismatch: 'teacher.weight' has V = " + std::to_string(tv) +
                " but 'weight' has V = " + std::to_string(V));
    }
  }
}

}  // namespace xkt::loss
