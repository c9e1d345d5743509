#pragma once
// Integer dot tiles of the neon_i8mm level (Armv8.6-A SMMLA, e.g. Neoverse V1/N2, Cortex-A510+,
// Apple M2+) for the 32-weight-block schemes (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL): 2×2
// row-pair tiles, as ggml's i8mm paths (nrc == 2): two weight rows and two activation rows are
// interleaved 8 bytes at a time (ZIP1/ZIP2 on 64-bit lanes) and each SMMLA adds the four
// 8-element dot products [w0·a0, w0·a1, w1·a0, w1·a1]. pairs<2> runs two activation pairs
// against one weight pair, so the weight decode and its zips serve four activation rows. Tiles
// with one activation row (decode, M = 1) or an odd row left over use the dotprod micro-kernels,
// which this level's target includes. All weights here are signed int8 (Q4_1/Q5_1's unsigned
// levels fit in [0, 31]), so SMMLA covers them and USMMLA is not needed.
//
// Counted in g++ 12 -O2 code (main loop = two blocks): Q4_0 × Q8_0 pairs<2> 155 instructions
// per 512 MACs (0.30 per MAC) against 102 per 256 (0.40) for the dotprod rows<4>; Q8_0 0.28
// against 0.38; the f32 epilogue is one SCVTF + FMUL + FADD per 2×2 instead of per dot.
// The k-quants and IQ4_XS have no SMMLA tile: the activation zips (64 per 256-weight super-block
// and activation pair) cost more than SMMLA saves over SDOT; a 2×4 SMMLA tile was written and
// counted at 698 instructions per 2048 MACs for Q4_K (0.34 per MAC, 0.42 for Q5_K/Q6_K) against
// 314 per 1024 (0.31) for the dotprod rows<4>, so those schemes select the dotprod tile here.

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

/// [a bytes 0..7, b bytes 0..7] and [a bytes 8..15, b bytes 8..15]: two rows as a 2×8 matrix.
QLINEAR_TARGET_NEON_I8MM QLINEAR_ARM_INLINE int8x16_t zip_lo(int8x16_t a, int8x16_t b) {
  return vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)));
}
QLINEAR_TARGET_NEON_I8MM QLINEAR_ARM_INLINE int8x16_t zip_hi(int8x16_t a, int8x16_t b) {
  return vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)));
}
/// [a, a, b, b] and [a, b, a, b].
QLINEAR_TARGET_NEON_I8MM QLINEAR_ARM_INLINE float32x4_t by_row(float a, float b) {
  return vcombine_f32(vdup_n_f32(a), vdup_n_f32(b));
}
QLINEAR_TARGET_NEON_I8MM QLINEAR_ARM_INLINE float32x4_t by_col(float a, float b) {
  const float32x2_t v = vset_lane_f32(b, vdup_n_f32(a), 1);
  return vcombine_f32(v, v);
}

// ----- 32-weight blocks: weight rows w, w + ws against activation rows a .. a + (2P-1)·as.

template <class W, class A, int P>
QLINEAR_TARGET_NEON_I8MM QLINEAR_ARM_INLINE void block32_pair_step(const std::uint8_t* w0, std::size_t ws, const std::uint8_t* a,
                                                       std::size_t as, float32x4_t* acc, float32x4_t* mins) {
  const std::uint8_t* w1 = w0 + ws;
  const int8x16x2_t x0 = W::q(w0), x1 = W::q(w1);
  const int8x16_t l0 = zip_lo(x0.val[0], x1.val[0]), l1 = zip_hi(x0.val[0], x1.val[0]);
  const int8x16_t l2 = zip_lo(x0.val[1], x1.val[1]), l3 = zip_hi(x0.val[1], x1.val[1]);
  const float32x4_t dw = by_row(W::d(w0), W::d(w1));
  QLINEAR_ARM_UNROLL
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
  QLINEAR_ARM_UNROLL
  for (int p = 0; p < P; ++p) acc0[p] = acc1[p] = mins[p] = vdupq_n_f32(0.0f);
  std::size_t ib = 0;
  for (; ib + 2 <= nb; ib += 2) {
    block32_pair_step<W, A, P>(w + ib * W::bytes, ws, a + ib * A::bytes, as, acc0, mins);
    block32_pair_step<W, A, P>(w + (ib + 1) * W::bytes, ws, a + (ib + 1) * A::bytes, as, acc1, mins);
  }
  if (ib < nb) block32_pair_step<W, A, P>(w + ib * W::bytes, ws, a + ib * A::bytes, as, acc0, mins);
  QLINEAR_ARM_UNROLL
  for (int p = 0; p < P; ++p) {
    const float32x4_t r = vaddq_f32(vaddq_f32(acc0[p], acc1[p]), mins[p]);  // [w0·a0, w0·a1, w1·a0, w1·a1]
    out[2 * p] = vgetq_lane_f32(r, 0);
    out[2 * p + 1] = vgetq_lane_f32(r, 1);
    out[2 * P + 2 * p] = vgetq_lane_f32(r, 2);
    out[2 * P + 2 * p + 1] = vgetq_lane_f32(r, 3);
  }
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
    block32_pairs<Block32<S>, typename ActOf<activation_scheme_t<S>>::type, P>(w, ws, a, as, k, out);
  }
};

}  // namespace neon_i8mm

template <class S>
  requires neon::Block32Scheme<S>
struct DotTile<S, Isa::neon_i8mm> {
  static void tile(const DotTileArgs& t) { arm::tile_by_pairs<neon_i8mm::Kernels<S>>(t); }
};

}  // namespace qlinear::cpu
QLINEAR_GGUF_EXACT_FP_END
QLINEAR_ARM_TARGET_RESET(i8mm_dot)
#endif
