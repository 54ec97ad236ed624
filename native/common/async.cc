// The compute thread behind AsyncTask (see async.h for why one thread): a FIFO of jobs, started on first
// use and never stopped (detached; the process may exit while it waits for work).
#include "common/async.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace xkt {
namespace {

class ComputeThread {
 public:
  ComputeThread() {
    std::thread([this] { loop(); }).detach();
  }

  void push(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
  }

 private:
  void loop() {
    at::init_num_threads();  // as LibTorch's own worker threads start: OpenMP and MKL agree
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !jobs_.empty(); });
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
};

}  // namespace

void runOnComputeThread(std::function<void()> job) {
  static auto* thread = new ComputeThread();  // never destroyed: its thread outlives static destructors
  thread->push(std::move(job));
}

}  // namespace xkt
