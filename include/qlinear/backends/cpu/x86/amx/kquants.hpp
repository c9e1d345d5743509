#pragma once
// AMX packed layouts and kernels of GGUF Q4_K, Q5_K and Q6_K weights against Q8_K activations:
// PackedLayout<Q4_K | Q5_K | Q6_K, Isa::amx>, in namespace qlinear::cpu::amx (beside q32.hpp's Q4_0 /
// Q8_0, whose scheme they follow).
//
// Layout (n % 16 == 0; exactly the rows' size: 16·144 / 16·176 bytes per 16 rows × 256
// values): panels of 16 weight rows; in a panel, per super-block,
//  - 8 sub-blocks × 256 bytes: each the 16 rows' 32 nibbles as an AMX B tile in VNNI order,
//    folded in two: line l (0-3) byte t holds tile row l in its low nibble and tile row l + 4 in
//    its high one, tile row r byte t being element 4r + t % 4 of the sub-block of row t / 4;
//  - Q5_K: 8 sub-blocks × 64 bytes of fifth bits, bit r of byte t for tile row r;
//  - the 12 scale bytes of the 16 rows as three planes of 16 dwords (dword i of every row's
//    scales side by side), so that one vector op decodes one field for all 16 rows;
//  - the 16 rows' f16 d, then their f16 dmin.
//
// Products. Sub-block j of a super-block contributes d_w·sc_j·Σ q·a - dmin_w·m_j·Σa per
// (activation row, weight row). The integer scales go into the weight tiles, so that AMX sums
// whole super-blocks: with sc_j = 8·hi_j + lo_j (lo, hi < 8), each super-block of a panel is
// expanded once per call into two B tiles per 64 values, q·lo_j and q·hi_j (< 256 as q < 32),
// and two int32 tiles accumulate Σ a·q·lo and Σ a·q·hi over the super-block's 256 values by
// tdpbsud at full K = 64, for every 16 activation rows while the expanded tiles are in L1. The
// vector work is then once per super-block and row: d_a·d_w·(C_lo + 8·C_hi) - Σ_j dmin_w·m_j·
// d_a·(bsum_2j + bsum_2j+1), the mins' part from the activations' block sums (a third tile
// product, Σ a·m, cost more on the tile unit than these 8 FMAs per row on the vector units).
// Rows that do not fill a 16-row tile (and every call of fewer than 16 rows) take vpdpbusd on
// the packed bytes, lanes = the 16 columns, the scales decoded from their planes per
// super-block, prefetching the panel stream ahead (x86/prefetch.hpp).

#if defined(__x86_64__) || defined(_M_X64)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/x86/amx/tile.hpp"
#include "qlinear/backends/cpu/x86/prefetch.hpp"
#include "qlinear/backends/cpu/x86/target.hpp"
#include "qlinear/schemes/gguf/q4_k.hpp"
#include "qlinear/schemes/gguf/q5_k.hpp"
#include "qlinear/schemes/gguf/q6_k.hpp"
#include "qlinear/schemes/gguf/q8_k.hpp"

QLINEAR_X86_KERNELS_BEGIN
namespace qlinear::cpu {
namespace amx {

// Four bytes of a packed or canonical block, as one word (unpack's unit; what it does to a word
// is byte by byte, masks and shifts within each byte, so byte order does not matter).
inline std::uint32_t load_u32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void store_u32(std::uint8_t* p, std::uint32_t v) { std::memcpy(p, &v, 4); }

// Two packed 4-line groups of nibbles (a: lines 64 bytes apart from `a`, b the same from `b`,
// column at offset 0) back to canonical bytes: out[0..16) = a's low nibbles | b's low nibbles
// << 4, out[16..32) = a's high nibbles | b's high nibbles << 4 (Q4_K / Q5_K's qs, Q6_K's ql).
inline void unpack_nibble_pair(const std::uint8_t* a, const std::uint8_t* b, std::uint8_t* out) {
  for (std::size_t line = 0; line < 4; ++line) {
    const std::uint32_t lo = load_u32(a + 64 * line), hi = load_u32(b + 64 * line);
    store_u32(out + 4 * line, (lo & 0x0F0F0F0Fu) | ((hi << 4) & 0xF0F0F0F0u));
    store_u32(out + 16 + 4 * line, ((lo >> 4) & 0x0F0F0F0Fu) | (hi & 0xF0F0F0F0u));
  }
}

template <bool kFive>
struct PackedQ45_K {
  using Block = std::conditional_t<kFive, gguf::BlockQ5_K, gguf::BlockQ4_K>;
  static constexpr std::size_t row_group = 16;
  static constexpr std::size_t max_rows = 256;
  static constexpr std::size_t sb_bytes = 16 * sizeof(Block);  // 2304 / 2816
  static constexpr std::size_t tiles_at = 0, hbits_at = 2048, planes_at = kFive ? 2560 : 2048,
                               d_at = planes_at + 192, dmin_at = d_at + 32;
  static constexpr std::size_t qs_at = kFive ? 48 : 16;  // in a canonical block

  static bool applies(std::size_t n, std::size_t k) { return n > 0 && k > 0 && n % 16 == 0 && k % 256 == 0; }
  static std::size_t bytes(std::size_t n, std::size_t k) { return n / 16 * (k / 256) * sb_bytes; }
  static std::size_t at(std::size_t p, std::size_t g, std::size_t k) { return (p * (k / 256) + g) * sb_bytes; }

  // Scratch of one call: per activation row and super-block its d and the 8 d·(bsum_2j +
  // bsum_2j+1); for the AMX path one super-block's B tiles, 2 per 64 values, its columns' d
  // and their 8 dmin·m_j (16 floats each), then the f32 sums of the rows against one panel.
  static constexpr std::size_t exp_d_at = 8192, exp_mins_at = exp_d_at + 64, sb_tiles_bytes = exp_mins_at + 8 * 64;
  static std::size_t act_bytes(std::size_t rows, std::size_t k) { return (rows * (k / 256) * 9 * 4 + 63) / 64 * 64; }
  static std::size_t scratch_bytes(std::size_t rows, std::size_t k) {
    return act_bytes(rows, k) + (rows >= 16 ? sb_tiles_bytes + rows * 64 : 0);
  }

