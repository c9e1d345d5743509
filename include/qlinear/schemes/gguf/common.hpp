#pragma once
// Shared pieces of the GGUF block formats: ggml's rounding helpers, the non-finite input check
// and the row <-> block loops every GGUF scheme shares.
// The helpers reproduce ggml's reference quantizer arithmetic exactly (same operations, same
// order), so our bytes match llama-quantize's wherever the float environment matches.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/core/config.hpp"
#include "qlinear/core/error.hpp"
#include "qlinear/core/half.hpp"
#include "qlinear/schemes/gguf/blocks.hpp"
#include "qlinear/schemes/scheme.hpp"

namespace qlinear::gguf {

inline constexpr float GROUP_MAX_EPS = 1e-15f;  ///< ggml's "all zero" threshold for a group

/// ggml's nearest_int (the 1.5·2^23 trick: rounds to nearest, ties to even),
/// valid for |x| <= 4194303; outside that range it returns a meaningless value (never UB),
/// which every caller clamps, as ggml does.
QLINEAR_HD int nearest_int(float fval) {
  const float val = fval + 12582912.f;
  std::int32_t i = 0;
  std::memcpy(&i, &val, sizeof(i));
  return (i & 0x007fffff) - 0x00400000;
}

/// C's `(int8_t)(v)` for a float as x86 executes it (cvttss2si, then keep the low byte):
/// truncation toward zero; NaN and |v| >= 2^31 give 0 (the low byte of 0x80000000). Defined
/// for every input, unlike the C++ conversion, so degenerate blocks are never UB.
QLINEAR_HD std::int8_t trunc_to_int8(float v) {
  if (!(v > -2147483648.0f && v < 2147483648.0f)) return 0;
  return static_cast<std::int8_t>(static_cast<std::int32_t>(v));
}

/// C's `(uint8_t)(v)` with the same x86 semantics as trunc_to_int8.
QLINEAR_HD std::uint8_t trunc_to_uint8(float v) {
  if (!(v > -2147483648.0f && v < 2147483648.0f)) return 0;
  return static_cast<std::uint8_t>(static_cast<std::int32_t>(v));
}

/// Throws unless every value of the row is finite: ggml's quantizers define no result for NaN
/// or Inf, so we refuse them with the scheme, the element and the value.
inline void check_finite_row(std::string_view scheme, const float* x, std::size_t k, std::size_t row) {
  for (std::size_t i = 0; i < k; ++i)
    if (!std::isfinite(x[i])) [[unlikely]]
      fail(scheme, ": cannot quantize a non-finite value: element ", i, " of row ", row, " is ", x[i]);
}

/// The row-level half of a GGUF scheme, shared by all of them: rows are whole blocks that carry
/// their own scales, so there are no tensor-wide parameters. `S` provides `Block`,
/// `quantize_block(const float*, Block&)` and `dequantize_block(const Block&, float*)`.
/// Usage: `struct Q4_0 : gguf::BlockRows<Q4_0> { ... };`
template <class S>
struct BlockRows {
  using TensorParams = NoTensorParams;

  static TensorParams calibrate(const float*, std::size_t, std::size_t, const QuantizeOptions&) { return {}; }

  /// Quantizes one row of k floats (k a multiple of S::block_elems; non-finite values rejected).
  static void quantize_row(const float* x, std::size_t k, std::uint8_t* dst, const TensorParams&, std::size_t row) {
    const std::size_t nb = row_bytes<S>(k) / S::block_bytes;
    check_finite_row(S::name, x, k, row);
    for (std::size_t i = 0; i < nb; ++i) {
      typename S::Block b{};
      S::quantize_block(x + i * S::block_elems, b);
      std::memcpy(dst + i * S::block_bytes, &b, S::block_bytes);
    }
  }

  /// Dequantizes one row of k weights: GGUF bytes need no alignment (blocks are copied out).
  static void dequantize_row(const std::uint8_t* src, std::size_t k, float* y, const TensorParams&, std::size_t) {
    const std::size_t nb = row_bytes<S>(k) / S::block_bytes;
    for (std::size_t i = 0; i < nb; ++i) {
      typename S::Block b;
      std::memcpy(&b, src + i * S::block_bytes, S::block_bytes);
      S::dequantize_block(b, y + i * S::block_elems);
    }
  }

  static std::size_t params_bytes(const TensorParams&) { return 0; }

  /// Copies block i of a row out of raw bytes (GGUF data has no alignment guarantee).
  template <class T = S>
  static typename T::Block load_block(const std::uint8_t* row, std::size_t i) {
    typename T::Block b;
    std::memcpy(&b, row + i * S::block_bytes, S::block_bytes);
    return b;
  }

  /// Blocks in a row of k elements; throws unless k is a whole number of blocks.
  static std::size_t blocks_in_row(std::size_t k) { return row_bytes<S>(k) / S::block_bytes; }
};

}  // namespace qlinear::gguf
