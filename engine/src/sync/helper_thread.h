// One background thread that runs tasks in order, for the sync client's overlap of the
// next batch/page with the current request.
//
// Why not std::async per batch: each call starts a thread, and glibc gives a new thread its
// own malloc arena when the previous one has not exited yet. Pages decoded in half a dozen
// arenas kept the pulling process at 140 MB peak RSS where one helper keeps it near 45 MB
// (measured with lumbung-bench --scenario pull, 100k records).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

namespace lumbung::sync_detail {

// A queued task's result. Like std::async's future (and unlike packaged_task's), it waits
// for the task when dropped, so a task that captured the caller's locals by reference never
// outlives them when the caller leaves early by an exception.
template <class R>
class Pending {
 public:
  Pending() = default;
  explicit Pending(std::future<R> f) : f_(std::move(f)) {}
  Pending(Pending&&) noexcept = default;
  Pending& operator=(Pending&& other) noexcept {
    wait();
    f_ = std::move(other.f_);
    return *this;
  }
  ~Pending() { wait(); }
  bool valid() const { return f_.valid(); }
  void wait() const {
    if (f_.valid()) f_.wait();
  }
  // True once the task is done (or there is none), waiting at most `ms` for it.
  bool wait_for_ms(int ms) const {
    return !f_.valid() || f_.wait_for(std::chrono::milliseconds(ms)) == std::future_status::ready;
  }
  R get() { return f_.get(); }

 private:
  std::future<R> f_;
};

class HelperThread {
 public:
  HelperThread() = default;
  HelperThread(const HelperThread&) = delete;
  HelperThread& operator=(const HelperThread&) = delete;
  ~HelperThread() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();  // runs what was queued first: futures resolve
  }

  // Queues `f`; its result (or exception) arrives through the future.
  template <class F>
  auto submit(F f) -> Pending<decltype(f())> {
    using R = decltype(f());
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(f));
    Pending<R> out(task->get_future());
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.emplace_back([task] { (*task)(); });
      if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    }
    cv_.notify_one();
    return out;
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, nothing left
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();  // packaged_task: exceptions go to the future
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace lumbung::sync_detail
