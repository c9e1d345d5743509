#pragma once
// GGUF Q8_K: 256-value super-blocks of int8 with a float scale and per-16 sums. ggml uses it
// only for activations, against the k-quants and IQ4_XS.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qlinear/schemes/gguf/common.hpp"

namespace qlinear {

/// GGUF Q8_K scheme: x = d · q, q in [-128, 127] (the value of largest magnitude maps to ∓127),
/// d a float; `bsums[j]` = Σ of q over elements [16j, 16j+16), which the k-quant dot
/// products use for their min terms. Usage: `Q8_K::quantize_row(x, k, bytes, {}, 0);`
struct Q8_K : gguf::BlockRows<Q8_K> {
  using Block = gguf::BlockQ8_K;
  static constexpr SchemeId id = SchemeId::q8_K;
  static constexpr std::string_view name = "q8_K";
  static constexpr std::size_t block_elems = gguf::QK_K;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// ggml's quantize_row_q8_K_ref for one super-block (an all-zero block gets d = 0, q = 0 and
  /// bsums = 0; ggml leaves its bsums unwritten).
  static void quantize_block(const float* x, Block& b) {
    float max = 0, amax = 0;
    for (int j = 0; j < gguf::QK_K; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    if (amax == 0.f) {
      b.d = 0;
      for (int j = 0; j < gguf::QK_K; ++j) b.qs[j] = 0;
      for (int j = 0; j < gguf::QK_K / 16; ++j) b.bsums[j] = 0;
      return;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < gguf::QK_K; ++j) {
      const int v = gguf::nearest_int(iscale * x[j]);
      b.qs[j] = std::int8_t(v < 127 ? v : 127);
    }
    for (int j = 0; j < gguf::QK_K / 16; ++j) {
      int sum = 0;
      for (int ii = 0; ii < 16; ++ii) sum += b.qs[j * 16 + ii];
      b.bsums[j] = std::int16_t(sum);
    }
    b.d = 1 / iscale;
  }
  /// ggml's dequantize_row_q8_K for one super-block.
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    for (int j = 0; j < gguf::QK_K; ++j) y[j] = b.d * float(b.qs[j]);
  }
};
static_assert(Scheme<Q8_K>);

}  // namespace qlinear
