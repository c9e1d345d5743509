// Grouped int4, symmetric (Q4_0-style scale) and affine (Q4_1-style), groups 32/64/128:
// error bounds derived from the format, nibble order, accounting, MSE search, bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "qlinear/schemes/int4.hpp"
#include "qlinear/schemes/quantized_tensor.hpp"
#include "test_util.hpp"

using namespace qlinear;

template <class S>
class Int4All : public ::testing::Test {};
using Int4Schemes = ::testing::Types<Int4G32, Int4G64, Int4G128, Int4G32Affine, Int4G64Affine, Int4G128Affine>;
TYPED_TEST_SUITE(Int4All, Int4Schemes);

namespace {

template <class S>
constexpr bool is_affine = std::is_same_v<typename S::Block, BlockInt4Affine<S::group>>;

template <class S>
typename S::Block block_at(const std::uint8_t* row, std::size_t i) {
  typename S::Block b;
  std::memcpy(&b, row + i * S::block_bytes, S::block_bytes);
  return b;
}

// Symmetric: |x − x̂| <= max(d/2, |x| − 7d) with d the stored scale (the value of largest
// magnitude sits on −8·d; the other side reaches only 7·d). Affine: d/2 inside the grid
// [m, m + 15d], else the distance to it. Both plus float rounding.
template <class S>
void expect_bounded(const std::vector<float>& w, const QuantizedTensor<S>& t) {
  const auto back = t.dequantize();
  const std::size_t k = t.cols();
  for (std::size_t r = 0; r < t.rows(); ++r)
    for (std::size_t g = 0; g < k / S::block_elems; ++g) {
      const auto b = block_at<S>(t.row(r), g);
      const double d = std::fabs(double(b.d.to_float()));
      for (std::size_t j = 0; j < S::block_elems; ++j) {
        const std::size_t i = r * k + g * S::block_elems + j;
        const double x = w[i];
        double bound;
        if constexpr (is_affine<S>) {
          const double m = b.m.to_float();
          bound = 0.5 * d + std::max({0.0, m - x, x - (m + 15 * d)});
        } else {
          bound = std::max(0.5 * d, std::fabs(x) - 7 * d);
        }
        bound = bound * (1 + 1e-6) + 1e-6 * std::fabs(x) + 1e-37;
        ASSERT_LE(std::fabs(x - double(back[i])), bound) << S::name << " row " << r << " group " << g << " j " << j;
      }
    }
}

}  // namespace

TYPED_TEST(Int4All, RoundTripWithinTheFormatsBoundOverShapes) {
  using S = TypeParam;
  std::uint32_t seed = 1;
  for (auto [rows, groups] : {std::pair<std::size_t, std::size_t>{1, 1}, {3, 2}, {7, 5}, {16, 4}}) {
    const std::size_t k = groups * S::block_elems;
    for (float scale : {1.0f, 0.02f, 300.0f}) {
      const auto w = test::random_floats(rows * k, seed++, scale);
      const auto t = QuantizedTensor<S>::quantize(w.data(), rows, k);
      expect_bounded(w, t);
      QuantizeOptions o;
      o.calibration = Calibration::mse;
      o.mse_grid_points = 20;
      expect_bounded(w, QuantizedTensor<S>::quantize(w.data(), rows, k, o));
      // Nothing decodes worse than the coarsest bound: one step of the group's scale.
      const auto back = t.dequantize();
      EXPECT_LT(test::rmse(w.data(), back.data(), w.size()), 0.2 * double(scale) * 20);
    }
  }
}

TYPED_TEST(Int4All, AccountingIsTheFormats) {
  using S = TypeParam;
  const std::size_t rows = 6, k = 512;
  const auto w = test::random_floats(rows * k, 20);
  const auto t = QuantizedTensor<S>::quantize(w.data(), rows, k);
  const double expected = (is_affine<S> ? 32.0 : 16.0) / S::group + 4.0;
  EXPECT_DOUBLE_EQ(nominal_bits_per_weight<S>(), expected);
  EXPECT_DOUBLE_EQ(t.bits_per_weight(), expected);
  EXPECT_EQ(t.memory_bytes(), rows * (k / S::group) * ((is_affine<S> ? 4 : 2) + S::group / 2));
  EXPECT_EQ(S::params_bytes(t.params()), 0u);
  static_assert(SelfDescribingRows<S>);
}

