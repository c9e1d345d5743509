#pragma once
// The exact path on NEON (every Arm level selects these): F32Tile<neon>, the f32 GEMM of
// activations against a panel of dequantized weight rows, in 4×4 register blocks of FMLA; and
// DequantizeRows<S, neon> for the common schemes (q4_0, q8_0, q4_K, q5_K, q6_K, the int8
// schemes, symmetric int4 of every group size, nf4, f16 and bf16 rows). Each dequantizer gives
// the scheme's dequantize_row bit for bit: the same f32 operations in the same order, never
// contracted into FMA (the GGUF exact-FP region below), and exact integer-to-float conversions.
// Schemes without one here (q2_K, q3_K, q4_1, q5_0, q5_1, iq4_*, affine int4, double-quantized
// NF4) run the scalar dequantizer next to this F32Tile.

#if defined(__aarch64__)  // empty on other architectures
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/arm/neon_decode.hpp"
#include "qlinear/backends/cpu/arm/target.hpp"
#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/schemes/dense.hpp"
#include "qlinear/schemes/gguf/all.hpp"
#include "qlinear/schemes/int4.hpp"
#include "qlinear/schemes/int8.hpp"
#include "qlinear/schemes/nf4.hpp"

QLINEAR_GGUF_EXACT_FP_BEGIN

namespace qlinear::cpu {
namespace neon {

// ----- F32Tile: RI activation rows × RJ panel rows per register block.

template <int RI, int RJ>
QLINEAR_TARGET_NEON inline void f32_block(const F32TileArgs& t, std::size_t i, std::size_t j) {
  const float* x[RI];
  const float* w[RJ];
  QLINEAR_ARM_UNROLL
  for (int r = 0; r < RI; ++r) x[r] = t.x + (i + std::size_t(r)) * t.ldx;
  QLINEAR_ARM_UNROLL
  for (int c = 0; c < RJ; ++c) w[c] = t.panel + (j + std::size_t(c)) * t.k;
  float32x4_t acc[RI][RJ];
  QLINEAR_ARM_UNROLL
  for (int r = 0; r < RI; ++r)
    QLINEAR_ARM_UNROLL
    for (int c = 0; c < RJ; ++c) acc[r][c] = vdupq_n_f32(0.0f);
  std::size_t l = 0;
  for (; l + 4 <= t.k; l += 4) {
    float32x4_t xv[RI], wv[RJ];
    QLINEAR_ARM_UNROLL
    for (int r = 0; r < RI; ++r) xv[r] = vld1q_f32(x[r] + l);
    QLINEAR_ARM_UNROLL
    for (int c = 0; c < RJ; ++c) wv[c] = vld1q_f32(w[c] + l);
    QLINEAR_ARM_UNROLL
    for (int r = 0; r < RI; ++r)
      QLINEAR_ARM_UNROLL
      for (int c = 0; c < RJ; ++c) acc[r][c] = vfmaq_f32(acc[r][c], xv[r], wv[c]);
  }
  QLINEAR_ARM_UNROLL
  for (int r = 0; r < RI; ++r)
    QLINEAR_ARM_UNROLL
    for (int c = 0; c < RJ; ++c) {
      float s = vaddvq_f32(acc[r][c]);
      for (std::size_t u = l; u < t.k; ++u) s = std::fma(x[r][u], w[c][u], s);
      if (t.bias) s += t.bias[j + std::size_t(c)];
      float* y = t.y + (i + std::size_t(r)) * t.ldy + j + std::size_t(c);
      *y = t.accumulate ? *y + s : s;
    }
}

template <int RI>
QLINEAR_TARGET_NEON inline void f32_rows(const F32TileArgs& t, std::size_t i) {
  std::size_t j = 0;
  for (; j + 4 <= t.n; j += 4) f32_block<RI, 4>(t, i, j);
  for (; j < t.n; ++j) f32_block<RI, 1>(t, i, j);
}

QLINEAR_TARGET_NEON inline void f32_tile(const F32TileArgs& t) {
  std::size_t i = t.m0;
  for (; i + 4 <= t.m1; i += 4) f32_rows<4>(t, i);
  for (; i < t.m1; ++i) f32_rows<1>(t, i);
}

// ----- Dequantizers: helpers.

/// 16 int8 as float, times d, stored at y (y[0..15] = float(q[t]) · d).
QLINEAR_TARGET_NEON inline void store_scaled(int8x16_t q, float d, float* y) {
  const int16x8_t lo = vmovl_s8(vget_low_s8(q)), hi = vmovl_high_s8(q);
  vst1q_f32(y + 0, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo))), d));
  vst1q_f32(y + 4, vmulq_n_f32(vcvtq_f32_s32(vmovl_high_s16(lo)), d));
  vst1q_f32(y + 8, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi))), d));
  vst1q_f32(y + 12, vmulq_n_f32(vcvtq_f32_s32(vmovl_high_s16(hi)), d));
}
/// 16 uint8 levels q: y = d · float(q) - m (two roundings, as the k-quant dequantizers).
QLINEAR_TARGET_NEON inline void store_affine(uint8x16_t q, float d, float m, float* y) {
  const uint16x8_t lo = vmovl_u8(vget_low_u8(q)), hi = vmovl_high_u8(q);
  const float32x4_t mv = vdupq_n_f32(m);
  vst1q_f32(y + 0, vsubq_f32(vmulq_n_f32(vcvtq_f32_u32(vmovl_u16(vget_low_u16(lo))), d), mv));
  vst1q_f32(y + 4, vsubq_f32(vmulq_n_f32(vcvtq_f32_u32(vmovl_high_u16(lo)), d), mv));
  vst1q_f32(y + 8, vsubq_f32(vmulq_n_f32(vcvtq_f32_u32(vmovl_u16(vget_low_u16(hi))), d), mv));
  vst1q_f32(y + 12, vsubq_f32(vmulq_n_f32(vcvtq_f32_u32(vmovl_high_u16(hi)), d), mv));
}

