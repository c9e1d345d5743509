#pragma once
// The integer path of qlinear's own schemes on Arm (formats and scalar oracles:
// activation_formats.hpp, scalar/own_schemes.hpp), plain-NEON level:
//  - QuantizeActivations<I8Row | Q8Block<G>, neon> (the higher levels select these too): the
//    scalar quantizers' bytes, bit for bit (q = nearbyint(x·id) is FCVTNS, ties to even; the
//    clamps and the overflow rule as written there; Q8Block's nibble-order permutation is UZP1 /
//    UZP2 of the codes);
//  - DotTile<Int8Scheme<…>, neon> against I8Row: one integer dot product over the whole row
//    (int32 lanes, widened to int64 every 2^16 elements: exact for any K), then s·(dot - zp·Σa);
//  - DotTile<Int4<G> | Int4Affine<G>, neon> against Q8Block<G>: per group the integer sum of
//    nibble × code (the codes are stored so that a weight byte's low nibbles meet 16 or 32
//    consecutive codes and its high nibbles the next ones), then d·d_a·(Σ - 8·Σa), or
//    d_a·(d·Σ + m·Σa), in the scalar tile's order.
// dotprod_own.hpp has the same engines with SDOT for the products.
// NF4 has no integer path (activation_formats.hpp says why): its exact path is neon_exact.hpp.

#if defined(__aarch64__)  // empty on other architectures
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/activation_formats.hpp"
#include "qlinear/backends/cpu/arm/neon_decode.hpp"
#include "qlinear/backends/cpu/arm/neon_dot.hpp"
#include "qlinear/backends/cpu/arm/neon_quantize.hpp"
#include "qlinear/backends/cpu/arm/target.hpp"
#include "qlinear/backends/cpu/arm/tile_driver.hpp"
#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/scalar/own_schemes.hpp"

QLINEAR_GGUF_EXACT_FP_BEGIN

