#pragma once
// Baseline-NEON decoders of the GGUF blocks, in registers, shared by the three Arm dot-tile
// levels (neon, neon_dotprod, neon_i8mm): they use Armv8.0 Advanced SIMD only, so the higher
// levels, whose target attributes include the baseline, inline them.
//
// Two shapes of weight format:
//  - Block32<S> (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL): a block of 32 weights decodes to two
//    int8x16 (elements 0..15 and 16..31) and its f16 scale (and min, for the affine ones, which
//    pair with Q8_1's stored s = d·Σq);
//  - KQuant<S> (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS): a 256-weight super-block decodes, 64
//    weights at a time (chunk<CH>, CH = 0..3), to four int8x16 of small integers; `prepare` unpacks
//    its sub-block scales into the vectors the engines multiply the per-sub-block integer sums
//    by, and `finish` turns the super-block's integer sum into its f32 contribution (mins and
//    offsets through the Q8_K activation's bsums, as ggml's NEON kernels do).
// Integer sums are exact (bounded far below int32), so every level computes the same integers
// as the scalar oracle; only the f32 accumulation order differs.
// The decoders read GGUF bytes in place: no alignment is assumed (ld1 and memcpy only).

#if defined(__aarch64__)  // empty on other architectures
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/arm/target.hpp"
#include "qlinear/schemes/gguf/all.hpp"

QLINEAR_GGUF_EXACT_FP_BEGIN

namespace qlinear::cpu::neon {

/// The f16 at p as float (FCVT: exact, like f16_to_f32).
QLINEAR_TARGET_NEON inline float f16_at(const std::uint8_t* p) {
  __fp16 h;
  std::memcpy(&h, p, sizeof(h));
  return float(h);
}
QLINEAR_TARGET_NEON inline float f32_at(const std::uint8_t* p) {
  float f;
  std::memcpy(&f, p, sizeof(f));
  return f;
}

/// Activation formats: where a block's scale and quants are.
struct Q8_0Act {
  static constexpr std::size_t bytes = sizeof(gguf::BlockQ8_0), qs = 2;
  QLINEAR_TARGET_NEON static float d(const std::uint8_t* b) { return f16_at(b); }
  QLINEAR_TARGET_NEON static int8x16x2_t q(const std::uint8_t* b) {
    return vld1q_s8_x2(reinterpret_cast<const std::int8_t*>(b + qs));
  }
};
struct Q8_1Act {
  static constexpr std::size_t bytes = sizeof(gguf::BlockQ8_1), qs = 4;
  QLINEAR_TARGET_NEON static float d(const std::uint8_t* b) { return f16_at(b); }
  /// The stored f16 of d·Σq (what the affine weights' min term multiplies, as in ggml).
  QLINEAR_TARGET_NEON static float s(const std::uint8_t* b) { return f16_at(b + 2); }
  QLINEAR_TARGET_NEON static int8x16x2_t q(const std::uint8_t* b) {
    return vld1q_s8_x2(reinterpret_cast<const std::int8_t*>(b + qs));
  }
};
/// Q8_K: f32 d at 0, 256 int8 at 4, sixteen int16 sums of 16 at 260.
struct Q8_KAct {
  static constexpr std::size_t bytes = sizeof(gguf::BlockQ8_K), qs = 4, bsums = 260;
  QLINEAR_TARGET_NEON static float d(const std::uint8_t* b) { return f32_at(b); }
  /// The 64 quants of chunk CH (elements 64·CH .. 64·CH+63).
  QLINEAR_TARGET_NEON static int8x16x4_t chunk(const std::uint8_t* b, int ch) {
    return vld1q_s8_x4(reinterpret_cast<const std::int8_t*>(b + qs + 64 * ch));
  }
  QLINEAR_TARGET_NEON static int16x8x2_t sums(const std::uint8_t* b) {
    return vld1q_s16_x2(reinterpret_cast<const std::int16_t*>(b + bsums));
  }
};

template <class S>
struct ActOf;
template <>
struct ActOf<Q8_0> {
  using type = Q8_0Act;
};
template <>
struct ActOf<Q8_1> {
  using type = Q8_1Act;
};
template <>
struct ActOf<Q8_K> {
  using type = Q8_KAct;
};

namespace detail {
inline constexpr std::uint8_t kBitOfLane[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
inline constexpr std::uint8_t kLowHalfBytes[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
inline constexpr std::uint8_t kHighHalfBytes[16] = {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};

/// Q5_0 / Q5_1: 0xFF in lane j of .val[0] where bit j of qh is set, lane j of .val[1] for bit 16 + j.
QLINEAR_TARGET_NEON inline uint8x16x2_t q5_high_bits(const std::uint8_t* qh) {
  std::uint32_t h;
  std::memcpy(&h, qh, 4);
  const uint8x16_t bytes = vreinterpretq_u8_u32(vdupq_n_u32(h));
  const uint8x16_t bit = vld1q_u8(kBitOfLane);
  return {vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(kLowHalfBytes)), bit),
          vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(kHighHalfBytes)), bit)};
}
QLINEAR_TARGET_NEON inline int8x16_t s8(uint8x16_t v) { return vreinterpretq_s8_u8(v); }
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// 32-weight blocks.

