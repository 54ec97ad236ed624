// Tensor factories (from JS data and the usual zeros/ones/rand...), copying data back out, properties,
// dispose, seeding and the runtime report (LibTorch version, CUDA, threads).
#include <cstring>
#include <mutex>

#include "tensor/register.h"
#include "common/tensor_wrap.h"
#include "ATen/detail/CUDAHooksInterface.h"

namespace xkt {

namespace {

Napi::Value wrapT(Args& a, torch::Tensor t) { return TensorWrap::wrap(a.env(), std::move(t)); }

torch::TensorOptions optionsAt(Args& a, size_t dtypeIdx, size_t deviceIdx, c10::ScalarType fallback) {
  auto opts = torch::TensorOptions().dtype(a.has(dtypeIdx) ? a.dtype(dtypeIdx, "dtype") : fallback);
  if (a.has(deviceIdx)) opts = opts.device(a.device(deviceIdx, "device"));
  return opts;
}

int64_t checkedNumel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > (int64_t{1} << 50) / d) throw ArgError("argument 'shape' describes an absurdly large tensor");
    n *= d;
  }
  return n;
}

// The bytes of a TypedArray, Buffer or ArrayBuffer argument.
std::pair<const uint8_t*, size_t> bytesOf(Args& a, size_t i, const char* name) {
  Napi::Value v = a[i];
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    auto ab = ta.ArrayBuffer();
    return {static_cast<const uint8_t*>(ab.Data()) + ta.ByteOffset(), ta.ByteLength()};
  }
  if (v.IsArrayBuffer()) {
    auto ab = v.As<Napi::ArrayBuffer>();
    return {static_cast<const uint8_t*>(ab.Data()), ab.ByteLength()};
  }
  a.fail(i, name, "a TypedArray, Buffer or ArrayBuffer");
}

}  // namespace

