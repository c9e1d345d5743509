#pragma once
// AVX-512 f32 tile of the exact path (F32Tile<avx512>), in namespace qlinear::cpu::avx512::exact:
// y tile = x · panelᵀ over a panel of dequantized weight rows. Register blocks of 4 activation
// rows × 4 panel rows, 16 f32 accumulators walking K together (8 loads per 16 FMAs, so the FMA
// ports are the limit while the rows stream from L1/L2), reduced once at the end.

#if defined(__x86_64__) || defined(_M_X64)
#include <algorithm>
#include <cstddef>

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/x86/target.hpp"

QLINEAR_X86_KERNELS_BEGIN
namespace qlinear::cpu {
namespace avx512::exact {

// The 16 lanes of v summed (pairwise).
QLINEAR_TARGET_AVX512 inline float f32_reduce(__m512 v) {
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  __m128 x = _mm512_castps512_ps128(v);
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

template <int MR>
QLINEAR_TARGET_AVX512 inline void f32_block(const float* const* x, const float* const* w, std::size_t k, float (*out)[4]) {
  __m512 acc[MR][4];
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < 4; ++c) acc[r][c] = _mm512_setzero_ps();
  std::size_t l = 0;
  for (; l + 16 <= k; l += 16) {
    __m512 wv[4];
    for (int c = 0; c < 4; ++c) wv[c] = _mm512_loadu_ps(w[c] + l);
    for (int r = 0; r < MR; ++r) {
      const __m512 xv = _mm512_loadu_ps(x[r] + l);
      for (int c = 0; c < 4; ++c) acc[r][c] = _mm512_fmadd_ps(xv, wv[c], acc[r][c]);
    }
  }
  if (l < k) {
    const __mmask16 m = __mmask16((1u << (k - l)) - 1);
    __m512 wv[4];
    for (int c = 0; c < 4; ++c) wv[c] = _mm512_maskz_loadu_ps(m, w[c] + l);
    for (int r = 0; r < MR; ++r) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, x[r] + l);
      for (int c = 0; c < 4; ++c) acc[r][c] = _mm512_fmadd_ps(xv, wv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < 4; ++c) out[r][c] = f32_reduce(acc[r][c]);
}

QLINEAR_TARGET_AVX512 inline void f32_tile(const F32TileArgs& t) {
  for (std::size_t i0 = t.m0; i0 < t.m1; i0 += 4) {
    const int mr = int(std::min<std::size_t>(4, t.m1 - i0));
    const float* x[4];
    for (int r = 0; r < 4; ++r) x[r] = t.x + (i0 + std::size_t(std::min(r, mr - 1))) * t.ldx;
    for (std::size_t j0 = 0; j0 < t.n; j0 += 4) {
      const int nr = int(std::min<std::size_t>(4, t.n - j0));
      const float* w[4];
      for (int c = 0; c < 4; ++c) w[c] = t.panel + (j0 + std::size_t(std::min(c, nr - 1))) * t.k;
      float v[4][4];
      switch (mr) {
        case 1: f32_block<1>(x, w, t.k, v); break;
        case 2: f32_block<2>(x, w, t.k, v); break;
        case 3: f32_block<3>(x, w, t.k, v); break;
        default: f32_block<4>(x, w, t.k, v); break;
      }
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

}  // namespace avx512::exact

template <>
struct F32Tile<Isa::avx512> {
  static void tile(const F32TileArgs& a) { avx512::exact::f32_tile(a); }
};

}  // namespace qlinear::cpu
QLINEAR_X86_KERNELS_END
#endif
