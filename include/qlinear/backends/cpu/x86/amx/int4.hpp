#pragma once
// AMX packed layout and kernels of grouped int4 (Int4<G>, Int4Affine<G>, G = 64 or 128)
// against Q8Block<G> activations: PackedLayout<Int4…<G>, Isa::amx>, in namespace
// qlinear::cpu::amx.
//
// Layout (n % 16 == 0, k % G == 0; exactly the rows' size): panels of 16 weight rows; in a
// panel, per group b, the group's G/64 chunks as nibble tiles, then the 16 rows' f16 scales (and
// f16 minimums). A chunk is one 16 × 64-byte AMX B tile in VNNI order over the activations'
// storage order (Q8Block: the chunk's even elements, then its odd ones), i.e. tile row r, byte t
// is the code of weight row t/4 at the element Q8Block stores at byte 4r + t%4; it is kept as
// 8 lines of 64 bytes whose low nibbles are tile rows 0-7 and whose high nibbles are rows 8-15.
// So one line gives two tile rows with an and and a shift, both for AMX (expanded once per call
// into a 1 KB tile, reused by every 16 activation rows) and for vpdpbusd (lanes = 16 columns).
//   symmetric: tdpbssd on codes − 8;   affine: tdpbsud on codes, + m·d_a·Σa per group.
// The f32 sums of all the call's activation rows (up to max_rows) stay in a stack buffer while
// the groups go by, so each expanded tile is used max_rows / 16 times.

#if defined(__x86_64__) || defined(_M_X64)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/activation_formats.hpp"
#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/x86/amx/tile.hpp"
#include "qlinear/backends/cpu/x86/target.hpp"
#include "qlinear/schemes/int4.hpp"

QLINEAR_X86_KERNELS_BEGIN
namespace qlinear::cpu {
namespace amx {

/// The element of a 64-value chunk whose activation code Q8Block stores at byte `pos`.
constexpr std::size_t chunk_element(std::size_t pos) { return pos < 32 ? 2 * pos : 2 * (pos - 32) + 1; }

template <int G, bool Affine>
struct PackedInt4 {
  static_assert(G == 64 || G == 128, "the AMX int4 layout takes groups of 64 or 128");
  static constexpr std::size_t row_group = 16;
  static constexpr std::size_t max_rows = 256;
  static constexpr std::size_t chunks = G / 64;
  static constexpr std::size_t header = Affine ? 4 : 2;  // the canonical block's f16 fields
  static constexpr std::size_t block = header + G / 2;   // the canonical block
  static constexpr std::size_t tiles_bytes = chunks * 512;
  static constexpr std::size_t group_bytes = tiles_bytes + 16 * header;

  static bool applies(std::size_t n, std::size_t k) { return n > 0 && k > 0 && n % 16 == 0 && k % G == 0; }
  static std::size_t bytes(std::size_t n, std::size_t k) { return n / 16 * (k / G) * group_bytes; }
  static std::size_t at(std::size_t p, std::size_t b, std::size_t k) { return (p * (k / G) + b) * group_bytes; }