template <class S>
struct Block32;

template <>
struct Block32<Q4_0> {
  static constexpr std::size_t bytes = sizeof(gguf::BlockQ4_0);
  static constexpr bool affine = false;
  QLINEAR_TARGET_NEON static float d(const std::uint8_t* b) { return f16_at(b); }
  /// (q & 15) - 8 and (q >> 4) - 8: and, ushr, two subs.
  QLINEAR_TARGET_NEON static int8x16x2_t q(const std::uint8_t* b) {
    const uint8x16_t qs = vld1q_u8(b + 2);
    const int8x16_t eight = vdupq_n_s8(8);
    return {vsubq_s8(detail::s8(vandq_u8(qs, vdupq_n_u8(0x0F))), eight), vsubq_s8(detail::s8(vshrq_n_u8(qs, 4)), eight)};
  }
};

template <>
struct Block32<Q4_1> {
  static constexpr std::size_t bytes = sizeof(gguf::BlockQ4_1);
  static constexpr bool affine = true;
  QLINEAR_TARGET_NEON static float d(const std::uint8_t* b) { return f16_at(b); }
  QLINEAR_TARGET_NEON static float m(const std::uint8_t* b) { return f16_at(b + 2); }
  QLINEAR_TARGET_NEON static int8x16x2_t q(const std::uint8_t* b) {
    const uint8x16_t qs = vld1q_u8(b + 4);
    return {detail::s8(vandq_u8(qs, vdupq_n_u8(0x0F))), detail::s8(vshrq_n_u8(qs, 4))};
  }
};

template <>
struct Block32<Q5_0> {
  static constexpr std::size_t bytes = sizeof(gguf::BlockQ5_0);
  static constexpr bool affine = false;
  QLINEAR_TARGET_NEON static float d(const std::uint8_t* b) { return f16_at(b); }
  /// ((q & 15) | h·16) - 16 = (q & 15) - (h ? 0 : 16): the missing high bit subtracts 16.
  QLINEAR_TARGET_NEON static int8x16x2_t q(const std::uint8_t* b) {
    const uint8x16x2_t h = detail::q5_high_bits(b + 2);
    const uint8x16_t qs = vld1q_u8(b + 6);
    const uint8x16_t sixteen = vdupq_n_u8(0x10);
    return {vsubq_s8(detail::s8(vandq_u8(qs, vdupq_n_u8(0x0F))), detail::s8(vbicq_u8(sixteen, h.val[0]))),
            vsubq_s8(detail::s8(vshrq_n_u8(qs, 4)), detail::s8(vbicq_u8(sixteen, h.val[1])))};
  }
};

