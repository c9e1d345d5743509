// Every GGUF scheme on seeded random data of several row lengths, on rows that are not a whole
// number of blocks, on extreme values (huge, tiny, zero, constant) and on non-finite input.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "qlinear/schemes/gguf/all.hpp"
#include "test_util.hpp"

namespace {

using namespace qlinear;

// Worst relative RMSE (rmse / rms(x)) over the sweep below, about 1.25x what ggml's algorithms
// give on this data (Gaussian with 1% outliers x20): a gross-regression budget; exactness is
// checked against ggml's own bytes in test_gguf_vectors.cpp.
template <class S>
constexpr double kBudget = 0;
template <> constexpr double kBudget<Q4_0> = 0.24;
template <> constexpr double kBudget<Q4_1> = 0.16;
template <> constexpr double kBudget<Q5_0> = 0.12;
template <> constexpr double kBudget<Q5_1> = 0.085;
template <> constexpr double kBudget<Q8_0> = 0.016;
template <> constexpr double kBudget<Q8_1> = 0.016;
template <> constexpr double kBudget<Q2_K> = 0.45;
template <> constexpr double kBudget<Q3_K> = 0.28;
template <> constexpr double kBudget<Q4_K> = 0.15;
template <> constexpr double kBudget<Q5_K> = 0.075;
template <> constexpr double kBudget<Q6_K> = 0.042;
template <> constexpr double kBudget<Q8_K> = 0.038;
template <> constexpr double kBudget<IQ4_NL> = 0.18;
template <> constexpr double kBudget<IQ4_XS> = 0.18;

double rms(const std::vector<float>& x) {
  double s = 0;
  for (float v : x) s += double(v) * v;
  return std::sqrt(s / double(x.size()));
}

template <class S>
std::vector<float> roundtrip(const std::vector<float>& x, std::vector<std::uint8_t>* bytes_out = nullptr) {
  std::vector<std::uint8_t> bytes(row_bytes<S>(x.size()));
  S::quantize_row(x.data(), x.size(), bytes.data(), {}, 0);
  std::vector<float> y(x.size());
  S::dequantize_row(bytes.data(), x.size(), y.data(), {}, 0);
  if (bytes_out) *bytes_out = bytes;
  return y;
}

template <class S>
struct GgufSweep : ::testing::Test {};
using AllGguf = ::testing::Types<Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_NL, IQ4_XS>;
TYPED_TEST_SUITE(GgufSweep, AllGguf);

TYPED_TEST(GgufSweep, RandomRowsWithinErrorBudget) {
  using S = TypeParam;
  for (std::size_t k : {std::size_t(256), std::size_t(512), std::size_t(1280), std::size_t(4096)}) {
    for (std::uint32_t seed = 1; seed < 6; ++seed) {
      const auto x = test::random_floats(k, seed * 7919 + std::uint32_t(k));
      const auto y = roundtrip<S>(x);
      EXPECT_LE(test::rmse(y.data(), x.data(), k), kBudget<S> * rms(x)) << S::name << " k=" << k << " seed=" << seed;
    }
  }
}

TYPED_TEST(GgufSweep, RowIsItsBlocksQuantizedIndependently) {
  using S = TypeParam;
  const std::size_t k = 4 * S::block_elems;
  const auto x = test::random_floats(k, 42, 0.05f);
  std::vector<std::uint8_t> row;
  roundtrip<S>(x, &row);
  for (std::size_t b = 0; b < 4; ++b) {
    std::vector<std::uint8_t> one(S::block_bytes);
    S::quantize_row(x.data() + b * S::block_elems, S::block_elems, one.data(), {}, 0);
    EXPECT_TRUE(std::equal(one.begin(), one.end(), row.begin() + std::ptrdiff_t(b * S::block_bytes)))
        << S::name << " block " << b;
    // The host-device block functions are the row functions' building blocks.
    typename S::Block blk;
    std::memcpy(&blk, one.data(), S::block_bytes);
    std::vector<float> y1(S::block_elems), y2(S::block_elems);
    S::dequantize_block(blk, y1.data());
    S::dequantize_row(one.data(), S::block_elems, y2.data(), {}, 0);
    EXPECT_EQ(y1, y2);
  }
}

TYPED_TEST(GgufSweep, RowsThatAreNotWholeBlocksAreRejected) {
  using S = TypeParam;
  const std::size_t bad[] = {0, 1, S::block_elems - 1, S::block_elems + 1, S::block_elems + 16, 3 * S::block_elems / 2};
  for (std::size_t k : bad) {
    if (k % S::block_elems == 0 && k != 0) continue;
    std::vector<float> x(k + 1, 0.5f), y(k + 1);
    std::vector<std::uint8_t> bytes(4 * S::block_bytes);
    EXPECT_THROW(row_bytes<S>(k), Error) << S::name << " k=" << k;
    EXPECT_THROW(S::quantize_row(x.data(), k, bytes.data(), {}, 0), Error) << S::name << " k=" << k;
    EXPECT_THROW(S::dequantize_row(bytes.data(), k, y.data(), {}, 0), Error) << S::name << " k=" << k;
    try {
      S::quantize_row(x.data(), k, bytes.data(), {}, 0);
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(std::string(S::name)), std::string::npos) << what;
      EXPECT_NE(what.find(std::to_string(k)), std::string::npos) << what;
    }
  }
}

