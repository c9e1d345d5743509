#pragma once
// Decoders of qlinear's own 4-bit schemes: grouped int4 (symmetric and affine, groups of 32, 64,
// 128) and NF4 (with and without double quantization), byte layouts as in qlinear/schemes/int4.hpp
// and nf4.hpp. Nibble order is element 2j in the low nibble of byte j, so a piece of 16 weights
// is 8 whole bytes.

#include "qlinear/backends/metal/kernels/decode_common.hpp"

namespace qlinear {
namespace metal {
namespace kernels {

/// bitsandbytes' NF4 codebook (qlinear::nf4_level), ascending.
constexpr constant static float nf4_levels[16] = {-1.0f,
                                                   -0.6961928009986877f,
                                                   -0.5250730514526367f,
                                                   -0.39491748809814453f,
                                                   -0.28444138169288635f,
                                                   -0.18477343022823334f,
                                                   -0.09105003625154495f,
                                                   0.0f,
                                                   0.07958029955625534f,
                                                   0.16093020141124725f,
                                                   0.24611230194568634f,
                                                   0.33791524171829224f,
                                                   0.44070982933044434f,
                                                   0.5626170039176941f,
                                                   0.7229568362236023f,
                                                   1.0f};

/// Code of element e of packed nibbles (low nibble = even element).
inline uint nibble_at(device const uchar* qs, uint e) { return (qs[e >> 1] >> ((e & 1) * 4)) & 0xF; }

/// Symmetric int4, group G: { f16 d; u8 qs[G/2] }, x = d · (u − 8).
template <uint G>
struct DecInt4 {
  enum : uint { BLOCK = G, BYTES = 2 + G / 2, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k, (void)rp;
    device const uchar* b = row + (p / (G / 16)) * BYTES;
    const uint e0 = (p % (G / 16)) * 16;
    const float d = load_f16(b);
    for (uint i = 0; i < 16; ++i) out[i] = d * float(int(nibble_at(b + 2, e0 + i)) - 8);
  }
};

/// Affine int4, group G: { f16 d; f16 m; u8 qs[G/2] }, x = d · u + m.
template <uint G>
struct DecInt4Affine {
  enum : uint { BLOCK = G, BYTES = 4 + G / 2, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k, (void)rp;
    device const uchar* b = row + (p / (G / 16)) * BYTES;
    const uint e0 = (p % (G / 16)) * 16;
    const float d = load_f16(b), m = load_f16(b + 2);
    for (uint i = 0; i < 16; ++i) out[i] = d * float(nibble_at(b + 4, e0 + i)) + m;
  }
};

template <>
struct Dec<1010> : DecInt4<32> {};  // int4_g32
template <>
struct Dec<1011> : DecInt4<64> {};  // int4_g64
template <>
struct Dec<1012> : DecInt4<128> {};  // int4_g128
template <>
struct Dec<1013> : DecInt4Affine<32> {};  // int4_g32_affine
template <>
struct Dec<1014> : DecInt4Affine<64> {};  // int4_g64_affine
template <>
struct Dec<1015> : DecInt4Affine<128> {};  // int4_g128_affine

/// NF4 (SchemeId 1020): { f32 absmax; u8 qs[32] } per 64 weights, x = level[u] · absmax.
template <>
struct Dec<1020> {
  enum : uint { BLOCK = 64, BYTES = 36, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k, (void)rp;
    device const uchar* b = row + (p >> 2) * BYTES;
    const uint e0 = (p & 3) * 16;
    const float a = load_f32(b);
    for (uint i = 0; i < 16; ++i) out[i] = nf4_levels[nibble_at(b + 4, e0 + i)] * a;
  }
};

/// NF4 with double quantization (SchemeId 1021): { u8 absmax_code; u8 qs[32] } per 64 weights,
/// absmax = offset + row scale · (code − 128) with rp = (offset, row scale).
template <>
struct Dec<1021> {
  enum : uint { BLOCK = 64, BYTES = 33, ROW_PARAMS = 1 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k;
    device const uchar* b = row + (p >> 2) * BYTES;
    const uint e0 = (p & 3) * 16;
    const float a = rp.x + rp.y * float(int(b[0]) - 128);
    for (uint i = 0; i < 16; ++i) out[i] = nf4_levels[nibble_at(b + 1, e0 + i)] * a;
  }
};

}  // namespace kernels
}  // namespace metal
}  // namespace qlinear
