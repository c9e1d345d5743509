// arm/target.hpp: the dotprod / i8mm target attributes do not leak into code written after
// qlinear's headers. g++ 12 on AArch64 would otherwise compile every function declared after a
// `#pragma GCC push_options` / `pop_options` pair for the last attributed function's ISA (see
// QLINEAR_ARM_TARGET_RESET): `bump` below would then use Armv8.1 LSE atomics, which an Armv8.0
// core rejects with SIGILL, as the CI's `qemu-aarch64 -cpu cortex-a53` run of this binary does.
#include <gtest/gtest.h>

#include "qlinear/backends/cpu/backend.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#pragma GCC pop_options
#endif

#include <atomic>

namespace qlinear::test {
namespace {

[[gnu::noinline]] long bump(std::atomic<long>& x) { return x.fetch_add(1) + 1; }

TEST(ArmTarget, CodeAfterTheKernelHeadersAndAPushPopPairRunsOnEveryCore) {
  std::atomic<long> x{41};
  EXPECT_EQ(bump(x), 42);
  EXPECT_EQ(x.load(), 42);
}

}  // namespace
}  // namespace qlinear::test
