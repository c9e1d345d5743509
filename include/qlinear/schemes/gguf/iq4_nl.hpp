#pragma once
// GGUF IQ4_NL: blocks of 32 weights indexing a 16-entry non-linear codebook, one f16 scale
// (4.5 bits per weight).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qlinear/schemes/gguf/common.hpp"
#include "qlinear/schemes/gguf/q8_0.hpp"
#include "qlinear/schemes/gguf/quantize_helpers.hpp"

namespace qlinear {

/// GGUF IQ4_NL scheme: x = d · kvalues_iq4nl[q], q in [0, 15], nibble order as Q4_0.
/// Quantization is ggml's `quantize_iq4_nl` (the GGUF path, 7 tries each side of the
/// max-based scale), not `quantize_row_iq4_nl_ref`, which gives different bytes.
/// Usage: `QuantizedTensor<IQ4_NL>::quantize(w, n, k)`
struct IQ4_NL : gguf::BlockRows<IQ4_NL> {
  using Block = gguf::BlockIQ4_NL;
  using ActivationScheme = Q8_0;
  static constexpr SchemeId id = SchemeId::iq4_nl;
  static constexpr std::string_view name = "iq4_nl";
  static constexpr std::size_t block_elems = gguf::QK4_NL;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// ggml's quantize_iq4_nl for one block, without an importance matrix.
  static void quantize_block(const float* x, Block& b) {
    std::uint16_t unused_h = 0;
    gguf::quantize_iq4_nl_impl(gguf::QK4_NL, 32, x, b.d, b.qs, &unused_h, nullptr, gguf::kvalues_iq4nl, 7);
  }
  /// ggml's dequantize_row_iq4_nl for one block.
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const float d = b.d.to_float();
    for (int j = 0; j < 16; ++j) {
      y[j] = d * float(gguf::kvalues_iq4nl[b.qs[j] & 0xf]);
      y[j + 16] = d * float(gguf::kvalues_iq4nl[b.qs[j] >> 4]);
    }
  }

  /// ggml_vec_dot_iq4_nl_q8_0_generic: w_row in IQ4_NL, a_row in Q8_0, k elements.
  static float vec_dot(std::size_t k, const std::uint8_t* w_row, const std::uint8_t* a_row) {
    const std::size_t nb = blocks_in_row(k);
    float sumf = 0;
    for (std::size_t ib = 0; ib < nb; ++ib) {
      const Block x = load_block(w_row, ib);
      const Q8_0::Block y = Q8_0::load_block(a_row, ib);
      const float d = y.d.to_float() * x.d.to_float();
      int sumi1 = 0, sumi2 = 0;
      for (int j = 0; j < 16; ++j) {
        sumi1 += y.qs[j] * gguf::kvalues_iq4nl[x.qs[j] & 0xf];
        sumi2 += y.qs[j + 16] * gguf::kvalues_iq4nl[x.qs[j] >> 4];
      }
      sumf += d * float(sumi1 + sumi2);
    }
    return sumf;
  }
};
static_assert(Scheme<IQ4_NL>);

}  // namespace qlinear
