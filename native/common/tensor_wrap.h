// The JS object that owns one torch::Tensor. Freed by dispose() at once, or by the garbage collector's
// finalizer; its bytes are reported to V8 so that GC runs when tensors, not JS objects, fill memory.
#pragma once
#include "common/convert.h"

namespace xkt {

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static void init(Napi::Env env, Napi::Object exports);
  static Napi::Object wrap(Napi::Env env, torch::Tensor t);
  static bool isInstance(const Napi::Value& v);
  static TensorWrap* unwrapChecked(const Napi::Value& v);  // nullptr when v is not a TensorWrap

  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;

  bool disposed() const { return !tensor_.defined(); }
  const torch::Tensor& tensor() const { return tensor_; }
  void dispose();

  // Bytes currently reported to V8 by all live wraps (for tests of the accounting itself).
  static int64_t liveBytes();
  static int64_t liveCount();

 private:
  void adopt(torch::Tensor t);
  torch::Tensor tensor_;
  int64_t reported_ = 0;
};

}  // namespace xkt