  // Element e (0-255) of a canonical block: its nibble, and (Q5_K) its fifth bit (qh[e % 32]
  // bit e / 32).
  static std::uint8_t code(const std::uint8_t* blk, std::size_t e) {
    const std::uint8_t q = blk[qs_at + 32 * (e / 64) + e % 32];
    return (e % 64) < 32 ? q & 0x0F : q >> 4;
  }
  static int hbit(const std::uint8_t* blk, std::size_t e) { return (blk[16 + e % 32] >> (e / 32)) & 1; }
  static void pack(const std::uint8_t* rows, std::size_t rb, std::size_t n, std::size_t k, std::uint8_t* out) {
    constexpr std::size_t cb = sizeof(Block);
    for (std::size_t p = 0; p < n / 16; ++p)
      for (std::size_t g = 0; g < k / 256; ++g) {
        std::uint8_t* o = out + at(p, g, k);
        for (std::size_t col = 0; col < 16; ++col) {
          const std::uint8_t* blk = rows + (16 * p + col) * rb + g * cb;
          for (std::size_t j = 0; j < 8; ++j)
            for (std::size_t line = 0; line < 4; ++line)
              for (std::size_t u = 0; u < 4; ++u) {
                const std::size_t e = 32 * j + 4 * line + u;
                o[tiles_at + 256 * j + 64 * line + 4 * col + u] = std::uint8_t(code(blk, e) | code(blk, e + 16) << 4);
              }
          if constexpr (kFive) {
            for (std::size_t j = 0; j < 8; ++j)
              for (std::size_t u = 0; u < 4; ++u) {
                std::uint8_t b = 0;
                for (std::size_t r = 0; r < 8; ++r) b = std::uint8_t(b | hbit(blk, 32 * j + 4 * r + u) << r);
                o[hbits_at + 64 * j + 4 * col + u] = b;
              }
          }
          for (std::size_t d = 0; d < 3; ++d) std::memcpy(o + planes_at + 64 * d + 4 * col, blk + 4 + 4 * d, 4);
          std::memcpy(o + d_at + 2 * col, blk, 2);
          std::memcpy(o + dmin_at + 2 * col, blk + 2, 2);
        }
      }
  }
  static void unpack(const std::uint8_t* packed, std::size_t, std::size_t k, std::size_t r0, std::size_t count,
                     std::uint8_t* rows) {
    constexpr std::size_t cb = sizeof(Block);
    const std::size_t rb = k / 256 * cb;
    for (std::size_t p = r0 / 16; p < (r0 + count) / 16; ++p)
      for (std::size_t g = 0; g < k / 256; ++g) {
        const std::uint8_t* o = packed + at(p, g, k);
        for (std::size_t col = 0; col < 16; ++col) {
          std::uint8_t* blk = rows + (16 * p + col - r0) * rb + g * cb;
          std::memcpy(blk, o + d_at + 2 * col, 2);
          std::memcpy(blk + 2, o + dmin_at + 2 * col, 2);
          for (std::size_t d = 0; d < 3; ++d) std::memcpy(blk + 4 + 4 * d, o + planes_at + 64 * d + 4 * col, 4);
          // Four bytes at a time, each written once (the exact path and gemm_transposed restore
          // panels on every call). Canonical qs byte 32t + 4·line + u (and + 16) holds codes of
          // groups 2t (low nibble) and 2t + 1 (high): packed bytes (line, u) of those groups,
          // whose low nibbles are a group's first 16 values and high nibbles its last 16.
          for (std::size_t t = 0; t < 4; ++t) {
            const std::uint8_t* a = o + tiles_at + 256 * (2 * t) + 4 * col;
            unpack_nibble_pair(a, a + 256, blk + qs_at + 32 * t);
          }
          if constexpr (kFive) {  // qh[4r + u] bit b: bit r of packed byte (b, u)
            std::uint32_t hb[8];
            for (std::size_t b = 0; b < 8; ++b) hb[b] = load_u32(o + hbits_at + 64 * b + 4 * col);
            for (std::size_t r = 0; r < 8; ++r) {
              std::uint32_t v = 0;
              for (std::size_t b = 0; b < 8; ++b) v |= ((hb[b] >> r) & 0x01010101u) << b;
              store_u32(blk + 16 + 4 * r, v);
            }
          }
        }
      }
  }
};

/// The 16 columns' scales and mins of one packed super-block, as dword vectors: byte i of
/// lane c of sc[h] / mn[h] is scale / min 4h + i of column c (ggml's unpacking, lane-wise).
struct Q4KScales {
  __m512i sc[2], mn[2];
  __m512 d, dmin;
};
template <class P>
QLINEAR_TARGET_AMX inline Q4KScales q4k_scales(const std::uint8_t* o) {
  const __m512i u0 = _mm512_loadu_si512(o + P::planes_at);
  const __m512i u1 = _mm512_loadu_si512(o + P::planes_at + 64);
  const __m512i u2 = _mm512_loadu_si512(o + P::planes_at + 128);
  const __m512i k1 = _mm512_set1_epi32(0x3f3f3f3f), k2 = _mm512_set1_epi32(0x0f0f0f0f),
                k3 = _mm512_set1_epi32(0x03030303);
  Q4KScales s;
  s.sc[0] = _mm512_and_si512(u0, k1);
  s.sc[1] = _mm512_or_si512(_mm512_and_si512(u2, k2), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u0, 6), k3), 4));
  s.mn[0] = _mm512_and_si512(u1, k1);
  s.mn[1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u2, 4), k2),
                            _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u1, 6), k3), 4));
  s.d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(o + P::d_at)));
  s.dmin = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(o + P::dmin_at)));
  return s;
}
/// Byte j % 4 of each lane of v[j / 4], as floats.
QLINEAR_TARGET_AMX inline __m512 q4k_field(const __m512i* v, int j) {
  const __m512i x = _mm512_srli_epi32(v[j / 4], 8 * (j % 4));
  return _mm512_cvtepi32_ps(j % 4 == 3 ? x : _mm512_and_si512(x, _mm512_set1_epi32(0xFF)));
}

/// Per activation row r (of the call) and super-block g: da[g·rows + r] = d, and
/// sa[(g·rows + r)·8 + j] = d·(bsum_2j + bsum_2j+1).
QLINEAR_TARGET_AMX inline void q8_K_side_data(const DotTileArgs& t, float* da, float* sa) {
  const std::size_t rows = t.m1 - t.m0, nsb = t.k / 256;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint8_t* row = t.a + (t.m0 + r) * t.a_stride;
    for (std::size_t g = 0; g < nsb; ++g) {
      const std::uint8_t* blk = row + sizeof(gguf::BlockQ8_K) * g;
      float d;
      std::memcpy(&d, blk, 4);
      da[g * rows + r] = d;
      const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 260));
      const __m256 s = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(bs, _mm256_set1_epi16(1))), _mm256_set1_ps(d));
      _mm256_storeu_ps(sa + (g * rows + r) * 8, s);
    }
  }
}

