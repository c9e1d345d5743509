#pragma once
// GGUF Q8_0: blocks of 32 int8 weights with one f16 scale (8.5 bits per weight).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "qlinear/schemes/gguf/common.hpp"

namespace qlinear {
/// GGUF Q8_0 scheme: x = d · q, q in [-127, 127], 32 weights per block.
/// Usage: `QuantizedLinear<cpu::ReferenceBackend, Q8_0>::from_float(w, n, k)`
struct Q8_0 {
  using Block = gguf::BlockQ8_0;
  using TensorParams = NoTensorParams;
  static constexpr SchemeId id = SchemeId::q8_0;
  static constexpr std::string_view name = "q8_0";
  static constexpr std::size_t block_elems = 32;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// ggml's quantize_row_q8_0_ref for one block.
  static void quantize_block(const float* x, Block& b) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b.d = f16::from_float(d);
    for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<std::int8_t>(std::roundf(x[j] * id));
  }
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const float d = b.d.to_float();
    for (int j = 0; j < 32; ++j) y[j] = float(b.qs[j]) * d;
  }

  static TensorParams calibrate(const float*, std::size_t, std::size_t, const QuantizeOptions&) { return {}; }
  static void quantize_row(const float* x, std::size_t k, std::uint8_t* dst, const TensorParams&, std::size_t) {
    const std::size_t nb = row_bytes<Q8_0>(k) / block_bytes;
    for (std::size_t i = 0; i < nb; ++i) {
      Block b;
      quantize_block(x + i * block_elems, b);
      std::memcpy(dst + i * block_bytes, &b, block_bytes);
    }
  }
  static void dequantize_row(const std::uint8_t* src, std::size_t k, float* y, const TensorParams&, std::size_t) {
    const std::size_t nb = row_bytes<Q8_0>(k) / block_bytes;
    for (std::size_t i = 0; i < nb; ++i) {
      Block b;
      std::memcpy(&b, src + i * block_bytes, block_bytes);
      dequantize_block(b, y + i * block_elems);
    }
  }
  static std::size_t params_bytes(const TensorParams&) { return 0; }
};
static_assert(Scheme<Q8_0>);

}  // namespace qlinear
