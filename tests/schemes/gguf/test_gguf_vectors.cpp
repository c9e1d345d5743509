// Every GGUF scheme against ggml's reference vectors: dequantization bit for bit, our
// quantizer's error against the reference bytes' error, and the scalar dot products.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "qlinear/schemes/gguf/all.hpp"
#include "schemes/gguf/testvectors.hpp"
#include "test_util.hpp"

namespace {

using namespace qlinear;
using qlinear::test::QtdFile;
using qlinear::test::QtvFile;

template <class S>
struct VectorsTest : ::testing::Test {};

// Whether our quantizer reproduces ggml's bytes on every row of the vectors: every format
// whose reference quantizer is deterministic float arithmetic we port operation for operation.
template <class S>
constexpr bool kBytesIdentical = true;

using QtvSchemes = ::testing::Types<Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_NL, IQ4_XS>;
TYPED_TEST_SUITE(VectorsTest, QtvSchemes);

TYPED_TEST(VectorsTest, HeaderMatchesScheme) {
  using S = TypeParam;
  const QtvFile f = test::read_qtv(std::string(S::name));
  EXPECT_EQ(f.name, S::name);
  EXPECT_EQ(f.ggml_type, std::uint32_t(S::id));
  EXPECT_EQ(f.block_size, S::block_elems);
  EXPECT_EQ(f.type_size, S::block_bytes);
  EXPECT_EQ(f.rows.size(), 20u);
}

TYPED_TEST(VectorsTest, DequantizeIsBitExact) {
  using S = TypeParam;
  const QtvFile f = test::read_qtv(std::string(S::name));
  for (std::size_t r = 0; r < f.rows.size(); ++r) {
    const auto& row = f.rows[r];
    std::vector<float> y(row.len);
    S::dequantize_row(row.bytes.data(), row.len, y.data(), {}, r);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < row.len; ++i) {
      if (std::bit_cast<std::uint32_t>(y[i]) != std::bit_cast<std::uint32_t>(row.dequant[i])) {
        if (mismatches++ < 3)
          ADD_FAILURE() << S::name << " row " << r << " (kind " << row.kind << ") element " << i << ": got " << y[i]
                        << " expected " << row.dequant[i];
      }
    }
    EXPECT_EQ(mismatches, 0u) << S::name << " row " << r;
  }
}

TYPED_TEST(VectorsTest, QuantizeErrorNoWorseThanReference) {
  using S = TypeParam;
  const QtvFile f = test::read_qtv(std::string(S::name));
  double ours_total = 0, ref_total = 0;
  std::size_t identical = 0;
  for (std::size_t r = 0; r < f.rows.size(); ++r) {
    const auto& row = f.rows[r];
    std::vector<std::uint8_t> bytes(row_bytes<S>(row.len));
    S::quantize_row(row.input.data(), row.len, bytes.data(), {}, r);
    std::vector<float> y(row.len);
    S::dequantize_row(bytes.data(), row.len, y.data(), {}, r);
    const double ours = test::rmse(y.data(), row.input.data(), row.len);
    const double ref = test::rmse(row.dequant.data(), row.input.data(), row.len);
    ours_total += ours * ours * row.len;
    ref_total += ref * ref * row.len;
    EXPECT_LE(ours, 1.01 * ref) << S::name << " row " << r << " (kind " << row.kind << ")";
    if (bytes == row.bytes) {
      ++identical;
    } else if (kBytesIdentical<S>) {
      std::size_t first = 0;
      while (bytes[first] == row.bytes[first]) ++first;
      ADD_FAILURE() << S::name << " row " << r << " (kind " << row.kind << "): bytes differ from ggml's, first at byte "
                    << first << " (block " << first / S::block_bytes << ", offset " << first % S::block_bytes
                    << "): got " << int(bytes[first]) << " expected " << int(row.bytes[first]);
    }
  }
  EXPECT_LE(ours_total, ref_total) << S::name << ": total squared error";
  std::printf("[ %-6s ] %zu of %zu rows byte-identical to ggml; total RMSE ours %.6g, ggml %.6g\n",
              std::string(S::name).c_str(), identical, f.rows.size(), std::sqrt(ours_total), std::sqrt(ref_total));
}

