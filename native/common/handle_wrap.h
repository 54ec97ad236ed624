// The JS handle of a native object that is not a tensor (a model, a decoder state, a tokenizer, an
// optimizer, a parameter average): a JS object that owns a std::shared_ptr<T>, made only by native code,
// checked with a clear error when it comes back as an argument. Native calls take their own shared_ptr
// copy, so dispose() from JS while an async call runs is safe. Objects that know their size (an
// `int64_t nbytes() const` member) report it to V8, so the GC feels native memory it cannot see.
#pragma once
#include <memory>
#include <string>
#include <type_traits>

#include "common/convert.h"

namespace xkt {

template <typename T, typename = void>
struct HasNbytes : std::false_type {};
template <typename T>
struct HasNbytes<T, std::void_t<decltype(std::declval<const T&>().nbytes())>> : std::true_type {};

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
    auto value = self(a, i, name)->value;
    if (!value) throw ArgError(std::string("argument '") + name + "' was disposed (expected " + description() + ")");
    return value;
  }

  // Drops the handle's reference (the object dies with the last native user).
  static void release(Args& a, size_t i, const char* name) {
    auto* w = self(a, i, name);
    w->value.reset();
    w->report(a.env());
  }

  // Re-reports the object's bytes to V8 after it grew or shrank (a decoder state after a step or a prune).
  static void refresh(Args& a, size_t i, const char* name) { self(a, i, name)->report(a.env()); }

  explicit HandleWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<HandleWrap>(info) {
    if (pending() == nullptr) {
      throw Napi::TypeError::New(info.Env(), description() + ": cannot be constructed from JS");
    }
    value = std::move(*pending());
    report(info.Env());
  }

  ~HandleWrap() override {
    if (reported != 0) Napi::MemoryManagement::AdjustExternalMemory(this->Env(), -reported);
  }

  std::shared_ptr<T> value;

 private:
  static HandleWrap* self(Args& a, size_t i, const char* name) {
    Napi::Value v = a[i];
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(ctor().Value())) a.fail(i, name, description());
    return Napi::ObjectWrap<HandleWrap>::Unwrap(v.As<Napi::Object>());
  }

  void report(Napi::Env env) {
    if constexpr (HasNbytes<T>::value) {
      int64_t now = value ? value->nbytes() : 0;
      if (now != reported) Napi::MemoryManagement::AdjustExternalMemory(env, now - reported);
      reported = now;
    }
  }

  int64_t reported = 0;

  // Never destroyed: a static's destructor runs at exit, after the env is gone, and deleting a reference then
  // (node-addon-api posts it as a finalizer) crashes the process.
  static Napi::FunctionReference& ctor() {
    static auto* ref = new Napi::FunctionReference();
    return *ref;
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
