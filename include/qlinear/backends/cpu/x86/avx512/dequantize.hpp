#pragma once
// AVX-512 weight-row dequantizers of the exact path (DequantizeRows<S, avx512>), in namespace
// qlinear::cpu::avx512::exact, for the schemes the benchmarks cover and their families: int8 (all
// four), int4 groups (± affine), NF4 (± double quant), Q4_0, Q8_0, Q4_K, Q5_K, Q6_K, and the
// schemes without an AMX layout that the large-batch bf16 path decodes on every call (Q4_1,
// Q5_0, Q5_1, IQ4_NL, IQ4_XS, Q2_K, Q3_K). Each
// computes the scheme's dequantize_row formula with the same f32 operations in the same order
// (no fused multiply-adds: the code sits in QLINEAR_GGUF_EXACT_FP), so its floats equal the
// scalar reference's bit for bit; a test checks that.

#if defined(__x86_64__) || defined(_M_X64)
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/x86/target.hpp"
#include "qlinear/schemes/gguf/all.hpp"
#include "qlinear/schemes/int4.hpp"
#include "qlinear/schemes/int8.hpp"
#include "qlinear/schemes/nf4.hpp"

QLINEAR_X86_KERNELS_BEGIN
QLINEAR_GGUF_EXACT_FP_BEGIN
namespace qlinear::cpu {
namespace avx512::exact {

// 16 bytes of nibbles → 32 codes in element order (byte j: element 2j low, 2j + 1 high), as
// two vectors of 16 int32.
QLINEAR_TARGET_AVX512 inline void interleaved_nibbles(const std::uint8_t* p, __m512i& lo16, __m512i& hi16) {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i m = _mm_set1_epi8(0x0F);
  const __m128i lo = _mm_and_si128(x, m), hi = _mm_and_si128(_mm_srli_epi16(x, 4), m);
  lo16 = _mm512_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi));
  hi16 = _mm512_cvtepu8_epi32(_mm_unpackhi_epi8(lo, hi));
}

template <bool PerChannel, bool Affine>
QLINEAR_TARGET_AVX512 inline void int8_rows(const std::uint8_t* src, std::size_t stride, std::size_t count,
                                            std::size_t k, float* out, const void* params, std::size_t first_row) {
  using S = Int8Scheme<PerChannel, Affine>;
  const auto& p = *static_cast<const Int8Params*>(params);
  for (std::size_t r = 0; r < count; ++r) {
    const std::uint8_t* q = src + r * stride;
    float* y = out + r * k;
    const __m512 s = _mm512_set1_ps(S::scale_of(p, first_row + r));
    const __m512i zp = _mm512_set1_epi32(S::zero_point_of(p, first_row + r));
    std::size_t l = 0;
    for (; l + 16 <= k; l += 16) {
      const __m512i v = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + l))), zp);
      _mm512_storeu_ps(y + l, _mm512_mul_ps(s, _mm512_cvtepi32_ps(v)));
    }
    if (l < k) {
      const __mmask16 m = __mmask16((1u << (k - l)) - 1);
      const __m512i v = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, q + l)), zp);
      _mm512_mask_storeu_ps(y + l, m, _mm512_mul_ps(s, _mm512_cvtepi32_ps(v)));
    }
  }
}

template <int G, bool Affine>
QLINEAR_TARGET_AVX512 inline void int4_rows(const std::uint8_t* src, std::size_t stride, std::size_t count,
                                            std::size_t k, float* out) {
  constexpr std::size_t header = Affine ? 4 : 2, block = header + G / 2;
  for (std::size_t r = 0; r < count; ++r) {
    const std::uint8_t* row = src + r * stride;
    float* y = out + r * k;
    for (std::size_t b = 0; b < k / G; ++b) {
      const std::uint8_t* blk = row + b * block;
      std::uint16_t h[2];
      std::memcpy(h, blk, header);
      const __m512 d = _mm512_set1_ps(_cvtsh_ss(h[0]));
      for (int c = 0; c < G / 32; ++c) {
        __m512i v0, v1;
        interleaved_nibbles(blk + header + 16 * c, v0, v1);
        float* yc = y + b * G + 32 * std::size_t(c);
        if constexpr (Affine) {  // d·u + m
          const __m512 m = _mm512_set1_ps(_cvtsh_ss(h[1]));
          _mm512_storeu_ps(yc, _mm512_add_ps(_mm512_mul_ps(d, _mm512_cvtepi32_ps(v0)), m));
          _mm512_storeu_ps(yc + 16, _mm512_add_ps(_mm512_mul_ps(d, _mm512_cvtepi32_ps(v1)), m));
        } else {  // d·(u − 8)
          const __m512i eight = _mm512_set1_epi32(8);
          _mm512_storeu_ps(yc, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_sub_epi32(v0, eight))));
          _mm512_storeu_ps(yc + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_sub_epi32(v1, eight))));
        }
      }
    }
  }
}

