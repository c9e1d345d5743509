#pragma once
// Integer dot tiles of the plain-NEON level (Armv8.0 Advanced SIMD, e.g. Cortex-A53/A72) for
// every GGUF weight scheme: no SDOT, so sixteen int8 products go through SMULL + SMLAL2 (two
// products per int16 lane) and SADDLP/SADALP into int32, as ggml's ggml_vdotq_s32 fallback
// does. An int16 lane holds two products of an activation in [-127, 127] (what every quantizer
// of Q8_0/Q8_1/Q8_K produces) with a weight in [-128, 127]: |sum| <= 32512.
//
// Counted in g++ 12 -O2 code, instructions per weight block against C activation rows:
//   Q4_0 × Q8_0   C=1: 25 per 32 MACs     C=4: 71.5 per 128 (0.56 per MAC)
//   Q4_K × Q8_K   C=1: 158 per 256        C=4: 454 per 1024 (0.44 per MAC)
//   Q6_K × Q8_K   C=1: 190 per 256        C=4: 564 per 1024

#if defined(__aarch64__)  // empty on other architectures
#include <cstddef>
#include <cstdint>

#include "qlinear/backends/cpu/arm/neon_decode.hpp"
#include "qlinear/backends/cpu/arm/target.hpp"
#include "qlinear/backends/cpu/arm/tile_driver.hpp"
#include "qlinear/backends/cpu/kernel_contract.hpp"

QLINEAR_GGUF_EXACT_FP_BEGIN

