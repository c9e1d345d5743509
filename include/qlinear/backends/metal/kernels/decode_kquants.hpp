#pragma once
// Decoders of the 256-weight GGUF super-blocks (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS), byte
// layouts as in qlinear/schemes/gguf/blocks.hpp. A super-block is 16 pieces of 16 weights; piece r
// uses the scale of its 16- or 32-weight sub-block and the bits of its weights only.

#include "qlinear/backends/metal/kernels/decode_common.hpp"
#include "qlinear/backends/metal/kernels/decode_gguf32.hpp"

namespace qlinear {
namespace metal {
namespace kernels {

/// Q4_K / Q5_K: the 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes
/// (gguf::get_scale_min_k4).
inline void scale_min_k4(uint j, device const uchar* q, thread uint& sc, thread uint& mn) {
  if (j < 4) {
    sc = q[j] & 63;
    mn = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

/// Q3_K: the 6-bit scale of sub-block j (0..15), before the −32 bias (gguf::q3_k_scale).
inline int q3_k_scale(uint j, device const uchar* scales) {
  const uint low = j < 8 ? (scales[j] & 0xF) : (scales[j - 8] >> 4);
  const uint high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
  return int(low | (high << 4));
}

/// Q2_K (SchemeId 10): { u8 scales[16]; u8 qs[64]; f16 d; f16 dmin }. Piece r is sub-block r:
/// 2-bit codes at bits 2j of qs[32h + 16s + i] (h = r / 8, j = r % 8 / 2, s = r % 2),
/// x = d · (scale & 15) · code − dmin · (scale >> 4).
template <>
struct Dec<10> {
  enum : uint { BLOCK = 256, BYTES = 84, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k, (void)rp;
    device const uchar* b = row + (p >> 4) * BYTES;
    const uint r = p & 15, h = r >> 3, j = (r & 7) >> 1, s = r & 1;
    const float d = load_f16(b + 80), dmin = load_f16(b + 82);
    const uint sc = b[r];
    const float dl = d * float(sc & 0xF), ml = dmin * float(sc >> 4);
    device const uchar* q = b + 16 + 32 * h + 16 * s;
    const uint shift = 2 * j;
    for (uint i = 0; i < 16; ++i) out[i] = dl * float((q[i] >> shift) & 3) - ml;
  }
};

/// Q3_K (SchemeId 11): { u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d }. Piece r: low 2 bits as
/// Q2_K's, the third bit is bit (4h + j) of hmask[16s + i] (set: +0, clear: −4).
template <>
struct Dec<11> {
  enum : uint { BLOCK = 256, BYTES = 110, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k, (void)rp;
    device const uchar* b = row + (p >> 4) * BYTES;
    const uint r = p & 15, h = r >> 3, j = (r & 7) >> 1, s = r & 1;
    const float d_all = load_f16(b + 108);
    const float dl = d_all * float(q3_k_scale(r, b + 96) - 32);
    device const uchar* q = b + 32 + 32 * h + 16 * s;
    device const uchar* hm = b + 16 * s;
    const uint shift = 2 * j, m = 1u << (4 * h + j);
    for (uint i = 0; i < 16; ++i) out[i] = dl * float(int((q[i] >> shift) & 3) - ((hm[i] & m) ? 0 : 4));
  }
};

/// Q4_K (SchemeId 12): { f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }. 32 bytes of qs hold 64
/// weights (first 32 in the low nibbles); piece r reads qs[32g + 16t + i] (g = r / 4, t = r % 2)
/// of sub-block 2g + (r / 2) % 2, x = d · sc · nibble − dmin · m.
template <>
struct Dec<12> {
  enum : uint { BLOCK = 256, BYTES = 144, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k, (void)rp;
    device const uchar* b = row + (p >> 4) * BYTES;
    const uint r = p & 15, g = r >> 2, hi = (r >> 1) & 1, t = r & 1;
    const float d = load_f16(b), dmin = load_f16(b + 2);
    uint sc, mn;
    scale_min_k4(2 * g + hi, b + 4, sc, mn);
    const float d1 = d * float(sc), m1 = dmin * float(mn);
    device const uchar* q = b + 16 + 32 * g + 16 * t;
    const uint shift = 4 * hi;
    for (uint i = 0; i < 16; ++i) out[i] = d1 * float((q[i] >> shift) & 0xF) - m1;
  }
};

/// Q5_K (SchemeId 13): { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }: Q4_K's nibbles
/// plus a fifth bit, bit (2g + hi) of qh[16t + i], worth 16.
template <>
struct Dec<13> {
  enum : uint { BLOCK = 256, BYTES = 176, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k, (void)rp;
    device const uchar* b = row + (p >> 4) * BYTES;
    const uint r = p & 15, g = r >> 2, hi = (r >> 1) & 1, t = r & 1;
    const float d = load_f16(b), dmin = load_f16(b + 2);
    uint sc, mn;
    scale_min_k4(2 * g + hi, b + 4, sc, mn);
    const float d1 = d * float(sc), m1 = dmin * float(mn);
    device const uchar* ql = b + 48 + 32 * g + 16 * t;
    device const uchar* qh = b + 16 + 16 * t;
    const uint shift = 4 * hi, bit = 1u << (2 * g + hi);
    for (uint i = 0; i < 16; ++i) out[i] = d1 * float(((ql[i] >> shift) & 0xF) + ((qh[i] & bit) ? 16 : 0)) - m1;
  }
};

/// Q6_K (SchemeId 14): { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }. In half h (128 weights),
/// quarter c (32 weights) takes the low (c < 2) or high nibbles of ql[64h + 32(c % 2) + l] and
/// bits 2c..2c+1 of qh[32h + l]; x = d · scale · (q − 32), the scale of 16 weights.
template <>
struct Dec<14> {
  enum : uint { BLOCK = 256, BYTES = 210, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k, (void)rp;
    device const uchar* b = row + (p >> 4) * BYTES;
    const uint r = p & 15, h = r >> 3, c = (r & 7) >> 1, t = r & 1;
    const float d = load_f16(b + 208);
    const float sc = float(int8_of(b[192 + 8 * h + t + 2 * c]));
    device const uchar* ql = b + 64 * h + 32 * (c & 1) + 16 * t;
    device const uchar* qh = b + 128 + 32 * h + 16 * t;
    const uint lshift = 4 * (c >> 1), hshift = 2 * c;
    for (uint i = 0; i < 16; ++i) {
      const int q = int(((ql[i] >> lshift) & 0xF) | (((qh[i] >> hshift) & 3) << 4)) - 32;
      out[i] = d * sc * float(q);
    }
  }
};

/// IQ4_XS (SchemeId 23): { f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128] }. Sub-block ib (32
/// weights) has the 6-bit scale ls, x = d · (ls − 32) · codebook[nibble]; piece r is the low
/// (r even) or high nibbles of qs[16 · (r / 2) + i].
template <>
struct Dec<23> {
  enum : uint { BLOCK = 256, BYTES = 136, ROW_PARAMS = 0 };
  static void piece(device const uchar* row, uint k, uint p, float2 rp, thread float* out) {
    (void)k, (void)rp;
    device const uchar* b = row + (p >> 4) * BYTES;
    const uint r = p & 15, ib = r >> 1, hi = r & 1;
    const float d = load_f16(b);
    const uint scales_h = load_u16(b + 2);
    const int ls = int(((b[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) | (((scales_h >> (2 * ib)) & 3) << 4));
    const float dl = d * float(ls - 32);
    device const uchar* q = b + 8 + 16 * ib;
    const uint shift = 4 * hi;
    for (uint i = 0; i < 16; ++i) out[i] = dl * iq4nl_values[(q[i] >> shift) & 0xF];
  }
};

}  // namespace kernels
}  // namespace metal
}  // namespace qlinear
