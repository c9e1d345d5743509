#pragma once
// GGUF Q4_1: blocks of 32 4-bit weights with an f16 scale and an f16 min (5 bits per weight).

#include <cfloat>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qlinear/schemes/gguf/common.hpp"
#include "qlinear/schemes/gguf/q8_1.hpp"

namespace qlinear {

/// GGUF Q4_1 scheme: x = d · q + m, q in [0, 15], nibble order as Q4_0.
/// Usage: `QuantizedTensor<Q4_1>::quantize(w, n, k)`
struct Q4_1 : gguf::BlockRows<Q4_1> {
  using Block = gguf::BlockQ4_1;
  using ActivationScheme = Q8_1;
  static constexpr SchemeId id = SchemeId::q4_1;
  static constexpr std::string_view name = "q4_1";
  static constexpr std::size_t block_elems = gguf::QK4_1;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// ggml's quantize_row_q4_1_ref for one block.
  static void quantize_block(const float* x, Block& b) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < 32; ++j) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / ((1 << 4) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b.d = f16::from_float(d);
    b.m = f16::from_float(min);
    for (int j = 0; j < 16; ++j) {
      const float x0 = (x[j] - min) * id;
      const float x1 = (x[16 + j] - min) * id;
      const int xi0 = std::min(15, int(gguf::trunc_to_int8(x0 + 0.5f)));
      const int xi1 = std::min(15, int(gguf::trunc_to_int8(x1 + 0.5f)));
      b.qs[j] = std::uint8_t(std::uint8_t(xi0) | (std::uint8_t(xi1) << 4));
    }
  }
  /// ggml's dequantize_row_q4_1 for one block.
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const float d = b.d.to_float();
    const float m = b.m.to_float();
    for (int j = 0; j < 16; ++j) {
      const int x0 = b.qs[j] & 0x0F;
      const int x1 = b.qs[j] >> 4;
      y[j] = float(x0) * d + m;
      y[j + 16] = float(x1) * d + m;
    }
  }

  /// ggml_vec_dot_q4_1_q8_1_generic: w_row in Q4_1, a_row in Q8_1; the min term comes from
  /// the activation block's fp16 `s`, as in ggml.
  static float vec_dot(std::size_t k, const std::uint8_t* w_row, const std::uint8_t* a_row) {
    const std::size_t nb = blocks_in_row(k);
    float sumf = 0;
    for (std::size_t ib = 0; ib < nb; ++ib) {
      const Block x = load_block(w_row, ib);
      const Q8_1::Block y = Q8_1::load_block(a_row, ib);
      int sumi0 = 0, sumi1 = 0;
      for (int j = 0; j < 16; ++j) {
        const int v0 = x.qs[j] & 0x0F;
        const int v1 = x.qs[j] >> 4;
        sumi0 += v0 * y.qs[j];
        sumi1 += v1 * y.qs[j + 16];
      }
      const int sumi = sumi0 + sumi1;
      sumf += (x.d.to_float() * y.d.to_float()) * float(sumi) + x.m.to_float() * y.s.to_float();
    }
    return sumf;
  }
};
static_assert(Scheme<Q4_1>);

}  // namespace qlinear
