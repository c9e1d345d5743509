#pragma once
// AVX2 integer kernels of qlinear's own schemes: int8 (per tensor / per channel, ± affine)
// against I8Row activations and int4 groups (± affine) against Q8Block<G>, on the schemes' own
// row bytes, in namespace qlinear::cpu::avx2::own. u8·s8 products go through vpmaddubsw (pairwise
// int16 sums, which must not saturate) and vpmaddwd: int8 weights enter as |w| (≤ 128) against
// activations carrying w's sign (vpsignb), int4 codes (≤ 15) as they are.

#if defined(__x86_64__) || defined(_M_X64)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/activation_formats.hpp"
#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/x86/target.hpp"

QLINEAR_X86_KERNELS_BEGIN
namespace qlinear::cpu {
namespace avx2::own {

QLINEAR_TARGET_AVX2 inline __m256i madd_u8s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// The 8 int32 lanes of v summed in int64.
QLINEAR_TARGET_AVX2 inline std::int64_t reduce_i32_exact(__m256i v) {
  const __m256i s = _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)),
                                     _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1)));
  const __m128i x = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  return _mm_cvtsi128_si64(_mm_add_epi64(x, _mm_unpackhi_epi64(x, x)));
}
QLINEAR_TARGET_AVX2 inline float reduce_ps(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

// 32 bytes at p, or the n < 32 bytes there followed by zeros.
QLINEAR_TARGET_AVX2 inline __m256i load_partial(const std::int8_t* p, std::size_t n) {
  if (n >= 32) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  alignas(32) std::int8_t buf[32] = {};
  std::memcpy(buf, p, n);
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(buf));
}

// ---------------------------------------------------------------------------------------------
// int8 × I8Row, MR (1 or 2) activation rows × 4 weight rows per register block.

inline constexpr std::size_t int8_k_slab = std::size_t(1) << 20;  // lanes stay below 2^31

template <int MR>
QLINEAR_TARGET_AVX2 inline void int8_block(const std::int8_t* const* w, const std::int8_t* const* a, std::size_t k,
                                           std::int64_t (*dot)[4]) {
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < 4; ++c) dot[r][c] = 0;
  for (std::size_t k0 = 0; k0 < k; k0 += int8_k_slab) {
    const std::size_t k1 = std::min(k, k0 + int8_k_slab);
    __m256i acc[MR][4];
    for (int r = 0; r < MR; ++r)
      for (int c = 0; c < 4; ++c) acc[r][c] = _mm256_setzero_si256();
    for (std::size_t l = k0; l < k1; l += 32) {
      const std::size_t n = k1 - l;
      __m256i wv[4], wabs[4];
      for (int c = 0; c < 4; ++c) wv[c] = load_partial(w[c] + l, n), wabs[c] = _mm256_abs_epi8(wv[c]);
      for (int r = 0; r < MR; ++r) {
        const __m256i av = load_partial(a[r] + l, n);
        for (int c = 0; c < 4; ++c)
          acc[r][c] = _mm256_add_epi32(acc[r][c], madd_u8s8(wabs[c], _mm256_sign_epi8(av, wv[c])));
      }
    }
    for (int r = 0; r < MR; ++r)
      for (int c = 0; c < 4; ++c) dot[r][c] += reduce_i32_exact(acc[r][c]);
  }
}