  static void pack(const std::uint8_t* rows, std::size_t rb, std::size_t n, std::size_t k, std::uint8_t* out) {
    for (std::size_t p = 0; p < n / 16; ++p)
      for (std::size_t b = 0; b < k / G; ++b) {
        std::uint8_t* g = out + at(p, b, k);
        for (std::size_t c = 0; c < chunks; ++c)
          for (std::size_t line = 0; line < 8; ++line)
            for (std::size_t t = 0; t < 64; ++t) {
              const std::uint8_t* qs = rows + (16 * p + t / 4) * rb + b * block + header;
              const std::uint32_t lo = nibble_at(qs, int(64 * c + chunk_element(4 * line + t % 4)));
              const std::uint32_t hi = nibble_at(qs, int(64 * c + chunk_element(4 * (line + 8) + t % 4)));
              g[512 * c + 64 * line + t] = std::uint8_t(lo | hi << 4);
            }
        for (std::size_t col = 0; col < 16; ++col) {
          const std::uint8_t* blk = rows + (16 * p + col) * rb + b * block;
          std::memcpy(g + tiles_bytes + 2 * col, blk, 2);
          if (Affine) std::memcpy(g + tiles_bytes + 32 + 2 * col, blk + 2, 2);
        }
      }
  }
  // Tiles back to rows: codes expanded, a 16 × 16 transpose of 4-byte groups per chunk gives each
  // row's 64 codes in Q8Block's order (evens, then odds), which is the nibble order: byte j =
  // code j | code 32 + j << 4. (AMX-level code: weights are packed only where it runs.)
  QLINEAR_TARGET_AMX static void unpack(const std::uint8_t* packed, std::size_t, std::size_t k, std::size_t r0,
                                        std::size_t count, std::uint8_t* rows) {
    const std::size_t rb = k / G * block;
    const __m512i nib = _mm512_set1_epi8(0x0F);
    for (std::size_t p = r0 / 16; p < (r0 + count) / 16; ++p)
      for (std::size_t b = 0; b < k / G; ++b) {
        const std::uint8_t* g = packed + at(p, b, k);
        for (std::size_t col = 0; col < 16; ++col) {
          std::uint8_t* blk = rows + (16 * p + col - r0) * rb + b * block;
          std::memcpy(blk, g + tiles_bytes + 2 * col, 2);
          if (Affine) std::memcpy(blk + 2, g + tiles_bytes + 32 + 2 * col, 2);
        }
        for (std::size_t c = 0; c < chunks; ++c) {
          __m512i v[16];
          QLINEAR_UNROLL
          for (int line = 0; line < 8; ++line) {
            const __m512i x = _mm512_loadu_si512(g + 512 * c + 64 * std::size_t(line));
            v[line] = _mm512_and_si512(x, nib);
            v[line + 8] = _mm512_and_si512(_mm512_srli_epi16(x, 4), nib);
          }
          transpose_dwords(v);
          QLINEAR_UNROLL
          for (int col = 0; col < 16; ++col) {
            const __m256i lo = _mm512_castsi512_si256(v[col]), hi = _mm512_extracti64x4_epi64(v[col], 1);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(rows + (16 * p + std::size_t(col) - r0) * rb + b * block + header + 32 * c),
                                _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4)));
          }
        }
      }
  }
};

