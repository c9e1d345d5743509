#pragma once
// Unquantized weights: f32, f16 and bf16 rows (GGUF types 0, 1 and 30), so a layer or an
// AnyLinear can hold a GGUF tensor that was never quantized.
//
// Row bytes: K values, each little-endian (4 bytes for f32; 2 bytes of IEEE binary16 or
// bfloat16 bits otherwise), in order. f16/bf16 conversions round to nearest even, exactly as
// ggml does. NaN and Inf pass through: the formats define them, so nothing is rejected.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "qlinear/core/bit_cast.hpp"
#include "qlinear/core/config.hpp"
#include "qlinear/core/half.hpp"
#include "qlinear/schemes/scheme.hpp"

namespace qlinear {
namespace detail {

struct DenseF32Format {
  using Bits = std::uint32_t;
  static constexpr SchemeId id = SchemeId::f32;
  static constexpr std::string_view name = "f32";
  QLINEAR_HD static constexpr Bits encode(float x) { return qlinear::bit_cast<Bits>(x); }
  QLINEAR_HD static constexpr float decode(Bits b) { return qlinear::bit_cast<float>(b); }
};
struct DenseF16Format {
  using Bits = std::uint16_t;
  static constexpr SchemeId id = SchemeId::f16;
  static constexpr std::string_view name = "f16";
  QLINEAR_HD static constexpr Bits encode(float x) { return f32_to_f16(x); }
  QLINEAR_HD static constexpr float decode(Bits b) { return f16_to_f32(b); }
};
struct DenseBF16Format {
  using Bits = std::uint16_t;
  static constexpr SchemeId id = SchemeId::bf16;
  static constexpr std::string_view name = "bf16";
  QLINEAR_HD static constexpr Bits encode(float x) { return f32_to_bf16(x); }
  QLINEAR_HD static constexpr float decode(Bits b) { return bf16_to_f32(b); }
};

}  // namespace detail

/// An unquantized scheme whose element is Format::Bits, stored little-endian. Use the aliases.
/// Usage: `QuantizedTensor<DenseF16>::quantize(w, n, k)`
template <class Format>
struct DenseScheme {
  using TensorParams = NoTensorParams;
  using Bits = typename Format::Bits;
  static constexpr SchemeId id = Format::id;
  static constexpr std::string_view name = Format::name;
  static constexpr std::size_t block_elems = 1;
  static constexpr std::size_t block_bytes = sizeof(Bits);

  /// Element i of a row of bytes (host and device; the bytes need no alignment).
  QLINEAR_HD static float load(const std::uint8_t* src, std::size_t i) {
    Bits b = 0;
    for (std::size_t j = 0; j < sizeof(Bits); ++j) b = Bits(b | Bits(Bits(src[i * sizeof(Bits) + j]) << (8 * j)));
    return Format::decode(b);
  }
  /// Writes x as element i of a row of bytes.
  QLINEAR_HD static void store(std::uint8_t* dst, std::size_t i, float x) {
    const Bits b = Format::encode(x);
    for (std::size_t j = 0; j < sizeof(Bits); ++j) dst[i * sizeof(Bits) + j] = std::uint8_t(b >> (8 * j));
  }

  /// Nothing to calibrate: every value is stored as itself (rounded for f16/bf16).
  static TensorParams calibrate(const float*, std::size_t, std::size_t, const QuantizeOptions&) { return {}; }

  static void quantize_row(const float* x, std::size_t k, std::uint8_t* dst, const TensorParams&, std::size_t) {
    (void)row_bytes<DenseScheme>(k);
    if constexpr (std::endian::native == std::endian::little && sizeof(Bits) == sizeof(float)) {
      std::memcpy(dst, x, k * sizeof(float));
    } else {
      for (std::size_t i = 0; i < k; ++i) store(dst, i, x[i]);
    }
  }
  static void dequantize_row(const std::uint8_t* src, std::size_t k, float* y, const TensorParams&, std::size_t) {
    (void)row_bytes<DenseScheme>(k);
    if constexpr (std::endian::native == std::endian::little && sizeof(Bits) == sizeof(float)) {
      std::memcpy(y, src, k * sizeof(float));
    } else {
      for (std::size_t i = 0; i < k; ++i) y[i] = load(src, i);
    }
  }
  static std::size_t params_bytes(const TensorParams&) { return 0; }
};

/// f32 weights, stored as they are (32 bits per weight). Usage: `QuantizedTensor<DenseF32>::quantize(w, n, k)`
using DenseF32 = DenseScheme<detail::DenseF32Format>;
/// IEEE binary16 weights (16 bits). Usage: `QuantizedTensor<DenseF16>::quantize(w, n, k)`
using DenseF16 = DenseScheme<detail::DenseF16Format>;
/// bfloat16 weights (16 bits). Usage: `QuantizedTensor<DenseBF16>::quantize(w, n, k)`
using DenseBF16 = DenseScheme<detail::DenseBF16Format>;

static_assert(Scheme<DenseF32>);
static_assert(Scheme<DenseF16>);
static_assert(Scheme<DenseBF16>);

}  // namespace qlinear