QLINEAR_TARGET_AMX inline void store_kq(const DotTileArgs& t, std::size_t i, std::size_t j0, __m512 f) {
  __m512 v = _mm512_mul_ps(_mm512_set1_ps(t.row_scale[i]), f);
  if (t.bias) v = _mm512_add_ps(v, _mm512_loadu_ps(t.bias + j0));
  float* y = t.y + i * t.ldy + j0;
  if (t.accumulate) v = _mm512_add_ps(v, _mm512_loadu_ps(y));
  _mm512_storeu_ps(y, v);
}

// vpdpbusd on the packed bytes: MR activation rows (call rows r0 .. r0 + MR) × one panel, the
// 16 columns in the lanes; the codes are the unsigned operand (no offset: the mins carry it).
template <bool kFive, int MR>
QLINEAR_TARGET_AMX inline void q4k_vnni_rows(const DotTileArgs& t, std::size_t r0, std::size_t p, const float* da,
                                             const float* sa) {
  const std::size_t k = t.k, nsb = k / 256, rows = t.m1 - t.m0;
  const std::uint8_t* a[MR];
  for (int i = 0; i < MR; ++i) a[i] = t.a + (t.m0 + r0 + std::size_t(i)) * t.a_stride;
  __m512 f[MR];
  for (int i = 0; i < MR; ++i) f[i] = _mm512_setzero_ps();
  const __m512i nib = _mm512_set1_epi8(0x0F);
  for (std::size_t g = 0; g < nsb; ++g) {
    using P = PackedQ45_K<kFive>;
    const std::uint8_t* o = t.w + P::at(p, g, k);
    x86::prefetch_ahead<P::sb_bytes>(o);
    const Q4KScales s = q4k_scales<P>(o);
    __m512 sum[MR];
    for (int i = 0; i < MR; ++i) sum[i] = _mm512_setzero_ps();
    for (int j = 0; j < 8; ++j) {
      __m512i acc[MR];
      for (int i = 0; i < MR; ++i) acc[i] = _mm512_setzero_si512();
      for (int line = 0; line < 4; ++line) {
        const __m512i x = _mm512_loadu_si512(o + 256 * j + 64 * line);
        __m512i lo = _mm512_and_si512(x, nib), hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), nib);
        if constexpr (kFive) {
          const __m512i h = _mm512_loadu_si512(o + P::hbits_at + 64 * j), sixteen = _mm512_set1_epi8(16);
          lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(h, _mm512_set1_epi8(char(1 << line))), lo, sixteen);
          hi = _mm512_mask_add_epi8(hi, _mm512_test_epi8_mask(h, _mm512_set1_epi8(char(1 << (line + 4)))), hi, sixteen);
        }
        for (int i = 0; i < MR; ++i) {
          const std::uint8_t* q = a[i] + sizeof(gguf::BlockQ8_K) * g + 4 + 32 * j + 4 * line;
          std::int32_t v0, v1;
          std::memcpy(&v0, q, 4);
          std::memcpy(&v1, q + 16, 4);
          acc[i] = _mm512_dpbusd_epi32(acc[i], lo, _mm512_set1_epi32(v0));
          acc[i] = _mm512_dpbusd_epi32(acc[i], hi, _mm512_set1_epi32(v1));
        }
      }
      const __m512 scj = q4k_field(s.sc, j);
      for (int i = 0; i < MR; ++i) sum[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[i]), scj, sum[i]);
    }
    for (int i = 0; i < MR; ++i) f[i] = _mm512_fmadd_ps(_mm512_mul_ps(sum[i], s.d), _mm512_set1_ps(da[g * rows + r0 + std::size_t(i)]), f[i]);
    for (int j = 0; j < 8; ++j) {
      const __m512 mj = _mm512_mul_ps(q4k_field(s.mn, j), s.dmin);
      for (int i = 0; i < MR; ++i) f[i] = _mm512_fnmadd_ps(mj, _mm512_set1_ps(sa[(g * rows + r0 + std::size_t(i)) * 8 + std::size_t(j)]), f[i]);
    }
  }
  for (int i = 0; i < MR; ++i) store_kq(t, t.m0 + r0 + std::size_t(i), 16 * p, f[i]);
}

// Bytes times per-column factors (products < 256), 16 columns × 4 bytes; the factor of a
// column fills both words of its dword.
QLINEAR_TARGET_AMX inline __m512i q4k_mul_bytes(__m512i x, __m512i f16w) {
  const __m512i lo = _mm512_mullo_epi16(_mm512_and_si512(x, _mm512_set1_epi16(0x00FF)), f16w);
  const __m512i hi = _mm512_mullo_epi16(_mm512_srli_epi16(x, 8), f16w);
  return _mm512_or_si512(lo, _mm512_slli_epi16(hi, 8));
}

// The B tiles of super-block g of panel p: for each 64-value step s, at out + 2048·s, the
// 16 × 64-byte tiles of q·lo and q·hi (VNNI order: tile row r byte t is value 4r + t % 4 of the
// step, column t / 4); then the columns' d as floats (at out + P::exp_d_at) and, per sub-block
// j, the columns' dmin·m_j (at out + P::exp_mins_at + 64·j).
template <bool kFive>
QLINEAR_TARGET_AMX inline void q4k_expand(const std::uint8_t* w, std::size_t p, std::size_t g, std::size_t k,
                                          std::uint8_t* out) {
  using P = PackedQ45_K<kFive>;
  const __m512i nib = _mm512_set1_epi8(0x0F);
  const std::uint8_t* o = w + P::at(p, g, k);
  const Q4KScales s = q4k_scales<P>(o);
  for (int j = 0; j < 8; ++j) {
    __m512i sc = _mm512_srli_epi32(s.sc[j / 4], 8 * (j % 4));
    sc = _mm512_and_si512(sc, _mm512_set1_epi32(0xFF));
    const __m512i lo = _mm512_and_si512(sc, _mm512_set1_epi32(7)), hi = _mm512_srli_epi32(sc, 3);
    const __m512i flo = _mm512_or_si512(lo, _mm512_slli_epi32(lo, 16)), fhi = _mm512_or_si512(hi, _mm512_slli_epi32(hi, 16));
    // Sub-block j is rows 8·(j % 2) .. + 8 of step j / 2's tiles; its line l: rows l and l + 4.
    std::uint8_t* step = out + 2048 * std::size_t(j / 2) + 512 * std::size_t(j % 2);
    for (int line = 0; line < 4; ++line) {
      const __m512i x = _mm512_loadu_si512(o + 256 * j + 64 * line);
      __m512i ql = _mm512_and_si512(x, nib), qh = _mm512_and_si512(_mm512_srli_epi16(x, 4), nib);
      if constexpr (kFive) {
        const __m512i h = _mm512_loadu_si512(o + P::hbits_at + 64 * j), sixteen = _mm512_set1_epi8(16);
        ql = _mm512_mask_add_epi8(ql, _mm512_test_epi8_mask(h, _mm512_set1_epi8(char(1 << line))), ql, sixteen);
        qh = _mm512_mask_add_epi8(qh, _mm512_test_epi8_mask(h, _mm512_set1_epi8(char(1 << (line + 4)))), qh, sixteen);
      }
      _mm512_store_si512(step + 64 * line, q4k_mul_bytes(ql, flo));
      _mm512_store_si512(step + 64 * (line + 4), q4k_mul_bytes(qh, flo));
      _mm512_store_si512(step + 1024 + 64 * line, q4k_mul_bytes(ql, fhi));
      _mm512_store_si512(step + 1024 + 64 * (line + 4), q4k_mul_bytes(qh, fhi));
    }
    _mm512_store_ps(reinterpret_cast<float*>(out + P::exp_mins_at + 64 * j), _mm512_mul_ps(q4k_field(s.mn, j), s.dmin));
  }
  _mm512_store_ps(reinterpret_cast<float*>(out + P::exp_d_at), s.d);
}

