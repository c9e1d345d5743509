#pragma once
// GGUF Q8_1: blocks of 32 int8 values with an f16 scale and the f16 of d·Σq (9 bits per
// value). ggml uses it only for activations, against Q4_1 and Q5_1 weights.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qlinear/schemes/gguf/common.hpp"

namespace qlinear {

/// GGUF Q8_1 scheme: x = d · q, q in [-127, 127], 32 values per block; `s` = fp16(d·Σq) lets
/// a dot product with an affine weight block add the min term in one multiply.
/// Usage: `Q8_1::quantize_row(x, k, bytes, {}, 0);`
struct Q8_1 : gguf::BlockRows<Q8_1> {
  using Block = gguf::BlockQ8_1;
  static constexpr SchemeId id = SchemeId::q8_1;
  static constexpr std::string_view name = "q8_1";
  static constexpr std::size_t block_elems = gguf::QK8_1;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// ggml's quantize_row_q8_1_ref for one block: s = fp16(Σq · d) with d before fp16 rounding.
  static void quantize_block(const float* x, Block& b) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b.d = f16::from_float(d);
    int sum = 0;
    for (int j = 0; j < 16; ++j) {
      b.qs[j] = gguf::trunc_to_int8(std::round(x[j] * id));
      b.qs[16 + j] = gguf::trunc_to_int8(std::round(x[16 + j] * id));
      sum += b.qs[j];
      sum += b.qs[16 + j];
    }
    b.s = f16::from_float(float(sum) * d);
  }
  /// d · q (ggml has no to_float for Q8_1; this is what its dot products assume).
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const float d = b.d.to_float();
    for (int j = 0; j < 32; ++j) y[j] = float(b.qs[j]) * d;
  }
};
static_assert(Scheme<Q8_1>);

}  // namespace qlinear