template <>
struct Block32<Q5_1> {
  static constexpr std::size_t bytes = sizeof(gguf::BlockQ5_1);
  static constexpr bool affine = true;
  QLINEAR_TARGET_NEON static float d(const std::uint8_t* b) { return f16_at(b); }
  QLINEAR_TARGET_NEON static float m(const std::uint8_t* b) { return f16_at(b + 2); }
  QLINEAR_TARGET_NEON static int8x16x2_t q(const std::uint8_t* b) {
    const uint8x16x2_t h = detail::q5_high_bits(b + 4);
    const uint8x16_t qs = vld1q_u8(b + 8);
    const uint8x16_t sixteen = vdupq_n_u8(0x10);
    return {detail::s8(vorrq_u8(vandq_u8(qs, vdupq_n_u8(0x0F)), vandq_u8(sixteen, h.val[0]))),
            detail::s8(vorrq_u8(vshrq_n_u8(qs, 4), vandq_u8(sixteen, h.val[1])))};
  }
};

template <>
struct Block32<Q8_0> {
  static constexpr std::size_t bytes = sizeof(gguf::BlockQ8_0);
  static constexpr bool affine = false;
  QLINEAR_TARGET_NEON static float d(const std::uint8_t* b) { return f16_at(b); }
  QLINEAR_TARGET_NEON static int8x16x2_t q(const std::uint8_t* b) { return Q8_0Act::q(b); }
};

template <>
struct Block32<IQ4_NL> {
  static constexpr std::size_t bytes = sizeof(gguf::BlockIQ4_NL);
  static constexpr bool affine = false;
  QLINEAR_TARGET_NEON static float d(const std::uint8_t* b) { return f16_at(b); }
  /// The codebook by TBL on each nibble.
  QLINEAR_TARGET_NEON static int8x16x2_t q(const std::uint8_t* b) {
    const int8x16_t book = vld1q_s8(gguf::kvalues_iq4nl);
    const uint8x16_t qs = vld1q_u8(b + 2);
    return {vqtbl1q_s8(book, vandq_u8(qs, vdupq_n_u8(0x0F))), vqtbl1q_s8(book, vshrq_n_u8(qs, 4))};
  }
};

// ---------------------------------------------------------------------------------------------
// 256-weight super-blocks (k-quants and IQ4_XS) against Q8_K.
//
// Each KQuant<S> has:
//  - bytes; group: 16 or 32 (weights per sub-block scale);
//  - Prep prepare(block): sv[CH], the scales of chunk CH laid out as the engines' per-chunk sums
//    are: group 16: [s(4CH), s(4CH+1), s(4CH+2), s(4CH+3)]; group 32: [s(2CH), s(2CH), s(2CH+1),
//    s(2CH+1)] (the 32-weight sums arrive as pairs of 16-weight halves); plus what finish needs;
//  - chunk<CH>(block, q): the 64 weights of chunk CH, q[v] = elements 64CH + 16v .. +15;
//  - finish(prep, act block, isum): the super-block's f32 term, isum = Σ s(j)·Σ_{j} w·a.

