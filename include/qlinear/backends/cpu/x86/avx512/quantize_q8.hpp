#pragma once
// Activation quantizers into GGUF's Q8_0, Q8_1 and Q8_K at the AVX-512 level (also what the
// AVX-512 VNNI and AMX levels use). Their bytes are the scalar quantizer's, bit for bit: the
// same power-of-two pre-scale, then ggml's reference quantize_row arithmetic lane by lane
// (IEEE products and quotients are the same in SIMD), with
//  - Q8_0 / Q8_1: roundf (ties away from zero), built from a truncation and the exact
//    remainder v - trunc(v), since vcvtps2dq rounds ties to even;
//  - Q8_K: ggml's nearest_int, which is round-to-nearest-even for |v| < 2^22, i.e. vcvtps2dq
//    with explicit round-to-nearest;
//  - int8 stores that keep the low byte (vpmovdb), as the scalar conversion does.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/scalar/kernels.hpp"
#include "qlinear/backends/cpu/x86/avx512/simd.hpp"
#include "qlinear/core/half.hpp"
#include "qlinear/schemes/gguf/all.hpp"

#if defined(__x86_64__) || defined(_M_X64)

namespace qlinear::cpu::avx512::q8 {

/// Largest |x| over k values, and whether all of them are finite.
QLINEAR_AVX512_FN bool row_amax(const float* x, std::size_t k, float& amax) {
  __m512 mx = _mm512_setzero_ps();
  __mmask16 bad = 0;
  const __m512 inf = _mm512_set1_ps(__builtin_inff());
  for (std::size_t l = 0; l < k; l += 16) {
    const __mmask16 m = k - l >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (k - l)) - 1);
    const __m512 a = _mm512_abs_ps(_mm512_maskz_loadu_ps(m, x + l));
    bad |= _mm512_mask_cmp_ps_mask(m, a, inf, _CMP_NLT_UQ);  // Inf or NaN
    mx = _mm512_max_ps(mx, a);
  }
  amax = _mm512_reduce_max_ps(mx);
  return bad == 0;
}

/// roundf lane by lane (ties away from zero), exact for |v| < 2^23.
QLINEAR_AVX512_FN __m512 round_away(__m512 v) {
  const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __m512 one = _mm512_or_ps(_mm512_set1_ps(1.0f), _mm512_and_ps(v, _mm512_set1_ps(-0.0f)));
  return _mm512_mask_add_ps(t, up, t, one);
}

/// One Q8_0 / Q8_1 block of the pre-scaled values x·s: ggml's quantize_row_q8_0_ref /
/// quantize_row_q8_1_ref. qs at out + qs_off; returns the Σq (for Q8_1) and d through *d.
QLINEAR_AVX512_FN int block_q8_0(const float* x, float s, std::uint8_t* out, int qs_off, float* d_out) {
  const __m512 vs = _mm512_set1_ps(s);
  const __m512 v0 = _mm512_mul_ps(_mm512_loadu_ps(x), vs), v1 = _mm512_mul_ps(_mm512_loadu_ps(x + 16), vs);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const std::uint16_t h = f32_to_f16(d);
  std::memcpy(out, &h, 2);
  const __m512 vid = _mm512_set1_ps(id);
  const __m512i q0 = _mm512_cvttps_epi32(round_away(_mm512_mul_ps(v0, vid)));
  const __m512i q1 = _mm512_cvttps_epi32(round_away(_mm512_mul_ps(v1, vid)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + qs_off), _mm512_cvtepi32_epi8(q0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + qs_off + 16), _mm512_cvtepi32_epi8(q1));
  *d_out = d;
  // Σ of the stored int8 values (sign-extend the low bytes, as the scalar code reads them back).
  const __m512i b0 = _mm512_cvtepi8_epi32(_mm512_cvtepi32_epi8(q0)), b1 = _mm512_cvtepi8_epi32(_mm512_cvtepi32_epi8(q1));
  return _mm512_reduce_add_epi32(_mm512_add_epi32(b0, b1));
}

