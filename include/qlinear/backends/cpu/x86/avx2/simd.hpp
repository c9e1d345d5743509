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
/// Eight int16 scales, in both 128-bit lanes.
using s8x = __m256i;
/// Sixteen int16 scales: words 0-7 in both lanes of lo, 8-15 in both lanes of hi.
struct s16x {
  __m256i lo, hi;
};
struct fx16 {
  __m256 lo, hi;
};

inline constexpr int kBytes = 32;
inline constexpr int kQuad = 2;
inline constexpr bool kVnni = false;

QLINEAR_AVX2_FN vi zero() { return _mm256_setzero_si256(); }
QLINEAR_AVX2_FN vf zero_f() { return _mm256_setzero_ps(); }
QLINEAR_AVX2_FN vi set1_8(int x) { return _mm256_set1_epi8(char(x)); }
QLINEAR_AVX2_FN vi set1_16(int x) { return _mm256_set1_epi16(short(x)); }
QLINEAR_AVX2_FN vf set1_f(float x) { return _mm256_set1_ps(x); }
QLINEAR_AVX2_FN vf bcast_lane0(__m128 x) { return _mm256_broadcastss_ps(x); }
QLINEAR_AVX2_FN vi load(const void* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
QLINEAR_AVX2_FN vi and_(vi a, vi b) { return _mm256_and_si256(a, b); }
QLINEAR_AVX2_FN vi srli4(vi a) { return _mm256_srli_epi16(a, 4); }
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
QLINEAR_AVX2_FN vi dot2(vi u0, vi s0, vi u1, vi s1) {
  return _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(u0, s0), _mm256_maddubs_epi16(u1, s1)),
                           _mm256_set1_epi16(1));
}
QLINEAR_AVX2_FN vi make_corr2(vi s0, vi s1, int c) {
  const vi vc = _mm256_set1_epi8(char(c));
  return _mm256_add_epi16(_mm256_maddubs_epi16(vc, s0), _mm256_maddubs_epi16(vc, s1));
}
QLINEAR_AVX2_FN vi dot2_corr(vi corr, vi u0, vi s0, vi u1, vi s1) {
  const vi p = _mm256_add_epi16(_mm256_maddubs_epi16(u0, s0), _mm256_maddubs_epi16(u1, s1));
  return _mm256_madd_epi16(_mm256_sub_epi16(p, corr), _mm256_set1_epi16(1));
}
QLINEAR_AVX2_FN vi dot2_signed(vi u0, vi s0, vi u1, vi s1) {
  const vi one = _mm256_set1_epi16(1);
  return _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(u0, s0), one),
                          _mm256_madd_epi16(_mm256_maddubs_epi16(u1, s1), one));
}

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

QLINEAR_AVX2_FN vi quad_nibbles(const std::uint8_t* p, int stride, int n) {
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + (n > 1 ? stride : 0)));
  return _mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1);
}
QLINEAR_AVX2_FN vi quad_act(const std::uint8_t* p, int stride, int n, int half) {
  const std::uint8_t* q = p + 16 * half;
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
  const __m128i b = n > 1 ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + stride)) : _mm_setzero_si128();
  return _mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1);
}
/// A group's 8 qh words; per 128-bit lane (two quads of two blocks): quad 2l: low halves of its
/// two blocks then quad 2l+1's, then the high halves.
QLINEAR_AVX2_FN __m256i quad_bits(const std::uint8_t* qh, int stride, int n) {
  const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(stride));
  __m256i g;
  if (n >= 8) {
    g = _mm256_i32gather_epi32(reinterpret_cast<const int*>(qh), idx, 1);
  } else {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    g = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), reinterpret_cast<const int*>(qh), idx, mask, 1);
  }
  const __m256i shuf = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15,  //
                                        0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
  return _mm256_shuffle_epi8(g, shuf);
}
QLINEAR_AVX2_FN vi quad_add16(vi x, __m256i bits, int q, int h) {
  // quad q: lane q / 2, dword (q % 2) + 2h.
  const __m128i lane = q / 2 ? _mm256_extracti128_si256(bits, 1) : _mm256_castsi256_si128(bits);
  const int d = q % 2 + 2 * h;
  const std::uint32_t m = std::uint32_t(d == 0 ? _mm_cvtsi128_si32(lane)
                                        : d == 1 ? _mm_extract_epi32(lane, 1)
                                        : d == 2 ? _mm_extract_epi32(lane, 2)
                                                 : _mm_extract_epi32(lane, 3));
  return _mm256_or_si256(x, _mm256_and_si256(bytes_from_bits(m), _mm256_set1_epi8(16)));
}