// NF4's codebook, for one register.
struct Nf4Table {
  alignas(64) float v[16];
  constexpr Nf4Table() : v{} {
    for (std::uint32_t u = 0; u < 16; ++u) v[u] = nf4_level(u);
  }
};
inline constexpr Nf4Table nf4_table{};

// 64 NF4 codes times absmax a: the codebook sits in one register, indexed by vpermps.
QLINEAR_TARGET_AVX512 inline void nf4_block(const std::uint8_t* qs, float a, float* y) {
  const __m512 table = _mm512_load_ps(nf4_table.v), av = _mm512_set1_ps(a);
  for (int c = 0; c < 2; ++c) {
    __m512i v0, v1;
    interleaved_nibbles(qs + 16 * c, v0, v1);
    _mm512_storeu_ps(y + 32 * c, _mm512_mul_ps(_mm512_permutexvar_ps(v0, table), av));
    _mm512_storeu_ps(y + 32 * c + 16, _mm512_mul_ps(_mm512_permutexvar_ps(v1, table), av));
  }
}

QLINEAR_TARGET_AVX512 inline void nf4_rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k,
                                           float* out) {
  for (std::size_t r = 0; r < count; ++r)
    for (std::size_t b = 0; b < k / 64; ++b) {
      const std::uint8_t* blk = src + r * stride + b * sizeof(BlockNF4);
      float a;
      std::memcpy(&a, blk, 4);
      nf4_block(blk + 4, a, out + r * k + b * 64);
    }
}

QLINEAR_TARGET_AVX512 inline void nf4_dq_rows(const std::uint8_t* src, std::size_t stride, std::size_t count,
                                              std::size_t k, float* out, const void* params, std::size_t first_row) {
  const auto& p = *static_cast<const NF4DoubleParams*>(params);
  for (std::size_t r = 0; r < count; ++r) {
    const float s = NF4DoubleQuant::scale_of(p, first_row + r);
    for (std::size_t b = 0; b < k / 64; ++b) {
      const std::uint8_t* blk = src + r * stride + b * sizeof(BlockNF4DoubleQuant);
      nf4_block(blk + 1, nf4_absmax_decode(blk[0], p.offset, s), out + r * k + b * 64);
    }
  }
}

QLINEAR_TARGET_AVX512 inline void q4_0_rows(const std::uint8_t* src, std::size_t stride, std::size_t count,
                                            std::size_t k, float* out) {
  const __m128i m = _mm_set1_epi8(0x0F);
  const __m512i eight = _mm512_set1_epi32(8);
  for (std::size_t r = 0; r < count; ++r)
    for (std::size_t b = 0; b < k / 32; ++b) {
      const std::uint8_t* blk = src + r * stride + b * sizeof(gguf::BlockQ4_0);
      std::uint16_t h;
      std::memcpy(&h, blk, 2);
      const __m512 d = _mm512_set1_ps(_cvtsh_ss(h));
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
      const __m512i lo = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_and_si128(x, m)), eight);
      const __m512i hi = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(x, 4), m)), eight);
      float* y = out + r * k + b * 32;
      _mm512_storeu_ps(y, _mm512_mul_ps(_mm512_cvtepi32_ps(lo), d));
      _mm512_storeu_ps(y + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(hi), d));
    }
}

QLINEAR_TARGET_AVX512 inline void q8_0_rows(const std::uint8_t* src, std::size_t stride, std::size_t count,
                                            std::size_t k, float* out) {
  for (std::size_t r = 0; r < count; ++r)
    for (std::size_t b = 0; b < k / 32; ++b) {
      const std::uint8_t* blk = src + r * stride + b * sizeof(gguf::BlockQ8_0);
      std::uint16_t h;
      std::memcpy(&h, blk, 2);
      const __m512 d = _mm512_set1_ps(_cvtsh_ss(h));
      float* y = out + r * k + b * 32;
      for (int c = 0; c < 2; ++c) {
        const __m512i v = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2 + 16 * c)));
        _mm512_storeu_ps(y + 16 * c, _mm512_mul_ps(_mm512_cvtepi32_ps(v), d));
      }
    }
}

