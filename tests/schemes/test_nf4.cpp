// NF4 and NF4 with double-quantized absmax: bitsandbytes' codebook, nearest-level rounding,
// the half-gap error bound, accounting and parameter validation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "qlinear/schemes/nf4.hpp"
#include "qlinear/schemes/quantized_tensor.hpp"
#include "test_util.hpp"

using namespace qlinear;

namespace {
// bitsandbytes csrc/kernels.cu, NF4 data (as float64 literals).
constexpr double bnb_nf4[16] = {-1.0,
                                -0.6961928009986877,
                                -0.5250730514526367,
                                -0.39491748809814453,
                                -0.28444138169288635,
                                -0.18477343022823334,
                                -0.09105003625154495,
                                0.0,
                                0.07958029955625534,
                                0.16093020141124725,
                                0.24611230194568634,
                                0.33791524171829224,
                                0.44070982933044434,
                                0.5626170039176941,
                                0.7229568362236023,
                                1.0};

BlockNF4 nf4_block(const QuantizedTensor<NF4>& t, std::size_t r, std::size_t i) {
  BlockNF4 b;
  std::memcpy(&b, t.row(r) + i * sizeof(BlockNF4), sizeof(BlockNF4));
  return b;
}
BlockNF4DoubleQuant dq_block(const QuantizedTensor<NF4DoubleQuant>& t, std::size_t r, std::size_t i) {
  BlockNF4DoubleQuant b;
  std::memcpy(&b, t.row(r) + i * sizeof(BlockNF4DoubleQuant), sizeof(BlockNF4DoubleQuant));
  return b;
}
}  // namespace

TEST(NF4, CodebookIsBitsandbytes) {
  double widest = 0;
  for (std::uint32_t u = 0; u < 16; ++u) {
    EXPECT_EQ(nf4_level(u), float(bnb_nf4[u])) << u;
    if (u) widest = std::max(widest, double(nf4_level(u)) - nf4_level(u - 1));
  }
  EXPECT_EQ(nf4_level(7), 0.0f);
  EXPECT_FLOAT_EQ(2 * nf4_max_half_gap, float(widest));
}

TEST(NF4, NearestLevelMatchesBruteForce) {
  for (int i = -2000; i <= 2000; ++i) {
    const float v = float(i) / 2000.0f;
    std::uint32_t best = 0;
    for (std::uint32_t u = 1; u < 16; ++u)
      if (std::fabs(v - nf4_level(u)) < std::fabs(v - nf4_level(best))) best = u;
    ASSERT_EQ(nf4_nearest(v), best) << v;
  }
  // Level values map to themselves.
  for (std::uint32_t u = 0; u < 16; ++u) EXPECT_EQ(nf4_nearest(nf4_level(u)), u);
}

TEST(NF4, RoundTripWithinHalfTheWidestGapTimesAbsmax) {
  std::uint32_t seed = 1;
  for (auto [rows, k] : {std::pair<std::size_t, std::size_t>{1, 64}, {3, 128}, {9, 320}}) {
    const auto w = test::random_floats(rows * k, seed++);
    const auto t = QuantizedTensor<NF4>::quantize(w.data(), rows, k);
    const auto back = t.dequantize();
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t i = 0; i < k / 64; ++i) {
        const auto b = nf4_block(t, r, i);
        EXPECT_EQ(b.absmax, float(calibration::absmax(w.data() + r * k + i * 64, 64)));
        for (std::size_t j = 0; j < 64; ++j) {
          const std::size_t e = r * k + i * 64 + j;
          ASSERT_LE(std::fabs(double(w[e]) - back[e]), double(nf4_max_half_gap) * b.absmax * (1 + 1e-6)) << e;
        }
      }
    EXPECT_LT(test::rmse(w.data(), back.data(), w.size()), 0.5);
  }
}

TEST(NF4, NibbleOrderAndLayout) {
  std::vector<float> x(64, 0.0f);
  x[0] = -1.0f;                    // u = 0, low nibble of byte 0
  x[1] = 1.0f;                     // u = 15, high nibble of byte 0
  x[2] = nf4_level(9);             // u = 9, low nibble of byte 1
  BlockNF4 b{};
  NF4::quantize_block(x.data(), b);
  EXPECT_EQ(b.absmax, 1.0f);
  EXPECT_EQ(b.qs[0], 0xF0);
  EXPECT_EQ(b.qs[1], 0x79);  // element 3 is 0: level 7
  EXPECT_EQ(b.qs[31], 0x77);
  float y[64];
  NF4::dequantize_block(b, y);
  for (int j = 0; j < 64; ++j) EXPECT_EQ(y[j], x[std::size_t(j)]);
  EXPECT_EQ(NF4::block_bytes, 36u);
  EXPECT_EQ(NF4DoubleQuant::block_bytes, 33u);
}

