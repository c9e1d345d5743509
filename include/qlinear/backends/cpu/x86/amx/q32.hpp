#pragma once
// AMX packed layout and kernels of GGUF Q8_0 and Q4_0 weights (blocks of 32 with an f16 scale)
// against Q8_0 activations: PackedLayout<Q8_0 | Q4_0, Isa::amx>, in namespace qlinear::cpu::amx.
//
// Layout (n % 16 == 0, k % 32 == 0; exactly the rows' size): panels of 16 weight rows; in a
// panel, per block b, one 8 × 64-byte AMX B tile in VNNI order (tile row r, byte t: weight row
// t/4, element 4r + t%4 of the block), then the 16 rows' f16 scales. Q8_0 keeps its int8
// codes (512 bytes); Q4_0 keeps nibbles, 4 lines of 64 bytes whose low nibbles are tile rows
// 0-3 and high nibbles rows 4-7 (256 bytes), expanded to codes − 8 once per call.
//
// Each block has its own pair of scales, so its 16 × 16 int32 products must leave the tile
// every 32 values: tdpbssd per block into one of two C tiles in turn (the next block's product
// runs while this one's is stored and rescaled), and the f32 sums of 16 activation rows × 16
// columns stay in 16 registers across the blocks. The vector rescale (for each row: convert,
// d_w·d_a, fused multiply-add) is what bounds this kernel, not the tile unit.
// Rows that do not fill a group of 16 go through the tiles too, configured with fewer rows,
// from kQ32TileMinRows on (a lone row, and Q4_0's two or three, are faster through vpdpbusd on
// the same bytes, lanes = 16 columns, one row at a time).

#if defined(__x86_64__) || defined(_M_X64)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/x86/amx/tile.hpp"
#include "qlinear/backends/cpu/x86/target.hpp"
#include "qlinear/schemes/gguf/q4_0.hpp"
#include "qlinear/schemes/gguf/q8_0.hpp"

QLINEAR_X86_KERNELS_BEGIN
namespace qlinear::cpu {
namespace amx {

template <bool Four>
struct PackedQ32 {
  static constexpr std::size_t row_group = 16;
  static constexpr std::size_t max_rows = 256;
  static constexpr std::size_t canonical_block = Four ? sizeof(gguf::BlockQ4_0) : sizeof(gguf::BlockQ8_0);
  static constexpr std::size_t tile_bytes = Four ? 256 : 512;
  static constexpr std::size_t group_bytes = tile_bytes + 32;

  static bool applies(std::size_t n, std::size_t k) { return n > 0 && k > 0 && n % 16 == 0 && k % 32 == 0; }
  static std::size_t bytes(std::size_t n, std::size_t k) { return n / 16 * (k / 32) * group_bytes; }
  static std::size_t at(std::size_t p, std::size_t b, std::size_t k) { return (p * (k / 32) + b) * group_bytes; }
  /// Per call: each activation row's block scales (f32) and code sums (int32); Q4_0 also one
  /// panel's expanded tiles.
  static std::size_t scratch_bytes(std::size_t rows, std::size_t k) {
    return expanded_offset(rows, k) + (Four ? k / 32 * 512 : 0);
  }

  static std::size_t expanded_offset(std::size_t rows, std::size_t k) { return (rows * (k / 32) * 8 + 63) / 64 * 64; }

  // Code of element e (0-31) of a canonical block (Q4_0: the unsigned nibble).
  static std::uint8_t code(const std::uint8_t* blk, std::size_t e) {
    if constexpr (Four) return e < 16 ? blk[2 + e] & 0x0F : blk[2 + e - 16] >> 4;
    else return blk[2 + e];
  }