// IQ4_NL / IQ4_XS's codebook as floats, for one register.
struct Iq4Table {
  alignas(64) float v[16];
  constexpr Iq4Table() : v{} {
    for (int u = 0; u < 16; ++u) v[u] = float(gguf::kvalues_iq4nl[u]);
  }
};
inline constexpr Iq4Table iq4_table{};

// One block of 32 nibble codes (16 bytes at qs: element j low nibble, j + 16 high), as two
// vectors of 16 int32 codes; Five: bit j of qh (little-endian u32) adds 16 to element j.
template <bool Five>
QLINEAR_TARGET_AVX512 inline void block32_codes(const std::uint8_t* qs, const std::uint8_t* qh, __m512i& lo, __m512i& hi) {
  const __m128i m = _mm_set1_epi8(0x0F);
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  lo = _mm512_cvtepu8_epi32(_mm_and_si128(x, m));
  hi = _mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(x, 4), m));
  if constexpr (Five) {
    std::uint32_t h;
    std::memcpy(&h, qh, 4);
    const __m512i sixteen = _mm512_set1_epi32(16);
    lo = _mm512_mask_add_epi32(lo, __mmask16(h & 0xFFFF), lo, sixteen);
    hi = _mm512_mask_add_epi32(hi, __mmask16(h >> 16), hi, sixteen);
  }
}

// Q4_1 / Q5_0 / Q5_1 / IQ4_NL rows: code·d (Q5_0: (code − 16)·d), + m for the affine ones,
// d·kvalue for IQ4_NL, in the scalar formula's order.
template <class S>
QLINEAR_TARGET_AVX512 inline void block32_rows(const std::uint8_t* src, std::size_t stride, std::size_t count,
                                               std::size_t k, float* out) {
  using Block = typename S::Block;
  constexpr bool five = std::is_same_v<S, Q5_0> || std::is_same_v<S, Q5_1>;
  constexpr bool affine = std::is_same_v<S, Q4_1> || std::is_same_v<S, Q5_1>;
  for (std::size_t r = 0; r < count; ++r)
    for (std::size_t b = 0; b < k / 32; ++b) {
      const std::uint8_t* blk = src + r * stride + b * sizeof(Block);
      std::uint16_t h[2];  // d, then m for the affine ones
      std::memcpy(h, blk, affine ? 4 : 2);
      const __m512 d = _mm512_set1_ps(_cvtsh_ss(h[0]));
      __m512i lo, hi;
      if constexpr (five) block32_codes<true>(blk + offsetof(Block, qs), blk + offsetof(Block, qh), lo, hi);
      else block32_codes<false>(blk + offsetof(Block, qs), nullptr, lo, hi);
      float* y = out + r * k + b * 32;
      const __m512i v[2] = {lo, hi};
      for (int c = 0; c < 2; ++c) {
        __m512 f;
        if constexpr (std::is_same_v<S, IQ4_NL>) {
          f = _mm512_mul_ps(d, _mm512_permutexvar_ps(v[c], _mm512_load_ps(iq4_table.v)));
        } else if constexpr (std::is_same_v<S, Q5_0>) {
          f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(v[c], _mm512_set1_epi32(16))), d);
        } else {
          f = _mm512_mul_ps(_mm512_cvtepi32_ps(v[c]), d);
        }
        if constexpr (affine) f = _mm512_add_ps(f, _mm512_set1_ps(_cvtsh_ss(h[1])));
        _mm512_storeu_ps(y + 16 * c, f);
      }
    }
}