// ---- dot products ---------------------------------------------------------------------------

template <class S>
struct DotTest : ::testing::Test {};
using DotSchemes = ::testing::Types<Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS>;
TYPED_TEST_SUITE(DotTest, DotSchemes);

TYPED_TEST(DotTest, VecDotMatchesGgml) {
  using S = TypeParam;
  using A = typename S::ActivationScheme;
  const QtdFile f = test::read_qtd(std::string(S::name), std::string(A::name));
  ASSERT_EQ(f.w_type, std::uint32_t(S::id));
  ASSERT_EQ(f.a_type, std::uint32_t(A::id));
  ASSERT_EQ(f.pairs.size(), 12u);
  // ggml's q8_1 kernels take the min term from the fp16 `s`, so they are compared with ggml's
  // generic kernel (same formula) rather than the exact dot of the dequantized rows.
  const bool vs_generic = A::id == SchemeId::q8_1;
  for (std::size_t p = 0; p < f.pairs.size(); ++p) {
    const auto& pair = f.pairs[p];
    ASSERT_EQ(pair.w_bytes.size(), row_bytes<S>(pair.len));
    ASSERT_EQ(pair.a_bytes.size(), row_bytes<A>(pair.len));
    std::vector<float> w(pair.len), a(pair.len);
    S::dequantize_row(pair.w_bytes.data(), pair.len, w.data(), {}, 0);
    A::dequantize_row(pair.a_bytes.data(), pair.len, a.data(), {}, 0);
    double abs_terms = 0;
    for (std::size_t i = 0; i < pair.len; ++i) abs_terms += std::fabs(double(w[i]) * a[i]);
    const double expected = vs_generic ? double(pair.dot_generic) : pair.dot_exact;
    const float got = S::vec_dot(pair.len, pair.w_bytes.data(), pair.a_bytes.data());
    EXPECT_NEAR(got, expected, 1e-5 * abs_terms + 1e-30)
        << S::name << " x " << A::name << " pair " << p << " (len " << pair.len << ", w kind " << pair.w_kind << ")";
  }
}

TYPED_TEST(DotTest, ActivationQuantizerReproducesGgmlBytes) {
  using S = TypeParam;
  using A = typename S::ActivationScheme;
  const QtdFile f = test::read_qtd(std::string(S::name), std::string(A::name));
  for (std::size_t p = 0; p < f.pairs.size(); ++p) {
    const auto& pair = f.pairs[p];
    std::vector<std::uint8_t> bytes(row_bytes<A>(pair.len));
    A::quantize_row(pair.a_input.data(), pair.len, bytes.data(), {}, p);
    EXPECT_EQ(bytes, pair.a_bytes) << A::name << " activation of pair " << p;
  }
}

TYPED_TEST(DotTest, WeightQuantizerOnDotInputs) {
  using S = TypeParam;
  using A = typename S::ActivationScheme;
  const QtdFile f = test::read_qtd(std::string(S::name), std::string(A::name));
  std::size_t identical = 0;
  for (std::size_t p = 0; p < f.pairs.size(); ++p) {
    const auto& pair = f.pairs[p];
    std::vector<std::uint8_t> bytes(row_bytes<S>(pair.len));
    S::quantize_row(pair.w_input.data(), pair.len, bytes.data(), {}, p);
    identical += bytes == pair.w_bytes;
    if (kBytesIdentical<S>) {
      EXPECT_EQ(bytes, pair.w_bytes) << S::name << " weights of pair " << p;
    }
  }
  std::printf("[ %-6s ] %zu of %zu dot-file weight rows byte-identical to ggml\n", std::string(S::name).c_str(),
              identical, f.pairs.size());
}

}  // namespace
