// ThreadPool: every task runs exactly once, thread indices stay in range, exceptions reach the
// caller, and the pool survives many short jobs (the decode pattern) and idle sleeps.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "qlinear/core/cpu_features.hpp"
#include "qlinear/core/thread_pool.hpp"

namespace qlinear {
namespace {

TEST(ThreadPool, EveryTaskRunsOnceOnAThreadOfThePool) {
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (std::size_t tasks : {0u, 1u, 2u, 7u, 1000u}) {
      std::vector<std::atomic<int>> runs(tasks);
      std::atomic<bool> bad_thread{false};
      pool.parallel_for(tasks, [&](std::size_t t, unsigned thread) {
        runs[t].fetch_add(1);
        if (thread >= threads) bad_thread = true;
      });
      for (std::size_t t = 0; t < tasks; ++t) ASSERT_EQ(runs[t].load(), 1) << threads << " threads, task " << t;
      EXPECT_FALSE(bad_thread);
    }
  }
}

TEST(ThreadPool, ManyShortJobsAndJobsAfterSleeping) {
  ThreadPool pool(4);
  std::atomic<long> sum{0};
  for (int job = 0; job < 2000; ++job) pool.parallel_for(8, [&](std::size_t t, unsigned) { sum += long(t); });
  EXPECT_EQ(sum.load(), 2000L * 28);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // workers go to sleep
  sum = 0;
  pool.parallel_for(100, [&](std::size_t t, unsigned) { sum += long(t); });
  EXPECT_EQ(sum.load(), 4950);
}

// Jobs of fewer tasks than threads between larger ones (cpu::Backend quantizes a few activation
// rows, then runs many weight tiles): a worker with nothing to do in one job must not count itself
// into the next (that once left the caller waiting forever, seen under qemu-aarch64).
TEST(ThreadPool, SmallJobsBetweenLargeOnesEachRunExactlyTheirTasks) {
  ThreadPool pool(4);
  for (int job = 0; job < 2000; ++job) {
    const std::size_t tasks = job % 2 ? 2 : 16;
    std::atomic<long> sum{0};
    pool.parallel_for(tasks, [&](std::size_t t, unsigned) { sum += long(t) + 1; });
    ASSERT_EQ(sum.load(), long(tasks * (tasks + 1) / 2)) << "job " << job;
  }
}

TEST(ThreadPool, AnExceptionReachesTheCaller) {
  ThreadPool pool(3);
  EXPECT_THROW(pool.parallel_for(50,
                                 [&](std::size_t t, unsigned) {
                                   if (t == 17) throw std::runtime_error("task 17");
                                 }),
               std::runtime_error);
  std::atomic<int> n{0};
  pool.parallel_for(10, [&](std::size_t, unsigned) { ++n; });  // still usable
  EXPECT_EQ(n.load(), 10);
}

TEST(CpuFeatures, ConsistentWithEachOther) {
  const CpuFeatures& f = cpu_features();
  EXPECT_FALSE(f.describe().empty());
  EXPECT_TRUE(!(f.avx512bw || f.avx512vl || f.avx512_vnni) || f.avx512f);
  EXPECT_TRUE(!f.amx_int8 || f.amx_tile);
  EXPECT_TRUE(!(f.i8mm || f.dotprod) || f.neon);
#if defined(__aarch64__)
  EXPECT_TRUE(f.neon);
#endif
}

}  // namespace
}  // namespace qlinear
