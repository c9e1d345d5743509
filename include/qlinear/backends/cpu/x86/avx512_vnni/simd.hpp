#pragma once
// AVX-512 VNNI building blocks: AVX-512's (x86/avx512/simd.hpp, whose helpers carry a target
// this level includes), with the dot products on vpdpbusd / vpdpwssd. vpdpbusd accumulates
// u8·s8 products in int32, so unsigned operands up to 255 are exact: signed×signed products
// run as (w + 128)·a - 128·Σa, with the correction computed once per activation vector.

#include "qlinear/backends/cpu/x86/avx512/simd.hpp"

#if defined(__x86_64__) || defined(_M_X64)

/// An AVX-512 VNNI building block.
#define QLINEAR_AVX512_VNNI_FN QLINEAR_TARGET_AVX512_VNNI inline __attribute__((always_inline))

namespace qlinear::cpu::avx512_vnni::simd {

using namespace qlinear::cpu::avx512::simd;

inline constexpr bool kVnni = true;

QLINEAR_AVX512_VNNI_FN vi dot_i16(vi acc, vi a, vi b) { return _mm512_dpwssd_epi32(acc, a, b); }
QLINEAR_AVX512_VNNI_FN vi dot_u8s8(vi u, vi s) { return _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, s); }
QLINEAR_AVX512_VNNI_FN vi make_corr(vi a, int c) {
  return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(char(c)), a));
}
QLINEAR_AVX512_VNNI_FN vi dot_corr(vi corr, vi u, vi s) { return _mm512_dpbusd_epi32(corr, u, s); }

}  // namespace qlinear::cpu::avx512_vnni::simd

#endif
