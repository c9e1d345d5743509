#pragma once
// GGUF Q5_0: blocks of 32 5-bit weights with one f16 scale (5.5 bits per weight).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qlinear/schemes/gguf/common.hpp"
#include "qlinear/schemes/gguf/q8_0.hpp"

namespace qlinear {

namespace gguf {
/// The 32 high bits of a Q5_0 / Q5_1 block as ggml's little-endian uint32 (bit j: element j).
QLINEAR_HD std::uint32_t load_qh32(const std::uint8_t* qh) {
  return std::uint32_t(qh[0]) | (std::uint32_t(qh[1]) << 8) | (std::uint32_t(qh[2]) << 16) |
         (std::uint32_t(qh[3]) << 24);
}
inline void store_qh32(std::uint8_t* qh, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) qh[i] = std::uint8_t(v >> (8 * i));
}
}  // namespace gguf

/// GGUF Q5_0 scheme: x = d · (q - 16), q in [0, 31]; low nibbles as Q4_0, the fifth bit of
/// element j is bit j of `qh`. Usage: `QuantizedTensor<Q5_0>::quantize(w, n, k)`
struct Q5_0 : gguf::BlockRows<Q5_0> {
  using Block = gguf::BlockQ5_0;
  using ActivationScheme = Q8_0;
  static constexpr SchemeId id = SchemeId::q5_0;
  static constexpr std::string_view name = "q5_0";
  static constexpr std::size_t block_elems = gguf::QK5_0;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// ggml's quantize_row_q5_0_ref for one block.
  static void quantize_block(const float* x, Block& b) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; ++j) {
      const float v = x[j];
      if (amax < std::fabs(v)) {
        amax = std::fabs(v);
        max = v;
      }
    }
    const float d = max / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b.d = f16::from_float(d);
    std::uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const float x0 = x[j] * id;
      const float x1 = x[16 + j] * id;
      const std::uint32_t xi0 = std::uint8_t(std::min(31, int(gguf::trunc_to_int8(x0 + 16.5f))));
      const std::uint32_t xi1 = std::uint8_t(std::min(31, int(gguf::trunc_to_int8(x1 + 16.5f))));
      b.qs[j] = std::uint8_t((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
      qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
      qh |= ((xi1 & 0x10u) >> 4) << (j + 16);
    }
    gguf::store_qh32(b.qh, qh);
  }
  /// ggml's dequantize_row_q5_0 for one block.
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const float d = b.d.to_float();
    const std::uint32_t qh = gguf::load_qh32(b.qh);
    for (int j = 0; j < 16; ++j) {
      const std::uint8_t xh_0 = std::uint8_t(((qh >> (j + 0)) << 4) & 0x10);
      const std::uint8_t xh_1 = std::uint8_t((qh >> (j + 12)) & 0x10);
      const std::int32_t x0 = ((b.qs[j] & 0x0F) | xh_0) - 16;
      const std::int32_t x1 = ((b.qs[j] >> 4) | xh_1) - 16;
      y[j] = float(x0) * d;
      y[j + 16] = float(x1) * d;
    }
  }

  /// ggml_vec_dot_q5_0_q8_0_generic: w_row in Q5_0, a_row in Q8_0, k elements.
  static float vec_dot(std::size_t k, const std::uint8_t* w_row, const std::uint8_t* a_row) {
    const std::size_t nb = blocks_in_row(k);
    float sumf = 0;
    for (std::size_t ib = 0; ib < nb; ++ib) {
      const Block x = load_block(w_row, ib);
      const Q8_0::Block y = Q8_0::load_block(a_row, ib);
      const std::uint32_t qh = gguf::load_qh32(x.qh);
      int sumi0 = 0, sumi1 = 0;
      for (int j = 0; j < 16; ++j) {
        const int x0 = ((x.qs[j] & 0x0F) | int(((qh >> j) & 1u) << 4)) - 16;
        const int x1 = ((x.qs[j] >> 4) | int(((qh >> (j + 16)) & 1u) << 4)) - 16;
        sumi0 += x0 * y.qs[j];
        sumi1 += x1 * y.qs[j + 16];
      }
      const int sumi = sumi0 + sumi1;
      sumf += (x.d.to_float() * y.d.to_float()) * float(sumi);
    }
    return sumf;
  }
};
static_assert(Scheme<Q5_0>);

}  // namespace qlinear