/// One weight block (or group) of scheme S to f32; Dequant<S>::block(bytes, out, row params).
template <class S>
struct Dequant;

template <>
struct Dequant<Q4_0> {
  QLINEAR_TARGET_NEON static void block(const std::uint8_t* b, float* y) {
    const int8x16x2_t q = Block32<Q4_0>::q(b);
    const float d = f16_at(b);
    store_scaled(q.val[0], d, y);
    store_scaled(q.val[1], d, y + 16);
  }
};
template <>
struct Dequant<Q8_0> {
  QLINEAR_TARGET_NEON static void block(const std::uint8_t* b, float* y) {
    const int8x16x2_t q = Block32<Q8_0>::q(b);
    const float d = f16_at(b);
    store_scaled(q.val[0], d, y);
    store_scaled(q.val[1], d, y + 16);
  }
};
/// Q4_K / Q5_K: per 32-weight sub-block j, d·sc(j)·q - dmin·m(j), with d·sc and dmin·m rounded first.
template <class S>
  requires(std::same_as<S, Q4_K> || std::same_as<S, Q5_K>)
struct Dequant<S> {
  QLINEAR_TARGET_NEON static void block(const std::uint8_t* b, float* y) {
    std::uint8_t sc[8], mn[8];
    QLINEAR_ARM_UNROLL
    for (int j = 0; j < 8; ++j) gguf::get_scale_min_k4(j, b + 4, sc[j], mn[j]);
    const float d = f16_at(b), dmin = f16_at(b + 2);
    int8x16_t q[4];
    dequant_chunk<0>(b, q, sc, mn, d, dmin, y);
    dequant_chunk<1>(b, q, sc, mn, d, dmin, y);
    dequant_chunk<2>(b, q, sc, mn, d, dmin, y);
    dequant_chunk<3>(b, q, sc, mn, d, dmin, y);
  }
  template <int CH>
  QLINEAR_TARGET_NEON static void dequant_chunk(const std::uint8_t* b, int8x16_t* q, const std::uint8_t* sc,
                                                const std::uint8_t* mn, float d, float dmin, float* y) {
    KQuant<S>::template chunk<CH>(b, q);
    QLINEAR_ARM_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int j = 2 * CH + h;
      const float dl = d * float(sc[j]), ml = dmin * float(mn[j]);
      store_affine(vreinterpretq_u8_s8(q[2 * h]), dl, ml, y + 32 * j);
      store_affine(vreinterpretq_u8_s8(q[2 * h + 1]), dl, ml, y + 32 * j + 16);
    }
  }
};
/// Q6_K: per 16-weight sub-block j, (d·sc(j))·(q - 32).
template <>
struct Dequant<Q6_K> {
  QLINEAR_TARGET_NEON static void block(const std::uint8_t* b, float* y) {
    std::int8_t sc[16];
    std::memcpy(sc, b + 192, 16);
    const float d = f16_at(b + 208);
    int8x16_t q[4];
    dequant_chunk<0>(b, q, sc, d, y);
    dequant_chunk<1>(b, q, sc, d, y);
    dequant_chunk<2>(b, q, sc, d, y);
    dequant_chunk<3>(b, q, sc, d, y);
  }
  template <int CH>
  QLINEAR_TARGET_NEON static void dequant_chunk(const std::uint8_t* b, int8x16_t* q, const std::int8_t* sc, float d,
                                                float* y) {
    KQuant<Q6_K>::chunk<CH>(b, q);
    const int8x16_t off = vdupq_n_s8(32);
    QLINEAR_ARM_UNROLL
    for (int v = 0; v < 4; ++v) {
      const int j = 4 * CH + v;
      store_scaled(vsubq_s8(q[v], off), d * float(sc[j]), y + 16 * j);
    }
  }
};
/// Symmetric int4, group G: d · (u - 8), element 2t in the low nibble of byte t.
template <int G>
struct Dequant<Int4<G>> {
  QLINEAR_TARGET_NEON static void block(const std::uint8_t* b, float* y) {
    const float d = f16_at(b);
    const int8x16_t eight = vdupq_n_s8(8);
    QLINEAR_ARM_UNROLL
    for (int t = 0; t < G / 32; ++t) {
      const uint8x16_t qs = vld1q_u8(b + 2 + 16 * t);
      const uint8x16_t lo = vandq_u8(qs, vdupq_n_u8(0x0F)), hi = vshrq_n_u8(qs, 4);
      store_scaled(vsubq_s8(vreinterpretq_s8_u8(vzip1q_u8(lo, hi)), eight), d, y + 32 * t);
      store_scaled(vsubq_s8(vreinterpretq_s8_u8(vzip2q_u8(lo, hi)), eight), d, y + 32 * t + 16);
    }
  }
};
/// NF4: level(u) · absmax, by TBL over the 16 products (each computed once, exactly as the reference).
template <>
struct Dequant<NF4> {
  QLINEAR_TARGET_NEON static void block(const std::uint8_t* b, float* y) {
    const float a = f32_at(b);
    float table[16];
    for (std::uint32_t u = 0; u < 16; ++u) table[u] = nf4_level(u) * a;
    const uint8x16x4_t tv = vld1q_u8_x4(reinterpret_cast<const std::uint8_t*>(table));
    static constexpr std::uint8_t spread[4][16] = {{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3},
                                                   {4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7},
                                                   {8, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11, 11, 11},
                                                   {12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15}};
    static constexpr std::uint8_t byte_of[16] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
    const uint8x16_t bytes = vld1q_u8(byte_of);
    QLINEAR_ARM_UNROLL
    for (int t = 0; t < 2; ++t) {
      const uint8x16_t qs = vld1q_u8(b + 4 + 16 * t);
      const uint8x16_t lo = vandq_u8(qs, vdupq_n_u8(0x0F)), hi = vshrq_n_u8(qs, 4);
      const uint8x16_t u[2] = {vshlq_n_u8(vzip1q_u8(lo, hi), 2), vshlq_n_u8(vzip2q_u8(lo, hi), 2)};
      QLINEAR_ARM_UNROLL
      for (int h = 0; h < 2; ++h)
        QLINEAR_ARM_UNROLL
        for (int e = 0; e < 4; ++e) {
          const uint8x16_t idx = vaddq_u8(vqtbl1q_u8(u[h], vld1q_u8(spread[e])), bytes);
          vst1q_f32(y + 32 * t + 16 * h + 4 * e, vreinterpretq_f32_u8(vqtbl4q_u8(tv, idx)));
        }
    }
  }
};