TYPED_TEST(Int4All, RowsMustBeWholeGroups) {
  using S = TypeParam;
  const auto w = test::random_floats(4 * 256, 21);
  for (std::size_t k : {S::block_elems - 1, S::block_elems + 16, std::size_t(16), std::size_t(0)}) {
    EXPECT_THROW(QuantizedTensor<S>::quantize(w.data(), 2, k), Error) << k;
    EXPECT_THROW(row_bytes<S>(k), Error) << k;
  }
  try {
    (void)row_bytes<S>(S::block_elems + 16);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(std::string(S::name)), std::string::npos) << e.what();
  }
}

TYPED_TEST(Int4All, NonFiniteInputIsRejectedByName) {
  using S = TypeParam;
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    auto w = test::random_floats(2 * S::block_elems, 22);
    w[S::block_elems + 9] = bad;
    try {
      (void)QuantizedTensor<S>::quantize(w.data(), 2, S::block_elems);
      FAIL() << "accepted " << bad;
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(std::string(S::name)), std::string::npos) << m;
      EXPECT_NE(m.find("row 1"), std::string::npos) << m;
      EXPECT_NE(m.find("index 9"), std::string::npos) << m;
    }
  }
}

TYPED_TEST(Int4All, ZeroTinyAndHugeValues) {
  using S = TypeParam;
  const std::size_t k = 2 * S::block_elems;
  const std::vector<float> zeros(2 * k, 0.0f);
  for (float v : QuantizedTensor<S>::quantize(zeros.data(), 2, k).dequantize()) ASSERT_EQ(v, 0.0f);
  // Tiny: the f16 scale underflows, the group decodes to zeros, the error is the tiny value.
  auto w = test::random_floats(k, 23, 1.0f, 0.0f);
  for (auto& v : w) v *= 1e-30f;
  const auto tiny = QuantizedTensor<S>::quantize(w.data(), 1, k).dequantize();
  for (std::size_t i = 0; i < k; ++i) ASSERT_LE(std::fabs(tiny[i] - w[i]), 1e-29f);
  // Large but representable: 1e4 (symmetric scale 1250, affine scale ~1300 and min -1e4) is fine.
  w = test::random_floats(k, 24, 1.0f, 0.0f);
  const double amax = calibration::absmax(w.data(), k);
  for (auto& v : w) v = float(double(v) / amax * 1e4);
  expect_bounded(w, QuantizedTensor<S>::quantize(w.data(), 1, k));
  // Huge: an f16 scale cannot hold it, so the quantizer says so.
  w[3] = 1e30f;
  try {
    (void)QuantizedTensor<S>::quantize(w.data(), 1, k);
    FAIL() << "accepted 1e30";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f16"), std::string::npos) << e.what();
  }
}

TYPED_TEST(Int4All, MseIsNeverWorseThanMinmaxPerGroup) {
  using S = TypeParam;
  const std::size_t rows = 8, k = 4 * S::block_elems;
  const auto w = test::random_floats(rows * k, 25, 1.0f, 0.05f);
  QuantizeOptions o;
  o.calibration = Calibration::mse;
  const auto a = QuantizedTensor<S>::quantize(w.data(), rows, k).dequantize();
  const auto b = QuantizedTensor<S>::quantize(w.data(), rows, k, o).dequantize();
  double total_a = 0, total_b = 0;
  for (std::size_t g = 0; g < rows * k / S::block_elems; ++g) {
    double ea = 0, eb = 0;
    for (std::size_t j = 0; j < S::block_elems; ++j) {
      const std::size_t i = g * S::block_elems + j;
      ea += (double(w[i]) - a[i]) * (double(w[i]) - a[i]);
      eb += (double(w[i]) - b[i]) * (double(w[i]) - b[i]);
    }
    ASSERT_LE(eb, ea * (1 + 1e-12)) << "group " << g;
    total_a += ea, total_b += eb;
  }
  EXPECT_LT(total_b, total_a);  // the search finds better scales somewhere
}

