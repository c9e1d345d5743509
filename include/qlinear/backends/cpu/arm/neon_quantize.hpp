#pragma once
// NEON activation quantizers into Q8_0, Q8_1 and Q8_K (baseline Advanced SIMD; the dotprod and
// i8mm levels select these too). Their bytes are the scalar quantizer's, bit for bit: the same
// pre-scale, the same f32 operations in the same order, and instructions whose rounding is the
// reference's rounding:
//  - Q8_0 / Q8_1: q = roundf(x · id) is FCVTAS (round to nearest, ties away from zero), d and s
//    go to f16 by FCVT (round to nearest even, subnormals kept: what f32_to_f16 computes);
//  - Q8_K: q = nearest_int(iscale · x) is FCVTNS (ties to even: the 1.5·2^23 trick rounds so for
//    |v| < 2^22, and |v| <= 127 here); the block's `max` is its first element of largest
//    magnitude, found by a scan only when both signs reach the maximum.
// The row pre-pass (largest magnitude, finiteness) is FMAXV over |x|, which propagates NaN.

#if defined(__aarch64__)  // empty on other architectures
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qlinear/backends/cpu/arm/target.hpp"
#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/scalar/kernels.hpp"
#include "qlinear/schemes/gguf/all.hpp"

QLINEAR_GGUF_EXACT_FP_BEGIN

