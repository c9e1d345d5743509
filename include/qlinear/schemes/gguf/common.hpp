#pragma once
// Shared pieces of the GGUF block formats: ggml's rounding helpers, the non-finite input check
// and the row <-> block loops every GGUF scheme shares.
// The helpers reproduce ggml's reference quantizer arithmetic exactly (same operations, same
// order), so our bytes match llama-quantize's wherever the float environment matches.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "qlinear/core/config.hpp"
#include "qlinear/core/error.hpp"
#include "qlinear/core/half.hpp"
#include "qlinear/schemes/gguf/blocks.hpp"
#include "qlinear/schemes/scheme.hpp"

// QLINEAR_GGUF_EXACT_FP_BEGIN / _END bracket ggml's quantizer arithmetic and keep the compiler
// from fusing a*b+c into one FMA there (GCC contracts by default in GNU mode wherever FMA
// exists, e.g. on every aarch64 and with -march=native): ggml's x86 reference runs without
// FMA, and one fused rounding is enough to pick another level or scale, so without this our
// bytes would differ from llama-quantize's by platform. Scoped push/pop: consumer code after
// our headers keeps its own floating-point settings. (clang's -ffp-contract=fast ignores such
// pragmas by design: a consumer choosing it gets valid but possibly different bytes.)
#if defined(__clang__)
#define QLINEAR_GGUF_EXACT_FP_BEGIN _Pragma("float_control(push)") _Pragma("clang fp contract(off)")
#define QLINEAR_GGUF_EXACT_FP_END _Pragma("float_control(pop)")
#elif defined(__GNUC__) && defined(__CUDACC__) && !defined(__CUDA_ARCH__)
// nvcc's host pass: its front end does not know GCC's optimize pragma (diagnostic 1675) and
// hands it on to the host compiler; keep it and silence the front end around it.
#define QLINEAR_GGUF_EXACT_FP_BEGIN                                                       \
  _Pragma("nv_diagnostic push") _Pragma("nv_diag_suppress 1675") _Pragma("GCC push_options") \
      _Pragma("GCC optimize(\"fp-contract=off\")")
#define QLINEAR_GGUF_EXACT_FP_END _Pragma("GCC pop_options") _Pragma("nv_diagnostic pop")
#elif defined(__GNUC__) && !defined(__CUDA_ARCH__)
#define QLINEAR_GGUF_EXACT_FP_BEGIN _Pragma("GCC push_options") _Pragma("GCC optimize(\"fp-contract=off\")")
#define QLINEAR_GGUF_EXACT_FP_END _Pragma("GCC pop_options")
#else
#define QLINEAR_GGUF_EXACT_FP_BEGIN
#define QLINEAR_GGUF_EXACT_FP_END
#endif

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

/// Largest finite f16 value: block scales and mins above it overflow to inf.
inline constexpr float F16_MAX = 65504.0f;

/// Throws unless every value of the row is finite and at most `max_abs` in magnitude: ggml's
/// quantizers define no result for NaN or Inf, and for magnitudes beyond what a format's f16
/// scales can hold they store inf (or, where x² overflows in the scale search, zeros). We
/// refuse both with the scheme, the element and the value.
inline void check_row_input(std::string_view scheme, const float* x, std::size_t k, std::size_t row, float max_abs) {
  for (std::size_t i = 0; i < k; ++i) {
    if (!std::isfinite(x[i])) [[unlikely]]
      fail(scheme, ": cannot quantize a non-finite value: element ", i, " of row ", row, " is ", x[i]);
    if (std::fabs(x[i]) > max_abs) [[unlikely]]
      fail(scheme, ": element ", i, " of row ", row, " is ", x[i], ", beyond the largest magnitude the format's ",
           "block scales can represent (", max_abs, ")");
  }
}

/// The row-level half of a GGUF scheme, shared by all of them: rows are whole blocks that carry
/// their own scales, so there are no tensor-wide parameters. `S` provides `Block`,
/// `quantize_block(const float*, Block&)`, `dequantize_block(const Block&, float*)` and
/// `max_abs_input` (the magnitude up to which the format's f16 scales are guaranteed finite);
/// optionally `const char* block_overflow(const Block&)`, non-null when a quantized block holds
/// a non-finite field that the input bound does not rule out.
/// Usage: `struct Q4_0 : gguf::BlockRows<Q4_0> { ... };`
template <class S>
struct BlockRows {
  using TensorParams = NoTensorParams;

  static TensorParams calibrate(const float*, std::size_t, std::size_t, const QuantizeOptions&) { return {}; }

  /// Quantizes one row of k floats (k a multiple of S::block_elems; non-finite values rejected).
  static void quantize_row(const float* x, std::size_t k, std::uint8_t* dst, const TensorParams&, std::size_t row) {
    const std::size_t nb = row_bytes<S>(k) / S::block_bytes;
    check_row_input(S::name, x, k, row, S::max_abs_input);
    for (std::size_t i = 0; i < nb; ++i) {
      typename S::Block b{};
      S::quantize_block(x + i * S::block_elems, b);
      if constexpr (requires { S::block_overflow(b); }) {
        if (const char* what = S::block_overflow(b)) [[unlikely]]
          fail(S::name, ": ", what, " in elements [", i * S::block_elems, ", ", (i + 1) * S::block_elems, ") of row ",
               row);
      }
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