// The 16 f16 values at p as f32.
QLINEAR_TARGET_AMX inline __m512 f16x16(const std::uint8_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// y(i, j0 … j0 + 15) = row_scale · f (+ bias, + y).
QLINEAR_TARGET_AMX inline void store_sums(const DotTileArgs& t, std::size_t i, std::size_t j0, __m512 f) {
  __m512 v = _mm512_mul_ps(_mm512_set1_ps(t.row_scale[i]), f);
  if (t.bias) v = _mm512_add_ps(v, _mm512_loadu_ps(t.bias + j0));
  float* y = t.y + i * t.ldy + j0;
  if (t.accumulate) v = _mm512_add_ps(v, _mm512_loadu_ps(y));
  _mm512_storeu_ps(y, v);
}

// vpdpbusd on the packed nibbles: MR activation rows × PR panels per register block.
template <int G, bool Affine, int MR, int PR>
QLINEAR_TARGET_AMX inline void int4_vnni_block(const DotTileArgs& t, std::size_t i0, std::size_t p0, int np) {
  using L = PackedInt4<G, Affine>;
  const std::size_t k = t.k, nb = k / G;
  const std::uint8_t* a[MR];
  QLINEAR_UNROLL
  for (int r = 0; r < MR; ++r) a[r] = t.a + (i0 + std::size_t(r)) * t.a_stride;
  __m512 f[MR][PR];
  QLINEAR_UNROLL
  for (int r = 0; r < MR; ++r)
    QLINEAR_UNROLL
    for (int q = 0; q < PR; ++q) f[r][q] = _mm512_setzero_ps();
  const __m512i nib = _mm512_set1_epi8(0x0F);
  for (std::size_t b = 0; b < nb; ++b) {
    const std::uint8_t* g[PR];
    QLINEAR_UNROLL
    for (int q = 0; q < PR; ++q) g[q] = t.w + L::at(p0 + std::size_t(std::min(q, np - 1)), b, k);
    __m512i acc[MR][PR];
    QLINEAR_UNROLL
    for (int r = 0; r < MR; ++r)
      QLINEAR_UNROLL
      for (int q = 0; q < PR; ++q) acc[r][q] = _mm512_setzero_si512();
    for (std::size_t c = 0; c < L::chunks; ++c)
      QLINEAR_UNROLL
      for (int line = 0; line < 8; ++line) {
        __m512i lo[PR], hi[PR];
        QLINEAR_UNROLL
        for (int q = 0; q < PR; ++q) {
          const __m512i x = _mm512_loadu_si512(g[q] + 512 * c + 64 * std::size_t(line));
          lo[q] = _mm512_and_si512(x, nib);
          hi[q] = _mm512_and_si512(_mm512_srli_epi16(x, 4), nib);
        }
        QLINEAR_UNROLL
        for (int r = 0; r < MR; ++r) {
          const std::uint8_t* ac = a[r] + b * G + 64 * c;
          std::int32_t v0, v1;
          std::memcpy(&v0, ac + 4 * line, 4);
          std::memcpy(&v1, ac + 4 * (line + 8), 4);
          const __m512i b0 = _mm512_set1_epi32(v0), b1 = _mm512_set1_epi32(v1);
          QLINEAR_UNROLL
          for (int q = 0; q < PR; ++q) acc[r][q] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(acc[r][q], lo[q], b0), hi[q], b1);
        }
      }
    __m512 dw[PR], mw[PR];
    QLINEAR_UNROLL
    for (int q = 0; q < PR; ++q) {
      dw[q] = f16x16(g[q] + L::tiles_bytes);
      mw[q] = Affine ? f16x16(g[q] + L::tiles_bytes + 32) : _mm512_setzero_ps();
    }
    QLINEAR_UNROLL
    for (int r = 0; r < MR; ++r) {
      float da;
      std::int32_t s;
      std::memcpy(&da, a[r] + k + 4 * b, 4);
      std::memcpy(&s, a[r] + k + 4 * nb + 4 * b, 4);
      const __m512 dav = _mm512_set1_ps(da);
      QLINEAR_UNROLL
      for (int q = 0; q < PR; ++q) {
        if constexpr (Affine) {
          // d_a·(d·Σu·a + m·Σa)
          const __m512 inner = _mm512_fmadd_ps(mw[q], _mm512_set1_ps(float(s)), _mm512_mul_ps(dw[q], _mm512_cvtepi32_ps(acc[r][q])));
          f[r][q] = _mm512_fmadd_ps(dav, inner, f[r][q]);
        } else {
          // d·d_a·Σ(u − 8)·a, the 8·Σa taken off in the integers (exact)
          const __m512i d = _mm512_sub_epi32(acc[r][q], _mm512_set1_epi32(8 * s));
          f[r][q] = _mm512_fmadd_ps(_mm512_mul_ps(dw[q], dav), _mm512_cvtepi32_ps(d), f[r][q]);
        }
      }
    }
  }
  QLINEAR_UNROLL
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < np; ++q) store_sums(t, i0 + std::size_t(r), 16 * (p0 + std::size_t(q)), f[r][q]);
}

template <int G, bool Affine, int MR, int PR>
QLINEAR_TARGET_AMX inline void int4_vnni_rows(const DotTileArgs& t, std::size_t i0) {
  for (std::size_t p0 = t.n0 / 16; p0 < t.n1 / 16; p0 += PR)
    int4_vnni_block<G, Affine, MR, PR>(t, i0, p0, int(std::min<std::size_t>(PR, t.n1 / 16 - p0)));
}

