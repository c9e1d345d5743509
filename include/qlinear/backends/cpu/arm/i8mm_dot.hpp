#pragma once
// Integer dot tiles of the neon_i8mm level (Armv8.6-A SMMLA, e.g. Neoverse V1/N2, Cortex-A510+,
// Apple M2+) for every GGUF weight scheme: 2×2 row-pair tiles, as ggml's i8mm paths (nrc == 2):
// two weight rows and two activation rows are interleaved 8 bytes at a time (ZIP1/ZIP2 on 64-bit
// lanes) and each SMMLA adds the four 8-element dot products [w0·a0, w0·a1, w1·a0, w1·a1].
// pairs<2> runs two activation pairs against one weight pair, so the weight decode and its zips
// serve four activation rows. Tiles with one activation row (decode, M = 1) or an odd row left
// over use the dotprod micro-kernels, which this level's target includes.
// The weights are all signed int8 here (unsigned levels of Q4_1/Q5_1/Q4_K/Q5_K/Q2_K fit in
// [0, 31]), so SMMLA covers every scheme and USMMLA is not needed.
//
// Per 32-weight block, 2 weight rows × 4 activation rows (pairs<2>), e.g. Q4_0 × Q8_0: decode
// 2 × 5, weight zips 4, scales ~8, per activation pair: ld1 2, zips 4, smmla 4 (+movi), f16 2 +
// vector build ~4, f32 3 (scvtf, fmul, fmla): ~52 instructions per 256 MACs, against ~64 for the
// dotprod rows<4> on the same 256 MACs (the f32 epilogue is one SCVTF + FMLA per 2×2).

#if defined(__aarch64__)  // empty on other architectures
#include <cstddef>
#include <cstdint>

#include "qlinear/backends/cpu/arm/dotprod_dot.hpp"
#include "qlinear/backends/cpu/arm/neon_decode.hpp"
#include "qlinear/backends/cpu/arm/target.hpp"
#include "qlinear/backends/cpu/arm/tile_driver.hpp"
#include "qlinear/backends/cpu/kernel_contract.hpp"

QLINEAR_GGUF_EXACT_FP_BEGIN

namespace qlinear::cpu {
namespace neon_i8mm {

using neon::ActOf;
using neon::Block32;
using neon::Block32Scheme;
using neon::KQuant;
using neon::KQuantScheme;
using neon::Q8_KAct;

/// [a bytes 0..7, b bytes 0..7] and [a bytes 8..15, b bytes 8..15]: two rows as a 2×8 matrix.
QLINEAR_TARGET_NEON_I8MM inline int8x16_t zip_lo(int8x16_t a, int8x16_t b) {
  return vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)));
}
QLINEAR_TARGET_NEON_I8MM inline int8x16_t zip_hi(int8x16_t a, int8x16_t b) {
  return vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)));
}
/// [a, a, b, b] and [a, b, a, b].
QLINEAR_TARGET_NEON_I8MM inline float32x4_t by_row(float a, float b) {
  return vcombine_f32(vdup_n_f32(a), vdup_n_f32(b));
}
QLINEAR_TARGET_NEON_I8MM inline float32x4_t by_col(float a, float b) {
  const float32x2_t v = vset_lane_f32(b, vdup_n_f32(a), 1);
  return vcombine_f32(v, v);
}

// ----- 32-weight blocks: weight rows w, w + ws against activation rows a .. a + (2P-1)·as.

template <class W, class A, int P>
QLINEAR_TARGET_NEON_I8MM inline void block32_pair_step(const std::uint8_t* w0, std::size_t ws, const std::uint8_t* a,
                                                       std::size_t as, float32x4_t* acc, float32x4_t* mins) {
  const std::uint8_t* w1 = w0 + ws;
  const int8x16x2_t x0 = W::q(w0), x1 = W::q(w1);
  const int8x16_t l0 = zip_lo(x0.val[0], x1.val[0]), l1 = zip_hi(x0.val[0], x1.val[0]);
  const int8x16_t l2 = zip_lo(x0.val[1], x1.val[1]), l3 = zip_hi(x0.val[1], x1.val[1]);
  const float32x4_t dw = by_row(W::d(w0), W::d(w1));
  for (int p = 0; p < P; ++p) {
    const std::uint8_t* y0 = a + std::size_t(2 * p) * as;
    const std::uint8_t* y1 = y0 + as;
    const int8x16x2_t a0 = A::q(y0), a1 = A::q(y1);
    int32x4_t s = smmla(vdupq_n_s32(0), l0, zip_lo(a0.val[0], a1.val[0]));
    s = smmla(s, l1, zip_hi(a0.val[0], a1.val[0]));
    s = smmla(s, l2, zip_lo(a0.val[1], a1.val[1]));
    s = smmla(s, l3, zip_hi(a0.val[1], a1.val[1]));
    acc[p] = vaddq_f32(acc[p], vmulq_f32(vcvtq_f32_s32(s), vmulq_f32(dw, by_col(A::d(y0), A::d(y1)))));
    if constexpr (W::affine)
      mins[p] = vaddq_f32(mins[p], vmulq_f32(by_row(W::m(w0), W::m(w1)), by_col(A::s(y0), A::s(y1))));
  }
}