// Sub-block j of a packed Q4_K / Q5_K super-block `o` as f32: d1 = d·sc_j and m1 = dmin·m_j of
// its 16 rows, h its fifth bits; quad(r, f) gives tile row r's f[u], lane c = value 4r + u of
// weight row c, d1·q − m1 (the bf16 panels and the exact tile both decode through it).
template <bool kFive>
struct Q4KSubBlock {
  using Layout = PackedQ45_K<kFive>;
  /// What the super-block's sub-blocks share: its rows' scales and mins.
  QLINEAR_TARGET_AMX static Q4KScales head(const std::uint8_t* super) { return q4k_scales<Layout>(super); }
  const std::uint8_t* o;
  int j;
  __m512 d1, m1;
  __m512i h;
  QLINEAR_TARGET_AMX Q4KSubBlock(const std::uint8_t* super, const Q4KScales& s, int sub)
      : o(super), j(sub), d1(_mm512_mul_ps(s.d, q4k_field(s.sc, sub))), m1(_mm512_mul_ps(s.dmin, q4k_field(s.mn, sub))),
        h(kFive ? _mm512_loadu_si512(super + PackedQ45_K<kFive>::hbits_at + 64 * sub) : _mm512_setzero_si512()) {}
  QLINEAR_TARGET_AMX void quad(int r, __m512* f) const {
    const __m512i nib = _mm512_set1_epi32(0x0F), one = _mm512_set1_epi32(1);
    const __m512i v = _mm512_loadu_si512(o + 256 * j + 64 * (r % 4));
    QLINEAR_UNROLL
    for (int u = 0; u < 4; ++u) {
      __m512i q = lane_byte_bits(v, 8 * u + 4 * (r / 4), nib);
      if constexpr (kFive) q = _mm512_or_si512(q, _mm512_slli_epi32(lane_byte_bits(h, 8 * u + r, one), 4));
      f[u] = _mm512_sub_ps(_mm512_mul_ps(d1, _mm512_cvtepi32_ps(q)), m1);
    }
  }
};

// The bf16 path's panel straight from the packed bytes (PackedKernels::bf16_panel; the
// contract in kernel_contract.hpp) of a super-block layout whose sub-blocks decode through SB
// (Q4KSubBlock: each value d·sc_j·q − dmin·m_j as ggml's dequantize_row_q4_K / q5_K computes
// it; Q6KSubBlock below): sub-block j of a super-block is one chunk, its tile rows as Q4_0's.
template <class SB>
QLINEAR_TARGET_AMX_BF16 inline void superblock_bf16_panel(const std::uint8_t* packed, std::size_t, std::size_t k,
                                                          std::size_t r0, std::size_t rows, std::size_t l0,
                                                          std::size_t len, std::uint16_t* out) {
  for (std::size_t g = l0 / 256; g < (l0 + len) / 256; ++g)
    for (std::size_t half = 0; half < 2; ++half) {
      std::uint16_t* sb = out + (g - l0 / 256) * 8 * 1024 + 512 * half;
      if (!bf16_half_present(sb, rows, half, 8)) continue;
      const std::uint8_t* o = packed + SB::Layout::at(r0 / 16 + half, g, k);
      const auto head = SB::head(o);
      for (int j = 0; j < 8; ++j) {
        const SB sub(o, head, j);
        QLINEAR_UNROLL
        for (int r = 0; r < 8; ++r) {
          __m512 f[4];
          sub.quad(r, f);
          store_bf16_quad_row(sb + 1024 * j, r, f);
        }
      }
    }
}

// The exact path on the packed bytes (PackedKernels::exact_tile, as q32.hpp's Q32Exact) of a
// super-block layout whose sub-blocks decode through SB: each value as the bf16 panels decode
// it, in f32, against broadcast activations, 8 activation rows per decode; sums over all of K in
// kExactChains chains per row. Against restored rows through f32 panels (4096², 1 thread, ms,
// old → new, M = 1 / 8 / 16 / 32 / 64 / 128): Q4_K 3.54 → 1.04, 5.75 → 2.34, 9.00 → 4.58, 14.1 →
// 9.90, 23.2 → 20.1, 42.2 → 37.7; Q5_K 4.99 → 1.55, 7.76 → 2.81, 11.2 → 5.80, 15.2 → 12.3, 23.9 →
// 25.6, 44.6 → 47.7; Q6_K 4.69 → 1.64, 6.99 → 2.98, 10.3 → 5.79, 15.6 → 13.0, 24.8 → 25.5, 44.6 →
// 49.5. So Q5_K and Q6_K (more decode per value) take it up to 32 rows (kExactKquantMaxRows),
// Q4_K at every M.
template <class SB>
struct SuperBlockExact {
  template <int MR>
  QLINEAR_TARGET_AMX static void rows(const ExactDotArgs& t, std::size_t i0, const float* const* xr) {
    for (std::size_t p = t.n0 / 16; p < t.n1 / 16; ++p) {
      __m512 acc[MR][kExactChains<MR>];
      exact_zero(acc);
      for (std::size_t g = 0; g < t.k / 256; ++g) {
        const std::uint8_t* o = t.w + SB::Layout::at(p, g, t.k);
        const auto head = SB::head(o);
        for (int j = 0; j < 8; ++j) {
          const SB sub(o, head, j);
          QLINEAR_UNROLL
          for (int r = 0; r < 8; ++r) {
            __m512 f[4];
            sub.quad(r, f);
            exact_fma_quad(acc, f, xr, 256 * g + 32 * std::size_t(j) + 4 * std::size_t(r));
          }
        }
      }
      exact_store(t, i0, p, acc);
    }
  }
};
inline constexpr std::size_t kExactKquantMaxRows = 32;

