#pragma once
// GGUF Q4_0: blocks of 32 4-bit weights with one f16 scale (4.5 bits per weight).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qlinear/schemes/gguf/common.hpp"
#include "qlinear/schemes/gguf/q8_0.hpp"

namespace qlinear {

/// GGUF Q4_0 scheme: x = d · (q - 8), q in [0, 15]; element j in the low nibble of byte j,
/// element j+16 in its high nibble. Usage: `QuantizedTensor<Q4_0>::quantize(w, n, k)`
struct Q4_0 : gguf::BlockRows<Q4_0> {
  using Block = gguf::BlockQ4_0;
  using ActivationScheme = Q8_0;
  static constexpr SchemeId id = SchemeId::q4_0;
  static constexpr std::string_view name = "q4_0";
  static constexpr std::size_t block_elems = gguf::QK4_0;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// ggml's quantize_row_q4_0_ref for one block: d = max / -8 with max the signed value of
  /// largest magnitude, so that value maps to level 0 exactly.
  static void quantize_block(const float* x, Block& b) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; ++j) {
      const float v = x[j];
      if (amax < std::fabs(v)) {
        amax = std::fabs(v);
        max = v;
      }
    }
    const float d = max / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b.d = f16::from_float(d);
    for (int j = 0; j < 16; ++j) {
      const float x0 = x[j] * id;
      const float x1 = x[16 + j] * id;
      const int xi0 = std::min(15, int(gguf::trunc_to_int8(x0 + 8.5f)));
      const int xi1 = std::min(15, int(gguf::trunc_to_int8(x1 + 8.5f)));
      b.qs[j] = std::uint8_t(std::uint8_t(xi0) | (std::uint8_t(xi1) << 4));
    }
  }
  /// ggml's dequantize_row_q4_0 for one block.
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const float d = b.d.to_float();
    for (int j = 0; j < 16; ++j) {
      const int x0 = (b.qs[j] & 0x0F) - 8;
      const int x1 = (b.qs[j] >> 4) - 8;
      y[j] = float(x0) * d;
      y[j + 16] = float(x1) * d;
    }
  }

  /// ggml_vec_dot_q4_0_q8_0_generic: w_row in Q4_0, a_row in Q8_0, k elements.
  static float vec_dot(std::size_t k, const std::uint8_t* w_row, const std::uint8_t* a_row) {
    const std::size_t nb = blocks_in_row(k);
    float sumf = 0;
    for (std::size_t ib = 0; ib < nb; ++ib) {
      const Block x = load_block(w_row, ib);
      const Q8_0::Block y = Q8_0::load_block(a_row, ib);
      int sumi0 = 0, sumi1 = 0;
      for (int j = 0; j < 16; ++j) {
        const int v0 = (x.qs[j] & 0x0F) - 8;
        const int v1 = (x.qs[j] >> 4) - 8;
        sumi0 += v0 * y.qs[j];
        sumi1 += v1 * y.qs[j + 16];
      }
      const int sumi = sumi0 + sumi1;
      sumf += float(sumi) * x.d.to_float() * y.d.to_float();
    }
    return sumf;
  }
};
static_assert(Scheme<Q4_0>);

}  // namespace qlinear