// Expands a chunk's 8 nibble lines into a 16 × 64-byte B tile: codes − 8 (s8) for symmetric
// groups, codes (u8) for affine ones.
template <bool Affine>
QLINEAR_TARGET_AMX inline void expand_tile(const std::uint8_t* lines, std::uint8_t* tile) {
  const __m512i nib = _mm512_set1_epi8(0x0F), eight = _mm512_set1_epi8(8);
  QLINEAR_UNROLL
  for (int line = 0; line < 8; ++line) {
    const __m512i x = _mm512_loadu_si512(lines + 64 * line);
    __m512i lo = _mm512_and_si512(x, nib), hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), nib);
    if constexpr (!Affine) lo = _mm512_sub_epi8(lo, eight), hi = _mm512_sub_epi8(hi, eight);
    _mm512_store_si512(tile + 64 * line, lo);
    _mm512_store_si512(tile + 64 * (line + 8), hi);
  }
}

// AMX over activation rows [r0, r1), a multiple of 16: per pair of panels and group, the B
// tiles are expanded once, then every 16 rows run against them (one A tile × two B tiles). The
// C tiles alternate between two pairs from one 16 rows to the next, so the stores and f32
// rescaling of one pair overlap the tile products of the other (tiles are not renamed: reusing
// one pair at once would wait for its stores).
template <int G, bool Affine>
QLINEAR_TARGET_AMX inline void int4_amx_rows(const DotTileArgs& t, std::size_t r0, std::size_t r1) {
  const TileConfig before = stored_tile_config();  // given back at the end (restore_tiles)
  using L = PackedInt4<G, Affine>;
  const std::size_t k = t.k, nb = k / G;
  TileConfig cfg;
  QLINEAR_UNROLL
  for (int c = 0; c < 4; ++c) cfg.set(c, 16, 64);  // C: two pairs
  cfg.set(4, 16, 64);                                // A
  cfg.set(6, 16, 64);                                // B, two panels
  cfg.set(7, 16, 64);
  load_tile_config(cfg);
  const auto stride = long(t.a_stride);
  alignas(64) std::uint8_t btile[2][L::chunks][1024];
  alignas(64) std::int32_t c32[2][16][32];
  alignas(64) float f[PackedInt4<G, Affine>::max_rows][32];
  for (std::size_t p0 = t.n0 / 16; p0 < t.n1 / 16; p0 += 2) {
    const bool two = p0 + 1 < t.n1 / 16;
    const int np = two ? 2 : 1;
    for (std::size_t r = 0; r < r1 - r0; ++r) _mm512_store_ps(f[r], _mm512_setzero_ps()), _mm512_store_ps(f[r] + 16, _mm512_setzero_ps());
    for (std::size_t b = 0; b < nb; ++b) {
      const std::uint8_t* g[2] = {t.w + L::at(p0, b, k), t.w + L::at(p0 + (two ? 1 : 0), b, k)};
      for (int q = 0; q < np; ++q)
        for (std::size_t c = 0; c < L::chunks; ++c) expand_tile<Affine>(g[q] + 512 * c, btile[q][c]);
      __m512 dw[2], mw[2];
      for (int q = 0; q < np; ++q) {
        dw[q] = f16x16(g[q] + L::tiles_bytes);
        mw[q] = Affine ? f16x16(g[q] + L::tiles_bytes + 32) : _mm512_setzero_ps();
      }
      for (std::size_t i0 = r0; i0 < r1; i0 += 16) {
        const std::uint8_t* ab = t.a + i0 * t.a_stride + b * G;
        const int set = int((i0 - r0) / 16 % 2);
        if (set == 0) {
          _tile_zero(0);
          _tile_zero(1);
          for (std::size_t c = 0; c < L::chunks; ++c) {
            _tile_loadd(4, ab + 64 * c, stride);
            _tile_loadd(6, btile[0][c], 64);
            if constexpr (Affine) _tile_dpbsud(0, 4, 6); else _tile_dpbssd(0, 4, 6);
            if (two) {
              _tile_loadd(7, btile[1][c], 64);
              if constexpr (Affine) _tile_dpbsud(1, 4, 7); else _tile_dpbssd(1, 4, 7);
            }
          }
          _tile_stored(0, &c32[0][0][0], 128);
          if (two) _tile_stored(1, &c32[0][0][16], 128);
        } else {
          _tile_zero(2);
          _tile_zero(3);
          for (std::size_t c = 0; c < L::chunks; ++c) {
            _tile_loadd(4, ab + 64 * c, stride);
            _tile_loadd(6, btile[0][c], 64);
            if constexpr (Affine) _tile_dpbsud(2, 4, 6); else _tile_dpbssd(2, 4, 6);
            if (two) {
              _tile_loadd(7, btile[1][c], 64);
              if constexpr (Affine) _tile_dpbsud(3, 4, 7); else _tile_dpbssd(3, 4, 7);
            }
          }
          _tile_stored(2, &c32[1][0][0], 128);
          if (two) _tile_stored(3, &c32[1][0][16], 128);
        }
        for (std::size_t r = 0; r < 16; ++r) {
          const std::uint8_t* row = t.a + (i0 + r) * t.a_stride;
          float da;
          std::memcpy(&da, row + k + 4 * b, 4);
          const __m512 dav = _mm512_set1_ps(da);
          float* fr = f[i0 - r0 + r];
          [[maybe_unused]] std::int32_t s = 0;
          if constexpr (Affine) std::memcpy(&s, row + k + 4 * nb + 4 * b, 4);
          for (int q = 0; q < np; ++q) {
            const __m512 v = _mm512_cvtepi32_ps(_mm512_load_si512(&c32[set][r][16 * q]));
            __m512 acc = _mm512_load_ps(fr + 16 * q);
            if constexpr (Affine)
              acc = _mm512_fmadd_ps(dav, _mm512_fmadd_ps(mw[q], _mm512_set1_ps(float(s)), _mm512_mul_ps(dw[q], v)), acc);
            else
              acc = _mm512_fmadd_ps(_mm512_mul_ps(dw[q], dav), v, acc);
            _mm512_store_ps(fr + 16 * q, acc);
          }
        }
      }
    }
    for (std::size_t r = r0; r < r1; ++r)
      for (int q = 0; q < np; ++q) store_sums(t, r, 16 * (p0 + std::size_t(q)), _mm512_load_ps(f[r - r0] + 16 * q));
  }
  restore_tiles(before);
}

