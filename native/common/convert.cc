// See convert.h.
#include "common/convert.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/tensor_wrap.h"

namespace xkt {

namespace {
const std::vector<std::pair<std::string, c10::ScalarType>>& dtypeTable() {
  static const std::vector<std::pair<std::string, c10::ScalarType>> table = {
      {"float32", c10::kFloat}, {"float64", c10::kDouble}, {"float16", c10::kHalf}, {"bfloat16", c10::kBFloat16},
      {"int32", c10::kInt},     {"int64", c10::kLong},     {"int16", c10::kShort},  {"int8", c10::kChar},
      {"uint8", c10::kByte},    {"bool", c10::kBool}};
  return table;
}

constexpr double kMaxSafeInteger = 9007199254740991.0;
}  // namespace

std::string dtypeName(c10::ScalarType t) {
  for (const auto& [name, type] : dtypeTable()) {
    if (type == t) return name;
  }
  return std::string(c10::toString(t));
}

c10::ScalarType parseDtype(const std::string& name) {
  for (const auto& [n, type] : dtypeTable()) {
    if (n == name) return type;
  }
  std::string valid;
  for (const auto& [n, type] : dtypeTable()) valid += (valid.empty() ? "" : ", ") + n;
  throw ArgError("unknown dtype '" + name + "'; expected one of " + valid);
}

std::string deviceName(const c10::Device& d) {
  if (d.is_cpu()) return "cpu";
  return d.str();
}

c10::Device parseDevice(const std::string& name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw ArgError("device '" + name + "' requested but CUDA is not available in this LibTorch build");
    }
    c10::Device d(name);
    if (d.has_index() && d.index() >= static_cast<int64_t>(torch::cuda::device_count())) {
      throw ArgError("device '" + name + "' does not exist; this machine has " +
                         std::to_string(torch::cuda::device_count()) + " CUDA device(s)",
                     ArgError::Kind::Range);
    }
    return d;
  }
  throw ArgError("unknown device '" + name + "'; expected 'cpu', 'cuda' or 'cuda:N'");
}

void checkValuesInRange(const torch::Tensor& t, int64_t lo, int64_t hi, const std::string& message, bool onlyOnHost) {
  if (t.numel() == 0 || (onlyOnHost && !t.device().is_cpu())) return;
  auto [mn, mx] = at::aminmax(t);
  if (mn.item<int64_t>() < lo || mx.item<int64_t>() >= hi) throw ArgError(message, ArgError::Kind::Range);
}

std::string describeTensor(const torch::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream os;
  os << "[";
  for (int64_t i = 0; i < t.dim(); ++i) os << (i ? ", " : "") << t.size(i);
  os << "] " << dtypeName(t.scalar_type()) << " " << deviceName(t.device());
  return os.str();
}

std::string jsTypeName(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return "boolean";
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    std::ostringstream os;
    os << "number " << d;
    return os.str();
  }
  if (v.IsBigInt()) return "bigint";
  if (v.IsString()) return "string '" + v.As<Napi::String>().Utf8Value() + "'";
  if (v.IsArray()) return "array";
  if (v.IsTypedArray()) return "typed array";
  if (v.IsArrayBuffer()) return "ArrayBuffer";
  if (v.IsFunction()) return "function";
  if (TensorWrap::isInstance(v)) {
    auto* w = TensorWrap::unwrapChecked(v);
    return w->disposed() ? "disposed Tensor" : "Tensor " + describeTensor(w->tensor());
  }
  return "object";
}

void Args::fail(size_t i, const char* name, const std::string& expected) const {
  Napi::Value v = i < info_.Length() ? info_[i] : info_.Env().Undefined();
  throw ArgError("argument '" + std::string(name) + "' must be " + expected + ", got " + jsTypeName(v));
}

bool Args::isTensor(size_t i) const { return i < info_.Length() && TensorWrap::isInstance(info_[i]); }

torch::Tensor Args::tensor(size_t i, const char* name) {
  if (!isTensor(i)) fail(i, name, "a Tensor");
  auto* w = TensorWrap::unwrapChecked(info_[i]);
  if (w->disposed()) {
    throw ArgError("argument '" + std::string(name) + "' is a disposed Tensor (it was freed by dispose() or tidy())");
  }
  seen_.emplace_back(name, describeTensor(w->tensor()));
  return w->tensor();
}