// AMX: activation rows [m0, m0 + full), full a multiple of 16. Per panel, super-block by
// super-block: its tiles are expanded once (8 KiB, they stay in L1) and used by every 16 rows;
// the mins' part, dmin·Σ_j m_j·d_a·(bsum_2j + bsum_2j+1), is taken off with vector FMAs from
// the activations' block sums (as the lone rows do), not by a third tile product. The rows'
// f32 sums against the panel live in scratch (`sums`, 64 bytes per row).
template <bool kFive>
QLINEAR_TARGET_AMX inline void q4k_amx(const DotTileArgs& t, std::size_t full, const float* da, const float* sa,
                                       std::uint8_t* tiles, float* sums) {
  using P = PackedQ45_K<kFive>;
  const TileConfig before = stored_tile_config();  // given back at the end (restore_tiles)
  const std::size_t k = t.k, nsb = k / 256, rows = t.m1 - t.m0;
  TileConfig cfg;
  cfg.set(0, 16, 64);  // C: Σ a·q·lo, Σ a·q·hi
  cfg.set(1, 16, 64);
  cfg.set(3, 16, 64);  // A: 16 rows × 64 values, two in turn
  cfg.set(7, 16, 64);
  cfg.set(4, 16, 64);  // B: q·lo, q·hi
  cfg.set(5, 16, 64);
  load_tile_config(cfg);
  const auto stride = long(t.a_stride);
  alignas(64) std::int32_t c32[2][16][16];
  for (std::size_t p = t.n0 / 16; p < t.n1 / 16; ++p) {
    for (std::size_t g = 0; g < nsb; ++g) {
      q4k_expand<kFive>(t.w, p, g, k, tiles);
      const __m512 dw = _mm512_load_ps(reinterpret_cast<const float*>(tiles + P::exp_d_at));
      const auto* mins = reinterpret_cast<const float*>(tiles + P::exp_mins_at);
      for (std::size_t i0 = 0; i0 < full; i0 += 16) {
        const std::uint8_t* ag = t.a + (t.m0 + i0) * t.a_stride + sizeof(gguf::BlockQ8_K) * g + 4;
        _tile_zero(0);
        _tile_zero(1);
        for (int st = 0; st < 4; ++st) {
          const std::uint8_t* tg = tiles + 2048 * st;
          _tile_loadd(4, tg, 64);
          _tile_loadd(5, tg + 1024, 64);
          if (st % 2 == 0) {
            _tile_loadd(3, ag + 64 * st, stride);
            _tile_dpbsud(0, 3, 4);
            _tile_dpbsud(1, 3, 5);
          } else {
            _tile_loadd(7, ag + 64 * st, stride);
            _tile_dpbsud(0, 7, 4);
            _tile_dpbsud(1, 7, 5);
          }
        }
        _tile_stored(0, &c32[0][0][0], 64);
        _tile_stored(1, &c32[1][0][0], 64);
        const float* dag = da + g * rows + i0;
        const float* sag = sa + (g * rows + i0) * 8;
        float* sg = sums + 16 * i0;
        for (int r = 0; r < 16; ++r) {
          const __m512i q = _mm512_add_epi32(_mm512_load_si512(c32[0][r]), _mm512_slli_epi32(_mm512_load_si512(c32[1][r]), 3));
          __m512 v = g ? _mm512_load_ps(sg + 16 * r) : _mm512_setzero_ps();
          v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(q), _mm512_mul_ps(dw, _mm512_set1_ps(dag[r])), v);
          QLINEAR_UNROLL
          for (int j = 0; j < 8; ++j) v = _mm512_fnmadd_ps(_mm512_load_ps(mins + 16 * j), _mm512_set1_ps(sag[8 * r + j]), v);
          _mm512_store_ps(sg + 16 * r, v);
        }
      }
    }
    for (std::size_t i = 0; i < full; ++i) store_kq(t, t.m0 + i, 16 * p, _mm512_load_ps(sums + 16 * i));
  }
  restore_tiles(before);
}

template <bool kFive>
QLINEAR_TARGET_AMX inline void q4k_packed_tile(const DotTileArgs& t) {
  using P = PackedQ45_K<kFive>;
  const std::size_t rows = t.m1 - t.m0, nsb = t.k / 256;
  auto* da = reinterpret_cast<float*>(t.scratch);
  float* sa = da + rows * nsb;
  std::uint8_t* tiles = t.scratch + P::act_bytes(rows, t.k);
  auto* sums = reinterpret_cast<float*>(tiles + P::sb_tiles_bytes);
  q8_K_side_data(t, da, sa);
  const std::size_t full = rows / 16 * 16;
  if (full) q4k_amx<kFive>(t, full, da, sa, tiles, sums);
  for (std::size_t p = t.n0 / 16; p < t.n1 / 16; ++p) {
    std::size_t r = full;
    for (; r + 4 <= rows; r += 4) q4k_vnni_rows<kFive, 4>(t, r, p, da, sa);
    for (; r + 2 <= rows; r += 2) q4k_vnni_rows<kFive, 2>(t, r, p, da, sa);
    for (; r < rows; ++r) q4k_vnni_rows<kFive, 1>(t, r, p, da, sa);
  }
}

// ---------------------------------------------------------------------------------------------
// Q6_K. Layout (16·210 bytes per 16 rows × 256 values): per super-block of a panel,
//  - the low nibbles of the 6-bit codes as Q4_K's (8 groups of 32 values × 256 bytes);
//  - their two high bits: per group 2 lines of 64 bytes, bits 2i, 2i + 1 of line h byte t for
//    tile row 4h + i;
//  - the int8 scales as 16 planes of 16 bytes (scale j of the 16 rows side by side);
//  - the 16 rows' f16 d.
// Products: a scale per 16 values, signed, so one tdpbssd per 16-value sub-block (codes − 32 in
// the B tile, K = 16) and a vector rescale per sub-block (C tiles and A / B tiles two in turn).
// Lone rows: vpdpbusd on the codes, -32·Σa from the bsums.

struct PackedQ6_K {
  static constexpr std::size_t row_group = 16;
  static constexpr std::size_t max_rows = 256;
  static constexpr std::size_t sb_bytes = 16 * sizeof(gguf::BlockQ6_K);  // 3360
  static constexpr std::size_t lo_at = 0, hi_at = 2048, sc_at = 3072, d_at = 3328;