namespace detail {
/// Sixteen int8 scales as the four group-16 chunk vectors.
QLINEAR_TARGET_NEON inline void widen16(int8x16_t s, int32x4_t* sv) {
  const int16x8_t lo = vmovl_s8(vget_low_s8(s)), hi = vmovl_high_s8(s);
  sv[0] = vmovl_s16(vget_low_s16(lo));
  sv[1] = vmovl_high_s16(lo);
  sv[2] = vmovl_s16(vget_low_s16(hi));
  sv[3] = vmovl_high_s16(hi);
}
/// Eight scales (int16) as the four group-32 chunk vectors [s, s, s', s'].
QLINEAR_TARGET_NEON inline void widen8_pairs(int16x8_t s, int32x4_t* sv) {
  const int16x8_t lo = vzip1q_s16(s, s), hi = vzip2q_s16(s, s);
  sv[0] = vmovl_s16(vget_low_s16(lo));
  sv[1] = vmovl_high_s16(lo);
  sv[2] = vmovl_s16(vget_low_s16(hi));
  sv[3] = vmovl_high_s16(hi);
}
/// Σ_j bsums[j]·m[j] over the 16 sub-blocks of 16.
QLINEAR_TARGET_NEON inline std::int32_t bsum_dot16(int16x8x2_t bs, int16x8_t m0, int16x8_t m1) {
  int32x4_t p = vmull_s16(vget_low_s16(bs.val[0]), vget_low_s16(m0));
  p = vmlal_high_s16(p, bs.val[0], m0);
  p = vmlal_s16(p, vget_low_s16(bs.val[1]), vget_low_s16(m1));
  p = vmlal_high_s16(p, bs.val[1], m1);
  return vaddvq_s32(p);
}
/// Σ_j (bsums[2j] + bsums[2j+1])·m[j] over the 8 sub-blocks of 32.
QLINEAR_TARGET_NEON inline std::int32_t bsum_dot8(int16x8x2_t bs, int16x8_t m) {
  const int16x8_t s = vpaddq_s16(bs.val[0], bs.val[1]);
  int32x4_t p = vmull_s16(vget_low_s16(s), vget_low_s16(m));
  p = vmlal_high_s16(p, s, m);
  return vaddvq_s32(p);
}
/// Q4_K / Q5_K: the 6-bit scales and mins of the 12 packed bytes (get_scale_min_k4 for j = 0..7,
/// by ggml's kmask arithmetic on three little-endian words).
QLINEAR_TARGET_NEON inline void k4_scales_mins(const std::uint8_t* packed, int16x8_t& scales, int16x8_t& mins) {
  std::uint32_t u[3];
  std::memcpy(u, packed, 12);
  constexpr std::uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
  const std::uint32_t s_lo = u[0] & kmask1, s_hi = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
  const std::uint32_t m_lo = u[1] & kmask1, m_hi = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
  scales = vreinterpretq_s16_u16(vmovl_u8(vcreate_u8(std::uint64_t(s_lo) | (std::uint64_t(s_hi) << 32))));
  mins = vreinterpretq_s16_u16(vmovl_u8(vcreate_u8(std::uint64_t(m_lo) | (std::uint64_t(m_hi) << 32))));
}
/// Q2_K / Q3_K: the low 2 bits of the 32 quant bytes at `qs`, shifted right by 2·S.
template <int S>
QLINEAR_TARGET_NEON inline uint8x16_t two_bits(uint8x16_t v) {
  if constexpr (S == 0)
    return vandq_u8(v, vdupq_n_u8(3));
  else if constexpr (S == 3)
    return vshrq_n_u8(v, 6);
  else
    return vandq_u8(vshrq_n_u8(v, 2 * S), vdupq_n_u8(3));
}
}  // namespace detail

template <class S>
struct KQuant;

template <>
struct KQuant<Q2_K> {
  static constexpr std::size_t bytes = sizeof(gguf::BlockQ2_K);
  static constexpr int group = 16;
  struct Prep {
    int32x4_t sv[4];
    int16x8_t m0, m1;
    float d, dmin;
  };
  QLINEAR_TARGET_NEON static Prep prepare(const std::uint8_t* b) {
    Prep p;
    const uint8x16_t sc = vld1q_u8(b);
    detail::widen16(detail::s8(vandq_u8(sc, vdupq_n_u8(0x0F))), p.sv);
    const uint8x16_t m = vshrq_n_u8(sc, 4);
    p.m0 = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(m)));
    p.m1 = vreinterpretq_s16_u16(vmovl_high_u8(m));
    p.d = f16_at(b + 80);
    p.dmin = f16_at(b + 82);
    return p;
  }
  /// Chunk CH: 32 bytes qs[32·(CH/2)..], shifts 2·(2·(CH%2)) and 2·(2·(CH%2)+1).
  template <int CH>
  QLINEAR_TARGET_NEON static void chunk(const std::uint8_t* b, int8x16_t* q) {
    const uint8x16x2_t v = vld1q_u8_x2(b + 16 + 32 * (CH / 2));
    constexpr int s = 2 * (CH % 2);
    q[0] = detail::s8(detail::two_bits<s>(v.val[0]));
    q[1] = detail::s8(detail::two_bits<s>(v.val[1]));
    q[2] = detail::s8(detail::two_bits<s + 1>(v.val[0]));
    q[3] = detail::s8(detail::two_bits<s + 1>(v.val[1]));
  }
  QLINEAR_TARGET_NEON static float finish(const Prep& p, const std::uint8_t* a, std::int32_t isum) {
    const float ad = Q8_KAct::d(a);
    const std::int32_t mins = detail::bsum_dot16(Q8_KAct::sums(a), p.m0, p.m1);
    return (ad * p.d) * float(isum) - (ad * p.dmin) * float(mins);
  }
};

