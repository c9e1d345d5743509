#pragma once
// What every block decoder shares: little-endian loads that need no alignment, f16 / bf16 / int8
// conversions, and the decoder contract `Dec<ID>`.

#include "qlinear/backends/metal/kernels/prelude.hpp"
#include "qlinear/backends/metal/kernels/tiles.hpp"

namespace qlinear {
namespace metal {
namespace kernels {

/// The decoder of the scheme whose SchemeId is ID; specialised once per scheme (decode_*.hpp).
/// Each specialisation provides
///   enum : uint { BLOCK = weights per block, BYTES = bytes per block,
///                 ROW_PARAMS = 1 if `rp` carries tensor-wide parameters, else 0 };
///   static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out);
/// `piece` writes weights [16p, 16p + 16) of a row of k weights (row bytes at `row`) to out[0..16),
/// in row order; weights at or past k (only schemes with BLOCK 1 have rows that end inside a
/// piece) read as 0 and no byte past the row is touched. `rp` is the row's pair of tensor-wide
/// parameters (int8: scale and zero point; NF4 double quantization: offset and row scale; unused
/// elsewhere, and the kernels then never read the row-parameter buffer). The arithmetic is the scheme's scalar dequantize_row, operation for operation, so
/// the floats are bit-identical to the CPU reference wherever the compiler does not contract a*b+c.
/// Usage: `float w[16]; Dec<12>::piece(row, k, p, rp, w);  // Q4_K`
template <uint ID>
struct Dec;

/// Byte i.. of a little-endian 16- or 32-bit value at any alignment.
inline uint load_u16(device const uchar* p) { return uint(p[0]) | (uint(p[1]) << 8); }
inline uint load_u32(device const uchar* p) {
  return uint(p[0]) | (uint(p[1]) << 8) | (uint(p[2]) << 16) | (uint(p[3]) << 24);
}
/// IEEE binary16 at p, widened exactly.
inline float load_f16(device const uchar* p) { return float(as_type<half>(ushort(load_u16(p)))); }
/// IEEE binary32 at p.
inline float load_f32(device const uchar* p) { return as_type<float>(load_u32(p)); }
/// bfloat16 bits widened exactly (the high half of a float).
inline float bf16_bits_to_float(uint bits) { return as_type<float>(bits << 16); }
/// The int8 a byte holds (two's complement), without relying on the signedness of `char`.
inline int int8_of(uint byte) { return int(byte ^ 0x80u) - 128; }

}  // namespace kernels
}  // namespace metal
}  // namespace qlinear