// ---- k-quant super-blocks (v = 0..7: elements [32v, 32v + 32), sub-block v) ----
QLINEAR_AVX2_FN constexpr int k4_sub(int v, int) { return v; }
QLINEAR_AVX2_FN vi u4_k(const std::uint8_t* qs, int v) {
  vi x = load(qs + 32 * (v / 2));
  if (v % 2) x = _mm256_srli_epi16(x, 4);
  return _mm256_and_si256(x, _mm256_set1_epi8(0x0F));
}
QLINEAR_AVX2_FN vi k4_act(const std::uint8_t* qs, int v) { return load(qs + 32 * v); }
QLINEAR_AVX2_FN vi add_hbit(vi x, const std::uint8_t* h32, int s0, int, int add) {
  const vi bit = _mm256_set1_epi8(char(1 << s0));
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
QLINEAR_AVX2_FN s8x s8_words(__m128i w) { return _mm256_broadcastsi128_si256(w); }
QLINEAR_AVX2_FN s16x s16_words(__m256i w) {
  return {_mm256_permute2x128_si256(w, w, 0x00), _mm256_permute2x128_si256(w, w, 0x11)};
}
/// Every dword holds scale s0 twice (the vector is one 32-element sub-block).
QLINEAR_AVX2_FN vi pat32(s8x s, int s0, int) {
  const vi idx = _mm256_set1_epi16(short(0x0100 * (2 * s0 + 1) + 2 * s0));
  return _mm256_shuffle_epi8(s, idx);
}
/// Lane 0 takes scale 2v, lane 1 scale 2v + 1.
QLINEAR_AVX2_FN vi pat16(s16x s, int v) {
  const int a = (2 * v) % 8, b = a + 1;
  const vi idx = _mm256_setr_epi16(short(0x0100 * (2 * a + 1) + 2 * a), short(0x0100 * (2 * a + 1) + 2 * a),
                                   short(0x0100 * (2 * a + 1) + 2 * a), short(0x0100 * (2 * a + 1) + 2 * a),
                                   short(0x0100 * (2 * a + 1) + 2 * a), short(0x0100 * (2 * a + 1) + 2 * a),
                                   short(0x0100 * (2 * a + 1) + 2 * a), short(0x0100 * (2 * a + 1) + 2 * a),
                                   short(0x0100 * (2 * b + 1) + 2 * b), short(0x0100 * (2 * b + 1) + 2 * b),
                                   short(0x0100 * (2 * b + 1) + 2 * b), short(0x0100 * (2 * b + 1) + 2 * b),
                                   short(0x0100 * (2 * b + 1) + 2 * b), short(0x0100 * (2 * b + 1) + 2 * b),
                                   short(0x0100 * (2 * b + 1) + 2 * b), short(0x0100 * (2 * b + 1) + 2 * b));
  return _mm256_shuffle_epi8(v < 4 ? s.lo : s.hi, idx);
}
QLINEAR_AVX2_FN vf patf(__m256 d8, int v) { return _mm256_permutevar8x32_ps(d8, _mm256_set1_epi32(v)); }
/// The float scales of quad q's two blocks, one per 128-bit lane.
QLINEAR_AVX2_FN vf patq(__m256 d8, int q) {
  return _mm256_permutevar8x32_ps(d8, _mm256_setr_epi32(2 * q, 2 * q, 2 * q, 2 * q, 2 * q + 1, 2 * q + 1, 2 * q + 1, 2 * q + 1));
}
QLINEAR_AVX2_FN vi negsc_words(__m256i w, int c) { return _mm256_mullo_epi16(w, _mm256_set1_epi16(short(-c))); }
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