std::optional<torch::Tensor> Args::optTensor(size_t i, const char* name) {
  if (!has(i)) return std::nullopt;
  return tensor(i, name);
}

std::vector<torch::Tensor> Args::tensorList(size_t i, const char* name) {
  if (i >= info_.Length() || !info_[i].IsArray()) fail(i, name, "an array of Tensors");
  auto arr = info_[i].As<Napi::Array>();
  std::vector<torch::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    auto* w = TensorWrap::unwrapChecked(v);
    std::string elem = std::string(name) + "[" + std::to_string(k) + "]";
    if (w == nullptr) throw ArgError("argument '" + elem + "' must be a Tensor, got " + jsTypeName(v));
    if (w->disposed()) throw ArgError("argument '" + elem + "' is a disposed Tensor");
    seen_.emplace_back(elem, describeTensor(w->tensor()));
    out.push_back(w->tensor());
  }
  if (out.empty()) throw ArgError("argument '" + std::string(name) + "' must be a non-empty array of Tensors");
  return out;
}

double Args::number(size_t i, const char* name, bool allowNonFinite) const {
  if (i >= info_.Length() || !info_[i].IsNumber()) fail(i, name, "a Tensor or a number");
  double d = info_[i].As<Napi::Number>().DoubleValue();
  if (!allowNonFinite && !std::isfinite(d)) fail(i, name, "a finite number");
  return d;
}

int64_t Args::integer(size_t i, const char* name) const {
  if (i < info_.Length() && info_[i].IsBigInt()) {
    bool lossless = false;
    int64_t v = info_[i].As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) fail(i, name, "an integer within int64 range");
    return v;
  }
  if (i >= info_.Length() || !info_[i].IsNumber()) fail(i, name, "an integer");
  double d = info_[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > kMaxSafeInteger) fail(i, name, "an integer");
  return static_cast<int64_t>(d);
}

int64_t Args::integer(size_t i, const char* name, int64_t fallback) const {
  return has(i) ? integer(i, name) : fallback;
}

int64_t Args::positiveInteger(size_t i, const char* name) const {
  int64_t v = integer(i, name);
  if (v < 1) fail(i, name, "a positive integer");
  return v;
}

int64_t Args::nonNegativeInteger(size_t i, const char* name) const {
  int64_t v = integer(i, name);
  if (v < 0) fail(i, name, "a non-negative integer");
  return v;
}

bool Args::boolean(size_t i, const char* name, bool fallback) const {
  if (!has(i)) return fallback;
  if (!info_[i].IsBoolean()) fail(i, name, "a boolean");
  return info_[i].As<Napi::Boolean>().Value();
}

std::string Args::string(size_t i, const char* name) const {
  if (i >= info_.Length() || !info_[i].IsString()) fail(i, name, "a string");
  return info_[i].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> Args::intList(size_t i, const char* name, bool allowMinusOne) const {
  if (i >= info_.Length() || !info_[i].IsArray()) fail(i, name, "an array of integers");
  auto arr = info_[i].As<Napi::Array>();
  std::vector<int64_t> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (!v.IsNumber() || !std::isfinite(d) || std::floor(d) != d || std::fabs(d) > kMaxSafeInteger ||
        d < (allowMinusOne ? -1 : 0)) {
      throw ArgError("argument '" + std::string(name) + "[" + std::to_string(k) + "]' must be " +
                     (allowMinusOne ? "an integer >= -1" : "a non-negative integer") + ", got " + jsTypeName(v));
    }
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

bool Args::isScalar(size_t i) const { return i < info_.Length() && (info_[i].IsNumber() || info_[i].IsBoolean()); }

c10::Scalar Args::scalar(size_t i, const char* name) const {
  if (i < info_.Length() && info_[i].IsBoolean()) return c10::Scalar(info_[i].As<Napi::Boolean>().Value());
  if (i >= info_.Length() || !info_[i].IsNumber()) fail(i, name, "a Tensor or a number");
  double d = info_[i].As<Napi::Number>().DoubleValue();
  // Whole numbers are integer scalars, so int tensors stay int (arange(3).add(1) is int64, as in PyTorch).
  bool negativeZero = d == 0 && std::signbit(d);
  if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) <= kMaxSafeInteger && !negativeZero) {
    return c10::Scalar(static_cast<int64_t>(d));
  }
  return c10::Scalar(d);
}

