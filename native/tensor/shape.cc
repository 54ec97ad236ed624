// Views and copies that change shape, layout, dtype or device, and joining tensors (cat/stack).
#include "tensor/register.h"
#include "common/tensor_wrap.h"

namespace xkt {

namespace {
Napi::Value wrapT(Args& a, torch::Tensor t) { return TensorWrap::wrap(a.env(), std::move(t)); }

// A target shape may hold one -1 (inferred); its element count must match the tensor's.
std::vector<int64_t> targetShape(Args& a, size_t i, const torch::Tensor& t) {
  auto shape = a.intList(i, "shape", /*allowMinusOne=*/true);
  int64_t known = 1, inferred = -1;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == -1) {
      if (inferred >= 0) throw ArgError("argument 'shape' may contain -1 only once");
      inferred = static_cast<int64_t>(k);
    } else {
      known *= shape[k];
    }
  }
  bool ok = inferred >= 0 ? (known != 0 && t.numel() % known == 0) : known == t.numel();
  if (!ok) {
    std::string s;
    for (auto d : shape) s += (s.empty() ? "" : ", ") + std::to_string(d);
    throw ArgError("argument 'shape' [" + s + "] is invalid for a tensor of " + std::to_string(t.numel()) +
                   " elements (" + describeTensor(t) + ")");
  }
  return shape;
}

// unsqueeze and stack insert a dim, so their valid range is one wider than the rank.
int64_t insertDim(Args& a, size_t i, int64_t rank) {
  int64_t d = a.integer(i, "dim");
  if (d < -(rank + 1) || d > rank) {
    throw ArgError("argument 'dim' is out of range: got " + std::to_string(d) + ", expected a dim in [" +
                       std::to_string(-(rank + 1)) + ", " + std::to_string(rank) + "]",
                   ArgError::Kind::Range);
  }
  return d < 0 ? d + rank + 1 : d;
}
}  // namespace

void registerTensorShape(Napi::Env env, Napi::Object exports) {
  define(env, exports, "view", [](Args& a) {
    auto t = a.tensor(0, "self");
    return wrapT(a, t.view(targetShape(a, 1, t)));
  });
  define(env, exports, "reshape", [](Args& a) {
    auto t = a.tensor(0, "self");
    return wrapT(a, t.reshape(targetShape(a, 1, t)));
  });
  define(env, exports, "transpose", [](Args& a) {
    auto t = a.tensor(0, "self");
    return wrapT(a, t.transpose(a.dim(1, "dim0", t), a.dim(2, "dim1", t)));
  });
  define(env, exports, "permute", [](Args& a) {
    auto t = a.tensor(0, "self");
    auto dims = a.intList(1, "dims");
    if (static_cast<int64_t>(dims.size()) != t.dim()) {
      throw ArgError("argument 'dims' must list " + std::to_string(t.dim()) + " dims for " + describeTensor(t) +
                     ", got " + std::to_string(dims.size()));
    }
    return wrapT(a, t.permute(dims));
  });
  define(env, exports, "contiguous", [](Args& a) { return wrapT(a, a.tensor(0, "self").contiguous()); });
  define(env, exports, "clone", [](Args& a) { return wrapT(a, a.tensor(0, "self").clone()); });
  define(env, exports, "detach", [](Args& a) { return wrapT(a, a.tensor(0, "self").detach()); });
  define(env, exports, "squeeze", [](Args& a) {
    auto t = a.tensor(0, "self");
    return wrapT(a, a.has(1) ? t.squeeze(a.dim(1, "dim", t)) : t.squeeze());
  });
  define(env, exports, "unsqueeze", [](Args& a) {
    auto t = a.tensor(0, "self");
    return wrapT(a, t.unsqueeze(insertDim(a, 1, t.dim())));
  });
  define(env, exports, "expand", [](Args& a) {
    auto t = a.tensor(0, "self");
    auto shape = a.intList(1, "shape", /*allowMinusOne=*/true);
    if (static_cast<int64_t>(shape.size()) < t.dim()) {
      throw ArgError("argument 'shape' has " + std::to_string(shape.size()) + " dims, fewer than " + describeTensor(t));
    }
    return wrapT(a, t.expand(shape));
  });
  define(env, exports, "narrow", [](Args& a) {
    auto t = a.tensor(0, "self");
    if (t.dim() == 0) throw ArgError("argument 'self' must have at least one dim to narrow");
    int64_t dim = a.dim(1, "dim", t);
    int64_t start = a.integer(2, "start"), length = a.nonNegativeInteger(3, "length");
    int64_t size = t.size(dim);
    if (start < 0) start += size;
    if (start < 0 || start + length > size) {
      throw ArgError("arguments 'start' and 'length' select [" + std::to_string(start) + ", " +
                         std::to_string(start + length) + ") outside dim " + std::to_string(dim) + " of size " +
                         std::to_string(size),
                     ArgError::Kind::Range);
    }
    return wrapT(a, t.narrow(dim, start, length));
  });
  // slice(self, dim, start?, end?, step?) — Python's t[..., start:end:step] with clamping, as PyTorch does.
  define(env, exports, "slice", [](Args& a) {
    auto t = a.tensor(0, "self");
    if (t.dim() == 0) throw ArgError("argument 'self' must have at least one dim to slice");
    int64_t dim = a.dim(1, "dim", t);
    std::optional<int64_t> start, end;
    if (a.has(2)) start = a.integer(2, "start");
    if (a.has(3)) end = a.integer(3, "end");
    int64_t step = a.has(4) ? a.positiveInteger(4, "step") : 1;
    return wrapT(a, t.slice(dim, start, end, step));
  });
  define(env, exports, "cat", [](Args& a) {
    auto list = a.tensorList(0, "tensors");
    int64_t dim = a.dim(1, "dim", list[0]);
    return wrapT(a, torch::cat(list, dim));
  });
  define(env, exports, "stack", [](Args& a) {
    auto list = a.tensorList(0, "tensors");
    return wrapT(a, torch::stack(list, insertDim(a, 1, list[0].dim())));
  });
  // to(self, dtype?, device?): a no-op returns the same storage, as PyTorch's .to() does.
  define(env, exports, "to", [](Args& a) {
    auto t = a.tensor(0, "self");
    if (a.has(1)) t = t.to(a.dtype(1, "dtype"));
    if (a.has(2)) t = t.to(a.device(2, "device"));
    return wrapT(a, t);
  });
}

}  // namespace xkt
