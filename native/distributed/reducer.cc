// See reducer.h.
#include "distributed/reducer.h"

#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>

#include <limits>
#include <type_traits>
#include <unordered_set>

#include "common/async.h"
#include "common/define.h"
#include "distributed/group.h"

namespace xkt {

namespace {

// c10d::Reducer's destructor may throw (noexcept(false)); a handle dying in a GC finalizer must not.
struct ReducerBox {
  std::shared_ptr<ProcessGroup> group;
  c10d::Reducer* reducer = nullptr;
  ReducerBox() = default;
  ReducerBox(const ReducerBox&) = delete;
  ReducerBox& operator=(const ReducerBox&) = delete;
  ~ReducerBox() {
    try {
      delete reducer;
    } catch (...) {
    }
  }
};
using ReducerWrap = HandleWrap<ReducerBox>;

// Parameters that train, each storage once (a tied output layer shares the embedding's tensor).
std::vector<torch::Tensor> trainable(const std::vector<torch::Tensor>& params, std::vector<size_t>* kept) {
  std::vector<torch::Tensor> out;
  std::unordered_set<const void*> seen;
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& p = params[i];
    if (!p.requires_grad() || !seen.insert(p.unsafeGetTensorImpl()).second) continue;
    if (!p.device().is_cpu())
      throw ArgError("argument 'params' must hold CPU tensors for the Gloo backend, got " + describeTensor(p) +
                     " at index " + std::to_string(i));
    out.push_back(p);
    if (kept) kept->push_back(i);
  }
  return out;
}

// The 2.13 constructor (with per-bucket limits and batched copies); other LibTorch versions have other
// argument lists, and this build says so instead of guessing.
template <typename... A>
c10d::Reducer* makeReducer(A&&... args) {
  if constexpr (std::is_constructible_v<c10d::Reducer, A...>) {
    return new c10d::Reducer(std::forward<A>(args)...);
  } else {
    throw std::runtime_error(
        "data-parallel training: this LibTorch's c10d::Reducer has a constructor this build does not know (built for "
        "LibTorch 2.13)");
  }
}

c10d::Reducer* createReducer(const ProcessGroup& g, std::vector<torch::Tensor> params,
                             std::unordered_map<size_t, std::string> names, int64_t bucketBytes,
                             int64_t firstBucketBytes, bool findUnused) {
  // As DDP: one bucket at first (the backward order is not known yet); rebuilt after the first backward.
  std::vector<std::vector<size_t>> buckets(1);
  for (size_t i = 0; i < params.size(); ++i) buckets[0].push_back(i);
  std::vector<bool> sparse(params.size(), false);
  return makeReducer(std::move(params), std::move(buckets), g.group, std::move(sparse), bucketBytes, findUnused,
                     /*gradient_as_bucket_view=*/false, std::move(names), firstBucketBytes,
                     /*skip_all_reduce_unused_params=*/false, /*use_python_reducer=*/false, std::vector<int64_t>{});
}

}  // namespace

void registerReducer(Napi::Env env, Napi::Object exports) {
  ReducerWrap::init(env, exports, "NativeReducer", "a gradient reducer from distReducerAsync");

  // Makes the parameters rank 0's and checks that every rank has the same model, then builds the Reducer.
  define(env, exports, "distReducerAsync", [](Args& a) {
    auto g = GroupWrap::unwrap(a, 0, "group");
    auto all = a.tensorList(1, "params");
    if (!a[2].IsArray() || a[2].As<Napi::Array>().Length() != all.size())
      a.fail(2, "names", "an array of " + std::to_string(all.size()) + " strings, one per param");
    std::vector<std::string> allNames;
    for (uint32_t i = 0; i < all.size(); ++i) {
      Napi::Value n = a[2].As<Napi::Array>().Get(i);
      if (!n.IsString())
        a.fail(2, "names", "an array of strings (index " + std::to_string(i) + " is " + jsTypeName(n) + ")");
      allNames.push_back(n.As<Napi::String>().Utf8Value());
    }
    double bucketMiB = a.number(3, "bucketMiB");
    bool findUnused = a.boolean(4, "findUnusedParameters", false);
    if (!(bucketMiB > 0 && bucketMiB <= 4096))
      throw ArgError("argument 'bucketMiB' must be in (0, 4096]", ArgError::Kind::Range);
    std::vector<size_t> kept;
    auto params = trainable(all, &kept);
    if (params.empty()) throw ArgError("argument 'params' has no tensor that requires grad: nothing to reduce");
    std::unordered_map<size_t, std::string> names;
    for (size_t i = 0; i < kept.size(); ++i) names[i] = allNames[kept[i]];
    auto bucketBytes = static_cast<int64_t>(bucketMiB * (1 << 20));
    return AsyncTask<std::shared_ptr<ReducerBox>>::start(
        a.env(), "distReducerAsync",
        [g, params, names, bucketBytes, findUnused]() {
          auto box = std::make_shared<ReducerBox>();
          box->group = g;
          rethrowNamed(*g, "checking the model across ranks",
                       [&] { c10d::verify_params_across_processes(g->group, params, std::nullopt); });
          rethrowNamed(*g, "broadcasting the parameters from rank 0", [&] {
            c10::NoGradGuard noGrad;
            std::vector<torch::Tensor> detached;
            for (const auto& p : params) detached.push_back(p.detach());
            c10d::broadcast_coalesced(g->group, detached, 250u << 20, 0);
          });
          box->reducer =
              createReducer(*g, params, names, bucketBytes, std::min<int64_t>(bucketBytes, 1 << 20), findUnused);
          return box;
        },
        [](Napi::Env env, std::shared_ptr<ReducerBox>& r) -> Napi::Value { return ReducerWrap::wrap(env, r); });
  });

  // Before the backward of a batch whose gradients are to be averaged (the last of an accumulation):
  // rebuilds the buckets once the order is known (a collective), then arms the autograd hooks.
  define(env, exports, "distReducerPrepareAsync", [](Args& a) {
    auto box = ReducerWrap::unwrap(a, 0, "reducer");
    std::vector<torch::Tensor> outputs = a.has(1) ? a.tensorList(1, "outputs") : std::vector<torch::Tensor>{};
    return AsyncTask<bool>::start(
        a.env(), "distReducerPrepareAsync",
        [box, outputs]() {
          rethrowNamed(*box->group, "preparing the gradient allreduce", [&] {
            box->reducer->rebuild_buckets();
            box->reducer->prepare_for_forward();
            box->reducer->prepare_for_backward(outputs);
          });
          return true;
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
  });
  define(env, exports, "distReducerDispose", [](Args& a) {
    ReducerWrap::release(a, 0, "reducer");
    return a.env().Undefined();
  });
}

}  // namespace xkt