TYPED_TEST(GgufSweep, NonFiniteInputIsRejectedNamingElementAndValue) {
  using S = TypeParam;
  const std::size_t k = 2 * S::block_elems;
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity()};
  for (float v : bad) {
    auto x = test::random_floats(k, 7);
    const std::size_t at = k - 5;
    x[at] = v;
    std::vector<std::uint8_t> bytes(row_bytes<S>(k), 0xAB);
    try {
      S::quantize_row(x.data(), k, bytes.data(), {}, 3);
      ADD_FAILURE() << S::name << " accepted " << v;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(std::string(S::name)), std::string::npos) << what;
      EXPECT_NE(what.find("element " + std::to_string(at)), std::string::npos) << what;
      EXPECT_NE(what.find("row 3"), std::string::npos) << what;
      EXPECT_NE(what.find(std::isnan(v) ? "nan" : "inf"), std::string::npos) << what;
    }
    for (auto b : bytes) ASSERT_EQ(b, 0xAB) << S::name << ": output written before the input was validated";
  }
}

TYPED_TEST(GgufSweep, AllZeroRowsDequantizeToZero) {
  using S = TypeParam;
  const std::vector<float> x(2 * S::block_elems, 0.0f);
  for (float v : roundtrip<S>(x)) ASSERT_EQ(v, 0.0f) << S::name;
}

TYPED_TEST(GgufSweep, ConstantRowsAreAccurate) {
  using S = TypeParam;
  for (float c : {0.5f, -3.0f, 1234.5f}) {
    const std::vector<float> x(2 * S::block_elems, c);
    const auto y = roundtrip<S>(x);
    // A constant is the block's extreme value, which every format maps onto a level: only the
    // f16 rounding of the scale (and a codebook level for IQ4) remains.
    EXPECT_LE(test::rmse(y.data(), x.data(), x.size()), 2e-3 * std::fabs(c)) << S::name << " c=" << c;
  }
}

TYPED_TEST(GgufSweep, TinyValuesGiveFiniteResultsNoWorseThanZero) {
  using S = TypeParam;
  for (float scale : {1e-30f, 1e-38f}) {
    const auto x = test::random_floats(2 * S::block_elems, 11, scale);
    const auto y = roundtrip<S>(x);
    for (float v : y) ASSERT_TRUE(std::isfinite(v)) << S::name;
    // f16 block scales underflow to zero here (Q8_K's float scale does not); either way the
    // result is never further from x than all zeros is.
    EXPECT_LE(test::rmse(y.data(), x.data(), x.size()), rms(x) * 1.0001) << S::name << " scale " << scale;
    if constexpr (S::id == SchemeId::q8_K) {
      if (scale == 1e-30f) {
        EXPECT_LE(test::rmse(y.data(), x.data(), x.size()), kBudget<S> * rms(x));
      }
    }
  }
}

TYPED_TEST(GgufSweep, LargeValuesWithinF16RangeAreAccurate) {
  using S = TypeParam;
  // Scaled so that every block scale stays a normal f16 (< 65504): relative error as usual.
  const auto x = test::random_floats(4 * S::block_elems, 5, 100.0f);
  const auto y = roundtrip<S>(x);
  EXPECT_LE(test::rmse(y.data(), x.data(), x.size()), kBudget<S> * rms(x)) << S::name;
}

TYPED_TEST(GgufSweep, ValuesUpToTheFormatLimitAreAccurate) {
  using S = TypeParam;
  // Rows whose largest value sits just under max_abs_input, in every sign pattern the search
  // meets: the f16 scales stay finite and the error stays within the usual budget.
  for (std::uint32_t seed = 1; seed < 4; ++seed) {
    auto x = test::random_floats(2 * S::block_elems, seed, 1.0f, 0.0f);
    float amax = 0;
    for (float v : x) amax = std::max(amax, std::fabs(v));
    // Q8_1's per-value limit leaves s = fp16(d·Σq) to overflow for same-sign blocks (checked
    // per block, see GgufQ8_1 below): here its values are bounded so that |Σx| fits.
    const float limit = S::id == SchemeId::q8_1 ? gguf::F16_MAX / 32 : std::min(S::max_abs_input, 1e30f);
    for (auto& v : x) v = v / amax * (0.999f * limit);
    if (seed == 2)
      for (auto& v : x) v = std::fabs(v);  // all positive: min > 0 for the affine formats
    if (seed == 3)
      for (auto& v : x) v = -std::fabs(v);
    std::vector<std::uint8_t> bytes;
    const auto y = roundtrip<S>(x, &bytes);
    for (float v : y) ASSERT_TRUE(std::isfinite(v)) << S::name << " seed " << seed;
    EXPECT_LE(test::rmse(y.data(), x.data(), x.size()), 2 * kBudget<S> * rms(x)) << S::name << " seed " << seed;
  }
}

