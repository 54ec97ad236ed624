// Runs LibTorch work off the JS thread and settles a Promise with its result. Inputs are captured by value
// (tensors are refcounted), so a dispose() from JS while the work runs cannot free them mid-run.
#pragma once
#include <functional>
#include <string>

#include "common/errors.h"

namespace xkt {

template <typename Result>
class AsyncTask : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  // Grad mode is thread-local in LibTorch: the worker thread inherits the caller's setting explicitly.
  static Napi::Promise start(Napi::Env env, std::string fn, Work work, ToJs toJs) {
    auto* task = new AsyncTask(env, std::move(fn), std::move(work), std::move(toJs));
    auto promise = task->deferred_.Promise();
    task->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    try {
      c10::AutoGradMode grad(gradEnabled_);
      result_ = work_();
    } catch (const c10::Error& e) {
      SetError(fn_ + ": " + cleanTorchMessage(e.what_without_backtrace()));
    } catch (const std::exception& e) {
      SetError(fn_ + ": " + cleanTorchMessage(e.what()));
    } catch (...) {
      SetError(fn_ + ": unknown native error");
    }
  }

  void OnOK() override {
    Napi::HandleScope scope(Env());
    try {
      deferred_.Resolve(toJs_(Env(), result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const std::exception& e) {
      deferred_.Reject(Napi::Error::New(Env(), fn_ + ": " + e.what()).Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  AsyncTask(Napi::Env env, std::string fn, Work work, ToJs toJs)
      : Napi::AsyncWorker(env, fn.c_str()),
        deferred_(Napi::Promise::Deferred::New(env)),
        fn_(std::move(fn)),
        work_(std::move(work)),
        toJs_(std::move(toJs)),
        gradEnabled_(c10::GradMode::is_enabled()) {}

  Napi::Promise::Deferred deferred_;
  std::string fn_;
  Work work_;
  ToJs toJs_;
  bool gradEnabled_;
  Result result_{};
};

}  // namespace xkt
