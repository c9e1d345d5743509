// int8 per-tensor / per-channel, symmetric / affine: round trips within half a scale step,
// exact zeros, extreme values, accounting, and validation of adopted parameters.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "qlinear/schemes/int8.hpp"
#include "qlinear/schemes/quantized_tensor.hpp"
#include "test_util.hpp"

using namespace qlinear;

template <class S>
class Int8 : public ::testing::Test {};
using Int8Schemes = ::testing::Types<Int8PerTensor, Int8PerTensorAffine, Int8PerChannel, Int8PerChannelAffine>;
TYPED_TEST_SUITE(Int8, Int8Schemes);

namespace {
// |x − x̂| <= s/2 inside the calibrated (min/max) range, plus float rounding of s·q.
template <class S>
void expect_within_half_step(const std::vector<float>& w, const QuantizedTensor<S>& t) {
  const auto back = t.dequantize();
  for (std::size_t r = 0; r < t.rows(); ++r) {
    const float s = S::scale_of(t.params(), r);
    for (std::size_t c = 0; c < t.cols(); ++c) {
      const std::size_t i = r * t.cols() + c;
      const double bound = 0.5 * double(s) * (1 + 1e-6) + 1e-6 * std::fabs(double(w[i]));
      ASSERT_LE(std::fabs(double(w[i]) - double(back[i])), bound) << S::name << " row " << r << " col " << c;
    }
  }
}
}  // namespace

TYPED_TEST(Int8, RoundTripWithinHalfAStepOverShapes) {
  using S = TypeParam;
  std::uint32_t seed = 1;
  for (auto [rows, cols] : {std::pair<std::size_t, std::size_t>{1, 1}, {3, 17}, {8, 256}, {5, 1000}, {64, 64}}) {
    const auto w = test::random_floats(rows * cols, seed++);
    const auto t = QuantizedTensor<S>::quantize(w.data(), rows, cols);
    S::validate_params(t.params(), rows, cols);
    EXPECT_EQ(t.params().scale.size(), S::per_channel ? rows : 1u);
    EXPECT_EQ(t.params().zero_point.size(), S::affine ? t.params().scale.size() : 0u);
    expect_within_half_step(w, t);
    // The row bytes are the int8 codes, in order.
    const float s = S::scale_of(t.params(), rows - 1);
    const std::int32_t zp = S::zero_point_of(t.params(), rows - 1);
    const auto* q = reinterpret_cast<const std::int8_t*>(t.row(rows - 1));
    EXPECT_EQ(t.dequantize()[(rows - 1) * cols], s * float(q[0] - zp));
    if constexpr (!S::affine) {
      for (std::size_t i = 0; i < t.bytes().size(); ++i) ASSERT_NE(std::int8_t(t.bytes()[i]), -128);
    }
  }
}

TYPED_TEST(Int8, ZeroIsExactAndZeroRowsStayZero) {
  using S = TypeParam;
  const std::size_t rows = 4, cols = 96;
  auto w = test::random_floats(rows * cols, 10);
  for (std::size_t i = 0; i < w.size(); i += 7) w[i] = 0.0f;
  for (std::size_t c = 0; c < cols; ++c) w[2 * cols + c] = 0.0f;  // an all-zero row
  const auto t = QuantizedTensor<S>::quantize(w.data(), rows, cols);
  const auto back = t.dequantize();
  for (std::size_t i = 0; i < w.size(); ++i)
    if (w[i] == 0.0f) {
      ASSERT_EQ(back[i], 0.0f) << i;
    }
  // A tensor of zeros: valid (positive) scales, all zeros back.
  const std::vector<float> zeros(rows * cols, 0.0f);
  const auto z = QuantizedTensor<S>::quantize(zeros.data(), rows, cols);
  S::validate_params(z.params(), rows, cols);
  for (float v : z.dequantize()) ASSERT_EQ(v, 0.0f);
}