template <bool PerChannel, bool Affine>
QLINEAR_TARGET_AVX2 inline void int8_tile(const DotTileArgs& t) {
  using S = Int8Scheme<PerChannel, Affine>;
  const auto& p = *static_cast<const Int8Params*>(t.params);
  for (std::size_t i0 = t.m0; i0 < t.m1; i0 += 2) {
    const int mr = int(std::min<std::size_t>(2, t.m1 - i0));
    const std::int8_t* a[2];
    std::int64_t asum[2] = {};
    for (int r = 0; r < 2; ++r) {
      a[r] = reinterpret_cast<const std::int8_t*>(t.a + (i0 + std::size_t(std::min(r, mr - 1))) * t.a_stride);
      if (Affine && r < mr)
        for (std::size_t l = 0; l < t.k; ++l) asum[r] += a[r][l];
    }
    for (std::size_t j0 = t.n0; j0 < t.n1; j0 += 4) {
      const int nr = int(std::min<std::size_t>(4, t.n1 - j0));
      const std::int8_t* w[4];
      for (int c = 0; c < 4; ++c)
        w[c] = reinterpret_cast<const std::int8_t*>(t.w + (j0 + std::size_t(std::min(c, nr - 1))) * t.w_stride);
      std::int64_t dot[2][4];
      if (mr == 1)
        int8_block<1>(w, a, t.k, dot);
      else
        int8_block<2>(w, a, t.k, dot);
      for (int c = 0; c < nr; ++c) {
        const std::size_t j = j0 + std::size_t(c);
        const float s = S::scale_of(p, j);
        const std::int64_t zp = S::zero_point_of(p, j);
        for (int r = 0; r < mr; ++r) {
          const std::size_t i = i0 + std::size_t(r);
          float v = t.row_scale[i] * (s * float(dot[r][c] - zp * asum[r]));
          float* y = t.y + i * t.ldy + j;
          if (t.bias) v += t.bias[j];
          *y = t.accumulate ? *y + v : v;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// int4 groups × Q8Block<G>: 64 values per step (32 weight bytes: low nibbles against the chunk's
// first 32 codes, high nibbles against the next 32), f32 per block; see the AVX-512 kernels.

inline float load_f32(const std::uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}
inline std::int32_t load_i32(const std::uint8_t* p) {
  std::int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

template <int G, bool Affine>
struct Int4Layout {
  static constexpr std::size_t header = Affine ? 4 : 2;
  static constexpr std::size_t block = header + G / 2;
};
template <int G, bool Affine>
QLINEAR_TARGET_AVX2 inline float int4_scale(const std::uint8_t* w, std::size_t b) {
  std::uint16_t h;
  std::memcpy(&h, w + b * Int4Layout<G, Affine>::block, 2);
  return _cvtsh_ss(h);
}
template <int G, bool Affine>
QLINEAR_TARGET_AVX2 inline float int4_offset(const std::uint8_t* w, std::size_t b) {
  static_assert(Affine, "symmetric groups have no minimum");
  std::uint16_t h;
  std::memcpy(&h, w + b * Int4Layout<G, Affine>::block + 2, 2);
  return _cvtsh_ss(h);
}

// Σ of 64 nibble·code products of 32 weight bytes x against codes a (8 int32 lanes; lanes 0-3
// hold the first 16 weight bytes' products, lanes 4-7 the last 16's). Symmetric groups take
// 8·a off in the int16 pairs (|Σ(u − 8)·a| ≤ 4·8·127 there), so every lane holds Σ(u − 8)·a of
// its own values: Σu·a and 8·Σa can each be far larger than their difference.
template <bool Symmetric>
QLINEAR_TARGET_AVX2 inline __m256i int4_dot64(__m256i x, const std::uint8_t* a) {
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const __m256i lo = _mm256_and_si256(x, mask), hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), mask);
  const __m256i a0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
  const __m256i a1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 32));
  __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, a0), _mm256_maddubs_epi16(hi, a1));
  if constexpr (Symmetric) {
    const __m256i eight = _mm256_set1_epi8(8);
    p = _mm256_sub_epi16(p, _mm256_add_epi16(_mm256_maddubs_epi16(eight, a0), _mm256_maddubs_epi16(eight, a1)));
  }
  return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

template <int G, bool Affine, int MR>
QLINEAR_TARGET_AVX2 inline void int4_block(const std::uint8_t* const* w, const std::uint8_t* const* a, std::size_t k,
                                           float (*out)[4]) {
  using L = Int4Layout<G, Affine>;
  const std::size_t nb = k / G;
  __m256 accf[MR][4];
  float corr[MR][4];
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < 4; ++c) accf[r][c] = _mm256_setzero_ps(), corr[r][c] = 0.0f;
  if constexpr (G == 32) {
    std::size_t b = 0;
    for (; b + 2 <= nb; b += 2) {  // lanes 0-3: block b, lanes 4-7: block b + 1
      __m256i x[4];
      float d0[4], d1[4];
      [[maybe_unused]] float m0[4], m1[4];
      for (int c = 0; c < 4; ++c) {
        x[c] = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(w[c] + (b + 1) * L::block + L::header),
                                   reinterpret_cast<const __m128i*>(w[c] + b * L::block + L::header));
        d0[c] = int4_scale<G, Affine>(w[c], b), d1[c] = int4_scale<G, Affine>(w[c], b + 1);
        if constexpr (Affine) m0[c] = int4_offset<G, Affine>(w[c], b), m1[c] = int4_offset<G, Affine>(w[c], b + 1);
      }
      for (int r = 0; r < MR; ++r) {
        const float da0 = load_f32(a[r] + k + 4 * b), da1 = load_f32(a[r] + k + 4 * b + 4);
        const std::int32_t s0 = load_i32(a[r] + k + 4 * nb + 4 * b), s1 = load_i32(a[r] + k + 4 * nb + 4 * b + 4);
        for (int c = 0; c < 4; ++c) {
          const __m256i acc = int4_dot64<!Affine>(x[c], a[r] + b * 32);
          const __m256 dd = _mm256_blend_ps(_mm256_set1_ps(d0[c] * da0), _mm256_set1_ps(d1[c] * da1), 0xF0);
          accf[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), dd, accf[r][c]);
          if constexpr (Affine) corr[r][c] += m0[c] * (da0 * float(s0)) + m1[c] * (da1 * float(s1));
        }
      }
    }
    if (b < nb) {  // a trailing 32-value chunk: [low nibbles | high nibbles] against [evens | odds]
      __m256i u[4];
      for (int c = 0; c < 4; ++c) {
        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[c] + b * L::block + L::header));
        const __m128i m = _mm_set1_epi8(0x0F);
        u[c] = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
      }
      for (int r = 0; r < MR; ++r) {
        const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[r] + b * 32));
        const float da = load_f32(a[r] + k + 4 * b);
        const std::int32_t s0 = load_i32(a[r] + k + 4 * nb + 4 * b);
        [[maybe_unused]] const __m256i a8 = madd_u8s8(_mm256_set1_epi8(8), av);
        for (int c = 0; c < 4; ++c) {
          __m256i acc = madd_u8s8(u[c], av);
          if constexpr (!Affine) acc = _mm256_sub_epi32(acc, a8);
          accf[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(int4_scale<G, Affine>(w[c], b) * da),
                                       accf[r][c]);
          if constexpr (Affine) corr[r][c] += int4_offset<G, Affine>(w[c], b) * (da * float(s0));
        }
      }
    }
  } else {
    for (std::size_t b = 0; b < nb; ++b) {
      __m256i acc[MR][4];
      for (int r = 0; r < MR; ++r)
        for (int c = 0; c < 4; ++c) acc[r][c] = _mm256_setzero_si256();
      for (int s = 0; s < G / 64; ++s) {
        __m256i x[4];
        for (int c = 0; c < 4; ++c)
          x[c] = _mm256_loadu_si256(
              reinterpret_cast<const __m256i*>(w[c] + b * L::block + L::header + std::size_t(s) * 32));
        for (int r = 0; r < MR; ++r)
          for (int c = 0; c < 4; ++c)
            acc[r][c] = _mm256_add_epi32(acc[r][c], int4_dot64<!Affine>(x[c], a[r] + b * G + std::size_t(s) * 64));
      }
      for (int r = 0; r < MR; ++r) {
        const float da = load_f32(a[r] + k + 4 * b);
        const std::int32_t s0 = load_i32(a[r] + k + 4 * nb + 4 * b);
        for (int c = 0; c < 4; ++c) {
          accf[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r][c]),
                                       _mm256_set1_ps(int4_scale<G, Affine>(w[c], b) * da), accf[r][c]);
          if constexpr (Affine) corr[r][c] += int4_offset<G, Affine>(w[c], b) * (da * float(s0));
        }
      }
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < 4; ++c) out[r][c] = reduce_ps(accf[r][c]) + corr[r][c];
}

