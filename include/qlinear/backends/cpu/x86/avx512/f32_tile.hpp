#pragma once
// AVX-512 f32 tile of the exact path (F32Tile<avx512>), in namespace qlinear::cpu::avx512::exact:
// y tile = x · panelᵀ over a panel of (at most 16) dequantized weight rows.
//  - Fewer than 16 activation rows: dot products, register blocks of 4 activation rows × 4 panel
//    rows walking K together, reduced once at the end (nothing to transpose for a GEMV).
//  - 16 or more: the panel is transposed once (K-major, 16 columns = one register), then each
//    activation value is broadcast against a panel row: 8 rows of accumulators per block, 9 loads
//    per 8 FMAs from an L1-sized K slab, no reductions; the transposition is shared by every row.

#if defined(__x86_64__) || defined(_M_X64)
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "qlinear/core/aligned_buffer.hpp"

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
  QLINEAR_UNROLL
  for (int r = 0; r < MR; ++r)
    QLINEAR_UNROLL
    for (int c = 0; c < 4; ++c) acc[r][c] = _mm512_setzero_ps();
  std::size_t l = 0;
  for (; l + 16 <= k; l += 16) {
    __m512 wv[4];
    QLINEAR_UNROLL
    for (int c = 0; c < 4; ++c) wv[c] = _mm512_loadu_ps(w[c] + l);
    QLINEAR_UNROLL
    for (int r = 0; r < MR; ++r) {
      const __m512 xv = _mm512_loadu_ps(x[r] + l);
      QLINEAR_UNROLL
      for (int c = 0; c < 4; ++c) acc[r][c] = _mm512_fmadd_ps(xv, wv[c], acc[r][c]);
    }
  }
  if (l < k) {
    const __mmask16 m = __mmask16((1u << (k - l)) - 1);
    __m512 wv[4];
    QLINEAR_UNROLL
    for (int c = 0; c < 4; ++c) wv[c] = _mm512_maskz_loadu_ps(m, w[c] + l);
    QLINEAR_UNROLL
    for (int r = 0; r < MR; ++r) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, x[r] + l);
      QLINEAR_UNROLL
      for (int c = 0; c < 4; ++c) acc[r][c] = _mm512_fmadd_ps(xv, wv[c], acc[r][c]);
    }
  }
  QLINEAR_UNROLL
  for (int r = 0; r < MR; ++r)
    QLINEAR_UNROLL
    for (int c = 0; c < 4; ++c) out[r][c] = f32_reduce(acc[r][c]);
}

// 16 × 16 f32 transpose (rows in, columns out).
QLINEAR_TARGET_AVX512 inline void transpose16(__m512* r) {
  __m512 t[16];
  QLINEAR_UNROLL
  for (int i = 0; i < 16; i += 2) t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  QLINEAR_UNROLL
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
  }
  QLINEAR_UNROLL
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
  }
  QLINEAR_UNROLL
  for (int i = 0; i < 8; ++i) r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88), r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
}

// The panel (n ≤ 16 rows of k) as k rows of 16 (columns n … 15 zero).
QLINEAR_TARGET_AVX512 inline void transpose_panel(const float* panel, std::size_t n, std::size_t k, float* out) {
  for (std::size_t l = 0; l < k; l += 16) {
    const __mmask16 m = k - l >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (k - l)) - 1);
    __m512 r[16];
    QLINEAR_UNROLL
    for (int j = 0; j < 16; ++j) r[j] = std::size_t(j) < n ? _mm512_maskz_loadu_ps(m, panel + std::size_t(j) * k + l) : _mm512_setzero_ps();
    transpose16(r);
    for (std::size_t c = 0; c < 16 && l + c < k; ++c) _mm512_store_ps(out + (l + c) * 16, r[c]);
  }
}