template <class S>
concept BlockDequant = requires(const std::uint8_t* b, float* y) { Dequant<S>::block(b, y); };

/// Rows of a scheme whose blocks need nothing beside them.
template <class S>
QLINEAR_TARGET_NEON inline void dequantize_blocks(const std::uint8_t* src, std::size_t stride, std::size_t count,
                                                  std::size_t k, float* out) {
  const std::size_t nb = k / S::block_elems;
  for (std::size_t r = 0; r < count; ++r)
    for (std::size_t ib = 0; ib < nb; ++ib)
      Dequant<S>::block(src + r * stride + ib * S::block_bytes, out + r * k + ib * S::block_elems);
}

/// int8 rows: scale · float(q - zp), per row (int32 subtraction and conversion are exact).
template <class S>
QLINEAR_TARGET_NEON inline void dequantize_int8(const std::uint8_t* src, std::size_t stride, std::size_t count,
                                               std::size_t k, float* out, const Int8Params& p, std::size_t first_row) {
  for (std::size_t r = 0; r < count; ++r) {
    const std::uint8_t* q = src + r * stride;
    float* y = out + r * k;
    const float s = S::scale_of(p, first_row + r);
    const int32x4_t zp = vdupq_n_s32(S::zero_point_of(p, first_row + r));
    std::size_t l = 0;
    for (; l + 16 <= k; l += 16) {
      const int8x16_t v = vld1q_s8(reinterpret_cast<const std::int8_t*>(q + l));
      const int16x8_t lo = vmovl_s8(vget_low_s8(v)), hi = vmovl_high_s8(v);
      vst1q_f32(y + l + 0, vmulq_n_f32(vcvtq_f32_s32(vsubq_s32(vmovl_s16(vget_low_s16(lo)), zp)), s));
      vst1q_f32(y + l + 4, vmulq_n_f32(vcvtq_f32_s32(vsubq_s32(vmovl_high_s16(lo), zp)), s));
      vst1q_f32(y + l + 8, vmulq_n_f32(vcvtq_f32_s32(vsubq_s32(vmovl_s16(vget_low_s16(hi)), zp)), s));
      vst1q_f32(y + l + 12, vmulq_n_f32(vcvtq_f32_s32(vsubq_s32(vmovl_high_s16(hi), zp)), s));
    }
    const std::int32_t z = vgetq_lane_s32(zp, 0);
    for (; l < k; ++l) y[l] = int8_decode(std::int8_t(q[l]), s, z);
  }
}

