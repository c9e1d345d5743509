#pragma once
// AVX-512 (F/BW/DQ/VL) building blocks of the x86 integer-path kernels: 512-bit vectors of 64
// int8 lanes, and the unpacking of every GGUF weight layout into them. The kernel bodies
// (x86/gguf_dot.inc) are written once against these names; x86/avx2/simd.hpp provides the same
// names for 256-bit vectors and x86/avx512_vnni/simd.hpp replaces the dot products with VNNI.
//
// Conventions: a vector holds 64 consecutive elements of a 256-element group (a k-quant
// super-block, or 8 blocks of a 32-element format: two blocks per vector). `v` is the vector's
// index in its group (0..3). "Word-pair" scales are dwords holding the same int16 scale in both
// halves, the multiplier vpmaddwd / vpdpwssd wants for the int16 pair sums vpmaddubsw makes.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/x86/target.hpp"

#if defined(__x86_64__) || defined(_M_X64)

/// An AVX-512 building block: the level's target, inline, always inlined into its kernels.
#define QLINEAR_AVX512_FN QLINEAR_TARGET_AVX512 inline __attribute__((always_inline))

namespace qlinear::cpu::avx512::simd {

using vi = __m512i;
using vf = __m512;
/// Signs to apply to activations (the sign trick): one bit per int8 lane.
using sgn = __mmask64;
/// Eight word-pair scales (one per 32 elements of a group).
using s8x = __m256i;
/// Sixteen word-pair scales (one per 16 elements of a group).
using s16x = __m512i;
/// Sixteen floats (one per 16 elements of a group).
using fx16 = __m512;

inline constexpr int kBytes = 64;
/// Whether dot_u8s8 / dot_corr are exact for unsigned operands above 127 (VNNI's vpdpbusd
/// accumulates in int32; vpmaddubsw saturates its int16 pair sums).
inline constexpr bool kVnni = false;

// ---- plain vectors ----
QLINEAR_AVX512_FN vi zero() { return _mm512_setzero_si512(); }
QLINEAR_AVX512_FN vf zero_f() { return _mm512_setzero_ps(); }
QLINEAR_AVX512_FN vi set1_8(int x) { return _mm512_set1_epi8(char(x)); }
QLINEAR_AVX512_FN vi set1_16(int x) { return _mm512_set1_epi16(short(x)); }
QLINEAR_AVX512_FN vf set1_f(float x) { return _mm512_set1_ps(x); }
QLINEAR_AVX512_FN vi load(const void* p) { return _mm512_loadu_si512(p); }
QLINEAR_AVX512_FN vi and_(vi a, vi b) { return _mm512_and_si512(a, b); }
QLINEAR_AVX512_FN vi or_(vi a, vi b) { return _mm512_or_si512(a, b); }
QLINEAR_AVX512_FN vi xor_(vi a, vi b) { return _mm512_xor_si512(a, b); }
QLINEAR_AVX512_FN vi add8(vi a, vi b) { return _mm512_add_epi8(a, b); }
QLINEAR_AVX512_FN vf cvt(vi a) { return _mm512_cvtepi32_ps(a); }
QLINEAR_AVX512_FN vf mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
QLINEAR_AVX512_FN vf fmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
QLINEAR_AVX512_FN float reduce(vf a) { return _mm512_reduce_add_ps(a); }
/// An f16 value (little-endian bits at p) as float.
QLINEAR_AVX512_FN float f16_at(const std::uint8_t* p) {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}
QLINEAR_AVX512_FN float f32_at(const std::uint8_t* p) {
  float f;
  std::memcpy(&f, p, 4);
  return f;
}
QLINEAR_AVX512_FN std::uint32_t u32_at(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// ---- integer dot products ----
QLINEAR_AVX512_FN vi maddubs(vi u, vi s) { return _mm512_maddubs_epi16(u, s); }
/// acc + Σ pairs a·b (int16 × int16 → int32).
QLINEAR_AVX512_FN vi dot_i16(vi acc, vi a, vi b) { return _mm512_add_epi32(acc, _mm512_madd_epi16(a, b)); }
/// Σ of each 4 u·s (u unsigned, s signed; here exact for u ≤ 127 only).
QLINEAR_AVX512_FN vi dot_u8s8(vi u, vi s) { return _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1)); }
/// The correction of an activation vector a for weights stored with an offset c (w = u - c):
/// -c·Σa in the form dot_corr adds.
QLINEAR_AVX512_FN vi make_corr(vi a, int c) { return _mm512_maddubs_epi16(_mm512_set1_epi8(char(c)), a); }
/// Σ of each 4 (u - c)·s, given corr = make_corr(s, c) (u ≤ 127 here).
QLINEAR_AVX512_FN vi dot_corr(vi corr, vi u, vi s) {
  return _mm512_madd_epi16(_mm512_sub_epi16(_mm512_maddubs_epi16(u, s), corr), _mm512_set1_epi16(1));
}
/// The sign trick: s = the signs of x, applied to a (a · sign(x), 0 where x is 0 is not needed:
/// the unsigned side |x| is 0 there).
QLINEAR_AVX512_FN sgn sign_of(vi x) { return _mm512_movepi8_mask(x); }
QLINEAR_AVX512_FN vi apply_sign(vi a, sgn s) { return _mm512_mask_sub_epi8(a, s, _mm512_setzero_si512(), a); }
QLINEAR_AVX512_FN vi abs8(vi x) { return _mm512_abs_epi8(x); }

