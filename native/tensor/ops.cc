// Elementwise math, comparisons, matmul (sync and off-thread), reductions, softmax, top-k and indexing:
// the operations decoding and training compose in TypeScript.
#include "common/async.h"
#include "tensor/register.h"
#include "common/tensor_wrap.h"

namespace xkt {

namespace {

Napi::Value wrapT(Args& a, torch::Tensor t) { return TensorWrap::wrap(a.env(), std::move(t)); }

Napi::Value wrapPair(Args& a, std::tuple<torch::Tensor, torch::Tensor> p) {
  auto arr = Napi::Array::New(a.env(), 2);
  arr.Set(0u, TensorWrap::wrap(a.env(), std::get<0>(p)));
  arr.Set(1u, TensorWrap::wrap(a.env(), std::get<1>(p)));
  return arr;
}

using Unary = torch::Tensor (*)(const torch::Tensor&);
using BinaryTT = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>;
using BinaryTS = std::function<torch::Tensor(const torch::Tensor&, const c10::Scalar&)>;

void defineUnary(Napi::Env env, Napi::Object exports, const char* name, Unary op) {
  define(env, exports, name, [op](Args& a) { return wrapT(a, op(a.tensor(0, "self"))); });
}

// Binary ops take a Tensor or a plain number/boolean as their second operand, as PyTorch does.
void defineBinary(Napi::Env env, Napi::Object exports, const char* name, BinaryTT tt, BinaryTS ts) {
  define(env, exports, name, [tt, ts](Args& a) {
    auto self = a.tensor(0, "self");
    if (a.isScalar(1)) return wrapT(a, ts(self, a.scalar(1, "other")));
    if (!a.isTensor(1)) a.fail(1, "other", "a Tensor or a number");
    return wrapT(a, tt(self, a.tensor(1, "other")));
  });
}

// Index tensors are checked here: an out-of-range index on CUDA is a device-side assert that poisons the
// whole context, so it must never reach the kernel.
void checkIndex(const torch::Tensor& index, int64_t size, const char* name) {
  if (index.scalar_type() != c10::kLong && index.scalar_type() != c10::kInt) {
    throw ArgError("argument '" + std::string(name) + "' must be an int64 or int32 tensor, got " +
                   dtypeName(index.scalar_type()));
  }
  if (index.numel() == 0) return;
  auto lo = index.min().item<int64_t>(), hi = index.max().item<int64_t>();
  if (lo < -size || hi >= size) {
    throw ArgError("argument '" + std::string(name) + "' holds index " + std::to_string(lo < -size ? lo : hi) +
                       ", out of range for a dimension of size " + std::to_string(size),
                   ArgError::Kind::Range);
  }
}

// sum/mean accept no dims (all), one dim or a list of dims.
std::vector<int64_t> reductionDims(Args& a, size_t i, const torch::Tensor& t) {
  if (!a.has(i)) return {};
  if (a[i].IsArray()) {
    auto arr = a[i].As<Napi::Array>();
    std::vector<int64_t> dims;
    for (uint32_t k = 0; k < arr.Length(); ++k) {
      Napi::Value v = arr.Get(k);
      double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
      if (!std::isfinite(x) || std::floor(x) != x || std::fabs(x) > 9007199254740991.0)
        throw ArgError("argument 'dim[" + std::to_string(k) + "]' must be an integer, got " + jsTypeName(v));
      int64_t d = static_cast<int64_t>(x);
      int64_t rank = std::max<int64_t>(t.dim(), 1);
      if (d < -rank || d >= rank)
        throw ArgError("argument 'dim[" + std::to_string(k) + "]' is out of range for " + describeTensor(t),
                       ArgError::Kind::Range);
      dims.push_back(d < 0 ? d + rank : d);
    }
    return dims;
  }
  return {a.dim(i, "dim", t)};
}

void checkFloating(const torch::Tensor& t, const char* fn) {
  if (!at::isFloatingType(t.scalar_type())) {
    throw ArgError(std::string("argument 'self' must be a floating-point tensor for ") + fn + ", got " +
                   dtypeName(t.scalar_type()));
  }
}

}  // namespace

void registerTensorOps(Napi::Env env, Napi::Object exports) {
  defineUnary(env, exports, "neg", [](const torch::Tensor& t) { return t.neg(); });
  defineUnary(env, exports, "exp", [](const torch::Tensor& t) { return t.exp(); });
  defineUnary(env, exports, "log", [](const torch::Tensor& t) { return t.log(); });
  defineUnary(env, exports, "sqrt", [](const torch::Tensor& t) { return t.sqrt(); });
  defineUnary(env, exports, "abs", [](const torch::Tensor& t) { return t.abs(); });
  defineUnary(env, exports, "relu", [](const torch::Tensor& t) { return t.relu(); });
  defineUnary(env, exports, "sigmoid", [](const torch::Tensor& t) { return t.sigmoid(); });
  defineUnary(env, exports, "tanh", [](const torch::Tensor& t) { return t.tanh(); });
  defineUnary(env, exports, "logicalNot", [](const torch::Tensor& t) { return t.logical_not(); });

  defineBinary(
      env, exports, "add", [](auto& x, auto& y) { return x.add(y); }, [](auto& x, auto& s) { return x.add(s); });
  defineBinary(
      env, exports, "sub", [](auto& x, auto& y) { return x.sub(y); }, [](auto& x, auto& s) { return x.sub(s); });
  defineBinary(
      env, exports, "mul", [](auto& x, auto& y) { return x.mul(y); }, [](auto& x, auto& s) { return x.mul(s); });
  defineBinary(
      env, exports, "div", [](auto& x, auto& y) { return x.div(y); }, [](auto& x, auto& s) { return x.div(s); });
  defineBinary(
      env, exports, "pow", [](auto& x, auto& y) { return x.pow(y); }, [](auto& x, auto& s) { return x.pow(s); });
  defineBinary(
      env, exports, "eq", [](auto& x, auto& y) { return x.eq(y); }, [](auto& x, auto& s) { return x.eq(s); });
  defineBinary(
      env, exports, "ne", [](auto& x, auto& y) { return x.ne(y); }, [](auto& x, auto& s) { return x.ne(s); });
  defineBinary(
      env, exports, "lt", [](auto& x, auto& y) { return x.lt(y); }, [](auto& x, auto& s) { return x.lt(s); });
  defineBinary(
      env, exports, "le", [](auto& x, auto& y) { return x.le(y); }, [](auto& x, auto& s) { return x.le(s); });
  defineBinary(
      env, exports, "gt", [](auto& x, auto& y) { return x.gt(y); }, [](auto& x, auto& s) { return x.gt(s); });
  defineBinary(
      env, exports, "ge", [](auto& x, auto& y) { return x.ge(y); }, [](auto& x, auto& s) { return x.ge(s); });
  defineBinary(
      env, exports, "maximum", [](auto& x, auto& y) { return torch::maximum(x, y); },
      [](auto& x, auto& s) { return x.clamp_min(s); });
  defineBinary(
      env, exports, "minimum", [](auto& x, auto& y) { return torch::minimum(x, y); },
      [](auto& x, auto& s) { return x.clamp_max(s); });

  defineSyncAndAsync(
      env, exports, "matmul",
      [](Args& a) {
        auto self = a.tensor(0, "self");  // read in order: the error context lists the arguments as given
        return std::make_pair(self, a.tensor(1, "other"));
      },
      [](const auto& in) { return torch::matmul(in.first, in.second); },
      [](Napi::Env env, torch::Tensor& t) -> Napi::Value { return TensorWrap::wrap(env, t); });

  define(env, exports, "sum", [](Args& a) {
    auto t = a.tensor(0, "self");
    auto dims = reductionDims(a, 1, t);
    bool keep = a.boolean(2, "keepdim", false);
    return wrapT(a, dims.empty() ? t.sum() : t.sum(dims, keep));
  });
  define(env, exports, "mean", [](Args& a) {
    auto t = a.tensor(0, "self");
    checkFloating(t, "mean");
    auto dims = reductionDims(a, 1, t);
    bool keep = a.boolean(2, "keepdim", false);
    return wrapT(a, dims.empty() ? t.mean() : t.mean(dims, keep));
  });
  // max/min without a dim reduce everything; with a dim they return [values, indices] like PyTorch.
  define(env, exports, "max", [](Args& a) -> Napi::Value {
    auto t = a.tensor(0, "self");
    if (!a.has(1)) return wrapT(a, t.max());
    return wrapPair(a, t.max(a.dim(1, "dim", t), a.boolean(2, "keepdim", false)));
  });
  define(env, exports, "min", [](Args& a) -> Napi::Value {
    auto t = a.tensor(0, "self");
    if (!a.has(1)) return wrapT(a, t.min());
    return wrapPair(a, t.min(a.dim(1, "dim", t), a.boolean(2, "keepdim", false)));
  });
  define(env, exports, "argmax", [](Args& a) {
    auto t = a.tensor(0, "self");
    if (!a.has(1)) return wrapT(a, t.argmax());
    return wrapT(a, t.argmax(a.dim(1, "dim", t), a.boolean(2, "keepdim", false)));
  });
  define(env, exports, "softmax", [](Args& a) {
    auto t = a.tensor(0, "self");
    checkFloating(t, "softmax");
    return wrapT(a, t.softmax(a.dim(1, "dim", t)));
  });
  define(env, exports, "logSoftmax", [](Args& a) {
    auto t = a.tensor(0, "self");
    checkFloating(t, "logSoftmax");
    return wrapT(a, t.log_softmax(a.dim(1, "dim", t)));
  });
  define(env, exports, "topk", [](Args& a) {
    auto t = a.tensor(0, "self");
    int64_t k = a.nonNegativeInteger(1, "k");
    int64_t dim = a.has(2) ? a.dim(2, "dim", t) : std::max<int64_t>(t.dim() - 1, 0);
    int64_t size = t.dim() == 0 ? 1 : t.size(dim);
    if (k > size) {
      throw ArgError("argument 'k' is " + std::to_string(k) + " but dim " + std::to_string(dim) + " has only " +
                         std::to_string(size) + " elements",
                     ArgError::Kind::Range);
    }
    return wrapPair(a, t.topk(k, dim, a.boolean(3, "largest", true), a.boolean(4, "sorted", true)));
  });

  define(env, exports, "gather", [](Args& a) {
    auto t = a.tensor(0, "self");
    int64_t dim = a.dim(1, "dim", t);
    auto index = a.tensor(2, "index");
    checkIndex(index, t.dim() == 0 ? 1 : t.size(dim), "index");
    return wrapT(a, t.gather(dim, index.to(c10::kLong)));
  });
  define(env, exports, "indexSelect", [](Args& a) {
    auto t = a.tensor(0, "self");
    int64_t dim = a.dim(1, "dim", t);
    auto index = a.tensor(2, "index");
    if (index.dim() > 1) throw ArgError("argument 'index' must be a 1-d tensor, got " + describeTensor(index));
    checkIndex(index, t.dim() == 0 ? 1 : t.size(dim), "index");
    return wrapT(a, t.index_select(dim, index.to(c10::kLong)));
  });
  define(env, exports, "maskedFill", [](Args& a) {
    auto t = a.tensor(0, "self");
    auto mask = a.tensor(1, "mask");
    if (mask.scalar_type() != c10::kBool)
      throw ArgError("argument 'mask' must be a bool tensor, got " + dtypeName(mask.scalar_type()));
    if (a.isTensor(2)) return wrapT(a, t.masked_fill(mask, a.tensor(2, "value")));
    return wrapT(a, t.masked_fill(mask, a.scalar(2, "value")));
  });
  define(env, exports, "where", [](Args& a) {
    auto cond = a.tensor(0, "condition");
    if (cond.scalar_type() != c10::kBool)
      throw ArgError("argument 'condition' must be a bool tensor, got " + dtypeName(cond.scalar_type()));
    bool xt = a.isTensor(1), yt = a.isTensor(2);
    if (!xt && !a.isScalar(1)) a.fail(1, "input", "a Tensor or a number");
    if (!yt && !a.isScalar(2)) a.fail(2, "other", "a Tensor or a number");
    if (xt && yt) return wrapT(a, torch::where(cond, a.tensor(1, "input"), a.tensor(2, "other")));
    if (xt) return wrapT(a, torch::where(cond, a.tensor(1, "input"), a.scalar(2, "other")));
    if (yt) return wrapT(a, torch::where(cond, a.scalar(1, "input"), a.tensor(2, "other")));
    return wrapT(a, torch::where(cond, a.scalar(1, "input"), a.scalar(2, "other")));
  });
}

}  // namespace xkt