// An f16 as f32 by vcvtph2ps (f16::to_float converts in software).
QLINEAR_TARGET_AVX512 inline float f16_bits_to_float(const void* p) {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// IQ4_XS rows: per 32 values dl = d·(ls − 32), then dl·kvalue.
QLINEAR_TARGET_AVX512 inline void iq4_xs_rows(const std::uint8_t* src, std::size_t stride, std::size_t count,
                                              std::size_t k, float* out) {
  const __m512 table = _mm512_load_ps(iq4_table.v);
  for (std::size_t r = 0; r < count; ++r)
    for (std::size_t sb = 0; sb < k / gguf::QK_K; ++sb) {
      gguf::BlockIQ4_XS b;
      std::memcpy(&b, src + r * stride + sb * sizeof(b), sizeof(b));
      const float d = f16_bits_to_float(&b.d);
      float* y = out + r * k + sb * gguf::QK_K;
      for (int ib = 0; ib < gguf::QK_K / 32; ++ib) {
        const __m512 dl = _mm512_set1_ps(d * float(gguf::iq4_xs_scale(ib, b.scales_l, b.scales_h) - 32));
        __m512i lo, hi;
        block32_codes<false>(b.qs + 16 * ib, nullptr, lo, hi);
        _mm512_storeu_ps(y + 32 * ib, _mm512_mul_ps(dl, _mm512_permutexvar_ps(lo, table)));
        _mm512_storeu_ps(y + 32 * ib + 16, _mm512_mul_ps(dl, _mm512_permutexvar_ps(hi, table)));
      }
    }
}

// Q4_K and Q5_K: 32 codes (u8 lanes of two xmm) times d1, minus m1.
QLINEAR_TARGET_AVX512 inline void store_scaled_minus(float* y, __m128i codes0, __m128i codes1, float d1, float m1) {
  const __m512 d = _mm512_set1_ps(d1), m = _mm512_set1_ps(m1);
  _mm512_storeu_ps(y, _mm512_sub_ps(_mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(codes0))), m));
  _mm512_storeu_ps(y + 16, _mm512_sub_ps(_mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(codes1))), m));
}

// Bit `bit` of every byte of qh, as 16 (Q5_K's fifth code bit).
QLINEAR_TARGET_AVX512 inline __m128i q5_high_bit(__m128i qh, int bit) {
  return _mm_slli_epi16(_mm_and_si128(_mm_srl_epi16(qh, _mm_cvtsi32_si128(bit)), _mm_set1_epi8(1)), 4);
}

template <bool Five>
QLINEAR_TARGET_AVX512 inline void qk45_rows(const std::uint8_t* src, std::size_t stride, std::size_t count,
                                            std::size_t k, float* out) {
  using Block = std::conditional_t<Five, gguf::BlockQ5_K, gguf::BlockQ4_K>;
  const __m128i m4 = _mm_set1_epi8(0x0F);
  for (std::size_t r = 0; r < count; ++r)
    for (std::size_t sb = 0; sb < k / gguf::QK_K; ++sb) {
      Block b;
      std::memcpy(&b, src + r * stride + sb * sizeof(Block), sizeof(Block));
      const float d = b.d.to_float(), min = b.dmin.to_float();
      float* y = out + r * k + sb * gguf::QK_K;
      __m128i qh0 = _mm_setzero_si128(), qh1 = _mm_setzero_si128();
      if constexpr (Five) {
        qh0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qh));
        qh1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qh + 16));
      }
      for (int j = 0; j < 4; ++j) {
        std::uint8_t sc = 0, mn = 0;
        gguf::get_scale_min_k4(2 * j, b.scales, sc, mn);
        const float d1 = d * float(sc), m1 = min * float(mn);
        gguf::get_scale_min_k4(2 * j + 1, b.scales, sc, mn);
        const float d2 = d * float(sc), m2 = min * float(mn);
        const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 32 * j));
        const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 32 * j + 16));
        __m128i l0 = _mm_and_si128(q0, m4), l1 = _mm_and_si128(q1, m4);
        __m128i h0 = _mm_and_si128(_mm_srli_epi16(q0, 4), m4), h1 = _mm_and_si128(_mm_srli_epi16(q1, 4), m4);
        if constexpr (Five) {  // bit 2j of qh[l] adds 16 to the low codes, bit 2j + 1 to the high ones
          l0 = _mm_or_si128(l0, q5_high_bit(qh0, 2 * j)), l1 = _mm_or_si128(l1, q5_high_bit(qh1, 2 * j));
          h0 = _mm_or_si128(h0, q5_high_bit(qh0, 2 * j + 1)), h1 = _mm_or_si128(h1, q5_high_bit(qh1, 2 * j + 1));
        }
        store_scaled_minus(y + 64 * j, l0, l1, d1, m1);
        store_scaled_minus(y + 64 * j + 32, h0, h1, d2, m2);
      }
    }
}