TYPED_TEST(Int8, TinyAndHugeValues) {
  using S = TypeParam;
  for (float mag : {1e-30f, 1e30f, 3e38f}) {
    auto w = test::random_floats(2 * 64, 11, 1.0f, 0.0f);
    const double amax = calibration::absmax(w.data(), w.size());
    for (auto& v : w) v = float(double(v) / amax * mag);
    const auto t = QuantizedTensor<S>::quantize(w.data(), 2, 64);
    S::validate_params(t.params(), 2, 64);
    expect_within_half_step(w, t);
    const auto back = t.dequantize();
    for (float v : back) ASSERT_TRUE(std::isfinite(v)) << mag;
    EXPECT_LT(test::rmse(w.data(), back.data(), w.size()), 0.01 * mag) << mag;
  }
}

TYPED_TEST(Int8, NonFiniteInputIsRejectedByName) {
  using S = TypeParam;
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    auto w = test::random_floats(3 * 32, 12);
    w[2 * 32 + 5] = bad;
    try {
      (void)QuantizedTensor<S>::quantize(w.data(), 3, 32);
      FAIL() << "accepted " << bad;
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(std::string(S::name)), std::string::npos) << m;
      EXPECT_NE(m.find("row 2"), std::string::npos) << m;
      EXPECT_NE(m.find("index 5"), std::string::npos) << m;
    }
    // quantize_row checks too, for callers that bypass calibrate.
    const auto ok = QuantizedTensor<S>::quantize(w.data(), 1, 32);
    std::vector<std::uint8_t> out(32);
    EXPECT_THROW(S::quantize_row(w.data() + 64, 32, out.data(), ok.params(), 0), Error);
  }
}

TYPED_TEST(Int8, AccountingCountsScalesAndZeroPoints) {
  using S = TypeParam;
  const std::size_t rows = 16, cols = 512;
  const auto w = test::random_floats(rows * cols, 13);
  const auto t = QuantizedTensor<S>::quantize(w.data(), rows, cols);
  const std::size_t groups = S::per_channel ? rows : 1;
  const std::size_t per_group = S::affine ? 8 : 4;
  EXPECT_EQ(t.bytes().size(), rows * cols);
  EXPECT_EQ(t.memory_bytes(), rows * cols + groups * per_group);
  EXPECT_DOUBLE_EQ(t.bits_per_weight(), 8.0 + 8.0 * double(groups * per_group) / double(rows * cols));
  EXPECT_EQ(nominal_bits_per_weight<S>(), 8.0);
  EXPECT_EQ(row_bytes<S>(7), 7u);
}