template <>
struct KQuant<Q3_K> {
  static constexpr std::size_t bytes = sizeof(gguf::BlockQ3_K);
  static constexpr int group = 16;
  struct Prep {
    int32x4_t sv[4];
    float d;
  };
  /// The sixteen 6-bit scales (ggml's kmask unpacking of the 12 bytes), minus 32.
  QLINEAR_TARGET_NEON static Prep prepare(const std::uint8_t* b) {
    std::uint32_t a[4];
    std::memcpy(a, b + 96, 12);
    constexpr std::uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    const std::uint32_t t = a[2];
    a[2] = ((a[0] >> 4) & kmask2) | (((t >> 4) & kmask1) << 4);
    a[3] = ((a[1] >> 4) & kmask2) | (((t >> 6) & kmask1) << 4);
    a[0] = (a[0] & kmask2) | (((t >> 0) & kmask1) << 4);
    a[1] = (a[1] & kmask2) | (((t >> 2) & kmask1) << 4);
    Prep p;
    detail::widen16(vsubq_s8(detail::s8(vreinterpretq_u8_u32(vld1q_u32(a))), vdupq_n_s8(32)), p.sv);
    p.d = f16_at(b + 108);
    return p;
  }
  /// Chunk CH: group g = CH/2 of 128, shifts s = 2·(CH%2) and s+1; hmask bit 4g+s clear means -4.
  template <int CH>
  QLINEAR_TARGET_NEON static void chunk(const std::uint8_t* b, int8x16_t* q) {
    const uint8x16x2_t hm = vld1q_u8_x2(b);
    const uint8x16x2_t v = vld1q_u8_x2(b + 32 + 32 * (CH / 2));
    constexpr int s = 2 * (CH % 2);
    const uint8x16_t m0 = vdupq_n_u8(std::uint8_t(1u << (4 * (CH / 2) + s)));
    const uint8x16_t m1 = vdupq_n_u8(std::uint8_t(1u << (4 * (CH / 2) + s + 1)));
    const uint8x16_t four = vdupq_n_u8(4);
    q[0] = vsubq_s8(detail::s8(detail::two_bits<s>(v.val[0])), detail::s8(vbicq_u8(four, vtstq_u8(hm.val[0], m0))));
    q[1] = vsubq_s8(detail::s8(detail::two_bits<s>(v.val[1])), detail::s8(vbicq_u8(four, vtstq_u8(hm.val[1], m0))));
    q[2] = vsubq_s8(detail::s8(detail::two_bits<s + 1>(v.val[0])), detail::s8(vbicq_u8(four, vtstq_u8(hm.val[0], m1))));
    q[3] = vsubq_s8(detail::s8(detail::two_bits<s + 1>(v.val[1])), detail::s8(vbicq_u8(four, vtstq_u8(hm.val[1], m1))));
  }
  QLINEAR_TARGET_NEON static float finish(const Prep& p, const std::uint8_t* a, std::int32_t isum) {
    return (p.d * Q8_KAct::d(a)) * float(isum);
  }
};

template <>
struct KQuant<Q4_K> {
  static constexpr std::size_t bytes = sizeof(gguf::BlockQ4_K);
  static constexpr int group = 32;
  struct Prep {
    int32x4_t sv[4];
    int16x8_t mins;
    float d, dmin;
  };
  QLINEAR_TARGET_NEON static Prep prepare(const std::uint8_t* b) {
    Prep p;
    int16x8_t scales;
    detail::k4_scales_mins(b + 4, scales, p.mins);
    detail::widen8_pairs(scales, p.sv);
    p.d = f16_at(b);
    p.dmin = f16_at(b + 2);
    return p;
  }
  /// Chunk CH: 32 bytes of qs; low nibbles are sub-block 2CH, high nibbles 2CH+1.
  template <int CH>
  QLINEAR_TARGET_NEON static void chunk(const std::uint8_t* b, int8x16_t* q) {
    const uint8x16x2_t v = vld1q_u8_x2(b + 16 + 32 * CH);
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    q[0] = detail::s8(vandq_u8(v.val[0], m4));
    q[1] = detail::s8(vandq_u8(v.val[1], m4));
    q[2] = detail::s8(vshrq_n_u8(v.val[0], 4));
    q[3] = detail::s8(vshrq_n_u8(v.val[1], 4));
  }
  QLINEAR_TARGET_NEON static float finish(const Prep& p, const std::uint8_t* a, std::int32_t isum) {
    const float ad = Q8_KAct::d(a);
    const std::int32_t mins = detail::bsum_dot8(Q8_KAct::sums(a), p.mins);
    return (p.d * ad) * float(isum) - (p.dmin * ad) * float(mins);
  }
};