// ---- 32-element blocks, two per vector ----
/// Nibbles of two Q4_0-order blocks (element j in the low nibble of byte j, element j+16 in the
/// high nibble): [block at p0, block at p1], 32 elements each.
QLINEAR_AVX512_FN vi u4_blocks(const std::uint8_t* p0, const std::uint8_t* p1) {
  const __m256i a = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p0)));
  const __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p1)));
  vi x = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
  x = _mm512_mask_srli_epi16(x, 0xFF00FF00u, x, 4);  // 128-bit lanes 1 and 3 take the high nibbles
  return _mm512_and_si512(x, _mm512_set1_epi8(0x0F));
}
/// 32 bytes at p0 then 32 at p1.
QLINEAR_AVX512_FN vi i8_blocks(const std::uint8_t* p0, const std::uint8_t* p1) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p0))),
                            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p1)), 1);
}
/// 32 bytes at p0 then 32 zeros (the last, odd block of a row).
QLINEAR_AVX512_FN vi i8_block_lo(const std::uint8_t* p0) {
  return _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p0)));
}
/// x + 16 where bit j of (qh0 | qh1 << 32) is set (Q5_0 / Q5_1 fifth bits).
QLINEAR_AVX512_FN vi add16_bits(vi x, std::uint32_t qh0, std::uint32_t qh1) {
  const __mmask64 k = _cvtu64_mask64(std::uint64_t(qh0) | (std::uint64_t(qh1) << 32));
  return _mm512_mask_add_epi8(x, k, x, _mm512_set1_epi8(16));
}
/// n (≤ 8) f16 values at base, base + stride, ... as floats; lanes from n on are 0 (and unread).
QLINEAR_AVX512_FN __m256 gather_f16(const std::uint8_t* base, int stride, int n) {
  const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(stride));
  const __m256i g = n >= 8 ? _mm256_i32gather_epi32(reinterpret_cast<const int*>(base), idx, 1)
                           : _mm256_mmask_i32gather_epi32(_mm256_setzero_si256(), __mmask8((1u << n) - 1), idx,
                                                          reinterpret_cast<const int*>(base), 1);
  return _mm256_cvtph_ps(_mm256_cvtepi32_epi16(g));
}

