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

#include <ATen/autocast_mode.h>

#include "common/errors.h"

namespace xkt {

// Queues `job` on the compute thread (started on first use; jobs run one at a time, first in first out).
void runOnComputeThread(std::function<void()> job);

// The caller's autocast state (torch.autocast) for the CPU and CUDA: enabled and the lower-precision dtype.
// Thread-local in LibTorch, like grad mode: a task captures it on the JS thread and runs under it.
struct AutocastState {
  bool cpu = false, cuda = false;
  at::ScalarType cpuDtype = at::kBFloat16, cudaDtype = at::kHalf;

  static AutocastState current() {
    return {at::autocast::is_autocast_enabled(at::kCPU), at::autocast::is_autocast_enabled(at::kCUDA),
            at::autocast::get_autocast_dtype(at::kCPU), at::autocast::get_autocast_dtype(at::kCUDA)};
  }
  void apply() const {
    at::autocast::set_autocast_enabled(at::kCPU, cpu);
    at::autocast::set_autocast_enabled(at::kCUDA, cuda);
    at::autocast::set_autocast_dtype(at::kCPU, cpuDtype);
    at::autocast::set_autocast_dtype(at::kCUDA, cudaDtype);
  }
  bool any() const { return cpu || cuda; }
};

// Runs a task under a captured autocast state and restores the thread's own after it. Weights cast inside an
// autocast region are cached until the region ends (PyTorch clears the cache when its outermost autocast exits):
// a task is such a region, so the cache never outlives the step that filled it.
class AutocastScope {
 public:
  explicit AutocastScope(const AutocastState& s) : saved_(AutocastState::current()), active_(s.any()) { s.apply(); }
  ~AutocastScope() {
    if (active_) at::autocast::clear_cache();
    saved_.apply();
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  AutocastState saved_;
  bool active_;
};

template <typename Result>
class AsyncTask {
 public:
  using Work = std::function<Result()>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  // Grad mode, autocast and the intra-op thread count are per thread in LibTorch: the job runs with the caller's.
  static Napi::Promise start(Napi::Env env, std::string fn, Work work, ToJs toJs) {
    auto* task = new AsyncTask(env, std::move(fn), std::move(work), std::move(toJs));
    auto promise = task->deferred_.Promise();
    // The thread-safe function keeps the event loop alive until the result is back on the JS thread.
    auto tsfn =
        Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), task->fn_, 0, 1);
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
        autocast_(AutocastState::current()),
        threads_(at::get_num_threads()) {}

  void execute() {
    try {
      if (at::get_num_threads() != threads_) at::set_num_threads(threads_);
      c10::AutoGradMode grad(gradEnabled_);
      AutocastScope autocast(autocast_);
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
  AutocastState autocast_;
  int threads_;
  Result result_{};
  std::string error_;
};

}  // namespace xkt
