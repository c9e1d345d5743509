#pragma once
// The integer path of qlinear's own schemes at the neon_dotprod level: neon_own.hpp's engines
// (int8 weights × I8Row, int4 groups × Q8Block<G>) with SDOT for the int8 products. The
// quantizers are neon_own.hpp's. neon_i8mm selects these too: without weights repacked for it,
// SMMLA's zips of both operands cost more than they save on these formats (whose int8 rows
// carry no per-block scale to amortise; see i8mm_dot.hpp for the counts on the GGUF formats).

#if defined(__aarch64__)  // empty on other architectures
#include <cstddef>
#include <cstdint>

#include "qlinear/backends/cpu/activation_formats.hpp"
#include "qlinear/backends/cpu/arm/dotprod_dot.hpp"
#include "qlinear/backends/cpu/arm/neon_own.hpp"
#include "qlinear/backends/cpu/arm/target.hpp"
#include "qlinear/backends/cpu/arm/tile_driver.hpp"
#include "qlinear/backends/cpu/kernel_contract.hpp"

QLINEAR_GGUF_EXACT_FP_BEGIN

namespace qlinear::cpu {

// ----- Dot engines of this level.

namespace neon_dotprod {

using neon::f16_at;

/// One int8 weight row against C I8Row activation rows: exact int64 dots.
template <int C>
QLINEAR_TARGET_NEON_DOTPROD inline void int8_rows(const std::uint8_t* w, const std::uint8_t* a, std::size_t as, std::size_t k,
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
QLINEAR_TARGET_NEON_DOTPROD inline void int4_rows(const std::uint8_t* w, const std::uint8_t* a, std::size_t as, std::size_t k,
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
  QLINEAR_TARGET_NEON_DOTPROD static void int8_rows(const std::uint8_t* w, const std::uint8_t* a, std::size_t as, std::size_t k,
                                            std::int64_t* out) {
    neon_dotprod::int8_rows<C>(w, a, as, k, out);
  }
};
template <class S>
struct Int4Kernels {
  template <int C>
  QLINEAR_TARGET_NEON_DOTPROD static void rows(const std::uint8_t* w, const std::uint8_t* a, std::size_t as, std::size_t k,
                                       float* out) {
    neon_dotprod::int4_rows<S, C>(w, a, as, k, out);
  }
};

}  // namespace neon_dotprod

template <bool PerChannel, bool Affine>
struct DotTile<Int8Scheme<PerChannel, Affine>, Isa::neon_dotprod> {
  static void tile(const DotTileArgs& t) { arm::int8_tile<Int8Scheme<PerChannel, Affine>, neon_dotprod::OwnKernels>(t); }
};
template <int G>
struct DotTile<Int4<G>, Isa::neon_dotprod> {
  static void tile(const DotTileArgs& t) { arm::tile_by_rows<neon_dotprod::Int4Kernels<Int4<G>>>(t); }
};
template <int G>
struct DotTile<Int4Affine<G>, Isa::neon_dotprod> {
  static void tile(const DotTileArgs& t) { arm::tile_by_rows<neon_dotprod::Int4Kernels<Int4Affine<G>>>(t); }
};

}  // namespace qlinear::cpu

QLINEAR_GGUF_EXACT_FP_END
QLINEAR_ARM_TARGET_RESET(dotprod_own)
#endif
