#pragma once
// Decoders of the 32-weight GGUF blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL), byte layouts as
// in qlinear/schemes/gguf/blocks.hpp. Each block is two pieces: piece 0 is weights 0..15, piece 1
// weights 16..31; for the nibble formats these are the low and the high nibbles of the same 16
// bytes, so two neighbouring lanes read one cache line once.

#include "qlinear/backends/metal/kernels/decode_common.hpp"

namespace qlinear {
namespace metal {
namespace kernels {

/// The IQ4_NL / IQ4_XS codebook (gguf::kvalues_iq4nl), as floats.
constexpr constant static float iq4nl_values[16] = {-127.0f, -104.0f, -83.0f, -65.0f, -49.0f, -35.0f,
                                                     -22.0f,  -10.0f,  1.0f,   13.0f,  25.0f,  38.0f,
                                                     53.0f,   69.0f,   89.0f,  113.0f};

/// Q4_0 (SchemeId 2): { f16 d; u8 qs[16] }, x = (nibble − 8) · d.
template <>
struct Dec<2> {
  enum : uint { BLOCK = 32, BYTES = 18, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k, (void)rp;
    device const uchar* b = row + (p >> 1) * BYTES;
    const float d = load_f16(b);
    const uint shift = (p & 1) * 4;
    for (uint i = 0; i < 16; ++i) out[i] = float(int((b[2 + i] >> shift) & 0xF) - 8) * d;
  }
};

/// Q4_1 (SchemeId 3): { f16 d; f16 m; u8 qs[16] }, x = nibble · d + m.
template <>
struct Dec<3> {
  enum : uint { BLOCK = 32, BYTES = 20, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k, (void)rp;
    device const uchar* b = row + (p >> 1) * BYTES;
    const float d = load_f16(b), m = load_f16(b + 2);
    const uint shift = (p & 1) * 4;
    for (uint i = 0; i < 16; ++i) out[i] = float(int((b[4 + i] >> shift) & 0xF)) * d + m;
  }
};

/// Q5_0 (SchemeId 6): { f16 d; u8 qh[4]; u8 qs[16] }, x = (nibble | bit j of qh << 4 − 16) · d.
template <>
struct Dec<6> {
  enum : uint { BLOCK = 32, BYTES = 22, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k, (void)rp;
    device const uchar* b = row + (p >> 1) * BYTES;
    const float d = load_f16(b);
    const uint qh = load_u32(b + 2) >> ((p & 1) * 16);
    const uint shift = (p & 1) * 4;
    for (uint i = 0; i < 16; ++i) {
      const int q = int(((b[6 + i] >> shift) & 0xF) | (((qh >> i) & 1) << 4)) - 16;
      out[i] = float(q) * d;
    }
  }
};

/// Q5_1 (SchemeId 7): { f16 d; f16 m; u8 qh[4]; u8 qs[16] }, x = (nibble | bit << 4) · d + m.
template <>
struct Dec<7> {
  enum : uint { BLOCK = 32, BYTES = 24, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k, (void)rp;
    device const uchar* b = row + (p >> 1) * BYTES;
    const float d = load_f16(b), m = load_f16(b + 2);
    const uint qh = load_u32(b + 4) >> ((p & 1) * 16);
    const uint shift = (p & 1) * 4;
    for (uint i = 0; i < 16; ++i) {
      const int q = int(((b[8 + i] >> shift) & 0xF) | (((qh >> i) & 1) << 4));
      out[i] = float(q) * d + m;
    }
  }
};

/// Q8_0 (SchemeId 8): { f16 d; i8 qs[32] }, x = q · d.
template <>
struct Dec<8> {
  enum : uint { BLOCK = 32, BYTES = 34, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k, (void)rp;
    device const uchar* b = row + (p >> 1) * BYTES;
    const float d = load_f16(b);
    device const uchar* qs = b + 2 + (p & 1) * 16;
    for (uint i = 0; i < 16; ++i) out[i] = float(int8_of(qs[i])) * d;
  }
};

/// IQ4_NL (SchemeId 20): { f16 d; u8 qs[16] }, x = d · codebook[nibble].
template <>
struct Dec<20> {
  enum : uint { BLOCK = 32, BYTES = 18, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k, (void)rp;
    device const uchar* b = row + (p >> 1) * BYTES;
    const float d = load_f16(b);
    const uint shift = (p & 1) * 4;
    for (uint i = 0; i < 16; ++i) out[i] = d * iq4nl_values[(b[2 + i] >> shift) & 0xF];
  }
};

}  // namespace kernels
}  // namespace metal
}  // namespace qlinear
