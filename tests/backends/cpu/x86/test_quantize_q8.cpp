// The x86 activation quantizers (Q8_0, Q8_1, Q8_K at AVX2 and AVX-512) against the scalar
// quantizer: the same bytes, pre-scales and exact-path flags, row by row, on rows built to hit
// the hard cases: roundf's ties (away from zero) for Q8_0/Q8_1 and nearest_int's (to even) for
// Q8_K, the first-of-equal-magnitude maximum that sets Q8_K's sign, all-zero blocks, subnormal
// and huge values, NaN / Inf / tiny rows, lengths that are not a multiple of the vector.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "x86_levels.hpp"

namespace qlinear::test {
namespace {

#if defined(__x86_64__)

using cpu::Isa;

struct Rows {
  std::size_t m = 0, k = 0;
  std::vector<float> x;
  std::vector<std::string> what;
  float* row(std::size_t i) { return x.data() + i * k; }
};

// Rows of length k (a multiple of the format's block), one per case below.
Rows make_rows(std::size_t k, std::size_t block, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> level(-126, 126);
  Rows r;
  r.k = k;
  auto add = [&](const std::string& what) {
    r.what.push_back(what);
    r.x.resize(r.x.size() + k);
    ++r.m;
    return r.row(r.m - 1);
  };
  float* p = add("gaussian with outliers");
  for (std::size_t l = 0; l < k; ++l) p[l] = normal(rng) * (rng() % 50 == 0 ? 40.0f : 1.0f);
  // Ties: each block's largest magnitude is exactly 127 (so d = its pre-scale and x·s·id = x),
  // the rest are n + 1/2. Positive maxima (Q8_0 / Q8_1) and negative ones (Q8_K: iscale > 0).
  for (float sign : {1.0f, -1.0f}) {
    p = add(sign > 0 ? "ties, positive block maxima" : "ties, negative block maxima");
    for (std::size_t b = 0; b < k / block; ++b) {
      float* q = p + b * block;
      for (std::size_t l = 0; l < block; ++l) q[l] = float(level(rng)) + 0.5f;
      q[rng() % block] = 127.0f * sign;
    }
  }
  p = add("ties, row amax off by powers of two");
  for (std::size_t b = 0; b < k / block; ++b) {
    const float s = std::ldexp(1.0f, int(rng() % 21) - 10);
    float* q = p + b * block;
    for (std::size_t l = 0; l < block; ++l) q[l] = (float(level(rng)) + 0.5f) * s;
    q[rng() % block] = -127.0f * s;
  }
  p = add("equal magnitudes of both signs (first one sets Q8_K's sign)");
  for (std::size_t l = 0; l < k; ++l) p[l] = (l % 3 == 0 ? 1.0f : -1.0f) * (l % 7 == 0 ? 5.0f : 1.0f);
  p = add("all-zero blocks beside others");
  for (std::size_t l = 0; l < k; ++l) p[l] = (l / block) % 2 ? normal(rng) : 0.0f;
  p = add("one non-zero value");
  std::fill(p, p + k, 0.0f);
  p[k / 2] = -3.25f;
  p = add("huge values");
  for (std::size_t l = 0; l < k; ++l) p[l] = normal(rng) * 1e36f;
  p = add("subnormal values beside normal ones");
  for (std::size_t l = 0; l < k; ++l) p[l] = l % 5 ? normal(rng) * 1e-40f : normal(rng) * 1e-30f;
  p = add("just above the exact-path threshold");
  for (std::size_t l = 0; l < k; ++l) p[l] = (l % 2 ? 1.0f : -1.0f) * 0x1.8p-100f;
  p = add("below the exact-path threshold");
  for (std::size_t l = 0; l < k; ++l) p[l] = normal(rng) * 1e-34f;
  p = add("all zeros");
  std::fill(p, p + k, 0.0f);
  p = add("a NaN");
  for (std::size_t l = 0; l < k; ++l) p[l] = normal(rng);
  p[k - 1] = std::numeric_limits<float>::quiet_NaN();
  p = add("an -Inf");
  for (std::size_t l = 0; l < k; ++l) p[l] = normal(rng);
  p[1] = -std::numeric_limits<float>::infinity();
  p = add("the largest finite floats");
  for (std::size_t l = 0; l < k; ++l) p[l] = (l % 2 ? 1.0f : -0.75f) * std::numeric_limits<float>::max();
  return r;
}

struct Quantized {
  std::vector<std::uint8_t> bytes, exact;
  std::vector<float> scale;
};

template <class A>
Quantized quantize(cpu::QuantizeActivationsFn fn, Rows& r, std::size_t m0, std::size_t m1) {
  const std::size_t stride = row_bytes<A>(r.k);
  Quantized q{std::vector<std::uint8_t>(r.m * stride, 0xA5), std::vector<std::uint8_t>(r.m, 7),
              std::vector<float>(r.m, -1.0f)};
  std::vector<float> scratch(r.k);
  cpu::QuantizeActivationArgs a;
  a.x = r.x.data();
  a.ldx = r.k;
  a.k = r.k;
  a.m0 = m0;
  a.m1 = m1;
  a.out = q.bytes.data();
  a.out_stride = stride;
  a.row_scale = q.scale.data();
  a.exact = q.exact.data();
  a.scratch = scratch.data();
  fn(a);
  return q;
}

template <class A>
void check_format(std::size_t block, std::initializer_list<std::size_t> lengths) {
  const auto levels = x86_quantizer_levels();
  if (levels.empty()) GTEST_SKIP() << "this processor has none of the x86 quantizer levels (AVX2, AVX-512)";
  std::uint32_t seed = 5;
  for (std::size_t k : lengths) {
    Rows r = make_rows(k, block, seed++);
    const Quantized want = quantize<A>(quantizer_at<A>(Isa::scalar), r, 0, r.m);
    const std::size_t stride = row_bytes<A>(k);
    for (Isa level : levels) {
      // All rows at once, then a sub-range (rows outside it must stay untouched).
      for (auto [m0, m1] : {std::pair<std::size_t, std::size_t>{0, r.m}, {2, r.m - 3}}) {
        const Quantized got = quantize<A>(quantizer_at<A>(level), r, m0, m1);
        for (std::size_t i = 0; i < r.m; ++i) {
          const std::string where = std::string(A::name) + " at " + std::string(cpu::isa_name(level)) + ", K=" +
                                    std::to_string(k) + ", row " + std::to_string(i) + " (" + r.what[i] + ")";
          if (i < m0 || i >= m1) {
            EXPECT_EQ(got.exact[i], 7) << where << ": outside the range but written";
            EXPECT_EQ(got.bytes[i * stride], 0xA5) << where << ": outside the range but written";
            continue;
          }
          EXPECT_EQ(got.exact[i], want.exact[i]) << where;
          EXPECT_EQ(std::memcmp(&got.scale[i], &want.scale[i], 4), 0) << where << ": pre-scale " << got.scale[i]
                                                                       << " vs " << want.scale[i];
          for (std::size_t b = 0; b < stride; ++b) {
            if (got.bytes[i * stride + b] != want.bytes[i * stride + b]) {
              ADD_FAILURE() << where << ": byte " << b << " (block " << b / A::block_bytes << ", offset "
                            << b % A::block_bytes << ") is " << int(got.bytes[i * stride + b]) << ", scalar wrote "
                            << int(want.bytes[i * stride + b]);
              break;
            }
          }
        }
      }
    }
  }
}

TEST(X86QuantizeQ8, Q8_0BytesEqualTheScalarQuantizers) { check_format<Q8_0>(32, {32, 64, 96, 416, 4096}); }
TEST(X86QuantizeQ8, Q8_1BytesEqualTheScalarQuantizers) { check_format<Q8_1>(32, {32, 96, 416, 4096}); }
TEST(X86QuantizeQ8, Q8_KBytesEqualTheScalarQuantizers) { check_format<Q8_K>(256, {256, 768, 4096}); }

// The ties really are ties: the scalar quantizer rounds them away from zero (Q8_0) and to even
// (Q8_K), so a kernel rounding the other way would be caught above.
TEST(X86QuantizeQ8, TheTieRowsHoldTies) {
  Rows r = make_rows(64, 32, 1);
  const Quantized q0 = quantize<Q8_0>(quantizer_at<Q8_0>(Isa::scalar), r, 1, 2);
  Rows rk = make_rows(256, 256, 1);
  const Quantized qk = quantize<Q8_K>(quantizer_at<Q8_K>(Isa::scalar), rk, 2, 3);
  int away = 0, even = 0;
  for (std::size_t l = 0; l < 32; ++l) {
    const float x = r.row(1)[l];
    const int q = std::int8_t(q0.bytes[row_bytes<Q8_0>(64) * 1 + 2 + l]);
    if (x != 127.0f && q == int(x + (x > 0 ? 0.5f : -0.5f))) ++away;
  }
  for (std::size_t l = 0; l < 256; ++l) {
    const float x = rk.row(2)[l];
    const int q = std::int8_t(qk.bytes[row_bytes<Q8_K>(256) * 2 + 4 + l]);
    if (x != -127.0f && q == int(std::nearbyint(x)) && std::nearbyint(x) != std::round(x)) ++even;
  }
  EXPECT_EQ(away, 31) << "Q8_0 ties rounded away from zero";
  EXPECT_GT(even, 100) << "Q8_K ties rounded to even";
}

#else

TEST(X86QuantizeQ8, NotOnThisArchitecture) { GTEST_SKIP() << "the x86 quantizers are built on x86-64 only"; }

#endif

}  // namespace
}  // namespace qlinear::test