namespace qlinear::cpu {
namespace neon {

/// Σ_{t<16} a[t]·b[t], spread over four int32 lanes.
QLINEAR_TARGET_NEON QLINEAR_ARM_INLINE int32x4_t dot16(int8x16_t a, int8x16_t b) {
  int16x8_t p = vmull_s8(vget_low_s8(a), vget_low_s8(b));
  p = vmlal_high_s8(p, a, b);
  return vpaddlq_s16(p);
}
/// Σ over 32 products (a0·b0 + a1·b1), spread over four int32 lanes.
QLINEAR_TARGET_NEON QLINEAR_ARM_INLINE int32x4_t dot32(int8x16_t a0, int8x16_t b0, int8x16_t a1, int8x16_t b1) {
  int16x8_t p = vmull_s8(vget_low_s8(a1), vget_low_s8(b1));
  p = vmlal_high_s8(p, a1, b1);
  return vpadalq_s16(dot16(a0, b0), p);
}

// ----- 32-weight blocks: one weight row against C activation rows.

template <class W, class A, int C>
QLINEAR_TARGET_NEON QLINEAR_ARM_INLINE void block32_step(const std::uint8_t* wb, const std::uint8_t* ab, std::size_t as,
                                              float* acc, float* mins) {
  const int8x16x2_t x = W::q(wb);
  const float dw = W::d(wb);
  QLINEAR_ARM_UNROLL
  for (int c = 0; c < C; ++c) {
    const std::uint8_t* yb = ab + std::size_t(c) * as;
    const int8x16x2_t y = A::q(yb);
    const std::int32_t isum = vaddvq_s32(dot32(x.val[0], y.val[0], x.val[1], y.val[1]));
    acc[c] += float(isum) * (dw * A::d(yb));
    if constexpr (W::affine) mins[c] += W::m(wb) * A::s(yb);
  }
}

/// out[c] = dot(w, a + c·as) over k/32 blocks: per block the exact integer sum times d_w·d_a
/// (ggml's order), even and odd blocks into separate sums; the i8mm pair tiles do the same f32
/// operations lane by lane, so a row's result does not depend on the tile shape it ran in.
template <class W, class A, int C>
QLINEAR_TARGET_NEON inline void block32_rows(const std::uint8_t* w, const std::uint8_t* a, std::size_t as,
                                              std::size_t k, float* out) {
  const std::size_t nb = k / 32;
  float acc0[C] = {}, acc1[C] = {}, mins[C] = {};
  std::size_t ib = 0;
  for (; ib + 2 <= nb; ib += 2) {
    block32_step<W, A, C>(w + ib * W::bytes, a + ib * A::bytes, as, acc0, mins);
    block32_step<W, A, C>(w + (ib + 1) * W::bytes, a + (ib + 1) * A::bytes, as, acc1, mins);
  }
  if (ib < nb) block32_step<W, A, C>(w + ib * W::bytes, a + ib * A::bytes, as, acc0, mins);
  QLINEAR_ARM_UNROLL
  for (int c = 0; c < C; ++c) out[c] = (acc0[c] + acc1[c]) + mins[c];
}

// ----- 256-weight super-blocks: one weight row against C activation rows.

template <class W, int CH, int C>
QLINEAR_TARGET_NEON QLINEAR_ARM_INLINE void kquant_chunk(const std::uint8_t* wb, const std::uint8_t* ab, std::size_t as,
                                             int32x4_t sv, int32x4_t* acc) {
  int8x16_t q[4];
  W::template chunk<CH>(wb, q);
  QLINEAR_ARM_UNROLL
  for (int c = 0; c < C; ++c) {
    const int8x16x4_t y = Q8_KAct::chunk(ab + std::size_t(c) * as, CH);
    int32x4_t t;
    if constexpr (W::group == 16)
      t = vpaddq_s32(vpaddq_s32(dot16(q[0], y.val[0]), dot16(q[1], y.val[1])),
                     vpaddq_s32(dot16(q[2], y.val[2]), dot16(q[3], y.val[3])));
    else
      t = vpaddq_s32(dot32(q[0], y.val[0], q[1], y.val[1]), dot32(q[2], y.val[2], q[3], y.val[3]));
    acc[c] = vmlaq_s32(acc[c], t, sv);
  }
}

template <class W, int C>
QLINEAR_TARGET_NEON inline void kquant_rows(const std::uint8_t* w, const std::uint8_t* a, std::size_t as,
                                            std::size_t k, float* out) {
  const std::size_t nb = k / 256;
  float sum[C] = {};
  for (std::size_t ib = 0; ib < nb; ++ib) {
    const std::uint8_t* wb = w + ib * W::bytes;
    const std::uint8_t* ab = a + ib * Q8_KAct::bytes;
    const typename W::Prep p = W::prepare(wb);
    int32x4_t acc[C];
    QLINEAR_ARM_UNROLL
    for (int c = 0; c < C; ++c) acc[c] = vdupq_n_s32(0);
    kquant_chunk<W, 0, C>(wb, ab, as, p.sv[0], acc);
    kquant_chunk<W, 1, C>(wb, ab, as, p.sv[1], acc);
    kquant_chunk<W, 2, C>(wb, ab, as, p.sv[2], acc);
    kquant_chunk<W, 3, C>(wb, ab, as, p.sv[3], acc);
    QLINEAR_ARM_UNROLL
    for (int c = 0; c < C; ++c) sum[c] += W::finish(p, ab + std::size_t(c) * as, vaddvq_s32(acc[c]));
  }
  QLINEAR_ARM_UNROLL
  for (int c = 0; c < C; ++c) out[c] = sum[c];
}

template <class S>
concept Block32Scheme = requires { Block32<S>::bytes; };
template <class S>
concept KQuantScheme = requires { KQuant<S>::bytes; };

/// The micro-kernels of scheme S at this level, for arm::tile_by_rows.
template <class S>
struct Kernels {
  template <int C>
  QLINEAR_TARGET_NEON static void rows(const std::uint8_t* w, const std::uint8_t* a, std::size_t as, std::size_t k,
                                       float* out) {
    if constexpr (Block32Scheme<S>)
      block32_rows<Block32<S>, typename ActOf<activation_scheme_t<S>>::type, C>(w, a, as, k, out);
    else
      kquant_rows<KQuant<S>, C>(w, a, as, k, out);
  }
};

}  // namespace neon

template <class S>
  requires(neon::Block32Scheme<S> || neon::KQuantScheme<S>)
struct DotTile<S, Isa::neon> {
  static void tile(const DotTileArgs& t) { arm::tile_by_rows<neon::Kernels<S>>(t); }
};

}  // namespace qlinear::cpu
QLINEAR_GGUF_EXACT_FP_END
QLINEAR_ARM_TARGET_RESET(neon_dot)
#endif