TYPED_TEST(GgufSweep, HugeValuesBeyondTheFormatAreRejected) {
  using S = TypeParam;
  auto x = test::random_floats(S::block_elems, 9);
  std::vector<std::uint8_t> bytes(S::block_bytes);
  if constexpr (S::id == SchemeId::q8_K) {
    // Q8_K's scale is a float: huge values are as accurate as any others.
    for (auto& v : x) v *= 1e30f;
    const auto y = roundtrip<S>(x);
    EXPECT_LE(test::rmse(y.data(), x.data(), x.size()), kBudget<S> * rms(x));
  } else {
    // ggml would store an inf scale (or zeros, where x² overflows in its search): refused.
    x[3] = 1e30f;
    try {
      S::quantize_row(x.data(), x.size(), bytes.data(), {}, 5);
      ADD_FAILURE() << S::name << " accepted 1e30";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("element 3 of row 5"), std::string::npos) << what;
      EXPECT_NE(what.find(std::string(S::name)), std::string::npos) << what;
    }
  }
}

TEST(GgufQ8_1, BlockSumOverflowingF16IsRejected) {
  // Each value is representable, but d·Σq of the block is not (|Σx| > 65504).
  std::vector<float> x(64, 3000.0f);
  std::vector<std::uint8_t> bytes(row_bytes<Q8_1>(64));
  EXPECT_THROW(Q8_1::quantize_row(x.data(), 64, bytes.data(), {}, 0), Error);
  for (std::size_t i = 0; i < 32; ++i) x[i] = i % 2 ? 3000.0f : -3000.0f;  // block 0 sums to 0
  try {
    Q8_1::quantize_row(x.data(), 64, bytes.data(), {}, 2);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[32, 64) of row 2"), std::string::npos) << e.what();
  }
}

// ---- dot products on random data ----------------------------------------------------------

template <class S>
struct GgufDotSweep : ::testing::Test {};
using WeightGguf = ::testing::Types<Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS>;
TYPED_TEST_SUITE(GgufDotSweep, WeightGguf);

TYPED_TEST(GgufDotSweep, VecDotEqualsDotOfDequantizedRows) {
  using S = TypeParam;
  using A = typename S::ActivationScheme;
  for (std::size_t k : {std::size_t(256), std::size_t(768), std::size_t(4096)}) {
    for (std::uint32_t seed = 1; seed < 4; ++seed) {
      const auto w = test::random_floats(k, seed, 0.02f);
      const auto a = test::random_floats(k, seed + 100, 3.0f);
      std::vector<std::uint8_t> wb(row_bytes<S>(k)), ab(row_bytes<A>(k));
      S::quantize_row(w.data(), k, wb.data(), {}, 0);
      A::quantize_row(a.data(), k, ab.data(), {}, 0);
      std::vector<float> wd(k), ad(k);
      S::dequantize_row(wb.data(), k, wd.data(), {}, 0);
      A::dequantize_row(ab.data(), k, ad.data(), {}, 0);
      double exact = 0, abs_terms = 0;
      for (std::size_t i = 0; i < k; ++i) {
        exact += double(wd[i]) * ad[i];
        abs_terms += std::fabs(double(wd[i]) * ad[i]);
      }
      if constexpr (A::id == SchemeId::q8_1) {
        // The min term uses the activation's f16 `s` = fp16(d·Σq) instead of Σ(d·q), as in ggml.
        exact = 0;
        for (std::size_t b = 0; b < k / 32; ++b) {
          const auto wbk = S::load_block(wb.data(), b);
          const auto abk = A::load_block(ab.data(), b);
          double dotq = 0;
          for (std::size_t i = 0; i < 32; ++i) dotq += (double(wd[b * 32 + i]) - wbk.m.to_float()) * ad[b * 32 + i];
          exact += dotq + double(wbk.m.to_float()) * abk.s.to_float();
          abs_terms += std::fabs(double(wbk.m.to_float()) * abk.s.to_float());
        }
      }
      EXPECT_NEAR(S::vec_dot(k, wb.data(), ab.data()), exact, 1e-5 * abs_terms) << S::name << " k=" << k;
    }
  }
}

TYPED_TEST(GgufDotSweep, VecDotRejectsPartialBlocks) {
  using S = TypeParam;
  std::vector<std::uint8_t> w(4 * S::block_bytes), a(4 * 300);
  EXPECT_THROW(S::vec_dot(S::block_elems + 1, w.data(), a.data()), Error);
  EXPECT_THROW(S::vec_dot(0, w.data(), a.data()), Error);
}

}  // namespace