/// One Q8_K super-block of x·s: ggml's quantize_row_q8_K_ref.
QLINEAR_AVX512_FN void block_q8_K(const float* x, float s, std::uint8_t* out) {
  const __m512 vs = _mm512_set1_ps(s);
  __m512 v[16];
  __m512 mx = _mm512_setzero_ps();
  for (int c = 0; c < 16; ++c) {
    v[c] = _mm512_mul_ps(_mm512_loadu_ps(x + 16 * c), vs);
    mx = _mm512_max_ps(mx, _mm512_abs_ps(v[c]));
  }
  const float amax = _mm512_reduce_max_ps(mx);
  if (amax == 0.0f) {
    std::memset(out, 0, sizeof(gguf::BlockQ8_K));
    return;
  }
  // The value of largest magnitude that comes first (its sign sets the scale's).
  float max = 0.0f;
  const __m512 va = _mm512_set1_ps(amax);
  for (int c = 0; c < 16; ++c) {
    const __mmask16 hit = _mm512_cmp_ps_mask(_mm512_abs_ps(v[c]), va, _CMP_EQ_OQ);
    if (hit) {
      max = x[16 * c + __builtin_ctz(unsigned(hit))] * s;
      break;
    }
  }
  const float iscale = -127.0f / max;
  const __m512 vi = _mm512_set1_ps(iscale);
  std::int16_t bsums[16];
  for (int c = 0; c < 16; ++c) {
    __m512i q = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v[c], vi), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_min_epi32(q, _mm512_set1_epi32(127));
    const __m128i b = _mm512_cvtepi32_epi8(q);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 4 + 16 * c), b);
    bsums[c] = std::int16_t(_mm512_reduce_add_epi32(_mm512_cvtepi8_epi32(b)));
  }
  const float d = 1 / iscale;
  std::memcpy(out, &d, 4);
  std::memcpy(out + 4 + 256, bsums, 32);
}

/// QuantizeActivations' row loop for format A (see QuantizeActivationArgs).
template <class A>
QLINEAR_TARGET_AVX512 inline void rows(const QuantizeActivationArgs& q) {
  for (std::size_t i = q.m0; i < q.m1; ++i) {
    const float* x = q.x + i * q.ldx;
    std::uint8_t* out = q.out + i * q.out_stride;
    float amax = 0.0f;
    const bool finite = row_amax(x, q.k, amax);
    const bool exact = !finite || amax < detail::activation_exact_below;
    q.exact[i] = exact ? 1 : 0;
    if (exact) {
      q.row_scale[i] = 1.0f;
      std::memset(out, 0, row_bytes<A>(q.k));
      continue;
    }
    const float s = detail::activation_prescale(amax);
    q.row_scale[i] = 1.0f / s;
    const std::size_t blocks = q.k / A::block_elems;
    for (std::size_t b = 0; b < blocks; ++b) {
      std::uint8_t* ob = out + b * A::block_bytes;
      const float* xb = x + b * A::block_elems;
      if constexpr (std::is_same_v<A, Q8_K>) {
        block_q8_K(xb, s, ob);
      } else if constexpr (std::is_same_v<A, Q8_1>) {
        float d = 0.0f;
        const int sum = block_q8_0(xb, s, ob, 4, &d);
        const std::uint16_t hs = f32_to_f16(float(sum) * d);
        std::memcpy(ob + 2, &hs, 2);
      } else {
        float d = 0.0f;
        block_q8_0(xb, s, ob, 2, &d);
      }
    }
  }
}

}  // namespace qlinear::cpu::avx512::q8

namespace qlinear::cpu {

template <class A>
  requires(std::same_as<A, Q8_0> || std::same_as<A, Q8_1> || std::same_as<A, Q8_K>)
struct QuantizeActivations<A, Isa::avx512> {
  static void rows(const QuantizeActivationArgs& q) { avx512::q8::rows<A>(q); }
};

}  // namespace qlinear::cpu

#endif