namespace qlinear::cpu {
namespace neon {

// ----- Quantizers.

/// clamp(nearbyint(v · id), -127, 127) for four values (FCVTNS rounds to nearest even).
QLINEAR_TARGET_NEON QLINEAR_ARM_INLINE int32x4_t code4(float32x4_t v, float id) {
  const int32x4_t q = vcvtnq_s32_f32(vmulq_n_f32(v, id));
  return vmaxq_s32(vminq_s32(q, vdupq_n_s32(127)), vdupq_n_s32(-127));
}

/// I8Row: codes against the row's own amax (no pre-scale; the scale amax/127 is row_scale).
QLINEAR_TARGET_NEON inline void quantize_i8row(const QuantizeActivationArgs& q) {
  for (std::size_t i = q.m0; i < q.m1; ++i) {
    const float* x = q.x + i * q.ldx;
    auto* out = reinterpret_cast<std::int8_t*>(q.out + i * q.out_stride);
    const float amax = row_abs_max(x, q.k);
    const bool exact = !std::isfinite(amax) || amax < cpu::detail::activation_exact_below;
    q.exact[i] = exact ? 1 : 0;
    if (exact) {
      q.row_scale[i] = 1.0f;
      std::memset(out, 0, q.k);
      continue;
    }
    q.row_scale[i] = I8Row::scale_for(amax);
    const float id = 127.0f / amax;
    std::size_t l = 0;
    for (; l + 16 <= q.k; l += 16) {
      const int32x4_t c0 = code4(vld1q_f32(x + l), id), c1 = code4(vld1q_f32(x + l + 4), id);
      const int32x4_t c2 = code4(vld1q_f32(x + l + 8), id), c3 = code4(vld1q_f32(x + l + 12), id);
      vst1q_s8(out + l, narrow(c0, c1, c2, c3));
    }
    if (l < q.k) I8Row::encode(x + l, q.k - l, amax, out + l);
  }
}

/// Q8Block<G>: the row's power-of-two pre-scale s, then blocks of G codes, stored in the 4-bit
/// weights' nibble order (per 64-value chunk: even elements, then odd ones; a trailing 32-value
/// chunk likewise), the block scales d and code sums after the codes.
template <int G>
QLINEAR_TARGET_NEON inline void quantize_q8block_row(const float* x, float s, std::size_t k, std::uint8_t* row) {
  const std::size_t nb = k / G;
  auto* codes = reinterpret_cast<std::int8_t*>(row);
  // Per 32 values (G is a multiple of 32): the codes in element order, as two int8x16.
  for (std::size_t b = 0; b < nb; ++b) {
    const float* xb = x + b * G;
    float32x4_t m = vdupq_n_f32(0.0f);
    QLINEAR_ARM_UNROLL
    for (int u = 0; u < G / 4; ++u) m = vmaxq_f32(m, vabsq_f32(vmulq_n_f32(vld1q_f32(xb + 4 * u), s)));
    const float amax = vmaxvq_f32(m);
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    const bool zero = !(id <= 3.4e38f) || id == 0.0f;
    const float d = zero ? 0.0f : amax / 127.0f;
    std::int32_t sum = 0;
    for (int h = 0; h < G / 32; ++h) {
      int8x16_t v[2];
      QLINEAR_ARM_UNROLL
      for (int t = 0; t < 2; ++t) {
        const float* xs = xb + 32 * h + 16 * t;
        v[t] = zero ? vdupq_n_s8(0)
                    : narrow(code4(vmulq_n_f32(vld1q_f32(xs), s), id), code4(vmulq_n_f32(vld1q_f32(xs + 4), s), id),
                             code4(vmulq_n_f32(vld1q_f32(xs + 8), s), id),
                             code4(vmulq_n_f32(vld1q_f32(xs + 12), s), id));
        sum += vaddlvq_s8(v[t]);
      }
      // Elements e = 32·(b·G/32 + h) .. +31: their place in the nibble order.
      const std::size_t e = b * G + 32 * std::size_t(h), full = k / 64 * 64;
      const int8x16_t even = vuzp1q_s8(v[0], v[1]), odd = vuzp2q_s8(v[0], v[1]);
      if (e < full) {
        const std::size_t base = e / 64 * 64, half = (e % 64) / 2;  // 0 or 16
        vst1q_s8(codes + base + half, even);
        vst1q_s8(codes + base + 32 + half, odd);
      } else {
        vst1q_s8(codes + e, even);
        vst1q_s8(codes + e + 16, odd);
      }
    }
    std::memcpy(row + k + 4 * b, &d, 4);
    std::memcpy(row + k + 4 * nb + 4 * b, &sum, 4);
  }
}

template <int G>
QLINEAR_TARGET_NEON inline void quantize_q8block(const QuantizeActivationArgs& q) {
  for (std::size_t i = q.m0; i < q.m1; ++i) {
    const float* x = q.x + i * q.ldx;
    std::uint8_t* out = q.out + i * q.out_stride;
    const float amax = row_abs_max(x, q.k);
    const bool exact = !std::isfinite(amax) || amax < cpu::detail::activation_exact_below;
    q.exact[i] = exact ? 1 : 0;
    if (exact) {
      q.row_scale[i] = 1.0f;
      std::memset(out, 0, row_bytes<Q8Block<G>>(q.k));
      continue;
    }
    const float s = cpu::detail::activation_prescale(amax);
    q.row_scale[i] = 1.0f / s;
    quantize_q8block_row<G>(x, s, q.k, out);
  }
}

}  // namespace neon

template <>
struct QuantizeActivations<I8Row, Isa::neon> {
  static void rows(const QuantizeActivationArgs& q) { neon::quantize_i8row(q); }
};
template <int G>
struct QuantizeActivations<Q8Block<G>, Isa::neon> {
  static void rows(const QuantizeActivationArgs& q) { neon::quantize_q8block<G>(q); }
};

// ----- Level-independent pieces of the own schemes' tiles (no intrinsics of a higher level).

namespace arm {

/// Σ of an I8Row row's codes.
inline std::int64_t code_sum(const std::uint8_t* a, std::size_t k) {
  const auto* q = reinterpret_cast<const std::int8_t*>(a);
  std::int64_t s = 0;
  std::size_t l = 0;
  for (; l + 16 <= k; l += 16) s += vaddlvq_s8(vld1q_s8(q + l));
  for (; l < k; ++l) s += q[l];
  return s;
}

/// The int8 tile: per weight row j its scale and zero point, then y = row_scale·(s·(dot - zp·Σa))
/// with the exact int64 dots of K::int8_rows<C>.
template <class S, class K>
void int8_tile(const DotTileArgs& t) {
  const auto& p = *static_cast<const Int8Params*>(t.params);
  for (std::size_t j = t.n0; j < t.n1; ++j) {
    const std::uint8_t* w = t.w + j * t.w_stride;
    const float s = S::scale_of(p, j);
    const std::int64_t zp = S::zero_point_of(p, j);
    std::int64_t dot[4];
    for (std::size_t i = t.m0; i < t.m1;) {
      const std::size_t c = std::min<std::size_t>(4, t.m1 - i);
      const std::uint8_t* a = t.a + i * t.a_stride;
      switch (c) {
        case 4: K::template int8_rows<4>(w, a, t.a_stride, t.k, dot); break;
        case 3: K::template int8_rows<3>(w, a, t.a_stride, t.k, dot); break;
        case 2: K::template int8_rows<2>(w, a, t.a_stride, t.k, dot); break;
        default: K::template int8_rows<1>(w, a, t.a_stride, t.k, dot); break;
      }
      for (std::size_t r = 0; r < c; ++r) {
        std::int64_t d = dot[r];
        if (zp != 0) d -= zp * code_sum(a + r * t.a_stride, t.k);
        store(t, i + r, j, s * float(d));
      }
      i += c;
    }
  }
}

/// Where group b's low-nibble codes start in a Q8Block<32> row of k values, and how far after
/// them its high-nibble codes are: 64-value chunks hold even elements then odd ones.
inline void q8block32_offsets(std::size_t b, std::size_t k, std::size_t& lo, std::size_t& step) {
  const std::size_t base = b / 2 * 64;
  if (base + 64 <= k) {
    lo = base + 16 * (b % 2);
    step = 32;
  } else {  // the trailing 32-value chunk
    lo = base;
    step = 16;
  }
}

}  // namespace arm

// ----- Dot engines of this level.

namespace neon {

/// One int8 weight row against C I8Row activation rows: exact int64 dots.
template <int C>
QLINEAR_TARGET_NEON inline void int8_rows(const std::uint8_t* w, const std::uint8_t* a, std::size_t as, std::size_t k,
                                  std::int64_t* out) {
  const auto* wq = reinterpret_cast<const std::int8_t*>(w);
  std::int64_t total[C] = {};
  std::size_t l = 0;
  while (l + 32 <= k) {
    // int32 lanes take at most 2^16 values of |product| <= 127·128 per lane pair: no overflow.
    const std::size_t end = std::min(k - (k - l) % 32, l + 65536);
    int32x4_t acc[C];
    QLINEAR_ARM_UNROLL
    for (int c = 0; c < C; ++c) acc[c] = vdupq_n_s32(0);
    for (; l < end; l += 32) {
      const int8x16_t w0 = vld1q_s8(wq + l), w1 = vld1q_s8(wq + l + 16);
      QLINEAR_ARM_UNROLL
      for (int c = 0; c < C; ++c) {
        const auto* aq = reinterpret_cast<const std::int8_t*>(a + std::size_t(c) * as) + l;
        acc[c] = vaddq_s32(acc[c], dot32(w0, vld1q_s8(aq), w1, vld1q_s8(aq + 16)));
      }
    }
    QLINEAR_ARM_UNROLL
    for (int c = 0; c < C; ++c) total[c] += vaddlvq_s32(acc[c]);
  }
  for (; l < k; ++l)
    QLINEAR_ARM_UNROLL
    for (int c = 0; c < C; ++c)
      total[c] += std::int32_t(wq[l]) * std::int32_t(reinterpret_cast<const std::int8_t*>(a + std::size_t(c) * as)[l]);
  QLINEAR_ARM_UNROLL
  for (int c = 0; c < C; ++c) out[c] = total[c];
}

/// One int4 weight row (Int4<G> or Int4Affine<G>) against C Q8Block<G> rows.
template <class S, int C>
QLINEAR_TARGET_NEON inline void int4_rows(const std::uint8_t* w, const std::uint8_t* a, std::size_t as, std::size_t k,
                                  float* out) {
  constexpr int G = S::group;
  constexpr bool affine = requires { S::Block::m; };
  constexpr std::size_t qs_at = affine ? 4 : 2;
  const std::size_t nb = k / G;
  float v[C] = {};
  const uint8x16_t m4 = vdupq_n_u8(0x0F);
  for (std::size_t b = 0; b < nb; ++b) {
    const std::uint8_t* wb = w + b * S::block_bytes;
    const float dw = f16_at(wb);
    std::int32_t dot[C] = {};
    // G/2 bytes: per 32 bytes (64 weights) the low nibbles meet 32 codes, the high ones the next 32.
    QLINEAR_ARM_UNROLL
    for (int h = 0; h < (G == 32 ? 1 : G / 64); ++h) {
      std::size_t lo = 0, step = 0;
      if constexpr (G == 32)
        arm::q8block32_offsets(b, k, lo, step);
      else
        lo = b * G + 64 * std::size_t(h), step = 32;
      if constexpr (G == 32) {
        const uint8x16_t q = vld1q_u8(wb + qs_at);
        const int8x16_t ql = vreinterpretq_s8_u8(vandq_u8(q, m4)), qh = vreinterpretq_s8_u8(vshrq_n_u8(q, 4));
        QLINEAR_ARM_UNROLL
        for (int c = 0; c < C; ++c) {
          const auto* codes = reinterpret_cast<const std::int8_t*>(a + std::size_t(c) * as);
          dot[c] += vaddvq_s32(dot32(ql, vld1q_s8(codes + lo), qh, vld1q_s8(codes + lo + step)));
        }
      } else {
        const uint8x16x2_t q = vld1q_u8_x2(wb + qs_at + 32 * h);
        const int8x16_t l0 = vreinterpretq_s8_u8(vandq_u8(q.val[0], m4)), l1 = vreinterpretq_s8_u8(vandq_u8(q.val[1], m4));
        const int8x16_t h0 = vreinterpretq_s8_u8(vshrq_n_u8(q.val[0], 4)), h1 = vreinterpretq_s8_u8(vshrq_n_u8(q.val[1], 4));
        QLINEAR_ARM_UNROLL
        for (int c = 0; c < C; ++c) {
          const int8x16x4_t y = vld1q_s8_x4(reinterpret_cast<const std::int8_t*>(a + std::size_t(c) * as) + lo);
          dot[c] += vaddvq_s32(vaddq_s32(dot32(l0, y.val[0], l1, y.val[1]), dot32(h0, y.val[2], h1, y.val[3])));
        }
      }
    }
    QLINEAR_ARM_UNROLL
    for (int c = 0; c < C; ++c) {
      const std::uint8_t* ar = a + std::size_t(c) * as;
      const float da = Q8Block<G>::scale(ar, k, b);
      const std::int32_t sa = Q8Block<G>::sum(ar, k, b);
      if constexpr (affine)
        v[c] += da * (dw * float(dot[c]) + f16_at(wb + 2) * float(sa));
      else
        v[c] += (dw * da) * float(dot[c] - 8 * sa);
    }
  }
  QLINEAR_ARM_UNROLL
  for (int c = 0; c < C; ++c) out[c] = v[c];
}

/// The own schemes' micro-kernels at this level.
struct OwnKernels {
  template <int C>
  QLINEAR_TARGET_NEON static void int8_rows(const std::uint8_t* w, const std::uint8_t* a, std::size_t as, std::size_t k,
                                            std::int64_t* out) {
    neon::int8_rows<C>(w, a, as, k, out);
  }
};
template <class S>
struct Int4Kernels {
  template <int C>
  QLINEAR_TARGET_NEON static void rows(const std::uint8_t* w, const std::uint8_t* a, std::size_t as, std::size_t k,
                                       float* out) {
    neon::int4_rows<S, C>(w, a, as, k, out);
  }
};

}  // namespace neon

template <bool PerChannel, bool Affine>
struct DotTile<Int8Scheme<PerChannel, Affine>, Isa::neon> {
  static void tile(const DotTileArgs& t) { arm::int8_tile<Int8Scheme<PerChannel, Affine>, neon::OwnKernels>(t); }
};
template <int G>
struct DotTile<Int4<G>, Isa::neon> {
  static void tile(const DotTileArgs& t) { arm::tile_by_rows<neon::Int4Kernels<Int4<G>>>(t); }
};
template <int G>
struct DotTile<Int4Affine<G>, Isa::neon> {
  static void tile(const DotTileArgs& t) { arm::tile_by_rows<neon::Int4Kernels<Int4Affine<G>>>(t); }
};

}  // namespace qlinear::cpu

QLINEAR_GGUF_EXACT_FP_END
QLINEAR_ARM_TARGET_RESET(neon_own)
#endif
