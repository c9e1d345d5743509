#pragma once
// A fork-join thread pool for kernels: the calling thread and `size() - 1` workers split a
// range of tasks. Workers spin briefly before sleeping, because decode-sized GEMVs last tens of
// microseconds and a condition-variable wake-up alone costs about as much.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "qlinear/core/error.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace qlinear {

namespace detail {
inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}
}  // namespace detail

/// Fixed-size pool. `parallel_for(n, f)` runs f(task, thread) for every task in [0, n) and
/// returns when all are done; `thread` is in [0, size()) (0 = the caller) and indexes per-thread
/// scratch. One parallel_for at a time per pool: a pool belongs to one caller thread (it is the
/// heart of cpu::Backend::Context, which is used by one thread at a time).
/// Usage: `ThreadPool pool(4); pool.parallel_for(rows, [&](std::size_t r, unsigned) { ... });`
class ThreadPool {
 public:
  /// `threads` = 0 means one per hardware thread.
  explicit ThreadPool(unsigned threads = 0) {
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    check(threads <= 1024, "ThreadPool: ", threads, " threads requested, at most 1024 supported");
    size_ = threads;
    workers_.reserve(threads - 1);
    for (unsigned t = 1; t < threads; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

  unsigned size() const { return size_; }

  /// Runs f(task, thread) for task in [0, tasks), spread over the pool (dynamically: tasks go
  /// to whichever thread is free). The first exception a task throws is rethrown here, after
  /// every thread has stopped taking tasks.
  template <class F>
  void parallel_for(std::size_t tasks, F&& f) {
    if (tasks == 0) return;
    using Fn = std::remove_reference_t<F>;
    if (size_ == 1 || tasks == 1) {
      for (std::size_t i = 0; i < tasks; ++i) f(i, 0u);
      return;
    }
    job_.fn = [](void* p, std::size_t task, unsigned thread) { (*static_cast<Fn*>(p))(task, thread); };
    job_.arg = const_cast<void*>(static_cast<const void*>(&f));
    job_.tasks = tasks;
    next_task_.store(0, std::memory_order_relaxed);
    error_ = nullptr;
    // Every worker takes part in every job (those that find no task left just report back), and
    // the caller waits for all of them: when workers were left out of small jobs, one could read
    // the next job's helper count while still on this one and report twice, and the caller
    // waited forever.
    pending_.store(size_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    if (sleepers_.load(std::memory_order_acquire) > 0) wake_.notify_all();
    run_tasks(0);
    while (pending_.load(std::memory_order_acquire) != 0) detail::cpu_relax();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  struct Job {
    void (*fn)(void*, std::size_t, unsigned) = nullptr;
    void* arg = nullptr;
    std::size_t tasks = 0;
  };

  void run_tasks(unsigned thread) {
    for (;;) {
      const std::size_t i = next_task_.fetch_add(1, std::memory_order_relaxed);
      if (i >= job_.tasks) return;
      try {
        job_.fn(job_.arg, i, thread);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
        next_task_.store(job_.tasks, std::memory_order_relaxed);  // stop handing out tasks
      }
    }
  }

  void worker_loop(unsigned thread) {
    std::uint64_t seen = 0;
    for (;;) {
      // Spin about 100 µs for the next job, then sleep on the condition variable.
      std::uint64_t g = generation_.load(std::memory_order_acquire);
      const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(100);
      for (int n = 0; g == seen; ++n) {
        detail::cpu_relax();
        g = generation_.load(std::memory_order_acquire);
        if (g == seen && (n & 255) == 0 && std::chrono::steady_clock::now() > spin_until) {
          std::unique_lock<std::mutex> lock(mutex_);
          sleepers_.fetch_add(1, std::memory_order_acq_rel);
          wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
          sleepers_.fetch_sub(1, std::memory_order_acq_rel);
          g = generation_.load(std::memory_order_acquire);
        }
      }
      seen = g;
      if (stop_.load(std::memory_order_relaxed)) return;
      run_tasks(thread);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  unsigned size_ = 1;
  std::vector<std::thread> workers_;
  Job job_;
  std::atomic<std::size_t> next_task_{0};
  std::atomic<unsigned> pending_{0};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> sleepers_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stop_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace qlinear