  static bool applies(std::size_t n, std::size_t k) { return n > 0 && k > 0 && n % 16 == 0 && k % 256 == 0; }
  static std::size_t bytes(std::size_t n, std::size_t k) { return n / 16 * (k / 256) * sb_bytes; }
  static std::size_t at(std::size_t p, std::size_t g, std::size_t k) { return (p * (k / 256) + g) * sb_bytes; }

  // Scratch: per activation row and super-block its d and 16 bsums (as floats: 68 bytes); for
  // the AMX path one super-block's B tiles (16 × 256 bytes) and the columns' d·sc_j (16 × 64
  // bytes), then the f32 sums of the rows against one panel.
  static constexpr std::size_t sb_tiles_bytes = 4096 + 1024;
  static std::size_t act_bytes(std::size_t rows, std::size_t k) { return (rows * (k / 256) * 17 * 4 + 63) / 64 * 64; }
  static std::size_t scratch_bytes(std::size_t rows, std::size_t k) {
    return act_bytes(rows, k) + (rows >= 16 ? sb_tiles_bytes + rows * 64 : 0);
  }

  // The 6-bit code (value + 32) of element e of a canonical block.
  static std::uint8_t code(const std::uint8_t* blk, std::size_t e) {
    const std::size_t j = e / 128, l = e % 32, part = (e % 128) / 32;
    const std::uint8_t q = blk[64 * j + l + 32 * (part % 2)];
    const std::uint8_t lo = part < 2 ? q & 0x0F : q >> 4;
    return std::uint8_t(lo | ((blk[128 + 32 * j + l] >> (2 * part)) & 3) << 4);
  }
  static void pack(const std::uint8_t* rows, std::size_t rb, std::size_t n, std::size_t k, std::uint8_t* out) {
    constexpr std::size_t cb = sizeof(gguf::BlockQ6_K);
    for (std::size_t p = 0; p < n / 16; ++p)
      for (std::size_t g = 0; g < k / 256; ++g) {
        std::uint8_t* o = out + at(p, g, k);
        for (std::size_t col = 0; col < 16; ++col) {
          const std::uint8_t* blk = rows + (16 * p + col) * rb + g * cb;
          for (std::size_t j = 0; j < 8; ++j)
            for (std::size_t u = 0; u < 4; ++u) {
              for (std::size_t line = 0; line < 4; ++line) {
                const std::size_t e = 32 * j + 4 * line + u;
                o[lo_at + 256 * j + 64 * line + 4 * col + u] =
                    std::uint8_t((code(blk, e) & 0x0F) | (code(blk, e + 16) & 0x0F) << 4);
              }
              for (std::size_t h = 0; h < 2; ++h) {
                std::uint8_t b = 0;
                for (std::size_t i = 0; i < 4; ++i) b = std::uint8_t(b | (code(blk, 32 * j + 4 * (4 * h + i) + u) >> 4) << (2 * i));
                o[hi_at + 128 * j + 64 * h + 4 * col + u] = b;
              }
            }
          for (std::size_t j = 0; j < 16; ++j) o[sc_at + 16 * j + col] = blk[192 + j];
          std::memcpy(o + d_at + 2 * col, blk + 208, 2);
        }
      }
  }
  static void unpack(const std::uint8_t* packed, std::size_t, std::size_t k, std::size_t r0, std::size_t count,
                     std::uint8_t* rows) {
    constexpr std::size_t cb = sizeof(gguf::BlockQ6_K);
    const std::size_t rb = k / 256 * cb;
    for (std::size_t p = r0 / 16; p < (r0 + count) / 16; ++p)
      for (std::size_t g = 0; g < k / 256; ++g) {
        const std::uint8_t* o = packed + at(p, g, k);
        for (std::size_t col = 0; col < 16; ++col) {
          std::uint8_t* blk = rows + (16 * p + col - r0) * rb + g * cb;
          // Four bytes at a time, each written once. Element i of group j (values 32j + i): its
          // low nibble in packed byte (j, row r = i / 4, u = i % 4), low half for r < 4; its two
          // high bits at bits 2(r % 4) of hi byte (j, r / 4, u). Canonical, per 128 values jj: ql
          // byte 64jj + l holds groups 4jj (low) and 4jj + 2 (high), byte 64jj + 32 + l groups
          // 4jj + 1 and 4jj + 3 (as Q4_K's qs pairs its groups); qh byte 32jj + l the four
          // groups' high bits, two each.
          for (std::size_t jj = 0; jj < 2; ++jj) {
            for (std::size_t half = 0; half < 2; ++half) {
              const std::uint8_t* a = o + lo_at + 256 * (4 * jj + half) + 4 * col;
              unpack_nibble_pair(a, a + 512, blk + 64 * jj + 32 * half);
            }
            for (std::size_t h = 0; h < 2; ++h) {
              std::uint32_t x[4];
              for (std::size_t part = 0; part < 4; ++part) x[part] = load_u32(o + hi_at + 128 * (4 * jj + part) + 64 * h + 4 * col);
              for (std::size_t r = 0; r < 4; ++r) {
                std::uint32_t v = 0;
                for (std::size_t part = 0; part < 4; ++part) v |= ((x[part] >> (2 * r)) & 0x03030303u) << (2 * part);
                store_u32(blk + 128 + 32 * jj + 16 * h + 4 * r, v);
              }
            }
          }
          for (std::size_t j = 0; j < 16; ++j) blk[192 + j] = o[sc_at + 16 * j + col];
          std::memcpy(blk + 208, o + d_at + 2 * col, 2);
        }
      }
  }
};

