#pragma once
// AVX2 (+FMA, F16C) building blocks of the x86 integer-path kernels: the names of
// x86/avx512/simd.hpp for 256-bit vectors of 32 int8 lanes. A vector holds one 32-element
// block (or 32 elements of a super-block: `v` = 0..7 in a 256-element group); 16 registers.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/x86/target.hpp"

#if defined(__x86_64__) || defined(_M_X64)

/// An AVX2 building block: the level's target, inline, always inlined into its kernels.
#define QLINEAR_AVX2_FN QLINEAR_TARGET_AVX2 inline __attribute__((always_inline))

namespace qlinear::cpu::avx2::simd {

using vi = __m256i;
using vf = __m256;
/// Signs to apply to activations: the signed values themselves (vpsignb).
using sgn = __m256i;
using s8x = __m256i;
struct s16x {
  __m256i lo, hi;
};
struct fx16 {
  __m256 lo, hi;
};

inline constexpr int kBytes = 32;
inline constexpr bool kVnni = false;

QLINEAR_AVX2_FN vi zero() { return _mm256_setzero_si256(); }
QLINEAR_AVX2_FN vf zero_f() { return _mm256_setzero_ps(); }
QLINEAR_AVX2_FN vi set1_8(int x) { return _mm256_set1_epi8(char(x)); }
QLINEAR_AVX2_FN vi set1_16(int x) { return _mm256_set1_epi16(short(x)); }
QLINEAR_AVX2_FN vf set1_f(float x) { return _mm256_set1_ps(x); }
QLINEAR_AVX2_FN vi load(const void* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
QLINEAR_AVX2_FN vi and_(vi a, vi b) { return _mm256_and_si256(a, b); }
QLINEAR_AVX2_FN vi or_(vi a, vi b) { return _mm256_or_si256(a, b); }
QLINEAR_AVX2_FN vi xor_(vi a, vi b) { return _mm256_xor_si256(a, b); }
QLINEAR_AVX2_FN vi add8(vi a, vi b) { return _mm256_add_epi8(a, b); }
QLINEAR_AVX2_FN vf cvt(vi a) { return _mm256_cvtepi32_ps(a); }
QLINEAR_AVX2_FN vf mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
QLINEAR_AVX2_FN vf fmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
QLINEAR_AVX2_FN float reduce(vf a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
QLINEAR_AVX2_FN float f16_at(const std::uint8_t* p) {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}
QLINEAR_AVX2_FN float f32_at(const std::uint8_t* p) {
  float f;
  std::memcpy(&f, p, 4);
  return f;
}
QLINEAR_AVX2_FN std::uint32_t u32_at(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// ---- integer dot products (vpmaddubsw: exact for unsigned operands ≤ 127) ----
QLINEAR_AVX2_FN vi maddubs(vi u, vi s) { return _mm256_maddubs_epi16(u, s); }
QLINEAR_AVX2_FN vi dot_i16(vi acc, vi a, vi b) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b)); }
QLINEAR_AVX2_FN vi dot_u8s8(vi u, vi s) { return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)); }
QLINEAR_AVX2_FN vi make_corr(vi a, int c) { return _mm256_maddubs_epi16(_mm256_set1_epi8(char(c)), a); }
QLINEAR_AVX2_FN vi dot_corr(vi corr, vi u, vi s) {
  return _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(u, s), corr), _mm256_set1_epi16(1));
}
QLINEAR_AVX2_FN sgn sign_of(vi x) { return x; }
QLINEAR_AVX2_FN vi apply_sign(vi a, sgn s) { return _mm256_sign_epi8(a, s); }
QLINEAR_AVX2_FN vi abs8(vi x) { return _mm256_abs_epi8(x); }

// ---- 32-element blocks, one per vector (p1 is not read) ----
QLINEAR_AVX2_FN vi u4_blocks(const std::uint8_t* p0, const std::uint8_t*) {
  const vi x = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p0)));
  return _mm256_and_si256(_mm256_srlv_epi64(x, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0F));
}
QLINEAR_AVX2_FN vi i8_blocks(const std::uint8_t* p0, const std::uint8_t*) { return load(p0); }
QLINEAR_AVX2_FN vi i8_block_lo(const std::uint8_t* p0) { return load(p0); }
/// Byte j = 0xFF where bit j of bits is set.
QLINEAR_AVX2_FN vi bytes_from_bits(std::uint32_t bits) {
  const vi shuf = _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303);
  vi x = _mm256_shuffle_epi8(_mm256_set1_epi32(int(bits)), shuf);
  const vi bit = _mm256_set1_epi64x(0x8040201008040201);
  return _mm256_cmpeq_epi8(_mm256_and_si256(x, bit), bit);
}
QLINEAR_AVX2_FN vi add16_bits(vi x, std::uint32_t qh0, std::uint32_t) {
  return _mm256_or_si256(x, _mm256_and_si256(bytes_from_bits(qh0), _mm256_set1_epi8(16)));
}
QLINEAR_AVX2_FN __m256 gather_f16(const std::uint8_t* base, int stride, int n) {
  const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(stride));
  __m256i g;
  if (n >= 8) {
    g = _mm256_i32gather_epi32(reinterpret_cast<const int*>(base), idx, 1);
  } else {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    g = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), reinterpret_cast<const int*>(base), idx, mask, 1);
  }
  // The low 16 bits of each dword, packed: [d0 .. d7].
  g = _mm256_and_si256(g, _mm256_set1_epi32(0xFFFF));
  const __m128i h = _mm_packus_epi32(_mm256_castsi256_si128(g), _mm256_extracti128_si256(g, 1));
  return _mm256_cvtph_ps(h);
}

