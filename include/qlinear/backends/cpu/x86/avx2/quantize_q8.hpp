#pragma once
// Activation quantizers into GGUF's Q8_0, Q8_1 and Q8_K at the AVX2 level. Bytes identical to
// the scalar quantizer's (see x86/avx512/quantize_q8.hpp for how: the same pre-scale, the
// reference arithmetic lane by lane, roundf from a truncation and the exact remainder,
// nearest_int as round-to-nearest-even, int8 stores keeping the low byte).

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/scalar/kernels.hpp"
#include "qlinear/backends/cpu/x86/avx2/simd.hpp"
#include "qlinear/core/half.hpp"
#include "qlinear/schemes/gguf/all.hpp"

#if defined(__x86_64__) || defined(_M_X64)

namespace qlinear::cpu::avx2::q8 {

QLINEAR_AVX2_FN float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}
QLINEAR_AVX2_FN int hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}
QLINEAR_AVX2_FN __m256 abs_ps(__m256 v) { return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF))); }

/// Largest |x| over k values (k a multiple of 8), and whether all of them are finite.
QLINEAR_AVX2_FN bool row_amax(const float* x, std::size_t k, float& amax) {
  __m256 mx = _mm256_setzero_ps();
  __m256i bad = _mm256_setzero_si256();
  const __m256i inf = _mm256_set1_epi32(0x7F800000);
  std::size_t l = 0;
  for (; l + 8 <= k; l += 8) {
    const __m256 a = abs_ps(_mm256_loadu_ps(x + l));
    // |x| bits above 0x7F7FFFFF: Inf or NaN (a signed compare is right: the sign bit is clear).
    bad = _mm256_or_si256(bad, _mm256_cmpgt_epi32(_mm256_castps_si256(a), _mm256_sub_epi32(inf, _mm256_set1_epi32(1))));
    mx = _mm256_max_ps(mx, a);
  }
  amax = hmax(mx);
  bool finite = _mm256_testz_si256(bad, bad);
  for (; l < k; ++l) {
    const float a = __builtin_fabsf(x[l]);
    finite = finite && a <= 3.4028234663852886e38f;
    amax = a > amax ? a : amax;
  }
  return finite;
}

QLINEAR_AVX2_FN __m256 round_away(__m256 v) {
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 up = _mm256_cmp_ps(abs_ps(_mm256_sub_ps(v, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  const __m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(v, _mm256_set1_ps(-0.0f)));
  return _mm256_add_ps(t, _mm256_and_ps(up, one));
}

/// 32 int32 values to their low bytes, in order.
QLINEAR_AVX2_FN __m256i low_bytes(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i m = _mm256_set1_epi32(0xFF);
  const __m256i ab = _mm256_packus_epi32(_mm256_and_si256(a, m), _mm256_and_si256(b, m));
  const __m256i cd = _mm256_packus_epi32(_mm256_and_si256(c, m), _mm256_and_si256(d, m));
  const __m256i x = _mm256_packus_epi16(ab, cd);  // per 128-bit lane: a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7
  return _mm256_permutevar8x32_epi32(x, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}
/// Σ of 32 bytes read as int8.
QLINEAR_AVX2_FN int sum_i8(__m256i b) {
  const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), b), _mm256_set1_epi16(1));
  return hsum(s);
}

QLINEAR_AVX2_FN int block_q8_0(const float* x, float s, std::uint8_t* out, int qs_off, float* d_out) {
  const __m256 vs = _mm256_set1_ps(s);
  __m256 v[4];
  __m256 mx = _mm256_setzero_ps();
  for (int c = 0; c < 4; ++c) {
    v[c] = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * c), vs);
    mx = _mm256_max_ps(mx, abs_ps(v[c]));
  }
  const float amax = hmax(mx);
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const std::uint16_t h = f32_to_f16(d);
  std::memcpy(out, &h, 2);
  const __m256 vid = _mm256_set1_ps(id);
  __m256i q[4];
  for (int c = 0; c < 4; ++c) q[c] = _mm256_cvttps_epi32(round_away(_mm256_mul_ps(v[c], vid)));
  const __m256i b = low_bytes(q[0], q[1], q[2], q[3]);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + qs_off), b);
  *d_out = d;
  return sum_i8(b);
}

QLINEAR_AVX2_FN void block_q8_K(const float* x, float s, std::uint8_t* out) {
  const __m256 vs = _mm256_set1_ps(s);
  __m256 mx = _mm256_setzero_ps();
  for (int c = 0; c < 32; ++c) mx = _mm256_max_ps(mx, abs_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * c), vs)));
  const float amax = hmax(mx);
  if (amax == 0.0f) {
    std::memset(out, 0, sizeof(gguf::BlockQ8_K));
    return;
  }
  float max = 0.0f;
  const __m256 va = _mm256_set1_ps(amax);
  for (int c = 0; c < 32; ++c) {
    const int hit = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * c), vs)), va, _CMP_EQ_OQ));
    if (hit) {
      max = x[8 * c + __builtin_ctz(unsigned(hit))] * s;
      break;
    }
  }
  const float iscale = -127.0f / max;
  const __m256 vi = _mm256_set1_ps(iscale);
  std::int16_t bsums[16];
  for (int c = 0; c < 8; ++c) {  // 32 values at a time
    __m256i q[4];
    for (int u = 0; u < 4; ++u) {
      const __m256 p = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * c + 8 * u), vs), vi);
      q[u] = _mm256_cvttps_epi32(_mm256_round_ps(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      q[u] = _mm256_min_epi32(q[u], _mm256_set1_epi32(127));
    }
    const __m256i b = low_bytes(q[0], q[1], q[2], q[3]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 4 + 32 * c), b);
    const __m256i w = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), b), _mm256_set1_epi16(1));
    // dwords 0-3 sum bytes 0-15, dwords 4-7 bytes 16-31.
    const __m128i lo = _mm256_castsi256_si128(w), hi = _mm256_extracti128_si256(w, 1);
    __m128i s2 = _mm_hadd_epi32(lo, hi);  // [lo01, lo23, hi01, hi23]
    s2 = _mm_hadd_epi32(s2, s2);          // [lo, hi, lo, hi]
    bsums[2 * c] = std::int16_t(_mm_cvtsi128_si32(s2));
    bsums[2 * c + 1] = std::int16_t(_mm_extract_epi32(s2, 1));
  }
  const float d = 1 / iscale;
  std::memcpy(out, &d, 4);
  std::memcpy(out + 4 + 256, bsums, 32);
}

template <class A>
QLINEAR_TARGET_AVX2 inline void rows(const QuantizeActivationArgs& q) {
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

}  // namespace qlinear::cpu::avx2::q8

namespace qlinear::cpu {

template <class A>
  requires(std::same_as<A, Q8_0> || std::same_as<A, Q8_1> || std::same_as<A, Q8_K>)
struct QuantizeActivations<A, Isa::avx2> {
  static void rows(const QuantizeActivationArgs& q) { avx2::q8::rows<A>(q); }
};

}  // namespace qlinear::cpu

#endif
