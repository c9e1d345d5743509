// The Metal kernels' block decoders (kernels/decode_*.hpp), run as C++, against each scheme's
// scalar dequantize_row: bit for bit (NaN only as NaN), for every scheme of AllSchemes, on random
// bytes (every byte pattern is a valid block, f16 scales of Inf and NaN included) and on quantized
// data; the GGUF formats also against ggml's own dequantization of its reference vectors.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "qlinear/backends/metal/dispatch.hpp"
#include "qlinear/schemes/registry.hpp"
#include "schemes/gguf/testvectors.hpp"
#include "test_util.hpp"
// clang-format off
#include "kernels_as_cpp.hpp"
// clang-format on

namespace qlinear::metal {
namespace {

template <class L>
struct GtestTypes;
template <class... S>
struct GtestTypes<TypeList<S...>> {
  using type = ::testing::Types<S...>;
};
struct SchemeNames {
  template <class S>
  static std::string GetName(int) {
    return std::string(S::name);
  }
};

template <class S>
class MetalDecoder : public ::testing::Test {};
TYPED_TEST_SUITE(MetalDecoder, GtestTypes<AllSchemes>::type, SchemeNames);
using DenseSchemes = ::testing::Types<DenseF32, DenseF16, DenseBF16>;
template <class S>
class MetalDecoderDense : public ::testing::Test {};
TYPED_TEST_SUITE(MetalDecoderDense, DenseSchemes, SchemeNames);
// The formats ggml's reference vectors cover (../shared/testvectors/ggml/<name>.bin).
using GgmlVectorSchemes = ::testing::Types<Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS>;
template <class S>
class MetalDecoderGgml : public ::testing::Test {};
TYPED_TEST_SUITE(MetalDecoderGgml, GgmlVectorSchemes, SchemeNames);

// Bitwise equality, except that any NaN equals any NaN (payloads are not part of the contract).
bool same_float(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}

// A row length with several blocks; for element-wise schemes one that ends inside a piece.
template <class S>
std::size_t test_cols() {
  return S::block_elems == 1 ? 100 : 3 * S::block_elems;
}

// Decodes every piece of every row with Dec and compares with the tensor's dequantize_row. Each
// row is copied into an allocation of exactly its bytes, so a read past it is an ASan error.
template <class S>
void expect_decoder_matches(const QuantizedTensor<S>& t, const std::string& what) {
  using D = kernels::Dec<unsigned(S::id)>;
  const std::size_t k = t.cols(), pieces = (k + 15) / 16;
  const std::vector<float> rp = row_params(t);
  std::vector<float> want(k);
  int mismatches = 0;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    t.dequantize_row(r, want.data());
    const std::vector<std::uint8_t> row(t.row(r), t.row(r) + t.row_bytes());
    const ::metal::float2 p = rp.empty() ? ::metal::float2(0.0f) : ::metal::float2(rp[2 * r], rp[2 * r + 1]);
    for (std::size_t piece = 0; piece < pieces; ++piece) {
      float got[16];
      for (float& g : got) g = 12345.0f;
      D::piece(row.data(), unsigned(k), unsigned(piece), p, got);
      for (std::size_t i = 0; i < 16; ++i) {
        const std::size_t e = piece * 16 + i;
        const float expect = e < k ? want[e] : 0.0f;
        if (!same_float(got[i], expect) && ++mismatches <= 5)
          ADD_FAILURE() << S::name << " (" << what << ") row " << r << " element " << e << ": decoder " << got[i]
                        << " (0x" << std::hex << std::bit_cast<std::uint32_t>(got[i]) << "), reference " << expect
                        << " (0x" << std::bit_cast<std::uint32_t>(expect) << std::dec << ")";
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << S::name << " (" << what << ")";
}

// Tensor parameters that make a valid tensor of `rows` x `cols` (int8 scales, NF4 offsets).
template <class S>
typename S::TensorParams params_for(std::size_t rows, std::size_t cols, std::uint32_t seed) {
  const std::vector<float> w = test::random_floats(rows * cols, seed);
  return QuantizedTensor<S>::quantize(w.data(), rows, cols).params();
}

// Layout constants agree with the scheme, then random bytes and quantized data decode bit-exactly.
TYPED_TEST(MetalDecoder, BitExactWithDequantizeRow) {
  using S = TypeParam;
  using D = kernels::Dec<unsigned(S::id)>;
  static_assert(std::size_t(D::BLOCK) == S::block_elems, "decoder and scheme disagree on the block size");
  static_assert(std::size_t(D::BYTES) == S::block_bytes, "decoder and scheme disagree on the block bytes");
  static_assert(bool(D::ROW_PARAMS) == has_row_params<S>(), "decoder and host disagree on row parameters");
  static_assert(S::block_elems == 1 || S::block_elems % 16 == 0, "a block is whole pieces");
  static_assert(supports<S>);

  // Random bytes: every pattern is a valid row, f16 scales of Inf and NaN included.
  const std::size_t rows = 6, cols = test_cols<S>();
  std::mt19937 rng(1234 + std::uint32_t(S::id));
  std::vector<std::uint8_t> bytes(rows * row_bytes<S>(cols));
  for (auto& b : bytes) b = std::uint8_t(rng());
  const auto random = QuantizedTensor<S>::copy_of(bytes, rows, cols, params_for<S>(rows, cols, 2));
  EXPECT_EQ(row_params(random).size(), has_row_params<S>() ? 2 * rows : 0u);
  expect_decoder_matches(random, "random bytes");

  // Quantized data, with a row of tiny values (scales near f16's subnormals) and a row of zeros.
  const std::size_t qcols = 2 * cols;
  std::vector<float> w = test::random_floats(rows * qcols, 99 + std::uint32_t(S::id), 0.7f, 0.02f, 30.0f);
  for (std::size_t i = 0; i < qcols; ++i) w[qcols + i] *= 1e-6f, w[2 * qcols + i] = 0.0f;
  expect_decoder_matches(QuantizedTensor<S>::quantize(w.data(), rows, qcols), "quantized");
}

TYPED_TEST(MetalDecoderDense, SpecialValuesBitExact) {
  using S = TypeParam;
  {
    // Every special class: signed zeros, subnormals, the extremes, infinities and NaNs.
    const float specials[] = {0.0f,     -0.0f,    1e-40f,   -1e-45f, 6e-8f,       -6.1e-5f,
                              65504.0f, -65520.f, 3.4e38f,  1e-30f,  INFINITY,    -INFINITY,
                              NAN,      -NAN,     1.0f / 3, 0.5f,    -2.0f,       7e22f};
    const std::size_t rows = 2, cols = 36;
    std::vector<float> w(rows * cols);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = specials[i % std::size(specials)] * (i / 18 % 2 ? -1.0f : 1.0f);
    expect_decoder_matches(QuantizedTensor<S>::quantize(w.data(), rows, cols), "special values");
  }
}

TYPED_TEST(MetalDecoderGgml, ReferenceVectorsBitExact) {
  using S = TypeParam;
  {
    using D = kernels::Dec<unsigned(S::id)>;
    const test::QtvFile f = test::read_qtv(std::string(S::name));
    ASSERT_EQ(f.type_size, S::block_bytes);
    ASSERT_FALSE(f.rows.empty());
    std::size_t checked = 0;
    for (const test::QtvRow& row : f.rows) {
      const std::vector<std::uint8_t> bytes = row.bytes;  // exactly the row: reads past it are ASan errors
      for (std::uint32_t p = 0; p < row.len / 16; ++p) {
        float got[16];
        D::piece(bytes.data(), row.len, p, ::metal::float2(0.0f), got);
        for (int i = 0; i < 16; ++i) {
          ASSERT_TRUE(same_float(got[i], row.dequant[p * 16 + i]))
              << S::name << " row of " << row.len << ", element " << p * 16 + i << ": " << got[i] << " vs ggml "
              << row.dequant[p * 16 + i];
          ++checked;
        }
      }
    }
    EXPECT_GT(checked, 0u);
  }
}

}  // namespace
}  // namespace qlinear::metal
