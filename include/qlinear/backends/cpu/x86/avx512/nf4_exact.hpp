#pragma once
// AVX-512 exact-path tile of NF4 and NF4DoubleQuant for few activation rows
// (ExactDotTile<NF4 | NF4DoubleQuant, avx512>), in namespace qlinear::cpu::avx512::exact.
// NF4 has no integer path (its codebook is not integer), so decode (batch 1) runs here: the
// 16 levels sit in one register and vpermps looks 16 codes up at once; a byte's low nibble is
// its index as it stands (vpermps reads 4 index bits), its high nibble after a shift. The
// activations are reordered once per call to match (per 32 values: the even ones, then the odd
// ones), so nothing is interleaved per weight. Sums per block, times its absmax, in f32.
// Each of the four weight rows is prefetched 12 KiB ahead into L2 (x86/prefetch.hpp): a lone
// row beyond the last-level cache went from 7.3 to 11.5 GB/s with it (4096², 1 thread), and
// the in-cache case was 5-7% faster too. 4-32 KiB ahead and into L1 were tried: 8-24 KiB and
// L1 measured the same, 4 KiB slower.
//
// A bf16 decode (vpermw into a bf16 codebook, vdpbf16ps) was measured and not kept: on this
// AMX machine vdpbf16ps zmm issues one per 2 cycles against two FMAs per cycle, a quarter of
// the products per cycle, and the lone row came out 12% slower, 8 rows 46% slower.

#if defined(__x86_64__) || defined(_M_X64)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/x86/avx512/dequantize.hpp"
#include "qlinear/backends/cpu/x86/prefetch.hpp"
#include "qlinear/backends/cpu/x86/target.hpp"
#include "qlinear/core/aligned_buffer.hpp"
#include "qlinear/schemes/nf4.hpp"

QLINEAR_X86_KERNELS_BEGIN
namespace qlinear::cpu {
namespace avx512::exact {

// The 16 lanes of v summed.
QLINEAR_TARGET_AVX512 inline float nf4_reduce(__m512 v) {
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  __m128 x = _mm512_castps512_ps128(v);
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

// x (k values) reordered: per 32, the 16 even-indexed values then the 16 odd ones.
QLINEAR_TARGET_AVX512 inline void nf4_reorder(const float* x, std::size_t k, float* out) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (std::size_t l = 0; l < k; l += 32) {
    const __m512 a = _mm512_loadu_ps(x + l), b = _mm512_loadu_ps(x + l + 16);
    _mm512_store_ps(out + l, _mm512_permutex2var_ps(a, even, b));
    _mm512_store_ps(out + l + 16, _mm512_permutex2var_ps(a, odd, b));
  }
}

template <bool DoubleQuant, int MR>
QLINEAR_TARGET_AVX512 inline void nf4_exact_block(const ExactDotArgs& t, const float* const* xr, std::size_t i0,
                                                  std::size_t j0, int nr) {
  constexpr std::size_t block = DoubleQuant ? sizeof(BlockNF4DoubleQuant) : sizeof(BlockNF4);
  constexpr std::size_t header = DoubleQuant ? 1 : 4;
  const std::size_t nb = t.k / 64;
  const __m512 table = _mm512_load_ps(nf4_table.v);
  const std::uint8_t* w[4];
  float offset = 0.0f, scale[4] = {};
  QLINEAR_UNROLL
  for (int c = 0; c < 4; ++c) {
    const std::size_t j = j0 + std::size_t(std::min(c, nr - 1));
    w[c] = t.w + j * t.w_stride;
    if constexpr (DoubleQuant) {
      const auto& p = *static_cast<const NF4DoubleParams*>(t.params);
      offset = p.offset;
      scale[c] = NF4DoubleQuant::scale_of(p, j);
    }
  }
  __m512 acc[MR][4];
  QLINEAR_UNROLL
  for (int r = 0; r < MR; ++r)
    QLINEAR_UNROLL
    for (int c = 0; c < 4; ++c) acc[r][c] = _mm512_setzero_ps();
  for (std::size_t b = 0; b < nb; ++b) {
    QLINEAR_UNROLL
    for (int c = 0; c < 4; ++c) {
      const std::uint8_t* blk = w[c] + b * block;
      x86::prefetch_ahead<64>(blk);
      float absmax;
      if constexpr (DoubleQuant)
        absmax = nf4_absmax_decode(blk[0], offset, scale[c]);
      else
        std::memcpy(&absmax, blk, 4);
      const __m512i i0v = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + header)));
      const __m512i i1v = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + header + 16)));
      const __m512 l0 = _mm512_permutexvar_ps(i0v, table), l1 = _mm512_permutexvar_ps(_mm512_srli_epi32(i0v, 4), table);
      const __m512 l2 = _mm512_permutexvar_ps(i1v, table), l3 = _mm512_permutexvar_ps(_mm512_srli_epi32(i1v, 4), table);
      const __m512 a = _mm512_set1_ps(absmax);
      QLINEAR_UNROLL
      for (int r = 0; r < MR; ++r) {
        const float* xb = xr[r] + 64 * b;
        __m512 s = _mm512_mul_ps(l0, _mm512_load_ps(xb));
        s = _mm512_fmadd_ps(l1, _mm512_load_ps(xb + 16), s);
        s = _mm512_fmadd_ps(l2, _mm512_load_ps(xb + 32), s);
        s = _mm512_fmadd_ps(l3, _mm512_load_ps(xb + 48), s);
        acc[r][c] = _mm512_fmadd_ps(s, a, acc[r][c]);
      }
    }
  }
  for (int r = 0; r < MR; ++r) {
    float* y = t.y + (i0 + std::size_t(r)) * t.ldy;
    for (int c = 0; c < nr; ++c) {
      const std::size_t j = j0 + std::size_t(c);
      float v = nf4_reduce(acc[r][c]);
      if (t.bias) v += t.bias[j];
      y[j] = t.accumulate ? y[j] + v : v;
    }
  }
}