QLINEAR_TARGET_AVX512 inline void q6_k_rows(const std::uint8_t* src, std::size_t stride, std::size_t count,
                                            std::size_t k, float* out) {
  const __m128i m4 = _mm_set1_epi8(0x0F), m2 = _mm_set1_epi8(3);
  const __m512i off = _mm512_set1_epi32(32);
  for (std::size_t r = 0; r < count; ++r)
    for (std::size_t sb = 0; sb < k / gguf::QK_K; ++sb) {
      gguf::BlockQ6_K b;
      std::memcpy(&b, src + r * stride + sb * sizeof(b), sizeof(b));
      const float d = b.d.to_float();
      float* y = out + r * k + sb * gguf::QK_K;
      for (int n = 0; n < 2; ++n) {
        const std::uint8_t* ql = b.ql + 64 * n;
        const std::uint8_t* qh = b.qh + 32 * n;
        const std::int8_t* sc = b.scales + 8 * n;
        for (int half = 0; half < 2; ++half) {  // l in [16·half, 16·half + 16): scale index is = half
          const int l = 16 * half;
          const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ql + l));
          const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ql + l + 32));
          const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qh + l));
          const __m128i q[4] = {
              _mm_or_si128(_mm_and_si128(a, m4), _mm_slli_epi16(_mm_and_si128(h, m2), 4)),
              _mm_or_si128(_mm_and_si128(c, m4), _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(h, 2), m2), 4)),
              _mm_or_si128(_mm_and_si128(_mm_srli_epi16(a, 4), m4), _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(h, 4), m2), 4)),
              _mm_or_si128(_mm_and_si128(_mm_srli_epi16(c, 4), m4), _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(h, 6), m2), 4)),
          };
          for (int t = 0; t < 4; ++t) {
            const __m512 ds = _mm512_set1_ps(d * float(sc[half + 2 * t]));
            const __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_cvtepu8_epi32(q[t]), off));
            _mm512_storeu_ps(y + 128 * n + 32 * t + l, _mm512_mul_ps(ds, v));
          }
        }
      }
    }
}

// Q2_K / Q3_K: 16 values (bytes of `codes`, 2 bits from `shift`, Q3_K's high bit from hbits)
// as floats: Q2_K dl·c − ml, Q3_K dl·(c − 4 + 4·high).
QLINEAR_TARGET_AVX512 inline __m512 two_bit_codes(__m128i codes, int shift) {
  const __m128i c = _mm_and_si128(_mm_srl_epi16(codes, _mm_cvtsi32_si128(shift)), _mm_set1_epi8(3));
  return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(c));
}

QLINEAR_TARGET_AVX512 inline void q2_k_rows(const std::uint8_t* src, std::size_t stride, std::size_t count,
                                            std::size_t k, float* out) {
  for (std::size_t r = 0; r < count; ++r)
    for (std::size_t sb = 0; sb < k / gguf::QK_K; ++sb) {
      gguf::BlockQ2_K b;
      std::memcpy(&b, src + r * stride + sb * sizeof(b), sizeof(b));
      const float d = f16_bits_to_float(&b.d), min = f16_bits_to_float(&b.dmin);
      float* y = out + r * k + sb * gguf::QK_K;
      for (int n = 0; n < 2; ++n) {
        const __m128i q[2] = {_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 32 * n)),
                              _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 32 * n + 16))};
        for (int j = 0; j < 4; ++j)
          for (int h = 0; h < 2; ++h) {
            const std::uint8_t sc = b.scales[8 * n + 2 * j + h];
            const __m512 dl = _mm512_set1_ps(d * float(sc & 0xF)), ml = _mm512_set1_ps(min * float(sc >> 4));
            _mm512_storeu_ps(y + 128 * n + 32 * j + 16 * h, _mm512_sub_ps(_mm512_mul_ps(dl, two_bit_codes(q[h], 2 * j)), ml));
          }
      }
    }
}