// ---- k-quant super-blocks (v = 0..7: elements [32v, 32v + 32)) ----
QLINEAR_AVX2_FN vi u4_k(const std::uint8_t* qs, int v) {
  vi x = load(qs + 32 * (v / 2));
  if (v % 2) x = _mm256_srli_epi16(x, 4);
  return _mm256_and_si256(x, _mm256_set1_epi8(0x0F));
}
QLINEAR_AVX2_FN vi add_hbit(vi x, const std::uint8_t* h32, int v, int add) {
  const vi bit = _mm256_set1_epi8(char(1 << v));
  const vi set = _mm256_cmpeq_epi8(_mm256_and_si256(load(h32), bit), bit);
  return _mm256_add_epi8(x, _mm256_and_si256(set, _mm256_set1_epi8(char(add))));
}
QLINEAR_AVX2_FN vi u2_k(const std::uint8_t* qs, int v) {
  const int kk = v / 4, j = v % 4;
  return _mm256_and_si256(_mm256_srli_epi16(load(qs + 32 * kk), 2 * j), _mm256_set1_epi8(3));
}
QLINEAR_AVX2_FN vi u6_k(const std::uint8_t* ql, const std::uint8_t* qh, int v) {
  const int j = v / 4, t = v % 4;
  vi l = load(ql + 64 * j + 32 * (t % 2));
  if (t >= 2) l = _mm256_srli_epi16(l, 4);
  vi h = load(qh + 32 * j);
  // bits 2t, 2t+1 of qh to bits 4, 5.
  if (2 * t < 4)
    h = _mm256_slli_epi16(h, 4 - 2 * t);
  else if (2 * t > 4)
    h = _mm256_srli_epi16(h, 2 * t - 4);
  return _mm256_or_si256(_mm256_and_si256(l, _mm256_set1_epi8(0x0F)), _mm256_and_si256(h, _mm256_set1_epi8(0x30)));
}
QLINEAR_AVX2_FN vi table16(const std::int8_t* t) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t)));
}
QLINEAR_AVX2_FN vi lut16(vi table, vi idx) { return _mm256_shuffle_epi8(table, idx); }
/// IQ4 codebook signs: the codebook values themselves (vpsignb takes their signs).
QLINEAR_AVX2_FN sgn iq4_sign(vi nib) {
  static constexpr std::int8_t kv[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
  return _mm256_shuffle_epi8(table16(kv), nib);
}

// ---- scales ----
QLINEAR_AVX2_FN s8x s8_from_u8(const std::uint8_t* p) {
  const __m256i t = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm256_or_si256(t, _mm256_slli_epi32(t, 16));
}
QLINEAR_AVX2_FN s8x s8_from_i8(const std::int8_t* p) {
  const __m256i t = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm256_or_si256(_mm256_and_si256(t, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(t, 16));
}
QLINEAR_AVX2_FN s16x s16_from_i8(const std::int8_t* p) { return {s8_from_i8(p), s8_from_i8(p + 8)}; }
QLINEAR_AVX2_FN s16x s16_from_lo4(const std::uint8_t* p) {
  const __m256i m = _mm256_set1_epi32(0x0F);
  const __m256i a = _mm256_and_si256(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))), m);
  const __m256i b =
      _mm256_and_si256(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8))), m);
  return {_mm256_or_si256(a, _mm256_slli_epi32(a, 16)), _mm256_or_si256(b, _mm256_slli_epi32(b, 16))};
}
QLINEAR_AVX2_FN vi pat32(s8x s, int v) { return _mm256_permutevar8x32_epi32(s, _mm256_set1_epi32(v)); }
QLINEAR_AVX2_FN vi pat16(s16x s, int v) {
  const int a = 2 * (v % 4), b = a + 1;
  return _mm256_permutevar8x32_epi32(v < 4 ? s.lo : s.hi, _mm256_setr_epi32(a, a, a, a, b, b, b, b));
}
QLINEAR_AVX2_FN vf patf(__m256 d8, int v) { return _mm256_permutevar8x32_ps(d8, _mm256_set1_epi32(v)); }
QLINEAR_AVX2_FN vi negsc_words(const std::int8_t* p, int c) {
  const __m256i w = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_mullo_epi16(w, _mm256_set1_epi16(short(-c)));
}
QLINEAR_AVX2_FN vi words16(const std::uint8_t* p) { return load(p); }

// ---- float side terms ----
QLINEAR_AVX2_FN vf acc_fma8(vf acc, __m256 x, __m256 y) { return _mm256_fmadd_ps(x, y, acc); }
QLINEAR_AVX2_FN vf acc_fnma8(vf acc, __m256 x, __m256 y) { return _mm256_fnmadd_ps(x, y, acc); }
QLINEAR_AVX2_FN vf acc_fnma16(vf acc, fx16 x, fx16 y) {
  return _mm256_fnmadd_ps(x.hi, y.hi, _mm256_fnmadd_ps(x.lo, y.lo, acc));
}
QLINEAR_AVX2_FN fx16 hi4_times(const std::uint8_t* p, float f) {
  const __m256 s = _mm256_set1_ps(f);
  const __m256i a = _mm256_srli_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))), 4);
  const __m256i b =
      _mm256_srli_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8))), 4);
  return {_mm256_mul_ps(_mm256_cvtepi32_ps(a), s), _mm256_mul_ps(_mm256_cvtepi32_ps(b), s)};
}
QLINEAR_AVX2_FN fx16 i16_times(const std::uint8_t* p, float f) {
  const __m256 s = _mm256_set1_ps(f);
  const __m256i a = _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  const __m256i b = _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)));
  return {_mm256_mul_ps(_mm256_cvtepi32_ps(a), s), _mm256_mul_ps(_mm256_cvtepi32_ps(b), s)};
}

}  // namespace qlinear::cpu::avx2::simd

#endif