// ---- k-quant super-blocks (v = 0..3: elements [64v, 64v + 64)) ----
/// Q4_K / Q5_K nibbles: 32-byte chunk c holds elements 64c + l (low) and 64c + 32 + l (high).
QLINEAR_AVX512_FN vi u4_k(const std::uint8_t* qs, int v) {
  vi x = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * v)));
  x = _mm512_mask_srli_epi16(x, 0xFFFF0000u, x, 4);
  return _mm512_and_si512(x, _mm512_set1_epi8(0x0F));
}
/// Which bit of a 32-byte high-bit array (Q5_K qh, Q3_K hmask) belongs to vector v: bit 2v for
/// its first 32 elements, 2v + 1 for the rest.
QLINEAR_AVX512_FN vi hbit_select(int v) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi8(char(1 << (2 * v)))),
                            _mm256_set1_epi8(char(1 << (2 * v + 1))), 1);
}
/// x + add where the vector's bit of the high-bit array h32 is set.
QLINEAR_AVX512_FN vi add_hbit(vi x, const std::uint8_t* h32, int v, int add) {
  const vi h = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h32)));
  return _mm512_mask_add_epi8(x, _mm512_test_epi8_mask(h, hbit_select(v)), x, _mm512_set1_epi8(char(add)));
}
/// Q2_K / Q3_K crumbs: 32-byte chunk kk holds elements 128kk + 32j + l at bits 2j of byte l.
QLINEAR_AVX512_FN vi u2_k(const std::uint8_t* qs, int v) {
  const int kk = v / 2, j0 = 2 * (v % 2);
  const vi x = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * kk)));
  const vi shift = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(short(2 * j0))),
                                      _mm256_set1_epi16(short(2 * j0 + 2)), 1);
  return _mm512_and_si512(_mm512_srlv_epi16(x, shift), _mm512_set1_epi8(3));
}
/// Q6_K: low nibbles from ql (64-byte chunks of 128 elements: low nibbles first, then high)
/// and two high bits from qh (32-byte chunks, bit pairs 0, 2, 4, 6 for the four 32-element runs).
QLINEAR_AVX512_FN vi u6_k(const std::uint8_t* ql, const std::uint8_t* qh, int v) {
  const int j = v / 2;
  const vi l = _mm512_loadu_si512(ql + 64 * j);
  const vi h = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 32 * j)));
  const vi m30 = _mm512_set1_epi8(0x30);
  if (v % 2 == 0) {
    const vi shift = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(4)), _mm256_set1_epi16(2), 1);
    return _mm512_or_si512(_mm512_and_si512(l, _mm512_set1_epi8(0x0F)),
                           _mm512_and_si512(_mm512_sllv_epi16(h, shift), m30));
  }
  const vi shift = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(0)), _mm256_set1_epi16(2), 1);
  return _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), _mm512_set1_epi8(0x0F)),
                         _mm512_and_si512(_mm512_srlv_epi16(h, shift), m30));
}
/// A 16-entry byte table in every 128-bit lane, and its lookup (the nibbles in idx).
QLINEAR_AVX512_FN vi table16(const std::int8_t* t) {
  return _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t)));
}
QLINEAR_AVX512_FN vi lut16(vi table, vi idx) { return _mm512_shuffle_epi8(table, idx); }
/// IQ4 codebook signs: kvalues_iq4nl[q] < 0 exactly for q < 8.
QLINEAR_AVX512_FN sgn iq4_sign(vi nib) { return _mm512_cmplt_epu8_mask(nib, _mm512_set1_epi8(8)); }