  static void pack(const std::uint8_t* rows, std::size_t rb, std::size_t n, std::size_t k, std::uint8_t* out) {
    for (std::size_t p = 0; p < n / 16; ++p)
      for (std::size_t b = 0; b < k / 32; ++b) {
        std::uint8_t* g = out + at(p, b, k);
        for (std::size_t t = 0; t < 64; ++t) {
          const std::uint8_t* blk = rows + (16 * p + t / 4) * rb + b * canonical_block;
          if constexpr (Four) {
            for (std::size_t line = 0; line < 4; ++line)
              g[64 * line + t] = std::uint8_t(code(blk, 4 * line + t % 4) | code(blk, 4 * (line + 4) + t % 4) << 4);
          } else {
            for (std::size_t r = 0; r < 8; ++r) g[64 * r + t] = code(blk, 4 * r + t % 4);
          }
        }
        for (std::size_t col = 0; col < 16; ++col) std::memcpy(g + tile_bytes + 2 * col, rows + (16 * p + col) * rb + b * canonical_block, 2);
      }
  }
  // Tiles back to blocks: a 16 × 16 transpose of 4-byte groups (8 tile rows and 8 zeros) gives
  // each row's 32 codes in order. (AMX-level code: weights are packed only where it runs.)
  QLINEAR_TARGET_AMX static void unpack(const std::uint8_t* packed, std::size_t, std::size_t k, std::size_t r0,
                                        std::size_t count, std::uint8_t* rows) {
    const std::size_t rb = k / 32 * canonical_block;
    const __m512i nib = _mm512_set1_epi8(0x0F);
    for (std::size_t p = r0 / 16; p < (r0 + count) / 16; ++p)
      for (std::size_t b = 0; b < k / 32; ++b) {
        const std::uint8_t* g = packed + at(p, b, k);
        __m512i v[16];
        QLINEAR_UNROLL
        for (int r = 0; r < 8; ++r) {
          if constexpr (Four) {
            if (r < 4) {
              const __m512i x = _mm512_loadu_si512(g + 64 * r);
              v[r] = _mm512_and_si512(x, nib);
              v[r + 4] = _mm512_and_si512(_mm512_srli_epi16(x, 4), nib);
            }
          } else {
            v[r] = _mm512_loadu_si512(g + 64 * r);
          }
          v[r + 8] = _mm512_setzero_si512();
        }
        transpose_dwords(v);
        QLINEAR_UNROLL
        for (int col = 0; col < 16; ++col) {
          std::uint8_t* blk = rows + (16 * p + std::size_t(col) - r0) * rb + b * canonical_block;
          std::memcpy(blk, g + tile_bytes + 2 * col, 2);
          const __m256i codes = _mm512_castsi512_si256(v[col]);
          if constexpr (Four) {
            const __m128i lo = _mm256_castsi256_si128(codes), hi = _mm256_extracti128_si256(codes, 1);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(blk + 2), _mm_or_si128(lo, _mm_slli_epi16(hi, 4)));
          } else {
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(blk + 2), codes);
          }
        }
      }
  }
};

QLINEAR_TARGET_AMX inline __m512 f16x16_q(const std::uint8_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// The bf16 path's panel straight from the packed bytes (PackedKernels::bf16_panel): rows
// [r0, r0 + rows) of weights (r0 a multiple of 32, rows ≤ 32 a multiple of 16), values [l0, l0 +
// len) (whole blocks) as d·code in f32 rounded to bf16, one chunk of 32 values per block. Tile
// row r of a block holds, for each of 16 weight rows, its codes 4r-4r+3: bf16 tile rows 2r and
// 2r + 1 are their pairs, each weight row's lane scaled by its own d.
template <bool Four>
QLINEAR_TARGET_AMX_BF16 inline void q32_bf16_panel(const std::uint8_t* packed, std::size_t, std::size_t k,
                                                   std::size_t r0, std::size_t rows, std::size_t l0, std::size_t len,
                                                   std::uint16_t* out) {
  using L = PackedQ32<Four>;
  const __m512i nib = _mm512_set1_epi32(0x0F), eight = _mm512_set1_epi32(8);
  for (std::size_t b = l0 / 32; b < (l0 + len) / 32; ++b)
    for (std::size_t half = 0; half < 2; ++half) {
      std::uint16_t* tile = out + (b - l0 / 32) * 1024 + 512 * half;
      if (!bf16_half_present(tile, rows, half, 1)) continue;
      const std::uint8_t* g = packed + L::at(r0 / 16 + half, b, k);
      const __m512 d = f16x16_q(g + L::tile_bytes);
      QLINEAR_UNROLL
      for (int r = 0; r < 8; ++r) {
        __m512 f[4];
        if constexpr (Four) {  // line r % 4, low nibbles for rows 0-3, high for 4-7; code − 8
          const __m512i v = _mm512_loadu_si512(g + 64 * (r % 4));
          QLINEAR_UNROLL
          for (int u = 0; u < 4; ++u)
            f[u] = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_sub_epi32(lane_byte_bits(v, 8 * u + 4 * (r / 4), nib), eight)));
        } else {  // signed bytes
          const __m512i v = _mm512_loadu_si512(g + 64 * r);
          QLINEAR_UNROLL
          for (int u = 0; u < 4; ++u)
            f[u] = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_srai_epi32(_mm512_slli_epi32(v, unsigned(24 - 8 * u)), 24)));
        }
        store_bf16_quad_row(tile, r, f);
      }
    }
}

