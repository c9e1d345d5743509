// The NEON activation quantizers (arm/neon_quantize.hpp) against the scalar quantizer: the same
// bytes, pre-scales and exact-path flags, bit for bit, on random rows of every magnitude and on
// the rows where a rounding mode or an overflow would show (ties, both signs at the maximum,
// blocks whose scale underflows or whose inverse overflows, NaN/Inf/tiny/zero rows); and the
// FCVT f32 -> f16 conversion the quantizers store scales with against f32_to_f16.
// Compiled everywhere; the tests exist on AArch64 builds only (there is nothing NEON elsewhere).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/cpu_test_util.hpp"

#if defined(__aarch64__)
namespace qlinear::test {
namespace {

using cpu::Isa;

struct Quantized {
  std::vector<std::uint8_t> bytes, exact;
  std::vector<float> scale;
};

// Rows [m0, m1) of x (m rows of k) quantized by level I's quantizer into format A; the other
// rows' outputs keep their sentinels.
template <class A, Isa I>
Quantized quantize(const std::vector<float>& x, std::size_t m, std::size_t k, std::size_t m0, std::size_t m1) {
  Quantized q;
  const std::size_t stride = row_bytes<A>(k) + 3;  // padded: the quantizer must honour out_stride
  q.bytes.assign(m * stride, 0xA5);
  q.exact.assign(m, 0x77);
  q.scale.assign(m, -1.0f);
  std::vector<float> scratch(k);
  cpu::QuantizeActivationArgs a;
  a.x = x.data();
  a.ldx = k;
  a.k = k;
  a.m0 = m0;
  a.m1 = m1;
  a.out = q.bytes.data();
  a.out_stride = stride;
  a.row_scale = q.scale.data();
  a.exact = q.exact.data();
  a.scratch = scratch.data();
  cpu::QuantizeActivations<A, I>::rows(a);
  return q;
}

template <class A>
void expect_same_as_scalar(const std::vector<float>& x, std::size_t m, std::size_t k, const std::string& what) {
  // The last row stays outside [m0, m1): its sentinels must survive.
  const std::size_t m0 = 0, m1 = m > 2 ? m - 1 : m;
  const Quantized want = quantize<A, Isa::scalar>(x, m, k, m0, m1);
  const Quantized got = quantize<A, Isa::neon>(x, m, k, m0, m1);
  const std::size_t stride = row_bytes<A>(k) + 3;
  for (std::size_t i = 0; i < m; ++i) {
    ASSERT_EQ(got.exact[i], want.exact[i]) << what << " row " << i;
    ASSERT_EQ(std::memcmp(&got.scale[i], &want.scale[i], sizeof(float)), 0)
        << what << " row " << i << ": pre-scale " << got.scale[i] << " vs " << want.scale[i];
    for (std::size_t b = 0; b < stride; ++b)
      ASSERT_EQ(got.bytes[i * stride + b], want.bytes[i * stride + b])
          << what << " row " << i << " byte " << b << " (block " << b / A::block_bytes << ", offset "
          << b % A::block_bytes << ")";
  }
}

template <class A>
class NeonQuantizer : public ::testing::Test {};
using Formats = ::testing::Types<Q8_0, Q8_1, Q8_K>;
TYPED_TEST_SUITE(NeonQuantizer, Formats);

TYPED_TEST(NeonQuantizer, RandomRowsOfEveryMagnitudeGiveTheScalarBytes) {
  using A = TypeParam;
  const std::size_t k = 3 * A::block_elems + (A::block_elems == 32 ? 4 * 32 : 0);
  std::uint32_t seed = 1;
  for (float scale : {1e-30f, 3e-7f, 0.02f, 1.0f, 700.0f, 6e4f, 1e12f, 3e35f}) {
    const std::size_t m = 5;
    const auto x = random_floats(m * k, seed++, scale, 0.02f, 40.0f);
    expect_same_as_scalar<A>(x, m, k, std::string(A::name) + " scale " + std::to_string(scale));
  }
}

TYPED_TEST(NeonQuantizer, TiesSignsUnderflowOverflowAndSpecialRows) {
  using A = TypeParam;
  const std::size_t B = A::block_elems, k = 4 * B, m = 10;  // row 9: outside the quantized rows
  std::vector<float> x(m * k, 0.0f);
  // Row 0: the row maximum 508 keeps the pre-scale at 1; block 0 puts every element on a tie
  // (Q8_0/Q8_1: d = 4, x·id = ±(n + 0.5); Q8_K: iscale = -1/4 likewise); block 1 holds +600 and
  // -600, the negative first; block 2 the positive first; block 3 stays zero.
  float* r = x.data();
  r[0] = 508.0f;
  for (std::size_t l = 1; l < B; ++l) r[l] = float(4 * (int(l) % 64) + 2) * ((l % 3) ? 1.0f : -1.0f);
  r[B + 7] = -600.0f;
  r[B + 9] = 600.0f;
  r[B + 1] = 3.0f;
  r[2 * B + 4] = 600.0f;
  r[2 * B + 30] = -600.0f;
  // Row 1: pre-scale 1 (max 700); block 1's largest magnitude is 1e-37, so its scale d
  // (Q8_0/Q8_1) is subnormal with 1/d = inf, and Q8_K's iscale = -127/max overflows; block 2 is
  // subnormal inputs (d underflows to 0).
  r = x.data() + k;
  r[0] = 700.0f;
  for (std::size_t l = 0; l < B; ++l) r[B + l] = (l % 2 ? -1e-37f : 5e-38f) * float(1 + l % 3) / 3.0f;
  for (std::size_t l = 0; l < B; ++l) r[2 * B + l] = float(l + 1) * 1e-43f;
  // Rows 2..5: NaN, +Inf, tiny (below 2^-100: exact path), all zero.
  for (std::size_t l = 0; l < k; ++l) {
    x[2 * k + l] = 1.0f;
    x[3 * k + l] = -2.0f;
    x[4 * k + l] = 1e-31f * float(l % 7);
  }
  x[2 * k + 5] = std::numeric_limits<float>::quiet_NaN();
  x[3 * k + k - 1] = std::numeric_limits<float>::infinity();
  // Row 6: huge (near FLT_MAX); row 7: a single non-zero; row 8: just above the exact threshold.
  for (std::size_t l = 0; l < k; ++l) {
    x[6 * k + l] = 3.0e38f * std::sin(float(l));
    x[8 * k + l] = 0x1p-100f * float(1 + l % 5);
  }
  x[7 * k + k / 2] = -0.75f;
  expect_same_as_scalar<A>(x, m, k, std::string(A::name) + " special rows");
}

TEST(NeonQuantizer, Fcvt16MatchesF32ToF16OnEveryHalfBoundary) {
  // Every f16 value, the midpoints to its neighbours (ties: to even) and one f32 ulp either
  // side, over the whole f16 range including subnormals and the overflow edge.
  std::size_t checked = 0;
  for (std::uint32_t h = 0; h < 0x7C00; ++h) {
    const float v = f16_to_f32(std::uint16_t(h)), next = f16_to_f32(std::uint16_t(h + 1));
    const float mid = v + (next - v) / 2;
    for (float c : {v, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f)})
      for (float s : {c, -c}) {
        std::uint8_t bytes[2];
        cpu::neon::store_f16(bytes, s);
        std::uint16_t got;
        std::memcpy(&got, bytes, 2);
        ASSERT_EQ(got, f32_to_f16(s)) << "f32 " << s << " (f16 neighbour " << h << ")";
        ++checked;
      }
  }
  EXPECT_GT(checked, 200000u);
}

}  // namespace
}  // namespace qlinear::test
#endif
