// Runs LibTorch work off the JS thread and settles a Promise with its result. All of it runs in order on one
// process-wide compute thread (async.cc), not on libuv's pool: consecutive calls spread over the pool's four
// threads give each its own OpenMP team and malloc arena, whose pages are faulted in anew, so a decode step ran
// markedly slower than the same step kept on one thread. The pool stays free for file and network I/O.
// Inputs are captured by value (tensors are refcounted), so a dispose() from JS while the work runs cannot
// free them mid-run.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "common/errors.h"

namespace xkt {

// Queues `job` on the compute thread (started on first use; jobs run one at a time, first in first out).
void runOnComputeThread(std::function<void()> job);

template <typename Result>
class AsyncTask {
 public:
  using Work = std::function<Result()>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  // Grad mode and the intra-op thread count are per thread in LibTorch: the job runs with the caller's.
  static Napi::Promise start(Napi::Env env, std::string fn, Work work, ToJs toJs) {
    auto* task = new AsyncTask(env, std::move(fn), std::move(work), std::move(toJs));
    auto promise = task->deferred_.Promise();
    // The thread-safe function keeps the event loop alive until the result is back on the JS thread.
    auto tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), task->fn_, 0, 1);
    runOnComputeThread([task, tsfn]() mutable {
      task->execute();
      // After BlockingCall the JS thread may already have deleted the task: only `tsfn` is used from here.
      if (tsfn.BlockingCall(task, &AsyncTask::settle) != napi_ok) delete task;
      tsfn.Release();
    });
    return promise;
  }

 private:
  AsyncTask(Napi::Env env, std::string fn, Work work, ToJs toJs)
      : deferred_(Napi::Promise::Deferred::New(env)),
        fn_(std::move(fn)),
        work_(std::move(work)),
        toJs_(std::move(toJs)),
        gradEnabled_(c10::GradMode::is_enabled()),
        threads_(at::get_num_threads()) {}

  void execute() {
    try {
      if (at::get_num_threads() != threads_) at::set_num_threads(threads_);
      c10::AutoGradMode grad(gradEnabled_);
      result_ = work_();
    } catch (const c10::Error& e) {
      error_ = fn_ + ": " + cleanTorchMessage(e.what_without_backtrace());
    } catch (const std::exception& e) {
      error_ = fn_ + ": " + cleanTorchMessage(e.what());
    } catch (...) {
      error_ = fn_ + ": unknown native error";
    }
  }

  // On the JS thread.
  static void settle(Napi::Env env, Napi::Function, AsyncTask* task) {
    std::unique_ptr<AsyncTask> own(task);
    Napi::HandleScope scope(env);
    if (!task->error_.empty()) {
      task->deferred_.Reject(Napi::Error::New(env, task->error_).Value());
      return;
    }
    try {
      task->deferred_.Resolve(task->toJs_(env, task->result_));
    } catch (const Napi::Error& e) {
      task->deferred_.Reject(e.Value());
    } catch (const std::exception& e) {
      task->deferred_.Reject(Napi::Error::New(env, task->fn_ + ": " + e.what()).Value());
    }
  }

  Napi::Promise::Deferred deferred_;
  std::string fn_;
  Work work_;
  ToJs toJs_;
  bool gradEnabled_;
  int threads_;
  Result result_{};
  std::string error_;
};

}  // namespace xkt
