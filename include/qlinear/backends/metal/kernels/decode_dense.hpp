#pragma once
// Decoders of the element-wise schemes: dense f32 / f16 / bf16 and the int8 schemes. Their rows
// may end inside a piece (K need not be a multiple of 16); such tails decode as 0.

#include "qlinear/backends/metal/kernels/decode_common.hpp"

namespace qlinear {
namespace metal {
namespace kernels {

/// f32 (SchemeId 0). Rows are 4K bytes and start 4-byte aligned, so they are read as floats.
template <>
struct Dec<0> {
  enum : uint { BLOCK = 1, BYTES = 4, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)rp;
    device const float* w = (device const float*)row;
    const uint e0 = p * 16;
    for (uint i = 0; i < 16; ++i) out[i] = e0 + i < k ? w[e0 + i] : 0.0f;
  }
};

/// f16 (SchemeId 1).
template <>
struct Dec<1> {
  enum : uint { BLOCK = 1, BYTES = 2, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)rp;
    const uint e0 = p * 16;
    for (uint i = 0; i < 16; ++i) out[i] = e0 + i < k ? load_f16(row + 2 * (e0 + i)) : 0.0f;
  }
};

/// bf16 (SchemeId 30).
template <>
struct Dec<30> {
  enum : uint { BLOCK = 1, BYTES = 2, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)rp;
    const uint e0 = p * 16;
    for (uint i = 0; i < 16; ++i) out[i] = e0 + i < k ? bf16_bits_to_float(load_u16(row + 2 * (e0 + i))) : 0.0f;
  }
};

/// The int8 schemes: x = scale · (q − zero point), rp = (scale, zero point); symmetric schemes
/// have zero point 0 and per-tensor ones the same rp on every row (the host expands it).
struct DecInt8 {
  enum : uint { BLOCK = 1, BYTES = 1, ROW_PARAMS = 1 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    const uint e0 = p * 16;
    const int zp = int(rp.y);
    for (uint i = 0; i < 16; ++i) out[i] = e0 + i < k ? rp.x * float(int8_of(row[e0 + i]) - zp) : 0.0f;
  }
};
template <>
struct Dec<1000> : DecInt8 {};  // int8_per_tensor
template <>
struct Dec<1001> : DecInt8 {};  // int8_per_tensor_affine
template <>
struct Dec<1002> : DecInt8 {};  // int8_per_channel
template <>
struct Dec<1003> : DecInt8 {};  // int8_per_channel_affine

}  // namespace kernels
}  // namespace metal
}  // namespace qlinear