/// The 2×2P dot products, lane by lane the f32 operations of block32_rows (even and odd blocks
/// apart, then (even + odd) + mins).
template <class W, class A, int P>
QLINEAR_TARGET_NEON_I8MM inline void block32_pairs(const std::uint8_t* w, std::size_t ws, const std::uint8_t* a,
                                                   std::size_t as, std::size_t k, float* out) {
  const std::size_t nb = k / 32;
  float32x4_t acc0[P], acc1[P], mins[P];
  for (int p = 0; p < P; ++p) acc0[p] = acc1[p] = mins[p] = vdupq_n_f32(0.0f);
  std::size_t ib = 0;
  for (; ib + 2 <= nb; ib += 2) {
    block32_pair_step<W, A, P>(w + ib * W::bytes, ws, a + ib * A::bytes, as, acc0, mins);
    block32_pair_step<W, A, P>(w + (ib + 1) * W::bytes, ws, a + (ib + 1) * A::bytes, as, acc1, mins);
  }
  if (ib < nb) block32_pair_step<W, A, P>(w + ib * W::bytes, ws, a + ib * A::bytes, as, acc0, mins);
  for (int p = 0; p < P; ++p) {
    const float32x4_t r = vaddq_f32(vaddq_f32(acc0[p], acc1[p]), mins[p]);  // [w0·a0, w0·a1, w1·a0, w1·a1]
    out[2 * p] = vgetq_lane_f32(r, 0);
    out[2 * p + 1] = vgetq_lane_f32(r, 1);
    out[2 * P + 2 * p] = vgetq_lane_f32(r, 2);
    out[2 * P + 2 * p + 1] = vgetq_lane_f32(r, 3);
  }
}

// ----- 256-weight super-blocks.

template <class W, int CH, int P>
QLINEAR_TARGET_NEON_I8MM inline void kquant_pair_chunk(const std::uint8_t* wb0, const std::uint8_t* wb1,
                                                       const std::uint8_t* ab, std::size_t as, int32x4_t s0,
                                                       int32x4_t s1, int32x4_t* acc) {
  int8x16_t q0[4], q1[4];
  W::template chunk<CH>(wb0, q0);
  W::template chunk<CH>(wb1, q1);
  int8x16_t l[8];
  for (int v = 0; v < 4; ++v) {
    l[2 * v] = zip_lo(q0[v], q1[v]);
    l[2 * v + 1] = zip_hi(q0[v], q1[v]);
  }
  // Sub-block scales as [s0, s0, s1, s1] for each 2×2 sum.
  int32x4_t g[4];
  if constexpr (W::group == 16) {
    const int32x4_t t0 = vzip1q_s32(s0, s1), t1 = vzip2q_s32(s0, s1);
    g[0] = vzip1q_s32(t0, t0);
    g[1] = vzip2q_s32(t0, t0);
    g[2] = vzip1q_s32(t1, t1);
    g[3] = vzip2q_s32(t1, t1);
  } else {
    g[0] = vreinterpretq_s32_s64(vzip1q_s64(vreinterpretq_s64_s32(s0), vreinterpretq_s64_s32(s1)));
    g[1] = vreinterpretq_s32_s64(vzip2q_s64(vreinterpretq_s64_s32(s0), vreinterpretq_s64_s32(s1)));
  }
  for (int p = 0; p < P; ++p) {
    const int8x16x4_t y0 = Q8_KAct::chunk(ab + std::size_t(2 * p) * as, CH);
    const int8x16x4_t y1 = Q8_KAct::chunk(ab + std::size_t(2 * p + 1) * as, CH);
    int32x4_t m[4];
    for (int v = 0; v < 4; ++v) {
      m[v] = smmla(vdupq_n_s32(0), l[2 * v], zip_lo(y0.val[v], y1.val[v]));
      m[v] = smmla(m[v], l[2 * v + 1], zip_hi(y0.val[v], y1.val[v]));
    }
    if constexpr (W::group == 16) {
      for (int v = 0; v < 4; ++v) acc[p] = vmlaq_s32(acc[p], m[v], g[v]);
    } else {
      acc[p] = vmlaq_s32(acc[p], vaddq_s32(m[0], m[1]), g[0]);
      acc[p] = vmlaq_s32(acc[p], vaddq_s32(m[2], m[3]), g[1]);
    }
  }
}

