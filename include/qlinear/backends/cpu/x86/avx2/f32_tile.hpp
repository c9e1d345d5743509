#pragma once
// AVX2 f32 tile of the exact path (F32Tile<avx2>), in namespace qlinear::cpu::avx2::exact: y tile =
// x · panelᵀ with register blocks of 2 activation rows × 4 panel rows (8 ymm accumulators, 6
// loads per 8 FMAs), reduced once at the end.

#if defined(__x86_64__) || defined(_M_X64)
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/x86/target.hpp"

QLINEAR_X86_KERNELS_BEGIN
namespace qlinear::cpu {
namespace avx2::exact {

QLINEAR_TARGET_AVX2 inline float f32_reduce(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

// 8 floats at p, or the n < 8 there followed by zeros.
QLINEAR_TARGET_AVX2 inline __m256 f32_load_partial(const float* p, std::size_t n) {
  if (n >= 8) return _mm256_loadu_ps(p);
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), idx));
}

template <int MR>
QLINEAR_TARGET_AVX2 inline void f32_block(const float* const* x, const float* const* w, std::size_t k, float (*out)[4]) {
  __m256 acc[MR][4];
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < 4; ++c) acc[r][c] = _mm256_setzero_ps();
  for (std::size_t l = 0; l < k; l += 8) {
    const std::size_t n = k - l;
    __m256 wv[4];
    for (int c = 0; c < 4; ++c) wv[c] = f32_load_partial(w[c] + l, n);
    for (int r = 0; r < MR; ++r) {
      const __m256 xv = f32_load_partial(x[r] + l, n);
      for (int c = 0; c < 4; ++c) acc[r][c] = _mm256_fmadd_ps(xv, wv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < 4; ++c) out[r][c] = f32_reduce(acc[r][c]);
}

QLINEAR_TARGET_AVX2 inline void f32_tile(const F32TileArgs& t) {
  for (std::size_t i0 = t.m0; i0 < t.m1; i0 += 2) {
    const int mr = int(std::min<std::size_t>(2, t.m1 - i0));
    const float* x[2];
    for (int r = 0; r < 2; ++r) x[r] = t.x + (i0 + std::size_t(std::min(r, mr - 1))) * t.ldx;
    for (std::size_t j0 = 0; j0 < t.n; j0 += 4) {
      const int nr = int(std::min<std::size_t>(4, t.n - j0));
      const float* w[4];
      for (int c = 0; c < 4; ++c) w[c] = t.panel + (j0 + std::size_t(std::min(c, nr - 1))) * t.k;
      float v[2][4];
      if (mr == 1)
        f32_block<1>(x, w, t.k, v);
      else
        f32_block<2>(x, w, t.k, v);
      for (int r = 0; r < mr; ++r) {
        float* y = t.y + (i0 + std::size_t(r)) * t.ldy;
        for (int c = 0; c < nr; ++c) {
          const std::size_t j = j0 + std::size_t(c);
          float val = v[r][c];
          if (t.bias) val += t.bias[j];
          y[j] = t.accumulate ? y[j] + val : val;
        }
      }
    }
  }
}

}  // namespace avx2::exact

template <>
struct F32Tile<Isa::avx2> {
  static void tile(const F32TileArgs& a) { avx2::exact::f32_tile(a); }
};

}  // namespace qlinear::cpu
QLINEAR_X86_KERNELS_END
#endif