c10::ScalarType Args::dtype(size_t i, const char* name) const {
  if (i >= info_.Length() || !info_[i].IsString()) fail(i, name, "a dtype name string");
  try {
    return parseDtype(info_[i].As<Napi::String>().Utf8Value());
  } catch (const ArgError& e) {
    throw ArgError("argument '" + std::string(name) + "': " + e.what());
  }
}

c10::Device Args::device(size_t i, const char* name) const {
  if (i >= info_.Length() || !info_[i].IsString()) fail(i, name, "a device string ('cpu', 'cuda', 'cuda:N')");
  try {
    return parseDevice(info_[i].As<Napi::String>().Utf8Value());
  } catch (const ArgError& e) {
    throw ArgError("argument '" + std::string(name) + "': " + e.what(), e.kind);
  }
}

int64_t Args::dim(size_t i, const char* name, const torch::Tensor& t) const {
  int64_t d = integer(i, name);
  int64_t rank = std::max<int64_t>(t.dim(), 1);  // 0-d tensors accept dim 0 / -1, as in PyTorch
  if (d < -rank || d >= rank) {
    throw ArgError("argument '" + std::string(name) + "' is out of range: got " + std::to_string(d) +
                       ", expected a dim in [" + std::to_string(-rank) + ", " + std::to_string(rank - 1) +
                       "] for a tensor of shape " + describeTensor(t),
                   ArgError::Kind::Range);
  }
  return d < 0 ? d + rank : d;
}

std::string Args::context() const {
  std::string out;
  for (const auto& [name, desc] : seen_) out += (out.empty() ? "" : ", ") + name + ": " + desc;
  return out;
}

}  // namespace xkt

namespace xkt {

ObjectArg::ObjectArg(Args& args, size_t i, const char* name) : args_(args), name_(name) {
  if (!args.has(i) || !args[i].IsObject() || args[i].IsArray()) args.fail(i, name, "an object");
  object_ = args[i].As<Napi::Object>();
}

Napi::Value ObjectArg::get(const char* key) const { return object_.Get(key); }

bool ObjectArg::has(const char* key) const {
  Napi::Value v = get(key);
  return !v.IsUndefined() && !v.IsNull();
}

void ObjectArg::fail(const char* key, const std::string& expected) const {
  throw ArgError("argument '" + name_ + "." + key + "' must be " + expected + ", got " + jsTypeName(get(key)));
}

double ObjectArg::number(const char* key) const {
  Napi::Value v = get(key);
  if (!v.IsNumber()) fail(key, "a number");
  return v.As<Napi::Number>().DoubleValue();
}

int64_t ObjectArg::integer(const char* key) const {
  Napi::Value v = get(key);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > kMaxSafeInteger) fail(key, "an integer");
  return static_cast<int64_t>(d);
}

bool ObjectArg::boolean(const char* key) const {
  Napi::Value v = get(key);
  if (!v.IsBoolean()) fail(key, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string ObjectArg::string(const char* key) const {
  Napi::Value v = get(key);
  if (!v.IsString()) fail(key, "a string");
  return v.As<Napi::String>().Utf8Value();
}

std::string ObjectArg::oneOf(const char* key, const std::vector<std::string>& allowed) const {
  Napi::Value v = get(key);
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (!v.IsString() || std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
    std::string list;
    for (const auto& x : allowed) list += (list.empty() ? "'" : ", '") + x + "'";
    fail(key, "one of " + list);
  }
  return s;
}

torch::Tensor ObjectArg::tensor(const char* key) {
  Napi::Value v = get(key);
  auto* w = TensorWrap::unwrapChecked(v);
  const std::string field = name_ + "." + key;
  if (w == nullptr) fail(key, "a Tensor");
  if (w->disposed())
    throw ArgError("argument '" + field + "' is a disposed Tensor (it was freed by dispose() or tidy())");
  args_.saw(field, w->tensor());
  return w->tensor();
}

std::optional<torch::Tensor> ObjectArg::optTensor(const char* key) {
  if (!has(key)) return std::nullopt;
  return tensor(key);
}

}  // namespace xkt