// The exact path on the packed bytes (PackedKernels::exact_tile; f32 activations, any number
// of rows): per block, tile row r's lane c holds codes 4r..4r+3 of weight row c, so each code
// byte u becomes 16 weight rows' f32 values in one register, met by activation value 4r + u
// broadcast (an FMA's memory operand) for each activation row; the block's sums, a lane per
// weight row, are scaled by the panel's 16 scales in one FMA. The decode is shared by 8
// activation rows at a time; with fewer rows the block sums run in 2-4 chains so the FMAs'
// latency stays hidden. Against restoring canonical rows and dequantizing them into f32 panels
// for the f32 tiles (4096², 1 thread, ms, old → new): Q8_0 M = 1 2.98 → 0.83, M = 8 5.31 →
// 2.20, M = 16 9.99 → 4.41, M = 32 12.9 → 8.83, M = 128 42.6 → 36.3; Q4_0 2.72 → 0.90, 5.21 →
// 2.29, 8.50 → 4.70, 12.9 → 9.44, 43.0 → 38.4 (the quantized mode: 0.3-0.6 ms at M = 1).
template <bool Four>
struct Q32Exact {
  template <int MR>
  QLINEAR_TARGET_AMX static void rows(const ExactDotArgs& t, std::size_t i0, const float* const* xr) {
    using L = PackedQ32<Four>;
    constexpr int chains = kExactChains<MR>;
    const std::size_t nb = t.k / 32;
    const __m512i nib = _mm512_set1_epi32(0x0F), eight = _mm512_set1_epi32(8);
    for (std::size_t p = t.n0 / 16; p < t.n1 / 16; ++p) {
      __m512 acc[MR][1], s[MR][chains];
      exact_zero(acc);
      for (std::size_t b = 0; b < nb; ++b) {
        const std::uint8_t* g = t.w + L::at(p, b, t.k);
        exact_zero(s);
        QLINEAR_UNROLL
        for (int r = 0; r < 8; ++r) {
          const __m512i v = _mm512_loadu_si512(g + 64 * (Four ? r % 4 : r));
          __m512 f[4];
          QLINEAR_UNROLL
          for (int u = 0; u < 4; ++u) {
            __m512i code;
            if constexpr (Four)  // line r % 4, low nibbles for tile rows 0-3, high for 4-7
              code = _mm512_sub_epi32(lane_byte_bits(v, 8 * u + 4 * (r / 4), nib), eight);
            else  // signed bytes
              code = _mm512_srai_epi32(_mm512_slli_epi32(v, unsigned(24 - 8 * u)), 24);
            f[u] = _mm512_cvtepi32_ps(code);
          }
          exact_fma_quad(s, f, xr, 32 * b + 4 * std::size_t(r));
        }
        const __m512 d = f16x16_q(g + L::tile_bytes);
        QLINEAR_UNROLL
        for (int i = 0; i < MR; ++i) acc[i][0] = _mm512_fmadd_ps(exact_chain_sum(s, i), d, acc[i][0]);
      }
      exact_store(t, i0, p, acc);
    }
  }
};

