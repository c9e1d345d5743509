#pragma once
// GGUF Q5_1: blocks of 32 5-bit weights with an f16 scale and an f16 min (6 bits per weight).

#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qlinear/schemes/gguf/common.hpp"
#include "qlinear/schemes/gguf/q5_0.hpp"
#include "qlinear/schemes/gguf/q8_1.hpp"

namespace qlinear {

/// GGUF Q5_1 scheme: x = d · q + m, q in [0, 31], bit layout as Q5_0.
/// Usage: `QuantizedTensor<Q5_1>::quantize(w, n, k)`
struct Q5_1 : gguf::BlockRows<Q5_1> {
  using Block = gguf::BlockQ5_1;
  using ActivationScheme = Q8_1;
  static constexpr SchemeId id = SchemeId::q5_1;
  static constexpr std::string_view name = "q5_1";
  static constexpr std::size_t block_elems = gguf::QK5_1;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// ggml's quantize_row_q5_1_ref for one block.
  static void quantize_block(const float* x, Block& b) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < 32; ++j) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / ((1 << 5) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b.d = f16::from_float(d);
    b.m = f16::from_float(min);
    std::uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const float x0 = (x[j] - min) * id;
      const float x1 = (x[16 + j] - min) * id;
      const std::uint32_t xi0 = gguf::trunc_to_uint8(x0 + 0.5f);
      const std::uint32_t xi1 = gguf::trunc_to_uint8(x1 + 0.5f);
      b.qs[j] = std::uint8_t((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
      qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
      qh |= ((xi1 & 0x10u) >> 4) << (j + 16);
    }
    gguf::store_qh32(b.qh, qh);
  }
  /// ggml's dequantize_row_q5_1 for one block.
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const float d = b.d.to_float();
    const float m = b.m.to_float();
    const std::uint32_t qh = gguf::load_qh32(b.qh);
    for (int j = 0; j < 16; ++j) {
      const std::uint8_t xh_0 = std::uint8_t(((qh >> (j + 0)) << 4) & 0x10);
      const std::uint8_t xh_1 = std::uint8_t((qh >> (j + 12)) & 0x10);
      const int x0 = (b.qs[j] & 0x0F) | xh_0;
      const int x1 = (b.qs[j] >> 4) | xh_1;
      y[j] = float(x0) * d + m;
      y[j + 16] = float(x1) * d + m;
    }
  }

  /// ggml_vec_dot_q5_1_q8_1_generic: w_row in Q5_1, a_row in Q8_1 (min term from `s`).
  static float vec_dot(std::size_t k, const std::uint8_t* w_row, const std::uint8_t* a_row) {
    const std::size_t nb = blocks_in_row(k);
    float sumf = 0;
    for (std::size_t ib = 0; ib < nb; ++ib) {
      const Block x = load_block(w_row, ib);
      const Q8_1::Block y = Q8_1::load_block(a_row, ib);
      const std::uint32_t qh = gguf::load_qh32(x.qh);
      int sumi0 = 0, sumi1 = 0;
      for (int j = 0; j < 16; ++j) {
        const int x0 = (x.qs[j] & 0x0F) | int(((qh >> j) & 1u) << 4);
        const int x1 = (x.qs[j] >> 4) | int(((qh >> (j + 16)) & 1u) << 4);
        sumi0 += x0 * y.qs[j];
        sumi1 += x1 * y.qs[j + 16];
      }
      const int sumi = sumi0 + sumi1;
      sumf += (x.d.to_float() * y.d.to_float()) * float(sumi) + x.m.to_float() * y.s.to_float();
    }
    return sumf;
  }
};
static_assert(Scheme<Q5_1>);

}  // namespace qlinear