template <>
struct KQuant<Q5_K> {
  static constexpr std::size_t bytes = sizeof(gguf::BlockQ5_K);
  static constexpr int group = 32;
  using Prep = KQuant<Q4_K>::Prep;
  QLINEAR_TARGET_NEON static Prep prepare(const std::uint8_t* b) { return KQuant<Q4_K>::prepare(b); }
  /// Chunk CH: nibbles as Q4_K (qs at 48), fifth bits 2CH and 2CH+1 of qh[l].
  template <int CH>
  QLINEAR_TARGET_NEON static void chunk(const std::uint8_t* b, int8x16_t* q) {
    const uint8x16x2_t hb = vld1q_u8_x2(b + 16);
    const uint8x16x2_t v = vld1q_u8_x2(b + 48 + 32 * CH);
    const uint8x16_t m4 = vdupq_n_u8(0x0F), sixteen = vdupq_n_u8(0x10);
    const uint8x16_t lo_bit = vdupq_n_u8(std::uint8_t(1u << (2 * CH))), hi_bit = vdupq_n_u8(std::uint8_t(2u << (2 * CH)));
    q[0] = detail::s8(vorrq_u8(vandq_u8(v.val[0], m4), vandq_u8(vtstq_u8(hb.val[0], lo_bit), sixteen)));
    q[1] = detail::s8(vorrq_u8(vandq_u8(v.val[1], m4), vandq_u8(vtstq_u8(hb.val[1], lo_bit), sixteen)));
    q[2] = detail::s8(vorrq_u8(vshrq_n_u8(v.val[0], 4), vandq_u8(vtstq_u8(hb.val[0], hi_bit), sixteen)));
    q[3] = detail::s8(vorrq_u8(vshrq_n_u8(v.val[1], 4), vandq_u8(vtstq_u8(hb.val[1], hi_bit), sixteen)));
  }
  QLINEAR_TARGET_NEON static float finish(const Prep& p, const std::uint8_t* a, std::int32_t isum) {
    return KQuant<Q4_K>::finish(p, a, isum);
  }
};