template <int G, bool Affine>
QLINEAR_TARGET_AVX2 inline void int4_tile(const DotTileArgs& t) {
  for (std::size_t i0 = t.m0; i0 < t.m1; i0 += 2) {
    const int mr = int(std::min<std::size_t>(2, t.m1 - i0));
    const std::uint8_t* a[2];
    for (int r = 0; r < 2; ++r) a[r] = t.a + (i0 + std::size_t(std::min(r, mr - 1))) * t.a_stride;
    for (std::size_t j0 = t.n0; j0 < t.n1; j0 += 4) {
      const int nr = int(std::min<std::size_t>(4, t.n1 - j0));
      const std::uint8_t* w[4];
      for (int c = 0; c < 4; ++c) w[c] = t.w + (j0 + std::size_t(std::min(c, nr - 1))) * t.w_stride;
      float v[2][4];
      if (mr == 1)
        int4_block<G, Affine, 1>(w, a, t.k, v);
      else
        int4_block<G, Affine, 2>(w, a, t.k, v);
      for (int r = 0; r < mr; ++r) {
        const std::size_t i = i0 + std::size_t(r);
        for (int c = 0; c < nr; ++c) {
          const std::size_t j = j0 + std::size_t(c);
          float val = t.row_scale[i] * v[r][c];
          float* y = t.y + i * t.ldy + j;
          if (t.bias) val += t.bias[j];
          *y = t.accumulate ? *y + val : val;
        }
      }
    }
  }
}

}  // namespace avx2::own

template <bool PerChannel, bool Affine>
struct DotTile<Int8Scheme<PerChannel, Affine>, Isa::avx2> {
  static void tile(const DotTileArgs& a) { avx2::own::int8_tile<PerChannel, Affine>(a); }
};
template <int G>
struct DotTile<Int4<G>, Isa::avx2> {
  static void tile(const DotTileArgs& a) { avx2::own::int4_tile<G, false>(a); }
};
template <int G>
struct DotTile<Int4Affine<G>, Isa::avx2> {
  static void tile(const DotTileArgs& a) { avx2::own::int4_tile<G, true>(a); }
};

}  // namespace qlinear::cpu
QLINEAR_X86_KERNELS_END
#endif
