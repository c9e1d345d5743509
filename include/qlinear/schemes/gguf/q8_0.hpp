#pragma once
// GGUF Q8_0: blocks of 32 int8 weights with one f16 scale (8.5 bits per weight).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qlinear/schemes/gguf/common.hpp"

namespace qlinear {

/// GGUF Q8_0 scheme: x = d · q, q in [-127, 127], 32 weights per block. Also the activation
/// format ggml pairs with Q4_0, Q5_0, Q8_0 and IQ4_NL weights.
/// Usage: `QuantizedLinear<cpu::ReferenceBackend, Q8_0>::from_float(w, n, k)`
struct Q8_0 : gguf::BlockRows<Q8_0> {
  using Block = gguf::BlockQ8_0;
  using ActivationScheme = Q8_0;
  static constexpr SchemeId id = SchemeId::q8_0;
  static constexpr std::string_view name = "q8_0";
  static constexpr std::size_t block_elems = gguf::QK8_0;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// ggml's quantize_row_q8_0_ref for one block (roundf: ties away from zero).
  static void quantize_block(const float* x, Block& b) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b.d = f16::from_float(d);
    for (int j = 0; j < 32; ++j) b.qs[j] = gguf::trunc_to_int8(std::round(x[j] * id));
  }
  /// ggml's dequantize_row_q8_0 for one block.
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const float d = b.d.to_float();
    for (int j = 0; j < 32; ++j) y[j] = float(b.qs[j]) * d;
  }

  /// ggml_vec_dot_q8_0_q8_0_generic: w_row in Q8_0, a_row in Q8_0, k elements.
  static float vec_dot(std::size_t k, const std::uint8_t* w_row, const std::uint8_t* a_row) {
    const std::size_t nb = blocks_in_row(k);
    float sumf = 0;
    for (std::size_t ib = 0; ib < nb; ++ib) {
      const Block x = load_block(w_row, ib), y = load_block(a_row, ib);
      int sumi = 0;
      for (int j = 0; j < 32; ++j) sumi += int(x.qs[j]) * int(y.qs[j]);
      sumf += float(sumi) * (x.d.to_float() * y.d.to_float());
    }
    return sumf;
  }
};
static_assert(Scheme<Q8_0>);

}  // namespace qlinear
