// f16/bf16 conversions: exact against the processor's own conversion instructions (F16C), on every
// binary16 value and on float edge cases (ties, subnormals, overflow, NaN).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "qlinear/core/cpu_features.hpp"
#include "qlinear/core/half.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("f16c"))) static float hw_f16_to_f32(std::uint16_t h) { return _cvtsh_ss(h); }
__attribute__((target("f16c"))) static std::uint16_t hw_f32_to_f16(float f) {
  return std::uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}
static bool have_f16c() { return qlinear::cpu_features().f16c; }
#endif

using namespace qlinear;

TEST(Half, EveryBinary16RoundTripsExactly) {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(std::uint16_t(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(((h >> 10) & 0x1F) == 0x1F && (h & 0x3FF) != 0) << h;
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f))));
      continue;
    }
    EXPECT_EQ(f32_to_f16(f), h) << "value " << f;
  }
}

TEST(Half, KnownValues) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // rounds to inf
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(f32_to_f16(0x1.0p-24f), 0x0001);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(0x1.0p-25f), 0x0000);  // tie to even: 0
  EXPECT_EQ(f32_to_f16(0x1.8p-25f), 0x0001);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f16_to_f32(0x0001), 0x1.0p-24f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_TRUE(std::isinf(f16_to_f32(0xFC00)) && f16_to_f32(0xFC00) < 0);
  static_assert(f16_to_f32(0x3C00) == 1.0f, "constexpr");
  static_assert(f32_to_f16(0.5f) == 0x3800, "constexpr");
}

#if defined(__x86_64__)
TEST(Half, MatchesF16CInstructions) {
  if (!have_f16c()) GTEST_SKIP() << "this CPU has no F16C instructions to compare with";
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float a = f16_to_f32(std::uint16_t(h)), b = hw_f16_to_f32(std::uint16_t(h));
    if (std::isnan(b)) {
      EXPECT_TRUE(std::isnan(a));
    } else {
      EXPECT_EQ(std::bit_cast<std::uint32_t>(a), std::bit_cast<std::uint32_t>(b)) << h;
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 2000000; ++i) {
    const float f = std::bit_cast<float>(std::uint32_t(rng()));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), hw_f32_to_f16(f)) << "value " << f;
  }
}
#endif

TEST(BFloat16, RoundsToNearestEvenAndKeepsNaN) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F808000u)), 0x3F80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F818000u)), 0x3F82);  // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F808001u)), 0x3F81);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::bit_cast<float>(0x7F800001u)))));  // signalling stays NaN
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const float f = bf16_to_f32(std::uint16_t(b));
    if (!std::isnan(f)) {
      EXPECT_EQ(f32_to_bf16(f), b);
    }
  }
}