// Sub-block j (32 values) of a packed Q6_K super-block `o` as f32 (as Q4KSubBlock): ds = d·sc of
// tile rows 0-3 and 4-7 (scales 2j and 2j + 1, as ggml computes it); quad(r, f) gives
// d·sc·(q − 32).
struct Q6KSubBlock {
  using Layout = PackedQ6_K;
  /// What the super-block's sub-blocks share: its rows' d.
  QLINEAR_TARGET_AMX static __m512 head(const std::uint8_t* super) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(super + PackedQ6_K::d_at)));
  }
  const std::uint8_t* o;
  int j;
  __m512 ds[2];
  QLINEAR_TARGET_AMX Q6KSubBlock(const std::uint8_t* super, __m512 d, int sub) : o(super), j(sub) {
    for (int q = 0; q < 2; ++q)
      ds[q] = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(
                                   reinterpret_cast<const __m128i*>(super + PackedQ6_K::sc_at + 16 * (2 * sub + q))))));
  }
  QLINEAR_TARGET_AMX void quad(int r, __m512* f) const {
    using P = PackedQ6_K;
    const __m512i nib = _mm512_set1_epi32(0x0F), two = _mm512_set1_epi32(3), off = _mm512_set1_epi32(32);
    const __m512i v = _mm512_loadu_si512(o + P::lo_at + 256 * j + 64 * (r % 4));
    const __m512i hb = _mm512_loadu_si512(o + P::hi_at + 128 * j + 64 * (r / 4));
    QLINEAR_UNROLL
    for (int u = 0; u < 4; ++u) {
      const __m512i q = _mm512_or_si512(lane_byte_bits(v, 8 * u + 4 * (r / 4), nib),
                                        _mm512_slli_epi32(lane_byte_bits(hb, 8 * u + 2 * (r % 4), two), 4));
      f[u] = _mm512_mul_ps(ds[r / 4], _mm512_cvtepi32_ps(_mm512_sub_epi32(q, off)));
    }
  }
};

/// Per activation row r and super-block g: side[(g·rows + r)·17] = d, then its 16 bsums as floats.
QLINEAR_TARGET_AMX inline void q8_K_side_data16(const DotTileArgs& t, float* side) {
  const std::size_t rows = t.m1 - t.m0, nsb = t.k / 256;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint8_t* row = t.a + (t.m0 + r) * t.a_stride;
    for (std::size_t g = 0; g < nsb; ++g) {
      const std::uint8_t* blk = row + sizeof(gguf::BlockQ8_K) * g;
      float* o = side + (g * rows + r) * 17;
      std::memcpy(o, blk, 4);
      const __m512 b = _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 260))));
      _mm512_storeu_ps(o + 1, b);
    }
  }
}

/// The 8 codes (u8, 0-63) tile rows of 32-value group j of a packed Q6_K super-block: rows
/// line and line + 4 from nibble line `line` and high-bit line 0 / 1.
QLINEAR_TARGET_AMX inline void q6k_rows(const std::uint8_t* o, int j, int line, __m512i& r0, __m512i& r4) {
  const __m512i nib = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
  const __m512i x = _mm512_loadu_si512(o + PackedQ6_K::lo_at + 256 * j + 64 * line);
  const __m512i h0 = _mm512_loadu_si512(o + PackedQ6_K::hi_at + 128 * j);
  const __m512i h1 = _mm512_loadu_si512(o + PackedQ6_K::hi_at + 128 * j + 64);
  // bits 2·line, 2·line + 1 of the high-bit lines to bits 4, 5.
  auto top = [&](__m512i h) QLINEAR_TARGET_AMX {
    const int sh = 2 * line;
    const __m512i v = sh < 4 ? _mm512_slli_epi16(h, 4 - sh) : sh > 4 ? _mm512_srli_epi16(h, sh - 4) : h;
    return _mm512_and_si512(v, m30);
  };
  r0 = _mm512_or_si512(_mm512_and_si512(x, nib), top(h0));
  r4 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(x, 4), nib), top(h1));
}

template <int MR>
QLINEAR_TARGET_AMX inline void q6k_vnni_rows(const DotTileArgs& t, std::size_t r0, std::size_t p, const float* side) {
  const std::size_t k = t.k, nsb = k / 256, rows = t.m1 - t.m0;
  const std::uint8_t* a[MR];
  for (int i = 0; i < MR; ++i) a[i] = t.a + (t.m0 + r0 + std::size_t(i)) * t.a_stride;
  __m512 f[MR];
  for (int i = 0; i < MR; ++i) f[i] = _mm512_setzero_ps();
  for (std::size_t g = 0; g < nsb; ++g) {
    const std::uint8_t* o = t.w + PackedQ6_K::at(p, g, k);
    x86::prefetch_ahead<PackedQ6_K::sb_bytes>(o);
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(o + PackedQ6_K::d_at)));
    __m512 sum[MR];
    for (int i = 0; i < MR; ++i) sum[i] = _mm512_setzero_ps();
    for (int j = 0; j < 8; ++j) {
      __m512i acc0[MR], acc1[MR];  // sub-blocks 2j (tile rows 0-3) and 2j + 1 (rows 4-7)
      for (int i = 0; i < MR; ++i) acc0[i] = acc1[i] = _mm512_setzero_si512();
      for (int line = 0; line < 4; ++line) {
        __m512i c0, c4;
        q6k_rows(o, j, line, c0, c4);
        for (int i = 0; i < MR; ++i) {
          const std::uint8_t* q = a[i] + sizeof(gguf::BlockQ8_K) * g + 4 + 32 * j + 4 * line;
          std::int32_t v0, v1;
          std::memcpy(&v0, q, 4);
          std::memcpy(&v1, q + 16, 4);
          acc0[i] = _mm512_dpbusd_epi32(acc0[i], c0, _mm512_set1_epi32(v0));
          acc1[i] = _mm512_dpbusd_epi32(acc1[i], c4, _mm512_set1_epi32(v1));
        }
      }
      const __m512 s0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(o + PackedQ6_K::sc_at + 16 * (2 * j)))));
      const __m512 s1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(o + PackedQ6_K::sc_at + 16 * (2 * j + 1)))));
      for (int i = 0; i < MR; ++i) {
        const float* sd = side + (g * rows + r0 + std::size_t(i)) * 17;
        // Σ (code - 32)·a = Σ code·a - 32·bsum
        const __m512 x0 = _mm512_sub_ps(_mm512_cvtepi32_ps(acc0[i]), _mm512_set1_ps(32.0f * sd[1 + 2 * j]));
        const __m512 x1 = _mm512_sub_ps(_mm512_cvtepi32_ps(acc1[i]), _mm512_set1_ps(32.0f * sd[2 + 2 * j]));
        sum[i] = _mm512_fmadd_ps(x1, s1, _mm512_fmadd_ps(x0, s0, sum[i]));
      }
    }
    for (int i = 0; i < MR; ++i)
      f[i] = _mm512_fmadd_ps(_mm512_mul_ps(sum[i], d), _mm512_set1_ps(side[(g * rows + r0 + std::size_t(i)) * 17]), f[i]);
  }
  for (int i = 0; i < MR; ++i) store_kq(t, t.m0 + r0 + std::size_t(i), 16 * p, f[i]);
}

