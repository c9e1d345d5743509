// Dense f32 / f16 / bf16 schemes: exact little-endian storage, ggml's rounding, NaN/Inf kept.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "qlinear/schemes/dense.hpp"
#include "qlinear/schemes/quantized_tensor.hpp"
#include "test_util.hpp"

using namespace qlinear;

TEST(Dense, IdsNamesAndSizes) {
  EXPECT_EQ(DenseF32::id, SchemeId::f32);
  EXPECT_EQ(DenseF16::id, SchemeId::f16);
  EXPECT_EQ(DenseBF16::id, SchemeId::bf16);
  EXPECT_EQ(DenseF32::name, "f32");
  EXPECT_EQ(DenseF16::name, "f16");
  EXPECT_EQ(DenseBF16::name, "bf16");
  EXPECT_EQ(nominal_bits_per_weight<DenseF32>(), 32.0);
  EXPECT_EQ(nominal_bits_per_weight<DenseF16>(), 16.0);
  EXPECT_EQ(nominal_bits_per_weight<DenseBF16>(), 16.0);
  static_assert(SelfDescribingRows<DenseF32> && SelfDescribingRows<DenseF16> && SelfDescribingRows<DenseBF16>);
}

TEST(Dense, F32IsStoredExactlyLittleEndian) {
  const std::size_t rows = 3, cols = 37;
  const auto w = test::random_floats(rows * cols, 1);
  const auto t = QuantizedTensor<DenseF32>::quantize(w.data(), rows, cols);
  EXPECT_EQ(t.dequantize(), w);
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(w[cols + 2]);
  const std::uint8_t* b = t.row(1) + 2 * 4;
  EXPECT_EQ(std::uint32_t(b[0]) | std::uint32_t(b[1]) << 8 | std::uint32_t(b[2]) << 16 | std::uint32_t(b[3]) << 24,
            bits);
  EXPECT_EQ(t.memory_bytes(), rows * cols * 4);
  EXPECT_DOUBLE_EQ(t.bits_per_weight(), 32.0);
}

TEST(Dense, HalfFormatsRoundLikeGgml) {
  const std::size_t rows = 4, cols = 33;
  auto w = test::random_floats(rows * cols, 2);
  w[0] = 1e-30f;  // underflows f16, stays in bf16
  w[1] = 1e30f;   // overflows f16 to inf, stays in bf16
  w[2] = -0.0f;
  w[3] = 65504.0f;
  const auto h = QuantizedTensor<DenseF16>::quantize(w.data(), rows, cols);
  const auto b = QuantizedTensor<DenseBF16>::quantize(w.data(), rows, cols);
  const auto hd = h.dequantize(), bd = b.dequantize();
  for (std::size_t i = 0; i < w.size(); ++i) {
    const std::uint16_t hb = std::uint16_t(h.bytes()[2 * i] | h.bytes()[2 * i + 1] << 8);
    const std::uint16_t bb = std::uint16_t(b.bytes()[2 * i] | b.bytes()[2 * i + 1] << 8);
    ASSERT_EQ(hb, f32_to_f16(w[i])) << i;
    ASSERT_EQ(bb, f32_to_bf16(w[i])) << i;
    ASSERT_EQ(std::bit_cast<std::uint32_t>(hd[i]), std::bit_cast<std::uint32_t>(f16_to_f32(hb))) << i;
    ASSERT_EQ(std::bit_cast<std::uint32_t>(bd[i]), std::bit_cast<std::uint32_t>(bf16_to_f32(bb))) << i;
    if (std::fabs(w[i]) < 60000.0f && std::fabs(w[i]) > 1e-4f) {
      ASSERT_LE(std::fabs(hd[i] - w[i]), std::fabs(w[i]) * 0x1p-11f);
    }
    ASSERT_LE(std::fabs(bd[i] - w[i]), std::fabs(w[i]) * 0x1p-8f);
  }
  EXPECT_EQ(hd[0], 0.0f);
  EXPECT_TRUE(std::isinf(hd[1]));
  EXPECT_TRUE(std::signbit(hd[2]) && std::signbit(bd[2]));
  EXPECT_EQ(hd[3], 65504.0f);
  EXPECT_EQ(h.memory_bytes(), rows * cols * 2);
  EXPECT_DOUBLE_EQ(b.bits_per_weight(), 16.0);
}

TEST(Dense, NanAndInfPassThrough) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> w = {inf, -inf, nan, 1.0f};
  const auto a = QuantizedTensor<DenseF32>::quantize(w.data(), 1, 4).dequantize();
  const auto h = QuantizedTensor<DenseF16>::quantize(w.data(), 1, 4).dequantize();
  const auto b = QuantizedTensor<DenseBF16>::quantize(w.data(), 1, 4).dequantize();
  for (const auto& v : {a, h, b}) {
    EXPECT_EQ(v[0], inf);
    EXPECT_EQ(v[1], -inf);
    EXPECT_TRUE(std::isnan(v[2]));
    EXPECT_EQ(v[3], 1.0f);
  }
}

TEST(Dense, AdoptChecksLengthAndLoadStoreAreUnaligned) {
  std::vector<std::uint8_t> bytes(2 * 5 * 2 + 1);
  for (std::size_t i = 0; i < 5; ++i) DenseF16::store(bytes.data() + 1, i, float(i) - 2.0f);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(DenseF16::load(bytes.data() + 1, i), float(i) - 2.0f);
  EXPECT_THROW(QuantizedTensor<DenseF16>::adopt(bytes, 2, 5, nullptr), Error);
  EXPECT_NO_THROW(QuantizedTensor<DenseF16>::adopt(std::span(bytes).first(20), 2, 5, nullptr));
  EXPECT_THROW(row_bytes<DenseF32>(0), Error);
}