namespace qlinear::cpu {
namespace neon {

/// max |x[l]| over the row (NaN if any element is NaN; +Inf if any is infinite).
QLINEAR_TARGET_NEON inline float row_abs_max(const float* x, std::size_t k) {
  float32x4_t m0 = vdupq_n_f32(0.0f), m1 = m0;
  std::size_t l = 0;
  for (; l + 8 <= k; l += 8) {
    m0 = vmaxq_f32(m0, vabsq_f32(vld1q_f32(x + l)));
    m1 = vmaxq_f32(m1, vabsq_f32(vld1q_f32(x + l + 4)));
  }
  for (; l + 4 <= k; l += 4) m0 = vmaxq_f32(m0, vabsq_f32(vld1q_f32(x + l)));
  float m = vmaxvq_f32(vmaxq_f32(m0, m1));
  for (; l < k; ++l) {
    const float v = std::fabs(x[l]);
    m = std::isnan(v) ? v : (v > m ? v : m);
  }
  return m;
}

/// f32 -> f16 bits by FCVT (round to nearest even).
QLINEAR_TARGET_NEON inline void store_f16(std::uint8_t* p, float v) {
  const __fp16 h = __fp16(v);
  std::memcpy(p, &h, sizeof(h));
}

/// Four int32x4 (values in [-128, 127]) to one int8x16, in order.
QLINEAR_TARGET_NEON inline int8x16_t narrow(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
  const int16x8_t ab = vuzp1q_s16(vreinterpretq_s16_s32(a), vreinterpretq_s16_s32(b));
  const int16x8_t cd = vuzp1q_s16(vreinterpretq_s16_s32(c), vreinterpretq_s16_s32(d));
  return vuzp1q_s8(vreinterpretq_s8_s16(ab), vreinterpretq_s8_s16(cd));
}

/// One Q8_0 / Q8_1 block of 32 from x · s: writes d (and s = d·Σq for Q8_1) and the quants.
template <bool WithSum>
QLINEAR_TARGET_NEON inline void quantize_block32(const float* x, float s, std::uint8_t* out) {
  float32x4_t v[8];
  QLINEAR_ARM_UNROLL
  for (int j = 0; j < 8; ++j) v[j] = vmulq_n_f32(vld1q_f32(x + 4 * j), s);
  float32x4_t m = vabsq_f32(v[0]);
  QLINEAR_ARM_UNROLL
  for (int j = 1; j < 8; ++j) m = vmaxq_f32(m, vabsq_f32(v[j]));
  const float amax = vmaxvq_f32(m);
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  int32x4_t q[8];
  QLINEAR_ARM_UNROLL
  for (int j = 0; j < 8; ++j) q[j] = vcvtaq_s32_f32(vmulq_n_f32(v[j], id));
  int8x16_t lo = narrow(q[0], q[1], q[2], q[3]), hi = narrow(q[4], q[5], q[6], q[7]);
  if (std::isinf(id)) {
    // d below 2^-128: the reference's x·id is ±inf or NaN, which trunc_to_int8 maps to 0
    // (FCVTAS would saturate instead).
    lo = hi = vdupq_n_s8(0);
  }
  store_f16(out, d);
  std::uint8_t* qs = out + (WithSum ? 4 : 2);
  vst1q_s8(reinterpret_cast<std::int8_t*>(qs), lo);
  vst1q_s8(reinterpret_cast<std::int8_t*>(qs + 16), hi);
  if constexpr (WithSum) {
    const int sum = int(vaddlvq_s8(lo)) + int(vaddlvq_s8(hi));
    store_f16(out + 2, float(sum) * d);
  }
}

/// One Q8_K super-block of 256 from x · s.
QLINEAR_TARGET_NEON inline void quantize_block_q8_K(const float* x, float s, std::uint8_t* out) {
  float32x4_t amax4 = vdupq_n_f32(0.0f), max4 = vdupq_n_f32(-INFINITY), min4 = vdupq_n_f32(INFINITY);
  for (int j = 0; j < 64; ++j) {
    const float32x4_t v = vmulq_n_f32(vld1q_f32(x + 4 * j), s);
    amax4 = vmaxq_f32(amax4, vabsq_f32(v));
    max4 = vmaxq_f32(max4, v);
    min4 = vminq_f32(min4, v);
  }
  const float amax = vmaxvq_f32(amax4);
  if (amax == 0.0f) {
    std::memset(out, 0, sizeof(gguf::BlockQ8_K));
    return;
  }
  // The reference keeps the first element of largest magnitude (strictly greater replaces).
  float max = vmaxvq_f32(max4) == amax ? amax : -amax;
  if (vmaxvq_f32(max4) == amax && vminvq_f32(min4) == -amax) {
    for (int j = 0; j < 256; ++j) {
      const float v = x[j] * s;
      if (std::fabs(v) == amax) {
        max = v;
        break;
      }
    }
  }
  const float iscale = -127.f / max;
  if (std::isinf(iscale)) {
    // |max| below 127/FLT_MAX: the reference's nearest_int of ±inf and NaN is -2^22 or 0, whose
    // low byte is 0, and its bsums are 0; d = 1/iscale = ∓0.
    std::memset(out, 0, sizeof(gguf::BlockQ8_K));
    const float d = 1 / iscale;
    std::memcpy(out, &d, sizeof(d));
    return;
  }
  const int32x4_t top = vdupq_n_s32(127);
  int8x16_t q[16];
  QLINEAR_ARM_UNROLL
  for (int g = 0; g < 16; ++g) {
    int32x4_t t[4];
    QLINEAR_ARM_UNROLL
    for (int u = 0; u < 4; ++u) {
      const float32x4_t v = vmulq_n_f32(vld1q_f32(x + 16 * g + 4 * u), s);
      t[u] = vminq_s32(vcvtnq_s32_f32(vmulq_n_f32(v, iscale)), top);
    }
    q[g] = narrow(t[0], t[1], t[2], t[3]);
  }
  const float d = 1 / iscale;
  std::memcpy(out, &d, sizeof(d));
  QLINEAR_ARM_UNROLL
  for (int g = 0; g < 16; ++g) vst1q_s8(reinterpret_cast<std::int8_t*>(out + 4 + 16 * g), q[g]);
  // bsums: pairwise widening sums, then three pairwise adds (|sum| <= 16·128 fits int16).
  int16x8_t p[16];
  QLINEAR_ARM_UNROLL
  for (int g = 0; g < 16; ++g) p[g] = vpaddlq_s8(q[g]);
  QLINEAR_ARM_UNROLL
  for (int g = 0; g < 8; ++g) p[g] = vpaddq_s16(p[2 * g], p[2 * g + 1]);
  QLINEAR_ARM_UNROLL
  for (int g = 0; g < 4; ++g) p[g] = vpaddq_s16(p[2 * g], p[2 * g + 1]);
  QLINEAR_ARM_UNROLL
  for (int g = 0; g < 2; ++g) p[g] = vpaddq_s16(p[2 * g], p[2 * g + 1]);
  vst1q_s16(reinterpret_cast<std::int16_t*>(out + 260), p[0]);
  vst1q_s16(reinterpret_cast<std::int16_t*>(out + 276), p[1]);
}

/// The quantizer of the contract (QuantizeActivationArgs) for A in {Q8_0, Q8_1, Q8_K}.
template <class A>
QLINEAR_TARGET_NEON inline void quantize_rows(const QuantizeActivationArgs& q) {
  const std::size_t rb = row_bytes<A>(q.k), nb = q.k / A::block_elems;
  for (std::size_t i = q.m0; i < q.m1; ++i) {
    const float* x = q.x + i * q.ldx;
    std::uint8_t* out = q.out + i * q.out_stride;
    const float amax = row_abs_max(x, q.k);
    const bool exact = !std::isfinite(amax) || amax < cpu::detail::activation_exact_below;
    q.exact[i] = exact ? 1 : 0;
    if (exact) {
      q.row_scale[i] = 1.0f;
      std::memset(out, 0, rb);
      continue;
    }
    const float s = cpu::detail::activation_prescale(amax);
    q.row_scale[i] = 1.0f / s;
    for (std::size_t b = 0; b < nb; ++b) {
      if constexpr (std::is_same_v<A, Q8_K>)
        quantize_block_q8_K(x + b * 256, s, out + b * A::block_bytes);
      else
        quantize_block32<std::is_same_v<A, Q8_1>>(x + b * 32, s, out + b * A::block_bytes);
    }
  }
}

}  // namespace neon

template <class A>
  requires(std::same_as<A, Q8_0> || std::same_as<A, Q8_1> || std::same_as<A, Q8_K>)
struct QuantizeActivations<A, Isa::neon> {
  static void rows(const QuantizeActivationArgs& q) { neon::quantize_rows<A>(q); }
};

}  // namespace qlinear::cpu
QLINEAR_GGUF_EXACT_FP_END
QLINEAR_ARM_TARGET_RESET(neon_quantize)
#endif