TEST(NF4, AccountingAndIds) {
  const std::size_t rows = 8, k = 1024;
  const auto w = test::random_floats(rows * k, 5);
  const auto a = QuantizedTensor<NF4>::quantize(w.data(), rows, k);
  EXPECT_DOUBLE_EQ(a.bits_per_weight(), 4.5);
  const auto b = QuantizedTensor<NF4DoubleQuant>::quantize(w.data(), rows, k);
  EXPECT_DOUBLE_EQ(nominal_bits_per_weight<NF4DoubleQuant>(), 4.125);
  EXPECT_EQ(b.memory_bytes(), rows * k / 64 * 33 + 4 + 4 * rows);
  EXPECT_DOUBLE_EQ(b.bits_per_weight(), 4.125 + 32.0 / k + 32.0 / double(rows * k));
  EXPECT_EQ(NF4::id, SchemeId::nf4);
  EXPECT_EQ(NF4DoubleQuant::id, SchemeId::nf4_double_quant);
  EXPECT_EQ(NF4DoubleQuant::name, "nf4_double_quant");
  static_assert(SelfDescribingRows<NF4> && !SelfDescribingRows<NF4DoubleQuant>);
  EXPECT_EQ(NF4::params_bytes(a.params()), 0u);
}

TEST(NF4, DoubleQuantBoundsAndParameters) {
  const std::size_t rows = 6, k = 512;
  const auto w = test::random_floats(rows * k, 6);
  const auto t = QuantizedTensor<NF4DoubleQuant>::quantize(w.data(), rows, k);
  const auto& p = t.params();
  ASSERT_EQ(p.scale.size(), rows);
  double mean = 0;
  for (std::size_t i = 0; i < rows * k / 64; ++i) mean += calibration::absmax(w.data() + i * 64, 64);
  EXPECT_FLOAT_EQ(p.offset, float(mean / double(rows * k / 64)));
  const auto back = t.dequantize();
  const auto single = QuantizedTensor<NF4>::quantize(w.data(), rows, k).dequantize();
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t i = 0; i < k / 64; ++i) {
      const float amax = float(calibration::absmax(w.data() + r * k + i * 64, 64));
      const float ahat = nf4_absmax_decode(dq_block(t, r, i).absmax_code, p.offset, p.scale[r]);
      ASSERT_LE(std::fabs(amax - ahat), 0.5f * p.scale[r] * (1 + 1e-5f) + 1e-6f * amax);
      const double a = std::max(0.0f, ahat);
      for (std::size_t j = 0; j < 64; ++j) {
        const std::size_t e = r * k + i * 64 + j;
        const double bound = nf4_max_half_gap * a + std::max(0.0, std::fabs(double(w[e])) - a);
        ASSERT_LE(std::fabs(double(w[e]) - back[e]), bound * (1 + 1e-5) + 1e-6) << e;
      }
    }
  // Double quantization costs little accuracy.
  EXPECT_LT(test::rmse(w.data(), back.data(), w.size()), 1.1 * test::rmse(w.data(), single.data(), w.size()));

  // Adopted parameters are validated.
  EXPECT_EQ(QuantizedTensor<NF4DoubleQuant>::adopt(t.bytes(), rows, k, nullptr, p).dequantize(), back);
  auto bad = p;
  bad.scale.pop_back();
  EXPECT_THROW(QuantizedTensor<NF4DoubleQuant>::adopt(t.bytes(), rows, k, nullptr, bad), Error);
  EXPECT_THROW(QuantizedTensor<NF4DoubleQuant>::adopt(t.bytes(), rows, k, nullptr, {}), Error);
  bad = p;
  bad.scale[2] = 0.0f;
  EXPECT_THROW(QuantizedTensor<NF4DoubleQuant>::copy_of(t.bytes(), rows, k, bad), Error);
  bad = p;
  bad.offset = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(QuantizedTensor<NF4DoubleQuant>::copy_of(t.bytes(), rows, k, bad), Error);
  bad.offset = -1.0f;
  EXPECT_THROW(QuantizedTensor<NF4DoubleQuant>::copy_of(t.bytes(), rows, k, bad), Error);
  std::vector<float> y(k);
  EXPECT_THROW(NF4DoubleQuant::dequantize_row(t.row(0), k, y.data(), p, rows), Error);
}