// Block scales (f32) and code sums of Q8_0 activation rows [m0, m1): da[b·rows + r], sa[…].
QLINEAR_TARGET_AMX inline void q8_0_side_data(const DotTileArgs& t, float* da, std::int32_t* sa) {
  const std::size_t rows = t.m1 - t.m0, nb = t.k / 32;
  const __m256i ones8 = _mm256_set1_epi8(1);
  const __m256i ones16 = _mm256_set1_epi16(1);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint8_t* row = t.a + (t.m0 + r) * t.a_stride;
    for (std::size_t b = 0; b < nb; ++b) {
      const std::uint8_t* blk = row + 34 * b;
      std::uint16_t h;
      std::memcpy(&h, blk, 2);
      da[b * rows + r] = _cvtsh_ss(h);
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
      const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, v), ones16);
      __m128i x = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
      x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)));
      x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
      sa[b * rows + r] = _mm_cvtsi128_si32(x);
    }
  }
}

QLINEAR_TARGET_AMX inline void store_q32(const DotTileArgs& t, std::size_t i, std::size_t j0, __m512 f) {
  __m512 v = _mm512_mul_ps(_mm512_set1_ps(t.row_scale[i]), f);
  if (t.bias) v = _mm512_add_ps(v, _mm512_loadu_ps(t.bias + j0));
  float* y = t.y + i * t.ldy + j0;
  if (t.accumulate) v = _mm512_add_ps(v, _mm512_loadu_ps(y));
  _mm512_storeu_ps(y, v);
}

// vpdpbusd: one activation row (index r within the call) × PR panels. The weights enter as the
// unsigned operand: Q8_0 codes + 128 (so 128·Σa comes off), Q4_0 nibbles (8·Σa comes off).
template <bool Four, int PR>
QLINEAR_TARGET_AMX inline void q32_vnni_row(const DotTileArgs& t, std::size_t r, std::size_t p0, int np, const float* da,
                                            const std::int32_t* sa) {
  using L = PackedQ32<Four>;
  const std::size_t k = t.k, nb = k / 32, rows = t.m1 - t.m0;
  const std::uint8_t* a = t.a + (t.m0 + r) * t.a_stride;
  __m512 f[PR];
  QLINEAR_UNROLL
  for (int q = 0; q < PR; ++q) f[q] = _mm512_setzero_ps();
  const __m512i nib = _mm512_set1_epi8(0x0F), bias8 = _mm512_set1_epi8(-128);
  for (std::size_t b = 0; b < nb; ++b) {
    const std::uint8_t* ab = a + 34 * b + 2;
    __m512i acc[PR];
    QLINEAR_UNROLL
    for (int q = 0; q < PR; ++q) acc[q] = _mm512_setzero_si512();
    const std::uint8_t* g[PR];
    QLINEAR_UNROLL
    for (int q = 0; q < PR; ++q) g[q] = t.w + L::at(p0 + std::size_t(std::min(q, np - 1)), b, k);
    if constexpr (Four) {
      QLINEAR_UNROLL
      for (int line = 0; line < 4; ++line) {
        std::int32_t v0, v1;
        std::memcpy(&v0, ab + 4 * line, 4);
        std::memcpy(&v1, ab + 4 * (line + 4), 4);
        const __m512i b0 = _mm512_set1_epi32(v0), b1 = _mm512_set1_epi32(v1);
        QLINEAR_UNROLL
        for (int q = 0; q < PR; ++q) {
          const __m512i x = _mm512_loadu_si512(g[q] + 64 * line);
          acc[q] = _mm512_dpbusd_epi32(acc[q], _mm512_and_si512(x, nib), b0);
          acc[q] = _mm512_dpbusd_epi32(acc[q], _mm512_and_si512(_mm512_srli_epi16(x, 4), nib), b1);
        }
      }
    } else {
      QLINEAR_UNROLL
      for (int row = 0; row < 8; ++row) {
        std::int32_t v;
        std::memcpy(&v, ab + 4 * row, 4);
        const __m512i bv = _mm512_set1_epi32(v);
        QLINEAR_UNROLL
        for (int q = 0; q < PR; ++q)
          acc[q] = _mm512_dpbusd_epi32(acc[q], _mm512_xor_si512(_mm512_loadu_si512(g[q] + 64 * row), bias8), bv);
      }
    }
    const __m512i off = _mm512_set1_epi32((Four ? 8 : 128) * sa[b * rows + r]);
    const __m512 dav = _mm512_set1_ps(da[b * rows + r]);
    QLINEAR_UNROLL
    for (int q = 0; q < PR; ++q) {
      const __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[q], off));
      f[q] = _mm512_fmadd_ps(v, _mm512_mul_ps(f16x16_q(g[q] + L::tile_bytes), dav), f[q]);
    }
  }
  for (int q = 0; q < np; ++q) store_q32(t, t.m0 + r, 16 * (p0 + std::size_t(q)), f[q]);
}