template <bool DoubleQuant>
QLINEAR_TARGET_AVX512 inline void nf4_exact_tile(const ExactDotArgs& t) {
  const std::size_t m = t.m1 - t.m0, k = t.k;
  thread_local AlignedBuffer<float> reordered;
  if (reordered.size() < m * k) reordered = AlignedBuffer<float>(m * k + 1024);
  for (std::size_t i = 0; i < m; ++i) nf4_reorder(t.x + (t.m0 + i) * t.ldx, k, reordered.data() + i * k);
  for (std::size_t i0 = 0; i0 < m; i0 += 4) {
    const int mr = int(std::min<std::size_t>(4, m - i0));
    const float* xr[4];
    for (int r = 0; r < 4; ++r) xr[r] = reordered.data() + (i0 + std::size_t(std::min(r, mr - 1))) * k;
    for (std::size_t j0 = t.n0; j0 < t.n1; j0 += 4) {
      const int nr = int(std::min<std::size_t>(4, t.n1 - j0));
      switch (mr) {
        case 1: nf4_exact_block<DoubleQuant, 1>(t, xr, t.m0 + i0, j0, nr); break;
        case 2: nf4_exact_block<DoubleQuant, 2>(t, xr, t.m0 + i0, j0, nr); break;
        case 3: nf4_exact_block<DoubleQuant, 3>(t, xr, t.m0 + i0, j0, nr); break;
        default: nf4_exact_block<DoubleQuant, 4>(t, xr, t.m0 + i0, j0, nr); break;
      }
    }
  }
}

}  // namespace avx512::exact

template <>
struct ExactDotTile<NF4, Isa::avx512> {
  static void tile(const ExactDotArgs& a) { avx512::exact::nf4_exact_tile<false>(a); }
};
template <>
struct ExactDotTile<NF4DoubleQuant, Isa::avx512> {
  static void tile(const ExactDotArgs& a) { avx512::exact::nf4_exact_tile<true>(a); }
};

}  // namespace qlinear::cpu
QLINEAR_X86_KERNELS_END
#endif