// acc[r] (r < MR) += x[r][l0 … l1) · pT[l0 … l1).
template <int MR>
QLINEAR_TARGET_AVX512 inline void outer_block(const float* const* x, const float* pt, std::size_t l0, std::size_t l1,
                                              float* acc) {
  __m512 a[MR];
  QLINEAR_UNROLL
  for (int r = 0; r < MR; ++r) a[r] = _mm512_load_ps(acc + 16 * r);
  for (std::size_t l = l0; l < l1; ++l) {
    const __m512 p = _mm512_load_ps(pt + 16 * l);
    QLINEAR_UNROLL
    for (int r = 0; r < MR; ++r) a[r] = _mm512_fmadd_ps(_mm512_set1_ps(x[r][l]), p, a[r]);
  }
  QLINEAR_UNROLL
  for (int r = 0; r < MR; ++r) _mm512_store_ps(acc + 16 * r, a[r]);
}

QLINEAR_TARGET_AVX512 inline void f32_tile_outer(const F32TileArgs& t) {
  const std::size_t m = t.m1 - t.m0, k = t.k;
  // Per-thread workspace, reused from call to call: the transposed panel and the row sums.
  thread_local AlignedBuffer<float> work;
  if (work.size() < 16 * k + 16 * m) work = AlignedBuffer<float>(16 * k + 16 * m + 4096);
  float* pt = work.data();
  float* acc = pt + 16 * k;
  transpose_panel(t.panel, t.n, k, pt);
  std::memset(acc, 0, 16 * m * sizeof(float));
  constexpr std::size_t slab = 512;  // K values per pass: 32 KB of the transposed panel, in L1
  for (std::size_t l0 = 0; l0 < k; l0 += slab) {
    const std::size_t l1 = std::min(k, l0 + slab);
    std::size_t i = 0;
    const float* x[8];
    for (; i + 8 <= m; i += 8) {
      QLINEAR_UNROLL
      for (int r = 0; r < 8; ++r) x[r] = t.x + (t.m0 + i + std::size_t(r)) * t.ldx;
      outer_block<8>(x, pt, l0, l1, acc + 16 * i);
    }
    for (; i + 4 <= m; i += 4) {
      QLINEAR_UNROLL
      for (int r = 0; r < 4; ++r) x[r] = t.x + (t.m0 + i + std::size_t(r)) * t.ldx;
      outer_block<4>(x, pt, l0, l1, acc + 16 * i);
    }
    for (; i < m; ++i) {
      x[0] = t.x + (t.m0 + i) * t.ldx;
      outer_block<1>(x, pt, l0, l1, acc + 16 * i);
    }
  }
  const __mmask16 cols = __mmask16((1u << t.n) - 1);
  const __m512 bias = t.bias ? _mm512_maskz_loadu_ps(cols, t.bias) : _mm512_setzero_ps();
  for (std::size_t i = 0; i < m; ++i) {
    float* y = t.y + (t.m0 + i) * t.ldy;
    __m512 v = _mm512_add_ps(_mm512_load_ps(acc + 16 * i), bias);
    if (t.accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(cols, y));
    _mm512_mask_storeu_ps(y, cols, v);
  }
}

QLINEAR_TARGET_AVX512 inline void f32_tile(const F32TileArgs& t) {
  if (t.m1 - t.m0 >= 16 && t.n <= 16) return f32_tile_outer(t);  // measured: dot products win below
  for (std::size_t i0 = t.m0; i0 < t.m1; i0 += 4) {
    const int mr = int(std::min<std::size_t>(4, t.m1 - i0));
    const float* x[4];
    QLINEAR_UNROLL
    for (int r = 0; r < 4; ++r) x[r] = t.x + (i0 + std::size_t(std::min(r, mr - 1))) * t.ldx;
    for (std::size_t j0 = 0; j0 < t.n; j0 += 4) {
      const int nr = int(std::min<std::size_t>(4, t.n - j0));
      const float* w[4];
      QLINEAR_UNROLL
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