// Q4_0: a panel's nibble tiles expanded to codes − 8, 512 bytes per block.
QLINEAR_TARGET_AMX inline void expand_q4_panel(const std::uint8_t* w, std::size_t p, std::size_t k, std::uint8_t* out) {
  using L = PackedQ32<true>;
  const __m512i nib = _mm512_set1_epi8(0x0F), eight = _mm512_set1_epi8(8);
  for (std::size_t b = 0; b < k / 32; ++b) {
    const std::uint8_t* g = w + L::at(p, b, k);
    QLINEAR_UNROLL
    for (int line = 0; line < 4; ++line) {
      const __m512i x = _mm512_loadu_si512(g + 64 * line);
      _mm512_store_si512(out + 512 * b + 64 * line, _mm512_sub_epi8(_mm512_and_si512(x, nib), eight));
      _mm512_store_si512(out + 512 * b + 64 * (line + 4),
                         _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(x, 4), nib), eight));
    }
  }
}

// One block's 16 × 16 product through tiles (C, A, B), stored as int32 (tile numbers must be
// literals: the intrinsics paste them into register names).
#define QLINEAR_Q32_BLOCK(c, ta, tb, a_ptr, b_ptr, out) \
  _tile_zero(c);                                        \
  _tile_loadd(ta, a_ptr, stride);                       \
  _tile_loadd(tb, b_ptr, 64);                           \
  _tile_dpbssd(c, ta, tb);                              \
  _tile_stored(c, out, 64)

// AMX: activation rows [m0 + first, m0 + first + count): count a multiple of 16, or (Partial)
// one group of fewer, its A and C tiles configured with that many rows so that nothing past the
// rows is read (a template parameter, so that whole groups take no per-row test).
// Tiles are not renamed, so a block reusing the previous block's C, A or B tile would wait for
// that block's product (or store) to finish: consecutive blocks use two disjoint sets,
// (C0, A2, B4) and (C1, A3, B5).
template <bool Four, bool Partial>
QLINEAR_TARGET_AMX inline void q32_amx(const DotTileArgs& t, std::size_t first, std::size_t count, const float* da,
                                       std::uint8_t* expanded) {
  const TileConfig before = stored_tile_config();  // given back at the end (restore_tiles)
  using L = PackedQ32<Four>;
  const std::size_t k = t.k, nb = k / 32, rows = t.m1 - t.m0;
  const int tile_rows = Partial ? int(count) : 16;
  TileConfig cfg;
  QLINEAR_UNROLL
  for (int set = 0; set < 2; ++set) {
    cfg.set(set, tile_rows, 64);      // C
    cfg.set(2 + set, tile_rows, 32);  // A: the rows × one block of codes
    cfg.set(4 + set, 8, 64);          // B: 8 rows (32 values) × 16 columns
  }
  load_tile_config(cfg);
  const auto stride = long(t.a_stride);
  alignas(64) std::int32_t c32[2][16][16];  // rows past tile_rows are neither stored nor read
  for (std::size_t p = t.n0 / 16; p < t.n1 / 16; ++p) {
    if constexpr (Four) expand_q4_panel(t.w, p, k, expanded);
    for (std::size_t i0 = first; i0 < first + count; i0 += 16) {
      __m512 acc[16];
      QLINEAR_UNROLL
      for (int r = 0; r < 16; ++r) acc[r] = _mm512_setzero_ps();
      const std::uint8_t* a0 = t.a + (t.m0 + i0) * t.a_stride + 2;
      for (std::size_t b = 0; b < nb; ++b) {
        const std::uint8_t* g = t.w + L::at(p, b, k);
        const std::uint8_t* btile = Four ? expanded + 512 * b : g;
        if (b % 2 == 0) {
          QLINEAR_Q32_BLOCK(0, 2, 4, a0 + 34 * b, btile, &c32[0][0][0]);
        } else {
          QLINEAR_Q32_BLOCK(1, 3, 5, a0 + 34 * b, btile, &c32[1][0][0]);
        }
        const __m512 dw = f16x16_q(g + L::tile_bytes);
        const float* dab = da + b * rows + i0;
        QLINEAR_UNROLL
        for (int r = 0; r < 16; ++r)
          if (r < tile_rows)
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c32[b % 2][r])),
                                     _mm512_mul_ps(dw, _mm512_set1_ps(dab[r])), acc[r]);
      }
      QLINEAR_UNROLL
      for (int r = 0; r < 16; ++r)
        if (r < tile_rows) store_q32(t, t.m0 + i0 + std::size_t(r), 16 * p, acc[r]);
    }
  }
  restore_tiles(before);
}
#undef QLINEAR_Q32_BLOCK

