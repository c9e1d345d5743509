// Clipping-range calibration: min/max covers everything, percentile clips, the MSE search is
// never worse than min/max (and better where outliers dominate), and bad options are rejected.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "qlinear/schemes/calibration.hpp"
#include "qlinear/schemes/int4.hpp"
#include "qlinear/schemes/int8.hpp"
#include "qlinear/schemes/nf4.hpp"
#include "qlinear/schemes/quantized_tensor.hpp"
#include "test_util.hpp"

using namespace qlinear;

namespace {

QuantizeOptions with(Calibration c) {
  QuantizeOptions o;
  o.calibration = c;
  return o;
}

template <class S>
double sse_of(const std::vector<float>& w, std::size_t rows, std::size_t cols, const QuantizeOptions& o) {
  const auto t = QuantizedTensor<S>::quantize(w.data(), rows, cols, o);
  const auto back = t.dequantize();
  double s = 0.0;
  for (std::size_t i = 0; i < w.size(); ++i) s += (double(w[i]) - back[i]) * (double(w[i]) - back[i]);
  return s;
}

// Gaussian data plus one huge outlier: clipping it pays for itself on a large tensor.
std::vector<float> one_outlier(std::size_t n, std::uint32_t seed) {
  auto v = test::random_floats(n, seed, 1.0f, 0.0f);
  v[n / 3] = 150.0f;
  return v;
}

}  // namespace

TEST(Calibration, PercentileOfMatchesHandComputedValues) {
  std::vector<float> v(101);
  std::iota(v.begin(), v.end(), 0.0f);  // 0..100
  auto a = v;
  EXPECT_DOUBLE_EQ(calibration::percentile_of(a, 100.0), 100.0);
  a = v;
  EXPECT_DOUBLE_EQ(calibration::percentile_of(a, 99.0), 99.0);
  a = v;
  EXPECT_DOUBLE_EQ(calibration::percentile_of(a, 99.5), 99.5);  // interpolated
  a = {3.0f, 1.0f, 2.0f, 4.0f};
  EXPECT_DOUBLE_EQ(calibration::percentile_of(a, 50.0), 2.5);
}

TEST(Calibration, MinmaxCoversTheWholeRange) {
  const auto x = test::random_floats(1000, 1);
  EXPECT_DOUBLE_EQ(calibration::symmetric_clip(x.data(), x.size(), {}), calibration::absmax(x.data(), x.size()));
  const ClipRange r = calibration::affine_range(x.data(), x.size(), {});
  EXPECT_EQ(r.lo, *std::min_element(x.begin(), x.end()));
  EXPECT_EQ(r.hi, *std::max_element(x.begin(), x.end()));
  // The affine range always holds 0, so 0 is exact even for all-positive data.
  const std::vector<float> pos = {1.0f, 2.0f, 3.0f};
  EXPECT_EQ(calibration::affine_range(pos.data(), 3, {}).lo, 0.0f);
}

TEST(Calibration, PercentileClipsOutliers) {
  const auto x = test::random_floats(20000, 2);  // 1% outliers at 20x
  QuantizeOptions o = with(Calibration::percentile);
  o.percentile = 99.0;
  const double amax = calibration::absmax(x.data(), x.size());
  const double c = calibration::symmetric_clip(x.data(), x.size(), o);
  EXPECT_LT(c, amax / 2);
  std::size_t above = 0;
  for (float v : x) above += std::fabs(v) > c;
  EXPECT_NEAR(double(above) / double(x.size()), 0.01, 0.002);
  o.percentile = 100.0;
  EXPECT_DOUBLE_EQ(calibration::symmetric_clip(x.data(), x.size(), o), amax);

  // Affine: low and high percentiles separately.
  o.percentile = 99.0;
  const ClipRange r = calibration::affine_range(x.data(), x.size(), o);
  const ClipRange full = calibration::affine_range(x.data(), x.size(), {});
  EXPECT_GT(r.lo, full.lo);
  EXPECT_LT(r.hi, full.hi);
  std::size_t below = 0, over = 0;
  for (float v : x) below += v < r.lo, over += v > r.hi;
  EXPECT_NEAR(double(below) / double(x.size()), 0.01, 0.002);
  EXPECT_NEAR(double(over) / double(x.size()), 0.01, 0.002);

  // The clipped elements of a quantized tensor decode to the clipping bound.
  const auto t = QuantizedTensor<Int8PerTensor>::quantize(x.data(), 100, 200, o);
  const auto back = t.dequantize();
  const float s = Int8PerTensor::scale_of(t.params(), 0);
  for (std::size_t i = 0; i < x.size(); ++i)
    if (std::fabs(x[i]) > 127 * s) {
      ASSERT_EQ(std::fabs(back[i]), 127 * s) << i;
    }
}