// Super-block g of panel p as 16 B tiles of codes - 32 (4 × 64 bytes each, sub-block order)
// and the columns' d·sc_j (16 × 16 floats at out + 4096).
QLINEAR_TARGET_AMX inline void q6k_expand(const std::uint8_t* w, std::size_t p, std::size_t g, std::size_t k, std::uint8_t* out) {
  const std::uint8_t* o = w + PackedQ6_K::at(p, g, k);
  const __m512i m32 = _mm512_set1_epi8(32);
  for (int j = 0; j < 8; ++j)
    for (int line = 0; line < 4; ++line) {
      __m512i c0, c4;
      q6k_rows(o, j, line, c0, c4);
      _mm512_store_si512(out + 512 * j + 64 * line, _mm512_sub_epi8(c0, m32));
      _mm512_store_si512(out + 512 * j + 256 + 64 * line, _mm512_sub_epi8(c4, m32));
    }
  const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(o + PackedQ6_K::d_at)));
  for (int j = 0; j < 16; ++j) {
    const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(o + PackedQ6_K::sc_at + 16 * j))));
    _mm512_store_ps(reinterpret_cast<float*>(out + 4096) + 16 * j, _mm512_mul_ps(sc, d));
  }
}

QLINEAR_TARGET_AMX inline void q6k_amx(const DotTileArgs& t, std::size_t full, const float* side, std::uint8_t* tiles,
                                       float* sums) {
  const TileConfig before = stored_tile_config();  // given back at the end (restore_tiles)
  const std::size_t k = t.k, nsb = k / 256, rows = t.m1 - t.m0;
  TileConfig cfg;
  cfg.set(0, 16, 64);  // C, two in turn
  cfg.set(1, 16, 64);
  cfg.set(2, 16, 16);  // A: 16 rows × one 16-value sub-block, two in turn
  cfg.set(3, 16, 16);
  cfg.set(4, 4, 64);  // B: 4 rows (16 values) × 16 columns, two in turn
  cfg.set(5, 4, 64);
  load_tile_config(cfg);
  const auto stride = long(t.a_stride);
  alignas(64) std::int32_t c32[2][16][16];
  const float* fsc = reinterpret_cast<const float*>(tiles + 4096);
  for (std::size_t p = t.n0 / 16; p < t.n1 / 16; ++p) {
    for (std::size_t g = 0; g < nsb; ++g) {
      q6k_expand(t.w, p, g, k, tiles);
      for (std::size_t i0 = 0; i0 < full; i0 += 16) {
        const std::uint8_t* ag = t.a + (t.m0 + i0) * t.a_stride + sizeof(gguf::BlockQ8_K) * g + 4;
        __m512 sum[16];
        for (int r = 0; r < 16; ++r) sum[r] = _mm512_setzero_ps();
        for (int j = 0; j < 16; ++j) {
          if (j % 2 == 0) {
            _tile_zero(0);
            _tile_loadd(2, ag + 16 * j, stride);
            _tile_loadd(4, tiles + 256 * j, 64);
            _tile_dpbssd(0, 2, 4);
            _tile_stored(0, &c32[0][0][0], 64);
          } else {
            _tile_zero(1);
            _tile_loadd(3, ag + 16 * j, stride);
            _tile_loadd(5, tiles + 256 * j, 64);
            _tile_dpbssd(1, 3, 5);
            _tile_stored(1, &c32[1][0][0], 64);
          }
          const __m512 sj = _mm512_load_ps(fsc + 16 * j);
          for (int r = 0; r < 16; ++r) sum[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c32[j % 2][r])), sj, sum[r]);
        }
        float* sg = sums + 16 * i0;
        for (int r = 0; r < 16; ++r) {
          const __m512 da = _mm512_set1_ps(side[(g * rows + i0 + std::size_t(r)) * 17]);
          const __m512 prev = g ? _mm512_load_ps(sg + 16 * r) : _mm512_setzero_ps();
          _mm512_store_ps(sg + 16 * r, _mm512_fmadd_ps(sum[r], da, prev));
        }
      }
    }
    for (std::size_t i = 0; i < full; ++i) store_kq(t, t.m0 + i, 16 * p, _mm512_load_ps(sums + 16 * i));
  }
  restore_tiles(before);
}

QLINEAR_TARGET_AMX inline void q6k_packed_tile(const DotTileArgs& t) {
  const std::size_t rows = t.m1 - t.m0;
  auto* side = reinterpret_cast<float*>(t.scratch);
  std::uint8_t* tiles = t.scratch + PackedQ6_K::act_bytes(rows, t.k);
  auto* sums = reinterpret_cast<float*>(tiles + PackedQ6_K::sb_tiles_bytes);
  q8_K_side_data16(t, side);
  const std::size_t full = rows / 16 * 16;
  if (full) q6k_amx(t, full, side, tiles, sums);
  for (std::size_t p = t.n0 / 16; p < t.n1 / 16; ++p) {
    std::size_t r = full;
    for (; r + 4 <= rows; r += 4) q6k_vnni_rows<4>(t, r, p, side);
    for (; r + 2 <= rows; r += 2) q6k_vnni_rows<2>(t, r, p, side);
    for (; r < rows; ++r) q6k_vnni_rows<1>(t, r, p, side);
  }
}

}  // namespace amx

template <>
struct PackedLayout<Q4_K, Isa::amx> : amx::PackedQ45_K<false> {
  static void tile(const DotTileArgs& a) { amx::q4k_packed_tile<false>(a); }
  static constexpr auto bf16_panel = &amx::superblock_bf16_panel<amx::Q4KSubBlock<false>>;
  static constexpr auto exact_tile = &amx::exact_passes<amx::SuperBlockExact<amx::Q4KSubBlock<false>>>;
};
template <>
struct PackedLayout<Q5_K, Isa::amx> : amx::PackedQ45_K<true> {
  static void tile(const DotTileArgs& a) { amx::q4k_packed_tile<true>(a); }
  static constexpr auto bf16_panel = &amx::superblock_bf16_panel<amx::Q4KSubBlock<true>>;
  static constexpr auto exact_tile = &amx::exact_passes<amx::SuperBlockExact<amx::Q4KSubBlock<true>>>;
  static constexpr std::size_t exact_max_rows = amx::kExactKquantMaxRows;
};
template <>
struct PackedLayout<Q6_K, Isa::amx> : amx::PackedQ6_K {
  static void tile(const DotTileArgs& a) { amx::q6k_packed_tile(a); }
  static constexpr auto bf16_panel = &amx::superblock_bf16_panel<amx::Q6KSubBlock>;
  static constexpr auto exact_tile = &amx::exact_passes<amx::SuperBlockExact<amx::Q6KSubBlock>>;
  static constexpr std::size_t exact_max_rows = amx::kExactKquantMaxRows;
};

}  // namespace qlinear::cpu
QLINEAR_X86_KERNELS_END
#endif