TYPED_TEST(Int8, AdoptValidatesParameters) {
  using S = TypeParam;
  const std::size_t rows = 3, cols = 40;
  const auto w = test::random_floats(rows * cols, 14);
  const auto t = QuantizedTensor<S>::quantize(w.data(), rows, cols);
  const auto good = t.params();
  // Correct parameters: the adopted tensor decodes like the original.
  const auto copy = QuantizedTensor<S>::adopt(t.bytes(), rows, cols, nullptr, good);
  EXPECT_EQ(copy.dequantize(), t.dequantize());

  auto bad = good;
  bad.scale.push_back(1.0f);
  EXPECT_THROW(QuantizedTensor<S>::adopt(t.bytes(), rows, cols, nullptr, bad), Error);
  bad = good;
  bad.scale.pop_back();
  EXPECT_THROW(QuantizedTensor<S>::adopt(t.bytes(), rows, cols, nullptr, bad), Error);
  EXPECT_THROW(QuantizedTensor<S>::adopt(t.bytes(), rows, cols, nullptr, {}), Error);
  for (float s : {0.0f, -1.0f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    bad = good;
    bad.scale[0] = s;
    EXPECT_THROW(QuantizedTensor<S>::copy_of(t.bytes(), rows, cols, bad), Error) << s;
  }
  bad = good;
  if constexpr (S::affine) {
    bad.zero_point[0] = 128;
    EXPECT_THROW(QuantizedTensor<S>::adopt(t.bytes(), rows, cols, nullptr, bad), Error);
    bad.zero_point[0] = -129;
    EXPECT_THROW(QuantizedTensor<S>::adopt(t.bytes(), rows, cols, nullptr, bad), Error);
    bad.zero_point.pop_back();
    EXPECT_THROW(QuantizedTensor<S>::adopt(t.bytes(), rows, cols, nullptr, bad), Error);
  } else {
    bad.zero_point.assign(bad.scale.size(), 0);  // a symmetric scheme has no zero points
    EXPECT_THROW(QuantizedTensor<S>::adopt(t.bytes(), rows, cols, nullptr, bad), Error);
  }
  // Rows beyond the parameters are refused, not read out of bounds.
  std::vector<float> y(cols);
  if constexpr (S::per_channel) {
    EXPECT_THROW(S::dequantize_row(t.row(0), cols, y.data(), good, rows), Error);
  }
  EXPECT_THROW(S::dequantize_row(t.row(0), cols, y.data(), Int8Params{}, 0), Error);
}

TEST(Int8Schemes, PerChannelScalesFollowEachRow) {
  // Row 0 is 1000x smaller than row 1: per channel it keeps its precision, per tensor it does not.
  const std::size_t cols = 256;
  auto w = test::random_floats(2 * cols, 15, 1.0f, 0.0f);
  for (std::size_t c = 0; c < cols; ++c) w[c] *= 1e-3f;
  const auto pc = QuantizedTensor<Int8PerChannel>::quantize(w.data(), 2, cols);
  const auto pt = QuantizedTensor<Int8PerTensor>::quantize(w.data(), 2, cols);
  EXPECT_NEAR(Int8PerChannel::scale_of(pc.params(), 1) / Int8PerChannel::scale_of(pc.params(), 0), 1000.0f, 300.0f);
  const auto a = pc.dequantize(), b = pt.dequantize();
  EXPECT_LT(test::rmse(w.data(), a.data(), cols) * 20, test::rmse(w.data(), b.data(), cols));
}

TEST(Int8Schemes, IdsNamesAndKnownValues) {
  EXPECT_EQ(Int8PerTensor::id, SchemeId::int8_per_tensor);
  EXPECT_EQ(Int8PerTensorAffine::id, SchemeId::int8_per_tensor_affine);
  EXPECT_EQ(Int8PerChannel::id, SchemeId::int8_per_channel);
  EXPECT_EQ(Int8PerChannelAffine::id, SchemeId::int8_per_channel_affine);
  EXPECT_EQ(Int8PerChannelAffine::name, "int8_per_channel_affine");
  static_assert(!SelfDescribingRows<Int8PerChannel>);
  // Symmetric: max |x| = 127 gives s = 1, and x = 3.4 → q = 3.
  const std::vector<float> w = {127.0f, -3.4f, 2.5f, 0.0f};
  const auto t = QuantizedTensor<Int8PerTensor>::quantize(w.data(), 1, 4);
  EXPECT_EQ(t.params().scale[0], 1.0f);
  const auto* q = reinterpret_cast<const std::int8_t*>(t.row(0));
  EXPECT_EQ(q[0], 127);
  EXPECT_EQ(q[1], -3);
  EXPECT_EQ(q[2], 2);  // round half to even
  // Affine over [0, 255]: s = 1, zp = -128, so 0 ↦ -128 and 255 ↦ 127.
  const std::vector<float> u = {0.0f, 255.0f, 100.0f};
  const auto a = QuantizedTensor<Int8PerTensorAffine>::quantize(u.data(), 1, 3);
  EXPECT_EQ(a.params().scale[0], 1.0f);
  EXPECT_EQ(a.params().zero_point[0], -128);
  EXPECT_EQ(a.dequantize(), u);
  EXPECT_EQ(int8_decode(std::int8_t(5), 0.5f, -3), 4.0f);
}
