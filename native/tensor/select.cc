// Ordering, cumulative sums, random draws and indexed fills: what sampling (top-k/top-p) and beam search
// need beyond the elementwise ops.
#include "tensor/register.h"
#include "common/tensor_wrap.h"

namespace xkt {

void registerTensorSelect(Napi::Env env, Napi::Object exports) {
  // sort(self, dim = -1, descending = false) -> [values, indices]
  define(env, exports, "sort", [](Args& a) {
    auto t = a.tensor(0, "self");
    int64_t dim = a.has(1) ? a.dim(1, "dim", t) : std::max<int64_t>(t.dim() - 1, 0);
    auto [v, i] = t.sort(dim, a.boolean(2, "descending", false));
    auto arr = Napi::Array::New(a.env(), 2);
    arr.Set(0u, TensorWrap::wrap(a.env(), v));
    arr.Set(1u, TensorWrap::wrap(a.env(), i));
    return arr;
  });
  define(env, exports, "cumsum", [](Args& a) {
    auto t = a.tensor(0, "self");
    return TensorWrap::wrap(a.env(), t.cumsum(a.dim(1, "dim", t)));
  });
  // multinomial(probs [N, V] or [V], numSamples, replacement): rows need not sum to one, as in PyTorch.
  define(env, exports, "multinomial", [](Args& a) {
    auto p = a.tensor(0, "probs");
    if (!at::isFloatingType(p.scalar_type()))
      throw ArgError("argument 'probs' must be a floating-point tensor, got " + describeTensor(p));
    if (p.dim() < 1 || p.dim() > 2) throw ArgError("argument 'probs' must be 1-d or 2-d, got " + describeTensor(p));
    int64_t n = a.positiveInteger(1, "numSamples");
    bool replacement = a.boolean(2, "replacement", false);
    if (!replacement && n > p.size(-1)) {
      throw ArgError("argument 'numSamples' is " + std::to_string(n) + ", more than the " + std::to_string(p.size(-1)) +
                         " categories (without replacement)",
                     ArgError::Kind::Range);
    }
    return TensorWrap::wrap(a.env(), torch::multinomial(p, n, replacement));
  });
  // indexFill(self, dim, index, value): a copy with the slices `index` along `dim` set to `value`.
  define(env, exports, "indexFill", [](Args& a) {
    auto t = a.tensor(0, "self");
    int64_t dim = a.dim(1, "dim", t);
    auto index = a.tensor(2, "index");
    if (index.scalar_type() != c10::kLong)
      throw ArgError("argument 'index' must be an int64 tensor, got " + describeTensor(index));
    int64_t size = t.dim() == 0 ? 1 : t.size(dim);
    if (index.numel() > 0 && (index.min().item<int64_t>() < -size || index.max().item<int64_t>() >= size)) {
      throw ArgError("argument 'index' holds values out of range for a dimension of size " + std::to_string(size),
                     ArgError::Kind::Range);
    }
    return TensorWrap::wrap(a.env(), t.index_fill(dim, index, a.scalar(3, "value")));
  });
}

}  // namespace xkt
