// The per-step selection of beam search (lib/decode/beam.ts) in one native call: each hypothesis's running
// score added to its next-token log-probs, the best `width` of each sentence's K·C candidates, and the scores
// and flat indices copied to the host as one Float64Array (in JS: seven tensor calls and their wrappers per step).
// On the CPU the sums are added on the fly during a single selection pass; elsewhere it is LibTorch's topk.
#include "inference/beam_topk.h"

#include "common/define.h"

#include <limits>

namespace xkt {

namespace {

// CPU float32: one pass over each sentence's K·C candidates keeping the best `width` in a small sorted array
// (ties: the lower index first), instead of materializing lp + sums and running topk over it.
void selectOnCpu(const torch::Tensor& lp, const float* sums, int64_t K, int64_t width, double* out) {
  const int64_t S = lp.size(0) / K, C = lp.size(1);
  const float* data = lp.data_ptr<float>();
  const int64_t rowStride = lp.stride(0);
  // One thread: this runs on the JS thread between decode steps, and an OpenMP team started there would
  // spin on the cores the next step's team (on a worker thread) needs.
  std::vector<float> best(width);
  std::vector<int64_t> where(width);
  for (int64_t s = 0; s < S; ++s) {
    int64_t filled = 0;
    for (int64_t b = 0; b < K; ++b) {
      const float sum = sums[s * K + b];
      if (sum == -std::numeric_limits<float>::infinity()) continue;  // a placeholder beam: nothing possible
      const float* row = data + (s * K + b) * rowStride;
      for (int64_t c = 0; c < C; ++c) {
        const float value = row[c] + sum;
        if (filled == width && !(value > best[width - 1])) continue;
        int64_t at = filled < width ? filled++ : width - 1;
        while (at > 0 && value > best[at - 1]) {
          best[at] = best[at - 1];
          where[at] = where[at - 1];
          --at;
        }
        best[at] = value;
        where[at] = b * C + c;
      }
    }
    double* o = out + s * 2 * width;
    for (int64_t i = 0; i < width; ++i) {
      o[i] = i < filled ? best[i] : -std::numeric_limits<double>::infinity();
      o[width + i] = i < filled ? static_cast<double>(where[i]) : 0.0;
    }
  }
}

}  // namespace

void registerBeamTopk(Napi::Env env, Napi::Object exports) {
  // beamTopk(logProbs [S·K, C] float32, sums Float32Array [S·K], K, width) -> Float64Array [S × 2·width]:
  // per sentence `width` scores (descending), then their indices into its K·C candidates.
  define(env, exports, "beamTopk", [](Args& a) -> Napi::Value {
    torch::Tensor lp = a.tensor(0, "logProbs");
    if (lp.dim() != 2 || lp.scalar_type() != torch::kFloat32)
      throw ArgError("argument 'logProbs' must be a 2-d float32 tensor, got " + describeTensor(lp));
    if (!a[1].IsTypedArray() || a[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      a.fail(1, "sums", "a Float32Array");
    auto sums = a[1].As<Napi::Float32Array>();
    const int64_t K = a.positiveInteger(2, "K");
    const int64_t width = a.positiveInteger(3, "width");
    const int64_t N = lp.size(0), C = lp.size(1);
    if (static_cast<int64_t>(sums.ElementLength()) != N)
      throw ArgError("argument 'sums' must hold one score per row (" + std::to_string(N) + "), got " +
                     std::to_string(sums.ElementLength()));
    if (N % K != 0)
      throw ArgError("the rows of 'logProbs' (" + std::to_string(N) + ") must be a multiple of K (" +
                     std::to_string(K) + ")");
    if (width > K * C)
      throw ArgError("argument 'width' must be at most K·C (" + std::to_string(K * C) + "), got " +
                     std::to_string(width));
    torch::NoGradGuard noGrad;
    if (lp.device().is_cpu() && lp.stride(1) == 1) {
      auto out = Napi::Float64Array::New(a.env(), static_cast<size_t>(N / K * 2 * width));
      selectOnCpu(lp, sums.Data(), K, width, out.Data());
      return out;
    }
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