TEST(NF4, BadShapesNonFiniteZeroTinyHuge) {
  const auto w0 = test::random_floats(4 * 128, 7);
  for (std::size_t k : {std::size_t(32), std::size_t(96), std::size_t(0)}) {
    EXPECT_THROW(QuantizedTensor<NF4>::quantize(w0.data(), 2, k), Error) << k;
    EXPECT_THROW(QuantizedTensor<NF4DoubleQuant>::quantize(w0.data(), 2, k), Error) << k;
  }
  auto w = w0;
  w[128 + 70] = std::numeric_limits<float>::quiet_NaN();
  for (int s = 0; s < 2; ++s) {
    try {
      if (s == 0)
        (void)QuantizedTensor<NF4>::quantize(w.data(), 4, 128);
      else
        (void)QuantizedTensor<NF4DoubleQuant>::quantize(w.data(), 4, 128);
      FAIL() << "NaN accepted";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(s == 0 ? "nf4" : "nf4_double_quant"), std::string::npos) << m;
      EXPECT_NE(m.find("row 1"), std::string::npos) << m;
      EXPECT_NE(m.find("index 70"), std::string::npos) << m;
    }
  }
  const std::vector<float> zeros(2 * 128, 0.0f);
  for (float v : QuantizedTensor<NF4>::quantize(zeros.data(), 2, 128).dequantize()) ASSERT_EQ(v, 0.0f);
  for (float v : QuantizedTensor<NF4DoubleQuant>::quantize(zeros.data(), 2, 128).dequantize()) ASSERT_EQ(v, 0.0f);
  for (float mag : {1e-30f, 1e30f}) {
    auto x = test::random_floats(2 * 128, 8, 1.0f, 0.0f);
    for (auto& v : x) v *= mag;
    const auto a = QuantizedTensor<NF4>::quantize(x.data(), 2, 128).dequantize();
    const auto b = QuantizedTensor<NF4DoubleQuant>::quantize(x.data(), 2, 128).dequantize();
    const double amax = calibration::absmax(x.data(), x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      ASSERT_TRUE(std::isfinite(a[i]) && std::isfinite(b[i]));
      ASSERT_LE(std::fabs(double(x[i]) - a[i]), nf4_max_half_gap * amax * 1.0001) << mag;
      ASSERT_LE(std::fabs(double(x[i]) - b[i]), 0.3 * amax) << mag;
    }
  }
}

TEST(NF4, MseSearchIsNeverWorseThanAbsmaxPerBlock) {
  const std::size_t rows = 8, k = 256;
  const auto w = test::random_floats(rows * k, 9, 1.0f, 0.03f);
  QuantizeOptions o;
  o.calibration = Calibration::mse;
  const auto a = QuantizedTensor<NF4>::quantize(w.data(), rows, k).dequantize();
  const auto t = QuantizedTensor<NF4>::quantize(w.data(), rows, k, o);
  const auto b = t.dequantize();
  double ta = 0, tb = 0;
  for (std::size_t g = 0; g < rows * k / 64; ++g) {
    double ea = 0, eb = 0;
    for (std::size_t j = g * 64; j < g * 64 + 64; ++j) {
      ea += (double(w[j]) - a[j]) * (double(w[j]) - a[j]);
      eb += (double(w[j]) - b[j]) * (double(w[j]) - b[j]);
    }
    ASSERT_LE(eb, ea) << "block " << g;
    ta += ea, tb += eb;
  }
  EXPECT_LT(tb, ta);  // and better somewhere
  // The chosen scales lie in [mse_min_ratio, 1] · absmax; the bytes decode without the options.
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t i = 0; i < k / 64; ++i) {
      const float amax = float(calibration::absmax(w.data() + r * k + i * 64, 64));
      const float s = nf4_block(t, r, i).absmax;
      EXPECT_LE(s, amax);
      EXPECT_GE(s, 0.5f * amax * (1 - 1e-6f));
    }
  EXPECT_EQ(QuantizedTensor<NF4>::copy_of(t.bytes(), rows, k).dequantize(), b);
}