template <int G, bool Affine>
QLINEAR_TARGET_AMX inline void int4_packed_tile(const DotTileArgs& t) {
  // Rows in whole 16s through AMX, the rest (and a lone row: the measured cross-over, see the
  // README) through vpdpbusd on the same bytes.
  const std::size_t m = t.m1 - t.m0;
  const std::size_t full = m >= 2 ? t.m0 + m / 16 * 16 : t.m0;
  if (full > t.m0) int4_amx_rows<G, Affine>(t, t.m0, full);
  for (std::size_t i0 = full; i0 < t.m1; i0 += 4) {
    switch (std::min<std::size_t>(4, t.m1 - i0)) {
      case 1: int4_vnni_rows<G, Affine, 1, 4>(t, i0); break;
      case 2: int4_vnni_rows<G, Affine, 2, 4>(t, i0); break;
      case 3: int4_vnni_rows<G, Affine, 3, 2>(t, i0); break;
      default: int4_vnni_rows<G, Affine, 4, 2>(t, i0); break;
    }
  }
}

}  // namespace amx

template <int G>
  requires(G == 64 || G == 128)
struct PackedLayout<Int4<G>, Isa::amx> : amx::PackedInt4<G, false> {
  static void tile(const DotTileArgs& a) { amx::int4_packed_tile<G, false>(a); }
};
template <int G>
  requires(G == 64 || G == 128)
struct PackedLayout<Int4Affine<G>, Isa::amx> : amx::PackedInt4<G, true> {
  static void tile(const DotTileArgs& a) { amx::int4_packed_tile<G, true>(a); }
};

}  // namespace qlinear::cpu
QLINEAR_X86_KERNELS_END
#endif