TEST(Calibration, MseIsNeverWorseThanMinmaxAndBetterWithAnOutlier) {
  for (std::uint32_t seed : {3u, 4u, 5u}) {
    const auto x = test::random_floats(64 * 128, seed);
    EXPECT_LE(sse_of<Int8PerTensor>(x, 64, 128, with(Calibration::mse)),
              sse_of<Int8PerTensor>(x, 64, 128, with(Calibration::minmax)));
    EXPECT_LE(sse_of<Int8PerChannel>(x, 64, 128, with(Calibration::mse)),
              sse_of<Int8PerChannel>(x, 64, 128, with(Calibration::minmax)));
    EXPECT_LE(sse_of<Int8PerTensorAffine>(x, 64, 128, with(Calibration::mse)),
              sse_of<Int8PerTensorAffine>(x, 64, 128, with(Calibration::minmax)));
    EXPECT_LE(sse_of<Int8PerChannelAffine>(x, 64, 128, with(Calibration::mse)),
              sse_of<Int8PerChannelAffine>(x, 64, 128, with(Calibration::minmax)));
    EXPECT_LE(sse_of<Int4G32>(x, 64, 128, with(Calibration::mse)), sse_of<Int4G32>(x, 64, 128, {}));
    EXPECT_LE(sse_of<Int4G128Affine>(x, 64, 128, with(Calibration::mse)), sse_of<Int4G128Affine>(x, 64, 128, {}));
    EXPECT_LE(sse_of<NF4>(x, 64, 128, with(Calibration::mse)), sse_of<NF4>(x, 64, 128, {}));
  }
  const auto y = one_outlier(256 * 256, 6);
  const double mse = sse_of<Int8PerTensor>(y, 256, 256, with(Calibration::mse));
  const double minmax = sse_of<Int8PerTensor>(y, 256, 256, with(Calibration::minmax));
  EXPECT_LT(mse, 0.8 * minmax);
  // Affine spends only (150 − min)/255 per step on the outlier, so clipping gains less.
  EXPECT_LT(sse_of<Int8PerTensorAffine>(y, 256, 256, with(Calibration::mse)),
            0.95 * sse_of<Int8PerTensorAffine>(y, 256, 256, with(Calibration::minmax)));
  // The chosen clip is inside the grid [mse_min_ratio, 1] · max|x|.
  const double c = calibration::symmetric_clip(y.data(), y.size(), with(Calibration::mse));
  EXPECT_GE(c, 0.5 * 150.0 - 1e-9);
  EXPECT_LT(c, 150.0);
}

TEST(Calibration, MseWithOneGridPointIsMinmax) {
  const auto x = test::random_floats(4096, 7);
  QuantizeOptions o = with(Calibration::mse);
  o.mse_grid_points = 1;
  EXPECT_EQ(calibration::symmetric_clip(x.data(), x.size(), o), calibration::absmax(x.data(), x.size()));
  EXPECT_EQ(calibration::affine_range(x.data(), x.size(), o), calibration::affine_range(x.data(), x.size(), {}));
}

TEST(Calibration, RejectsBadOptions) {
  const auto x = test::random_floats(256, 8);
  QuantizeOptions o = with(Calibration::percentile);
  for (double p : {50.0, 10.0, 100.5, -1.0, std::numeric_limits<double>::quiet_NaN()}) {
    o.percentile = p;
    EXPECT_THROW(QuantizedTensor<Int8PerTensor>::quantize(x.data(), 2, 128, o), Error) << p;
  }
  o.percentile = 50.5;
  EXPECT_NO_THROW(QuantizedTensor<Int8PerChannelAffine>::quantize(x.data(), 2, 128, o));
  o = with(Calibration::mse);
  o.mse_grid_points = 0;
  EXPECT_THROW(QuantizedTensor<Int8PerChannel>::quantize(x.data(), 2, 128, o), Error);
  o.mse_grid_points = 10;
  for (double r : {0.0, -0.5, 1.5}) {
    o.mse_min_ratio = r;
    EXPECT_THROW(QuantizedTensor<Int8PerChannel>::quantize(x.data(), 2, 128, o), Error) << r;
  }
  o = with(Calibration(42));
  EXPECT_THROW(QuantizedTensor<Int8PerChannel>::quantize(x.data(), 2, 128, o), Error);
}

TEST(Calibration, PercentileIsForInt8OnlyAndDoubleQuantNf4TakesMinmaxOnly) {
  const auto x = test::random_floats(256, 9);
  const QuantizeOptions p = with(Calibration::percentile);
  try {
    (void)QuantizedTensor<Int4G32>::quantize(x.data(), 2, 128, p);
    FAIL() << "percentile accepted by int4";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("int8"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("int4_g32"), std::string::npos) << e.what();
  }
  EXPECT_THROW(QuantizedTensor<Int4G64Affine>::quantize(x.data(), 2, 128, p), Error);
  EXPECT_THROW(QuantizedTensor<NF4>::quantize(x.data(), 2, 128, p), Error);
  EXPECT_THROW(QuantizedTensor<NF4DoubleQuant>::quantize(x.data(), 2, 128, with(Calibration::mse)), Error);
  // A hand-built RowQuantizer asking for percentile is refused too.
  std::vector<std::uint8_t> out(row_bytes<Int4G32>(128));
  EXPECT_THROW(Int4G32::quantize_row(x.data(), 128, out.data(), RowQuantizer{Calibration::percentile}, 0), Error);
}
