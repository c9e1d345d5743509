#pragma once
// AVX-512 activation quantizers into qlinear's own formats (I8Row, Q8Block<G>), in namespace
// qlinear::cpu::avx512::own. Their bytes equal the scalar quantizers' bytes exactly: the same f32
// products and quotients, rounded to nearest even (vcvtps2dq under the default MXCSR is
// std::nearbyint), clamped to ±127; a test compares them byte for byte.

#if defined(__x86_64__) || defined(_M_X64)
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/activation_formats.hpp"
#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/scalar/own_schemes.hpp"
#include "qlinear/backends/cpu/x86/target.hpp"

QLINEAR_X86_KERNELS_BEGIN
namespace qlinear::cpu {
namespace avx512::own {

QLINEAR_TARGET_AVX512 inline float reduce_max_ps(__m512 v) {
  v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  __m128 x = _mm512_castps512_ps128(v);
  x = _mm_max_ps(x, _mm_movehl_ps(x, x));
  x = _mm_max_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}
QLINEAR_TARGET_AVX512 inline std::int32_t reduce_add_epi32(__m512i v) {
  v = _mm512_add_epi32(v, _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_epi32(v, _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  __m128i x = _mm512_castsi512_si128(v);
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(x);
}

// The row's largest |x|; `finite` is false if it holds NaN or ±Inf.
QLINEAR_TARGET_AVX512 inline float row_amax(const float* x, std::size_t k, bool& finite) {
  __m512 m = _mm512_setzero_ps();
  __mmask16 bad = 0;
  std::size_t l = 0;
  for (; l + 16 <= k; l += 16) {
    const __m512 v = _mm512_loadu_ps(x + l);
    bad |= _mm512_fpclass_ps_mask(v, 0x99);  // QNaN, +Inf, -Inf, SNaN
    m = _mm512_max_ps(m, _mm512_abs_ps(v));
  }
  if (l < k) {
    const __mmask16 t = __mmask16((1u << (k - l)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(t, x + l);
    bad |= _mm512_mask_fpclass_ps_mask(t, v, 0x99);
    m = _mm512_max_ps(m, _mm512_abs_ps(v));
  }
  finite = bad == 0;
  return reduce_max_ps(m);
}

// clamp(nearbyint(v · id), ±127) as int32 lanes.
QLINEAR_TARGET_AVX512 inline __m512i codes_of(__m512 v, __m512 id) {
  const __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(v, id));
  return _mm512_max_epi32(_mm512_min_epi32(q, _mm512_set1_epi32(127)), _mm512_set1_epi32(-127));
}

QLINEAR_TARGET_AVX512 inline void i8_row_rows(const QuantizeActivationArgs& q) {
  for (std::size_t i = q.m0; i < q.m1; ++i) {
    const float* x = q.x + i * q.ldx;
    std::uint8_t* out = q.out + i * q.out_stride;
    bool finite = true;
    const float amax = row_amax(x, q.k, finite);
    const bool exact = !finite || amax < cpu::detail::activation_exact_below;
    q.exact[i] = exact ? 1 : 0;
    if (exact) {
      q.row_scale[i] = 1.0f;
      std::memset(out, 0, q.k);
      continue;
    }
    q.row_scale[i] = I8Row::scale_for(amax);
    const __m512 id = _mm512_set1_ps(127.0f / amax);
    std::size_t l = 0;
    for (; l + 16 <= q.k; l += 16)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + l), _mm512_cvtsepi32_epi8(codes_of(_mm512_loadu_ps(x + l), id)));
    if (l < q.k) {
      const __mmask16 t = __mmask16((1u << (q.k - l)) - 1);
      _mm_mask_storeu_epi8(out + l, t, _mm512_cvtsepi32_epi8(codes_of(_mm512_maskz_loadu_ps(t, x + l), id)));
    }
  }
}

// One Q8Block row from the pre-scaled values xs (k a multiple of G).
template <int G>
QLINEAR_TARGET_AVX512 inline void q8_block_row(const float* xs, std::size_t k, std::uint8_t* out) {
  const std::size_t nb = k / G;
  // Per block: the scale's reciprocal (0 for a block stored as zeros) and the code sum.
  auto* d_plane = out + k;
  auto* s_plane = out + k + 4 * nb;
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (std::size_t b = 0; b < nb; ++b) {
    const float* xb = xs + b * G;
    __m512 m = _mm512_setzero_ps();
    for (int l = 0; l < G; l += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(xb + l)));
    const float amax = reduce_max_ps(m);
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    const bool zero = !(id <= 3.4e38f) || id == 0.0f;
    const float d = zero ? 0.0f : amax / 127.0f;
    const __m512 idv = _mm512_set1_ps(zero ? 0.0f : id);
    __m512i sum = _mm512_setzero_si512();
    // 32 values at a time: [evens | odds] of the chunk's 32 or of its 64 (see Q8Block::position).
    for (int l = 0; l < G; l += 32) {
      const __m512i c0 = codes_of(_mm512_loadu_ps(xb + l), idv), c1 = codes_of(_mm512_loadu_ps(xb + l + 16), idv);
      sum = _mm512_add_epi32(sum, _mm512_add_epi32(c0, c1));
      const __m128i ev = _mm512_cvtsepi32_epi8(_mm512_permutex2var_epi32(c0, even, c1));
      const __m128i od = _mm512_cvtsepi32_epi8(_mm512_permutex2var_epi32(c0, odd, c1));
      const std::size_t at = b * G + std::size_t(l);  // first element of these 32
      const std::size_t base = at / 64 * 64;
      const bool in_full_chunk = base + 64 <= k;
      const std::size_t half = in_full_chunk ? 32 : 16, off = in_full_chunk ? (at - base) / 2 : 0;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + base + off), ev);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + base + half + off), od);
    }
    const std::int32_t s = reduce_add_epi32(sum);
    std::memcpy(d_plane + 4 * b, &d, 4);
    std::memcpy(s_plane + 4 * b, &s, 4);
  }
}

template <int G>
QLINEAR_TARGET_AVX512 inline void q8_block_rows(const QuantizeActivationArgs& q) {
  for (std::size_t i = q.m0; i < q.m1; ++i) {
    const float* x = q.x + i * q.ldx;
    std::uint8_t* out = q.out + i * q.out_stride;
    bool finite = true;
    const float amax = row_amax(x, q.k, finite);
    const bool exact = !finite || amax < cpu::detail::activation_exact_below;
    q.exact[i] = exact ? 1 : 0;
    if (exact) {
      q.row_scale[i] = 1.0f;
      std::memset(out, 0, row_bytes<Q8Block<G>>(q.k));
      continue;
    }
    const float s = cpu::detail::activation_prescale(amax);
    const __m512 sv = _mm512_set1_ps(s);
    for (std::size_t l = 0; l < q.k; l += 16) _mm512_storeu_ps(q.scratch + l, _mm512_mul_ps(_mm512_loadu_ps(x + l), sv));
    q.row_scale[i] = 1.0f / s;
    q8_block_row<G>(q.scratch, q.k, out);
  }
}

}  // namespace avx512::own

template <>
struct QuantizeActivations<I8Row, Isa::avx512> {
  static void rows(const QuantizeActivationArgs& q) { avx512::own::i8_row_rows(q); }
};
template <int G>
struct QuantizeActivations<Q8Block<G>, Isa::avx512> {
  static void rows(const QuantizeActivationArgs& q) { avx512::own::q8_block_rows<G>(q); }
};

}  // namespace qlinear::cpu
QLINEAR_X86_KERNELS_END
#endif
