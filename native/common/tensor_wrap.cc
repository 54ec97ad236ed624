// See tensor_wrap.h. Construction from JS is closed: wraps are made only by native code via wrap().
#include "common/tensor_wrap.h"

#include <atomic>

namespace xkt {

namespace {
// The constructor cannot take a C++ tensor through JS arguments, so wrap() parks it here for the one
// synchronous New() call that follows (always on the JS thread).
thread_local torch::Tensor* pending = nullptr;
std::atomic<int64_t> g_liveBytes{0};
std::atomic<int64_t> g_liveCount{0};

struct WrapData {
  Napi::FunctionReference ctor;
  // The env is being torn down when its instance data is deleted: the reference goes with it, undeleted.
  ~WrapData() { ctor.SuppressDestruct(); }
};

int64_t bytesOf(const torch::Tensor& t) {
  if (!t.defined()) return 0;
  return static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
}
}  // namespace

void TensorWrap::init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "NativeTensor", {});
  auto* data = new WrapData{Napi::Persistent(ctor)};
  env.SetInstanceData<WrapData>(data);
  exports.Set("NativeTensor", ctor);
}

Napi::Object TensorWrap::wrap(Napi::Env env, torch::Tensor t) {
  auto* data = env.GetInstanceData<WrapData>();
  pending = &t;
  Napi::Object obj;
  try {
    obj = data->ctor.New({});
  } catch (...) {
    pending = nullptr;
    throw;
  }
  pending = nullptr;
  return obj;
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  if (pending == nullptr) {
    throw Napi::TypeError::New(info.Env(), "NativeTensor: cannot be constructed from JS; use the tensor factories");
  }
  adopt(std::move(*pending));
  pending = nullptr;
}

void TensorWrap::adopt(torch::Tensor t) {
  tensor_ = std::move(t);
  reported_ = bytesOf(tensor_);
  g_liveBytes += reported_;
  g_liveCount += 1;
  if (reported_ > 0) Napi::MemoryManagement::AdjustExternalMemory(Env(), reported_);
}

void TensorWrap::dispose() {
  if (!tensor_.defined()) return;
  tensor_ = torch::Tensor();
  g_liveBytes -= reported_;
  g_liveCount -= 1;
  if (reported_ > 0) Napi::MemoryManagement::AdjustExternalMemory(Env(), -reported_);
  reported_ = 0;
}

TensorWrap::~TensorWrap() { dispose(); }

bool TensorWrap::isInstance(const Napi::Value& v) {
  if (!v.IsObject()) return false;
  auto* data = v.Env().GetInstanceData<WrapData>();
  return v.As<Napi::Object>().InstanceOf(data->ctor.Value());
}

TensorWrap* TensorWrap::unwrapChecked(const Napi::Value& v) {
  if (!isInstance(v)) return nullptr;
  return Napi::ObjectWrap<TensorWrap>::Unwrap(v.As<Napi::Object>());
}

int64_t TensorWrap::liveBytes() { return g_liveBytes.load(); }
int64_t TensorWrap::liveCount() { return g_liveCount.load(); }

}  // namespace xkt