/// f16 / bf16 rows (both conversions exact).
template <class S>
QLINEAR_TARGET_NEON inline void dequantize_half(const std::uint8_t* src, std::size_t stride, std::size_t count,
                                               std::size_t k, float* out) {
  for (std::size_t r = 0; r < count; ++r) {
    const std::uint8_t* h = src + r * stride;
    float* y = out + r * k;
    std::size_t l = 0;
    for (; l + 8 <= k; l += 8) {
      const uint16x8_t v = vld1q_u16(reinterpret_cast<const std::uint16_t*>(h + 2 * l));
      if constexpr (std::same_as<S, DenseF16>) {
        vst1q_f32(y + l, vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(v))));
        vst1q_f32(y + l + 4, vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(v))));
      } else {
        vst1q_f32(y + l, vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(v), 16)));
        vst1q_f32(y + l + 4, vreinterpretq_f32_u32(vshll_high_n_u16(v, 16)));
      }
    }
    for (; l < k; ++l) y[l] = S::load(h, l);
  }
}

}  // namespace neon

template <>
struct F32Tile<Isa::neon> {
  static void tile(const F32TileArgs& t) { neon::f32_tile(t); }
};

template <class S>
  requires neon::BlockDequant<S>
struct DequantizeRows<S, Isa::neon> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void*, std::size_t) {
    neon::dequantize_blocks<S>(src, stride, count, k, out);
  }
};

template <bool PerChannel, bool Affine>
struct DequantizeRows<Int8Scheme<PerChannel, Affine>, Isa::neon> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void* params, std::size_t first_row) {
    neon::dequantize_int8<Int8Scheme<PerChannel, Affine>>(src, stride, count, k, out,
                                                          *static_cast<const Int8Params*>(params), first_row);
  }
};

template <class S>
  requires(std::same_as<S, DenseF16> || std::same_as<S, DenseBF16>)
struct DequantizeRows<S, Isa::neon> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void*, std::size_t) {
    neon::dequantize_half<S>(src, stride, count, k, out);
  }
};

}  // namespace qlinear::cpu

QLINEAR_GGUF_EXACT_FP_END
QLINEAR_ARM_TARGET_RESET(neon_exact)
#endif