// ---- scales ----
/// Eight unsigned / signed byte scales as word-pair dwords.
QLINEAR_AVX512_FN s8x s8_from_u8(const std::uint8_t* p) {
  const __m256i t = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm256_or_si256(t, _mm256_slli_epi32(t, 16));
}
QLINEAR_AVX512_FN s8x s8_from_i8(const std::int8_t* p) {
  const __m256i t = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm256_or_si256(_mm256_and_si256(t, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(t, 16));
}
/// Sixteen signed byte scales as word-pair dwords.
QLINEAR_AVX512_FN s16x s16_from_i8(const std::int8_t* p) {
  const vi t = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm512_or_si512(_mm512_and_si512(t, _mm512_set1_epi32(0xFFFF)), _mm512_slli_epi32(t, 16));
}
/// Sixteen scales from the low nibbles of 16 bytes (Q2_K), as word-pair dwords.
QLINEAR_AVX512_FN s16x s16_from_lo4(const std::uint8_t* p) {
  const vi t = _mm512_and_si512(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
                                _mm512_set1_epi32(0x0F));
  return _mm512_or_si512(t, _mm512_slli_epi32(t, 16));
}
/// The scales of vector v: 32-element sub-blocks (2v, 2v+1) / 16-element ones (4v .. 4v+3).
QLINEAR_AVX512_FN vi pat32(s8x s, int v) {
  const vi idx = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi32(2 * v)), _mm256_set1_epi32(2 * v + 1), 1);
  return _mm512_permutexvar_epi32(idx, _mm512_castsi256_si512(s));
}
QLINEAR_AVX512_FN vi pat16(s16x s, int v) {
  const vi idx = _mm512_setr_epi32(4 * v, 4 * v, 4 * v, 4 * v, 4 * v + 1, 4 * v + 1, 4 * v + 1, 4 * v + 1, 4 * v + 2,
                                   4 * v + 2, 4 * v + 2, 4 * v + 2, 4 * v + 3, 4 * v + 3, 4 * v + 3, 4 * v + 3);
  return _mm512_permutexvar_epi32(idx, s);
}
/// The float scales of the two blocks of vector v, from one per block.
QLINEAR_AVX512_FN vf patf(__m256 d8, int v) {
  const vi idx = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi32(2 * v)), _mm256_set1_epi32(2 * v + 1), 1);
  return _mm512_permutexvar_ps(idx, _mm512_castps256_ps512(d8));
}
/// 16 int8 scales times -c as int16 words (for the correction Σ sc·(-c)·bsum), and 16 int16
/// block sums, each in the first 256 bits of a vector (the rest zero).
QLINEAR_AVX512_FN vi negsc_words(const std::int8_t* p, int c) {
  const __m256i w = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm512_zextsi256_si512(_mm256_mullo_epi16(w, _mm256_set1_epi16(short(-c))));
}
QLINEAR_AVX512_FN vi words16(const std::uint8_t* p) {
  return _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// ---- float side terms (mins) ----
/// acc (first 8 lanes) + / - x·y.
QLINEAR_AVX512_FN vf acc_fma8(vf acc, __m256 x, __m256 y) {
  return _mm512_mask3_fmadd_ps(_mm512_castps256_ps512(x), _mm512_castps256_ps512(y), acc, 0x00FF);
}
QLINEAR_AVX512_FN vf acc_fnma8(vf acc, __m256 x, __m256 y) {
  return _mm512_mask3_fnmadd_ps(_mm512_castps256_ps512(x), _mm512_castps256_ps512(y), acc, 0x00FF);
}
QLINEAR_AVX512_FN vf acc_fnma16(vf acc, fx16 x, fx16 y) { return _mm512_fnmadd_ps(x, y, acc); }
/// 16 high nibbles of bytes (Q2_K mins) times f, and 16 int16 values (Q8_K bsums) times f.
QLINEAR_AVX512_FN fx16 hi4_times(const std::uint8_t* p, float f) {
  const vi t = _mm512_srli_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 4);
  return _mm512_mul_ps(_mm512_cvtepi32_ps(t), _mm512_set1_ps(f));
}
QLINEAR_AVX512_FN fx16 i16_times(const std::uint8_t* p, float f) {
  const vi t = _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_mul_ps(_mm512_cvtepi32_ps(t), _mm512_set1_ps(f));
}

}  // namespace qlinear::cpu::avx512::simd

#endif