template <>
struct KQuant<Q6_K> {
  static constexpr std::size_t bytes = sizeof(gguf::BlockQ6_K);
  static constexpr int group = 16;
  struct Prep {
    int32x4_t sv[4];
    int16x8_t s0, s1;
    float d;
  };
  QLINEAR_TARGET_NEON static Prep prepare(const std::uint8_t* b) {
    Prep p;
    const int8x16_t sc = vld1q_s8(reinterpret_cast<const std::int8_t*>(b + 192));
    detail::widen16(sc, p.sv);
    p.s0 = vmovl_s8(vget_low_s8(sc));
    p.s1 = vmovl_high_s8(sc);
    p.d = f16_at(b + 208);
    return p;
  }
  /// Chunk CH: half h = CH/2 (ql[64h..], qh[32h..]); CH even: low nibbles of ql[l] and ql[l+32]
  /// with qh bits 0-1 and 2-3; CH odd: high nibbles with bits 4-5 and 6-7. Levels 0..63: the -32
  /// comes off in finish, through bsums.
  template <int CH>
  QLINEAR_TARGET_NEON static void chunk(const std::uint8_t* b, int8x16_t* q) {
    constexpr int h = CH / 2;
    const uint8x16x2_t la = vld1q_u8_x2(b + 64 * h), lb = vld1q_u8_x2(b + 64 * h + 32);
    const uint8x16x2_t hb = vld1q_u8_x2(b + 128 + 32 * h);
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    if constexpr (CH % 2 == 0) {
      const uint8x16_t m2 = vdupq_n_u8(0x03), m2b = vdupq_n_u8(0x0C);
      q[0] = detail::s8(vorrq_u8(vandq_u8(la.val[0], m4), vshlq_n_u8(vandq_u8(hb.val[0], m2), 4)));
      q[1] = detail::s8(vorrq_u8(vandq_u8(la.val[1], m4), vshlq_n_u8(vandq_u8(hb.val[1], m2), 4)));
      q[2] = detail::s8(vorrq_u8(vandq_u8(lb.val[0], m4), vshlq_n_u8(vandq_u8(hb.val[0], m2b), 2)));
      q[3] = detail::s8(vorrq_u8(vandq_u8(lb.val[1], m4), vshlq_n_u8(vandq_u8(hb.val[1], m2b), 2)));
    } else {
      const uint8x16_t m2c = vdupq_n_u8(0x30), m2d = vdupq_n_u8(0xC0);
      q[0] = detail::s8(vorrq_u8(vshrq_n_u8(la.val[0], 4), vandq_u8(hb.val[0], m2c)));
      q[1] = detail::s8(vorrq_u8(vshrq_n_u8(la.val[1], 4), vandq_u8(hb.val[1], m2c)));
      q[2] = detail::s8(vorrq_u8(vshrq_n_u8(lb.val[0], 4), vshrq_n_u8(vandq_u8(hb.val[0], m2d), 2)));
      q[3] = detail::s8(vorrq_u8(vshrq_n_u8(lb.val[1], 4), vshrq_n_u8(vandq_u8(hb.val[1], m2d), 2)));
    }
  }
  QLINEAR_TARGET_NEON static float finish(const Prep& p, const std::uint8_t* a, std::int32_t isum) {
    const std::int32_t offset = detail::bsum_dot16(Q8_KAct::sums(a), p.s0, p.s1);
    return (p.d * Q8_KAct::d(a)) * float(isum - 32 * offset);
  }
};

template <>
struct KQuant<IQ4_XS> {
  static constexpr std::size_t bytes = sizeof(gguf::BlockIQ4_XS);
  static constexpr int group = 32;
  struct Prep {
    int32x4_t sv[4];
    float d;
  };
  /// ls(ib) - 32 for ib = 0..7: low 4 bits from scales_l, high 2 from scales_h.
  QLINEAR_TARGET_NEON static Prep prepare(const std::uint8_t* b) {
    std::uint16_t sh;
    std::memcpy(&sh, b + 2, 2);
    std::uint32_t sl;
    std::memcpy(&sl, b + 4, 4);
    std::int16_t ls[8];
    for (int ib = 0; ib < 8; ++ib)
      ls[ib] = std::int16_t((((sl >> (4 * ib)) & 0xF) | (((sh >> (2 * ib)) & 3u) << 4)) - 32);
    Prep p;
    detail::widen8_pairs(vld1q_s16(ls), p.sv);
    p.d = f16_at(b);
    return p;
  }
  /// Chunk CH: 32 bytes qs[32CH..]: bytes 0..15 are sub-block 2CH (low nibbles first), 16..31 2CH+1.
  template <int CH>
  QLINEAR_TARGET_NEON static void chunk(const std::uint8_t* b, int8x16_t* q) {
    const int8x16_t book = vld1q_s8(gguf::kvalues_iq4nl);
    const uint8x16x2_t v = vld1q_u8_x2(b + 8 + 32 * CH);
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    q[0] = vqtbl1q_s8(book, vandq_u8(v.val[0], m4));
    q[1] = vqtbl1q_s8(book, vshrq_n_u8(v.val[0], 4));
    q[2] = vqtbl1q_s8(book, vandq_u8(v.val[1], m4));
    q[3] = vqtbl1q_s8(book, vshrq_n_u8(v.val[1], 4));
  }
  QLINEAR_TARGET_NEON static float finish(const Prep& p, const std::uint8_t* a, std::int32_t isum) {
    return (p.d * Q8_KAct::d(a)) * float(isum);
  }
};

}  // namespace qlinear::cpu::neon
QLINEAR_GGUF_EXACT_FP_END
QLINEAR_ARM_TARGET_RESET(neon_decode)
#endif
