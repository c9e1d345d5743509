// The NEON exact path (arm/neon_exact.hpp): every DequantizeRows<S, neon> gives the scheme's
// dequantize_row bit for bit (random tensors, and for the GGUF formats hostile bytes with
// NaN/Inf/subnormal f16 scales too, at unaligned addresses); F32Tile<neon> against double
// products on odd shapes with every epilogue.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/cpu_test_util.hpp"

#if defined(__aarch64__)
namespace qlinear::test {
namespace {

using cpu::Isa;

// Bit equality, NaN equal to NaN (any payload: FCVT and f16_to_f32 keep it alike, but the
// reference's arithmetic may not).
::testing::AssertionResult same_floats(const float* a, const float* b, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (std::memcmp(a + i, b + i, sizeof(float)) != 0)
      return ::testing::AssertionFailure() << "element " << i << ": " << a[i] << " vs reference " << b[i];
  }
  return ::testing::AssertionSuccess();
}

template <class S>
class NeonDequantize : public ::testing::Test {};
using WithNeonDequantizer = ::testing::Types<Q4_0, Q8_0, Q4_K, Q5_K, Q6_K, Int8PerTensor, Int8PerTensorAffine,
                                             Int8PerChannel, Int8PerChannelAffine, Int4G32, Int4G64, Int4G128, NF4,
                                             DenseF16, DenseBF16>;
TYPED_TEST_SUITE(NeonDequantize, WithNeonDequantizer);

TYPED_TEST(NeonDequantize, RowsAreTheReferenceDequantizationBitForBit) {
  using S = TypeParam;
  static_assert(requires { &cpu::DequantizeRows<S, Isa::neon>::rows; }, "a NEON dequantizer is expected here");
  const std::size_t n = 5, k = std::max<std::size_t>(S::block_elems, 32) * 3 + (S::block_elems == 1 ? 7 : 0);
  const auto t = random_tensor<S>(n, k, 17);
  // Rows at an odd address with a padded stride: GGUF data has no alignment guarantee.
  const std::size_t rb = t.row_bytes(), stride = rb + 3;
  std::vector<std::uint8_t> buf(1 + n * stride);
  for (std::size_t r = 0; r < n; ++r) std::memcpy(buf.data() + 1 + r * stride, t.row(r), rb);
  // Rows [1, 5) of the tensor, so per-row parameters are looked up at first_row + r.
  std::vector<float> got((n - 1) * k), want((n - 1) * k);
  cpu::DequantizeRows<S, Isa::neon>::rows(buf.data() + 1 + stride, stride, n - 1, k, got.data(), &t.params(), 1);
  for (std::size_t r = 1; r < n; ++r) S::dequantize_row(t.row(r), k, want.data() + (r - 1) * k, t.params(), r);
  EXPECT_TRUE(same_floats(got.data(), want.data(), got.size())) << S::name;

  if constexpr (std::same_as<typename S::TensorParams, NoTensorParams> && S::block_elems > 1) {
    // GGUF: any bytes are a valid block; scales may be NaN, Inf or subnormal.
    std::mt19937 rng(99);
    std::vector<std::uint8_t> hostile(4 * rb + 1);
    for (auto& b : hostile) b = std::uint8_t(rng());
    std::vector<float> g(4 * k), w(4 * k);
    cpu::DequantizeRows<S, Isa::neon>::rows(hostile.data() + 1, rb, 4, k, g.data(), nullptr, 0);
    for (std::size_t r = 0; r < 4; ++r) S::dequantize_row(hostile.data() + 1 + r * rb, k, w.data() + r * k, {}, r);
    EXPECT_TRUE(same_floats(g.data(), w.data(), g.size())) << S::name << " random bytes";
  }
}

TEST(NeonF32Tile, MatchesDoubleProductsOnOddShapesWithEveryEpilogue) {
  struct Shape {
    std::size_t m0, m1, n, k;
  };
  std::uint32_t seed = 3;
  for (const Shape s : {Shape{0, 1, 1, 1}, Shape{0, 7, 16, 256}, Shape{2, 11, 7, 37}, Shape{0, 5, 13, 99},
                        Shape{1, 4, 3, 4}}) {
    const std::size_t m = s.m1, ldx = s.k + 3, ldy = s.n + 1;
    const auto x = random_floats(m * ldx, seed++);
    const auto panel = random_floats(s.n * s.k, seed++);
    const auto bias = random_floats(s.n, seed++);
    for (bool accumulate : {false, true})
      for (const float* b : {static_cast<const float*>(nullptr), bias.data()}) {
        std::vector<float> y(m * ldy, 0.25f);
        cpu::F32TileArgs a;
        a.x = x.data();
        a.ldx = ldx;
        a.panel = panel.data();
        a.k = s.k;
        a.m0 = s.m0;
        a.m1 = s.m1;
        a.n = s.n;
        a.y = y.data();
        a.ldy = ldy;
        a.bias = b;
        a.accumulate = accumulate;
        cpu::F32Tile<Isa::neon>::tile(a);
        for (std::size_t i = 0; i < m; ++i)
          for (std::size_t j = 0; j < ldy; ++j) {
            const float v = y[i * ldy + j];
            if (i < s.m0 || j >= s.n) {
              ASSERT_EQ(v, 0.25f) << "y(" << i << "," << j << ") outside the tile was written";
              continue;
            }
            double want = (accumulate ? 0.25 : 0.0) + (b ? b[j] : 0.0), mag = std::fabs(want);
            for (std::size_t l = 0; l < s.k; ++l) {
              const double p = double(x[i * ldx + l]) * panel[j * s.k + l];
              want += p;
              mag += std::fabs(p);
            }
            ASSERT_NEAR(v, want, 1e-6 * mag + 1e-30)
                << "M [" << s.m0 << "," << s.m1 << ") N " << s.n << " K " << s.k << " y(" << i << "," << j << ")";
          }
      }
  }
}

}  // namespace
}  // namespace qlinear::test
#endif