template <class W, int P>
QLINEAR_TARGET_NEON_I8MM inline void kquant_pairs(const std::uint8_t* w, std::size_t ws, const std::uint8_t* a,
                                                  std::size_t as, std::size_t k, float* out) {
  const std::size_t nb = k / 256;
  float sum[2][2 * P] = {};
  for (std::size_t ib = 0; ib < nb; ++ib) {
    const std::uint8_t* wb0 = w + ib * W::bytes;
    const std::uint8_t* wb1 = wb0 + ws;
    const std::uint8_t* ab = a + ib * Q8_KAct::bytes;
    const typename W::Prep p0 = W::prepare(wb0), p1 = W::prepare(wb1);
    int32x4_t acc[P];
    for (int p = 0; p < P; ++p) acc[p] = vdupq_n_s32(0);
    kquant_pair_chunk<W, 0, P>(wb0, wb1, ab, as, p0.sv[0], p1.sv[0], acc);
    kquant_pair_chunk<W, 1, P>(wb0, wb1, ab, as, p0.sv[1], p1.sv[1], acc);
    kquant_pair_chunk<W, 2, P>(wb0, wb1, ab, as, p0.sv[2], p1.sv[2], acc);
    kquant_pair_chunk<W, 3, P>(wb0, wb1, ab, as, p0.sv[3], p1.sv[3], acc);
    for (int p = 0; p < P; ++p) {
      const std::uint8_t* y0 = ab + std::size_t(2 * p) * as;
      const std::uint8_t* y1 = y0 + as;
      sum[0][2 * p] += W::finish(p0, y0, vgetq_lane_s32(acc[p], 0));
      sum[0][2 * p + 1] += W::finish(p0, y1, vgetq_lane_s32(acc[p], 1));
      sum[1][2 * p] += W::finish(p1, y0, vgetq_lane_s32(acc[p], 2));
      sum[1][2 * p + 1] += W::finish(p1, y1, vgetq_lane_s32(acc[p], 3));
    }
  }
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 2 * P; ++c) out[r * 2 * P + c] = sum[r][c];
}

/// The micro-kernels of scheme S at this level, for arm::tile_by_pairs.
template <class S>
struct Kernels {
  template <int C>
  QLINEAR_TARGET_NEON_I8MM static void rows(const std::uint8_t* w, const std::uint8_t* a, std::size_t as,
                                            std::size_t k, float* out) {
    neon_dotprod::Kernels<S>::template rows<C>(w, a, as, k, out);
  }
  template <int P>
  QLINEAR_TARGET_NEON_I8MM static void pairs(const std::uint8_t* w, std::size_t ws, const std::uint8_t* a,
                                             std::size_t as, std::size_t k, float* out) {
    if constexpr (Block32Scheme<S>)
      block32_pairs<Block32<S>, typename ActOf<activation_scheme_t<S>>::type, P>(w, ws, a, as, k, out);
    else
      kquant_pairs<KQuant<S>, P>(w, ws, a, as, k, out);
  }
};

}  // namespace neon_i8mm

template <class S>
  requires(neon::Block32Scheme<S> || neon::KQuantScheme<S>)
struct DotTile<S, Isa::neon_i8mm> {
  static void tile(const DotTileArgs& t) { arm::tile_by_pairs<neon_i8mm::Kernels<S>>(t); }
};

}  // namespace qlinear::cpu
QLINEAR_GGUF_EXACT_FP_END
QLINEAR_ARM_TARGET_RESET(i8mm_dot)
#endif
