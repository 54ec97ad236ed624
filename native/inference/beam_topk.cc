// The per-step selection of beam search (lib/decode/beam.ts) in one native call: each hypothesis's running
// score added to its next-token log-probs, the best `width` of each sentence's K·C candidates, and the scores
// and flat indices copied to the host as one Float64Array (in JS: seven tensor calls and their wrappers per step).
#include "inference/beam_topk.h"

#include "common/define.h"

namespace xkt {

void registerBeamTopk(Napi::Env env, Napi::Object exports) {
  // beamTopk(logProbs [S·K, C] float32, sums Float32Array [S·K], K, width) -> Float64Array [S × 2·width]:
  // per sentence `width` scores (descending), then their indices into its K·C candidates.
  define(env, exports, "beamTopk", [](Args& a) -> Napi::Value {
    torch::Tensor lp = a.tensor(0, "logProbs");
    if (lp.dim() != 2 || lp.scalar_type() != torch::kFloat32) throw ArgError("argument 'logProbs' must be a 2-d float32 tensor, got " + describeTensor(lp));
    if (!a[1].IsTypedArray() || a[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) a.fail(1, "sums", "a Float32Array");
    auto sums = a[1].As<Napi::Float32Array>();
    const int64_t K = a.positiveInteger(2, "K");
    const int64_t width = a.positiveInteger(3, "width");
    const int64_t N = lp.size(0), C = lp.size(1);
    if (static_cast<int64_t>(sums.ElementLength()) != N) throw ArgError("argument 'sums' must hold one score per row (" + std::to_string(N) + "), got " + std::to_string(sums.ElementLength()));
    if (N % K != 0) throw ArgError("the rows of 'logProbs' (" + std::to_string(N) + ") must be a multiple of K (" + std::to_string(K) + ")");
    if (width > K * C) throw ArgError("argument 'width' must be at most K·C (" + std::to_string(K * C) + "), got " + std::to_string(width));
    torch::NoGradGuard noGrad;
    auto s = torch::from_blob(sums.Data(), {N, 1}, torch::kFloat32).to(lp.device());
    auto scores = (lp + s).view({N / K, K * C});
    auto [values, indices] = scores.topk(width, 1);
    auto host = torch::cat({values.to(torch::kFloat64), indices.to(torch::kFloat64)}, 1).cpu().contiguous();
    auto out = Napi::Float64Array::New(a.env(), static_cast<size_t>(host.numel()));
    std::memcpy(out.Data(), host.data_ptr<double>(), sizeof(double) * host.numel());
    return out;
  });
}

}  // namespace xkt
