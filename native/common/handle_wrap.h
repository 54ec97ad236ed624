// The JS handle of a native object that is not a tensor (an optimizer, ...): a JS object that owns a
// std::shared_ptr<T>, made only by native code, checked with a clear error when it comes back as an argument.
// Native calls take their own shared_ptr copy, so dispose() from JS while an async call runs is safe.
#pragma once
#include <memory>
#include <string>

#include "common/convert.h"

namespace xkt {

template <typename T>
class HandleWrap : public Napi::ObjectWrap<HandleWrap<T>> {
 public:
  // Registers the class as `className` on exports; `description` completes "expected ..." in errors.
  static void init(Napi::Env env, Napi::Object exports, const char* className, const char* description) {
    ctor() = Napi::Persistent(HandleWrap::DefineClass(env, className, {}));
    HandleWrap::description() = description;
    exports.Set(className, ctor().Value());
  }

  static Napi::Object wrap(Napi::Env env, std::shared_ptr<T> value) {
    pending() = &value;
    Napi::Object o;
    try {
      o = ctor().New({});
    } catch (...) {
      pending() = nullptr;
      throw;
    }
    pending() = nullptr;
    return o;
  }

  // The object behind argument i; throws ArgError when it is not such a handle or was disposed.
  static std::shared_ptr<T> unwrap(Args& a, size_t i, const char* name) {
    Napi::Value v = a[i];
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(ctor().Value())) a.fail(i, name, description());
    auto value = Napi::ObjectWrap<HandleWrap>::Unwrap(v.As<Napi::Object>())->value;
    if (!value) throw ArgError(std::string("argument '") + name + "' is a disposed " + description());
    return value;
  }

  // Drops the handle's reference (the object dies with the last native user).
  static void release(Args& a, size_t i, const char* name) {
    Napi::Value v = a[i];
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(ctor().Value())) a.fail(i, name, description());
    Napi::ObjectWrap<HandleWrap>::Unwrap(v.As<Napi::Object>())->value.reset();
  }

  explicit HandleWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<HandleWrap>(info) {
    if (pending() == nullptr) {
      throw Napi::TypeError::New(info.Env(), description() + ": cannot be constructed from JS");
    }
    value = std::move(*pending());
  }

  std::shared_ptr<T> value;

 private:
  static Napi::FunctionReference& ctor() {
    static Napi::FunctionReference ref;
    return ref;
  }
  static std::string& description() {
    static std::string text;
    return text;
  }
  // wrap() parks the object here for the one synchronous constructor call that follows (JS thread only).
  static std::shared_ptr<T>*& pending() {
    static std::shared_ptr<T>* p = nullptr;
    return p;
  }
};

}  // namespace xkt