QLINEAR_TARGET_AVX512 inline void q3_k_rows(const std::uint8_t* src, std::size_t stride, std::size_t count,
                                            std::size_t k, float* out) {
  const __m512 four = _mm512_set1_ps(4.0f);
  for (std::size_t r = 0; r < count; ++r)
    for (std::size_t sb = 0; sb < k / gguf::QK_K; ++sb) {
      gguf::BlockQ3_K b;
      std::memcpy(&b, src + r * stride + sb * sizeof(b), sizeof(b));
      const float d = f16_bits_to_float(&b.d);
      float* y = out + r * k + sb * gguf::QK_K;
      const __m128i hm[2] = {_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.hmask)),
                             _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.hmask + 16))};
      for (int n = 0; n < 2; ++n) {
        const __m128i q[2] = {_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 32 * n)),
                              _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 32 * n + 16))};
        for (int j = 0; j < 4; ++j)
          for (int h = 0; h < 2; ++h) {
            const int is = 8 * n + 2 * j + h, bit = 4 * n + j;
            const __m512 dl = _mm512_set1_ps(d * float(gguf::q3_k_scale(is, b.scales) - 32));
            // c − 4 + 4·high is exact in f32, so this is the scalar dl · float(int code).
            const __mmask16 high = _mm_test_epi8_mask(hm[h], _mm_set1_epi8(char(1 << bit)));
            const __m512 low = _mm512_sub_ps(two_bit_codes(q[h], 2 * j), four);
            const __m512 c = _mm512_mask_add_ps(low, high, low, four);
            _mm512_storeu_ps(y + 128 * n + 32 * j + 16 * h, _mm512_mul_ps(dl, c));
          }
      }
    }
}

}  // namespace avx512::exact

template <bool PerChannel, bool Affine>
struct DequantizeRows<Int8Scheme<PerChannel, Affine>, Isa::avx512> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void* params, std::size_t first_row) {
    avx512::exact::int8_rows<PerChannel, Affine>(src, stride, count, k, out, params, first_row);
  }
};
template <int G>
struct DequantizeRows<Int4<G>, Isa::avx512> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void*, std::size_t) {
    avx512::exact::int4_rows<G, false>(src, stride, count, k, out);
  }
};
template <int G>
struct DequantizeRows<Int4Affine<G>, Isa::avx512> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void*, std::size_t) {
    avx512::exact::int4_rows<G, true>(src, stride, count, k, out);
  }
};
template <>
struct DequantizeRows<NF4, Isa::avx512> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void*, std::size_t) {
    avx512::exact::nf4_rows(src, stride, count, k, out);
  }
};
template <>
struct DequantizeRows<NF4DoubleQuant, Isa::avx512> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void* params, std::size_t first_row) {
    avx512::exact::nf4_dq_rows(src, stride, count, k, out, params, first_row);
  }
};
template <>
struct DequantizeRows<Q4_0, Isa::avx512> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void*, std::size_t) {
    avx512::exact::q4_0_rows(src, stride, count, k, out);
  }
};
template <>
struct DequantizeRows<Q8_0, Isa::avx512> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void*, std::size_t) {
    avx512::exact::q8_0_rows(src, stride, count, k, out);
  }
};
template <>
struct DequantizeRows<Q4_K, Isa::avx512> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void*, std::size_t) {
    avx512::exact::qk45_rows<false>(src, stride, count, k, out);
  }
};
template <>
struct DequantizeRows<Q5_K, Isa::avx512> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void*, std::size_t) {
    avx512::exact::qk45_rows<true>(src, stride, count, k, out);
  }
};
template <>
struct DequantizeRows<Q6_K, Isa::avx512> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void*, std::size_t) {
    avx512::exact::q6_k_rows(src, stride, count, k, out);
  }
};

template <>
struct DequantizeRows<Q2_K, Isa::avx512> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void*, std::size_t) {
    avx512::exact::q2_k_rows(src, stride, count, k, out);
  }
};
template <>
struct DequantizeRows<Q3_K, Isa::avx512> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void*, std::size_t) {
    avx512::exact::q3_k_rows(src, stride, count, k, out);
  }
};

template <class S>
  requires(std::is_same_v<S, Q4_1> || std::is_same_v<S, Q5_0> || std::is_same_v<S, Q5_1> || std::is_same_v<S, IQ4_NL>)
struct DequantizeRows<S, Isa::avx512> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void*, std::size_t) {
    avx512::exact::block32_rows<S>(src, stride, count, k, out);
  }
};
template <>
struct DequantizeRows<IQ4_XS, Isa::avx512> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void*, std::size_t) {
    avx512::exact::iq4_xs_rows(src, stride, count, k, out);
  }
};

}  // namespace qlinear::cpu
QLINEAR_GGUF_EXACT_FP_END
QLINEAR_X86_KERNELS_END
#endif