void registerTensorCreate(Napi::Env env, Napi::Object exports) {
  // fromBytes(data, shape, srcDtype, dtype?, device?): copies the bytes (never aliases JS memory).
  define(env, exports, "fromBytes", [](Args& a) {
    auto [ptr, len] = bytesOf(a, 0, "data");
    auto shape = a.intList(1, "shape");
    auto src = a.dtype(2, "srcDtype");
    int64_t numel = checkedNumel(shape);
    size_t expected = static_cast<size_t>(numel) * c10::elementSize(src);
    if (expected != len) {
      throw ArgError("argument 'data' holds " + std::to_string(len) + " bytes but shape and dtype " + dtypeName(src) +
                     " need " + std::to_string(expected));
    }
    auto t = torch::empty(shape, torch::TensorOptions().dtype(src));
    if (len > 0) std::memcpy(t.data_ptr(), ptr, len);
    if (a.has(3)) t = t.to(a.dtype(3, "dtype"));
    if (a.has(4)) t = t.to(a.device(4, "device"));
    return wrapT(a, t);
  });

  // toBytes(t, raw?): a fresh ArrayBuffer with the values, row-major, on the host. Half types come back as
  // float32 (JS has no Float16Array in Node 20) unless `raw` asks for their own bytes (for files).
  define(env, exports, "toBytes", [](Args& a) {
    auto t = a.tensor(0, "tensor").detach();
    bool raw = a.boolean(1, "raw", false);
    if (!raw && (t.scalar_type() == c10::kHalf || t.scalar_type() == c10::kBFloat16)) t = t.to(c10::kFloat);
    t = t.to(c10::kCPU).contiguous();
    size_t n = t.numel() * t.element_size();
    auto buf = Napi::ArrayBuffer::New(a.env(), n);
    if (n > 0) std::memcpy(buf.Data(), t.data_ptr(), n);
    return buf;
  });

  define(env, exports, "zeros",
         [](Args& a) { return wrapT(a, torch::zeros(a.intList(0, "shape"), optionsAt(a, 1, 2, c10::kFloat))); });
  define(env, exports, "ones",
         [](Args& a) { return wrapT(a, torch::ones(a.intList(0, "shape"), optionsAt(a, 1, 2, c10::kFloat))); });
  define(env, exports, "full", [](Args& a) {
    auto shape = a.intList(0, "shape");
    if (!a.isScalar(1)) a.fail(1, "value", "a number or a boolean");
    return wrapT(a, torch::full(shape, a.scalar(1, "value"), optionsAt(a, 2, 3, c10::kFloat)));
  });
  define(env, exports, "randn",
         [](Args& a) { return wrapT(a, torch::randn(a.intList(0, "shape"), optionsAt(a, 1, 2, c10::kFloat))); });
  define(env, exports, "rand",
         [](Args& a) { return wrapT(a, torch::rand(a.intList(0, "shape"), optionsAt(a, 1, 2, c10::kFloat))); });
  define(env, exports, "randint", [](Args& a) {
    int64_t low = a.integer(0, "low"), high = a.integer(1, "high");
    if (high <= low) throw ArgError("argument 'high' must be greater than 'low'", ArgError::Kind::Range);
    return wrapT(a, torch::randint(low, high, a.intList(2, "shape"), optionsAt(a, 3, 4, c10::kLong)));
  });
  define(env, exports, "arange", [](Args& a) {
    double start = a.number(0, "start"), end = a.number(1, "end"), step = a.number(2, "step");
    if (step == 0) throw ArgError("argument 'step' must be non-zero", ArgError::Kind::Range);
    if ((end - start) / step < 0) {
      throw ArgError("arguments 'start', 'end' and 'step' describe a negative length", ArgError::Kind::Range);
    }
    bool integral = std::floor(start) == start && std::floor(end) == end && std::floor(step) == step;
    return wrapT(a, torch::arange(start, end, step, optionsAt(a, 3, 4, integral ? c10::kLong : c10::kFloat)));
  });
  define(env, exports, "manualSeed", [](Args& a) {
    int64_t seed = a.nonNegativeInteger(0, "seed");
    torch::manual_seed(static_cast<uint64_t>(seed));
    return a.env().Undefined();
  });
  // The CPU generator's whole state (what torch.get_rng_state() returns), for exact resume of dropout.
  define(env, exports, "rngState", [](Args& a) {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return TensorWrap::wrap(a.env(), gen.get_state());
  });
  define(env, exports, "setRngState", [](Args& a) {
    auto state = a.tensor(0, "state");
    if (state.scalar_type() != c10::kByte || state.dim() != 1) {
      throw ArgError("argument 'state' must be a 1-d uint8 tensor from rngState(), got " + describeTensor(state));
    }
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state.to(torch::kCPU));
    return a.env().Undefined();
  });

  define(env, exports, "shape", [](Args& a) {
    auto t = a.tensor(0, "tensor");
    auto arr = Napi::Array::New(a.env(), t.dim());
    for (int64_t i = 0; i < t.dim(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(a.env(), t.size(i)));
    return arr;
  });
  define(env, exports, "dtype",
         [](Args& a) { return Napi::String::New(a.env(), dtypeName(a.tensor(0, "tensor").scalar_type())); });
  define(env, exports, "device",
         [](Args& a) { return Napi::String::New(a.env(), deviceName(a.tensor(0, "tensor").device())); });
  define(env, exports, "describe",
         [](Args& a) { return Napi::String::New(a.env(), describeTensor(a.tensor(0, "tensor"))); });
  define(env, exports, "dispose", [](Args& a) {
    auto* w = TensorWrap::unwrapChecked(a[0]);
    if (w == nullptr) a.fail(0, "tensor", "a Tensor");
    w->dispose();
    return a.env().Undefined();
  });
  define(env, exports, "isDisposed", [](Args& a) {
    auto* w = TensorWrap::unwrapChecked(a[0]);
    if (w == nullptr) a.fail(0, "tensor", "a Tensor");
    return Napi::Boolean::New(a.env(), w->disposed());
  });
  define(env, exports, "memoryStats", [](Args& a) {
    auto o = Napi::Object::New(a.env());
    o.Set("liveTensors", Napi::Number::New(a.env(), static_cast<double>(TensorWrap::liveCount())));
    o.Set("liveBytes", Napi::Number::New(a.env(), static_cast<double>(TensorWrap::liveBytes())));
    // Adjusting by 0 reads V8's running total: tensors plus the other handles that report (decoder states).
    o.Set("externalBytes",
          Napi::Number::New(a.env(), static_cast<double>(Napi::MemoryManagement::AdjustExternalMemory(a.env(), 0))));
    return o;
  });

  define(env, exports, "version", [](Args& a) {
    auto o = Napi::Object::New(a.env());
    o.Set("libtorch", Napi::String::New(a.env(), TORCH_VERSION));
    bool cuda = torch::cuda::is_available();
    o.Set("cuda", Napi::Boolean::New(a.env(), cuda));
    std::string cudaVersion;
    if (at::detail::getCUDAHooks().hasCUDA()) {
      int v = at::detail::getCUDAHooks().versionCUDART();
      cudaVersion = std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
    }
    o.Set("cudaVersion", cudaVersion.empty() ? a.env().Null() : Napi::String::New(a.env(), cudaVersion));
    o.Set("cudaDevices", Napi::Number::New(a.env(), cuda ? static_cast<double>(torch::cuda::device_count()) : 0));
#ifdef XKT_WITH_CUDA
    o.Set("builtWithCuda", Napi::Boolean::New(a.env(), true));
#else
    o.Set("builtWithCuda", Napi::Boolean::New(a.env(), false));
#endif
    o.Set("threads", Napi::Number::New(a.env(), at::get_num_threads()));
    o.Set("interopThreads", Napi::Number::New(a.env(), at::get_num_interop_threads()));
    o.Set("mkl", Napi::Boolean::New(a.env(), at::hasMKL()));
    o.Set("openmp", Napi::Boolean::New(a.env(), at::hasOpenMP()));
    return o;
  });
  define(env, exports, "cudaDeviceCount", [](Args& a) {
    return Napi::Number::New(a.env(),
                             torch::cuda::is_available() ? static_cast<double>(torch::cuda::device_count()) : 0);
  });
  define(env, exports, "setNumThreads", [](Args& a) {
    at::set_num_threads(static_cast<int>(a.positiveInteger(0, "threads")));
    return a.env().Undefined();
  });
}

}  // namespace xkt