TEST(Int4, NibbleOrderIsLowNibbleFirst) {
  // Elements −8..7 (times 0.5) in order, so codes u = 0..15 in order, with a group max of −4.
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[std::size_t(j)] = 0.5f * float((j % 16) - 8);
  BlockInt4<32> b{};
  Int4G32::quantize_block(x.data(), b, {});
  EXPECT_EQ(b.d.to_float(), 0.5f);
  EXPECT_EQ(b.qs[0], 0x10);  // element 0 (u=0) low, element 1 (u=1) high
  EXPECT_EQ(b.qs[7], 0xFE);  // elements 14, 15: u=14 low, u=15 high
  for (int j = 0; j < 32; ++j) EXPECT_EQ(nibble_at(b.qs, j), std::uint32_t(j % 16));
  float y[32];
  Int4G32::dequantize_block(b, y);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], x[std::size_t(j)]);

  // Affine: 0..15 over [1, 16] → d = 1, m = 1, codes 0..15.
  std::vector<float> a(64);
  for (int j = 0; j < 64; ++j) a[std::size_t(j)] = float(j % 16 + 1);
  BlockInt4Affine<64> c{};
  Int4G64Affine::quantize_block(a.data(), c, {});
  EXPECT_EQ(c.d.to_float(), 1.0f);
  EXPECT_EQ(c.m.to_float(), 1.0f);
  EXPECT_EQ(c.qs[0], 0x10);
  float z[64];
  Int4G64Affine::dequantize_block(c, z);
  for (int j = 0; j < 64; ++j) EXPECT_EQ(z[j], a[std::size_t(j)]);

  std::uint8_t qs[2] = {0xAB, 0x00};
  set_nibble(qs, 2, 7);
  set_nibble(qs, 1, 3);
  EXPECT_EQ(qs[0], 0x3B);
  EXPECT_EQ(qs[1], 0x07);
}

TEST(Int4, SymmetricScaleIsSignedMaxOverMinusEightAndRequantizingIsStable) {
  const std::size_t k = 128;
  auto w = test::random_floats(4 * k, 30);
  const auto t = QuantizedTensor<Int4G128>::quantize(w.data(), 4, k);
  for (std::size_t r = 0; r < 4; ++r) {
    float vmax = 0;
    for (std::size_t j = 0; j < k; ++j)
      if (std::fabs(w[r * k + j]) > std::fabs(vmax)) vmax = w[r * k + j];
    EXPECT_EQ(block_at<Int4G128>(t.row(r), 0).d.bits, f32_to_f16(vmax / -8.0f));
  }
  const auto back = t.dequantize();
  const auto again = QuantizedTensor<Int4G128>::quantize(back.data(), 4, k);
  EXPECT_TRUE(std::equal(t.bytes().begin(), t.bytes().end(), again.bytes().begin()));
  EXPECT_EQ(Int4G128::id, SchemeId::int4_g128);
  EXPECT_EQ(Int4G32Affine::id, SchemeId::int4_g32_affine);
  EXPECT_EQ(Int4G64Affine::name, "int4_g64_affine");
}

TEST(Int4, RawBytesDecodeWithDefaultParams) {
  // Rows carry their own scales: bytes copied elsewhere decode with a default RowQuantizer.
  const std::size_t k = 64;
  const auto w = test::random_floats(3 * k, 31);
  QuantizeOptions o;
  o.calibration = Calibration::mse;
  const auto t = QuantizedTensor<Int4G64>::quantize(w.data(), 3, k, o);
  EXPECT_EQ(t.params().calibration, Calibration::mse);
  const auto copy = QuantizedTensor<Int4G64>::copy_of(t.bytes(), 3, k);
  EXPECT_EQ(copy.dequantize(), t.dequantize());
  EXPECT_THROW(QuantizedTensor<Int4G64>::copy_of(t.bytes().first(t.bytes().size() - 1), 3, k), Error);
}
