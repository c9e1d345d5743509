#pragma once
// GGUF IQ4_XS: 256-weight super-blocks of eight 32-weight blocks indexing the IQ4_NL codebook,
// with 6-bit block scales under one f16 scale (4.25 bits per weight).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qlinear/schemes/gguf/common.hpp"
#include "qlinear/schemes/gguf/q8_k.hpp"
#include "qlinear/schemes/gguf/quantize_helpers.hpp"

namespace qlinear {

/// GGUF IQ4_XS scheme: x = d · (ls - 32) · kvalues_iq4nl[q] with ls the 6-bit scale of the
/// 32-weight block (low 4 bits in scales_l, high 2 bits in scales_h).
/// Usage: `QuantizedTensor<IQ4_XS>::quantize(w, n, k)`
struct IQ4_XS : gguf::BlockRows<IQ4_XS> {
  using Block = gguf::BlockIQ4_XS;
  using ActivationScheme = Q8_K;
  static constexpr SchemeId id = SchemeId::iq4_xs;
  static constexpr std::string_view name = "iq4_xs";
  static constexpr std::size_t block_elems = gguf::QK_K;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// ggml's quantize_iq4_xs for one super-block, without an importance matrix.
  static void quantize_block(const float* x, Block& b) {
    gguf::quantize_iq4_nl_impl(gguf::QK_K, 32, x, b.d, b.qs, &b.scales_h, b.scales_l, gguf::kvalues_iq4nl, 7);
  }
  /// ggml's dequantize_row_iq4_xs for one super-block.
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const float d = b.d.to_float();
    const std::uint8_t* qs = b.qs;
    for (int ib = 0; ib < gguf::QK_K / 32; ++ib) {
      const int ls = gguf::iq4_xs_scale(ib, b.scales_l, b.scales_h);
      const float dl = d * float(ls - 32);
      for (int j = 0; j < 16; ++j) {
        y[j] = dl * float(gguf::kvalues_iq4nl[qs[j] & 0xf]);
        y[j + 16] = dl * float(gguf::kvalues_iq4nl[qs[j] >> 4]);
      }
      y += 32;
      qs += 16;
    }
  }

  /// ggml_vec_dot_iq4_xs_q8_K_generic: w_row in IQ4_XS, a_row in Q8_K, k elements.
  static float vec_dot(std::size_t k, const std::uint8_t* w_row, const std::uint8_t* a_row) {
    const std::size_t nb = blocks_in_row(k);
    float sumf = 0;
    for (std::size_t ibl = 0; ibl < nb; ++ibl) {
      const Block x = load_block(w_row, ibl);
      const Q8_K::Block y = Q8_K::load_block(a_row, ibl);
      const float d4d8 = x.d.to_float() * y.d;
      const std::uint8_t* qs = x.qs;
      const std::int8_t* q8 = y.qs;
      for (int ib = 0; ib < gguf::QK_K / 32; ++ib) {
        const float dl = d4d8 * float(gguf::iq4_xs_scale(ib, x.scales_l, x.scales_h) - 32);
        int sumi1 = 0, sumi2 = 0;
        for (int j = 0; j < 16; ++j) {
          sumi1 += q8[j] * gguf::kvalues_iq4nl[qs[j] & 0xf];
          sumi2 += q8[j + 16] * gguf::kvalues_iq4nl[qs[j] >> 4];
        }
        sumf += dl * float(sumi1 + sumi2);
        qs += 16;
        q8 += 32;
      }
    }
    return sumf;
  }
};
static_assert(Scheme<IQ4_XS>);

}  // namespace qlinear