// Rows from which a group of fewer than 16 goes through the tiles, measured (4096², 1 thread,
// ms per call, vpdpbusd row by row → tiles): Q8_0 M = 2 0.83 → 0.66, M = 8 1.91 → 0.71, M = 12
// 2.62 → 0.81; Q4_0, whose tiles need the panel expanded first, M = 2 0.51 → 0.75, M = 3 0.69 →
// 0.78, M = 4 0.86 → 0.81, M = 8 1.57 → 1.00.
template <bool Four>
inline constexpr std::size_t kQ32TileMinRows = Four ? 4 : 2;

template <bool Four>
QLINEAR_TARGET_AMX inline void q32_packed_tile(const DotTileArgs& t) {
  using L = PackedQ32<Four>;
  const std::size_t rows = t.m1 - t.m0, nb = t.k / 32;
  auto* da = reinterpret_cast<float*>(t.scratch);
  auto* sa = reinterpret_cast<std::int32_t*>(t.scratch + rows * nb * 4);
  std::uint8_t* expanded = t.scratch + L::expanded_offset(rows, t.k);
  q8_0_side_data(t, da, sa);
  // Whole 16s of rows through AMX, then the rest: a group of its own on the tiles from
  // kQ32TileMinRows<Four> rows on, else row by row through vpdpbusd (each row reads the panel again).
  const std::size_t full = rows / 16 * 16, rest = rows - full;
  if (full) q32_amx<Four, false>(t, 0, full, da, expanded);
  const bool rest_on_tiles = rest >= kQ32TileMinRows<Four>;
  if (rest_on_tiles) q32_amx<Four, true>(t, full, rest, da, expanded);
  for (std::size_t r = rest_on_tiles ? rows : full; r < rows; ++r)
    for (std::size_t p0 = t.n0 / 16; p0 < t.n1 / 16; p0 += 4)
      q32_vnni_row<Four, 4>(t, r, p0, int(std::min<std::size_t>(4, t.n1 / 16 - p0)), da, sa);
}

}  // namespace amx

template <>
struct PackedLayout<Q8_0, Isa::amx> : amx::PackedQ32<false> {
  static void tile(const DotTileArgs& a) { amx::q32_packed_tile<false>(a); }
  static constexpr auto bf16_panel = &amx::q32_bf16_panel<false>;
  static constexpr auto exact_tile = &amx::exact_passes<amx::Q32Exact<false>>;
};
template <>
struct PackedLayout<Q4_0, Isa::amx> : amx::PackedQ32<true> {
  static void tile(const DotTileArgs& a) { amx::q32_packed_tile<true>(a); }
  static constexpr auto bf16_panel = &amx::q32_bf16_panel<true>;
  static constexpr auto exact_tile = &amx::exact_passes<amx::Q32Exact<true>>;
};

}  // namespace qlinear::cpu
QLINEAR_X86_KERNELS_END
#endif
