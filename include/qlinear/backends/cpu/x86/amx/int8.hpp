#pragma once
// AMX packed layout and kernels of the int8 schemes (per tensor / per channel, ± affine)
// against I8Row activations: PackedLayout<Int8Scheme<…>, Isa::amx>, in namespace
// qlinear::cpu::amx.
//
// Layout (n % 16 == 0, k % 64 == 0; n · k bytes, exactly the rows' size): panels of 16 weight
// rows; in a panel, for each 64-value chunk of K, one 16 × 64-byte AMX B tile in VNNI order —
// tile row r holds, for each of the 16 weight rows c, its 4 values k = 64·chunk + 4r … 4r + 3 —
// each byte stored as w + 128 (w ^ 0x80, unsigned). So a tile row is also one 64-byte vector of
// 16 columns × 4 values for vpdpbusd, which takes its unsigned operand from the weights and its
// signed one from 4 activation codes broadcast:
//   Σ (w + 128)·a = Σ w·a + 128·Σa,   and   y = row_scale · s · (that − (128 + zp)·Σa).
// Kernels: activation tiles of fewer than kAmxMinRows rows go through vpdpbusd on the packed
// bytes (register blocks of up to four rows × two to eight panels: no horizontal sums, since
// lanes are output columns); larger ones through AMX: 2 × 2 tiles of 16 × 16 int32 (tdpbsud: signed activations ×
// unsigned weights), K in slabs of 32768 so no int32 lane can overflow.

#if defined(__x86_64__) || defined(_M_X64)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "qlinear/backends/cpu/activation_formats.hpp"
#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/x86/amx/tile.hpp"
#include "qlinear/backends/cpu/x86/target.hpp"

QLINEAR_X86_KERNELS_BEGIN
namespace qlinear::cpu {
namespace amx {

/// Activation rows below this go through vpdpbusd on the packed bytes, the rest through AMX.
inline constexpr std::size_t kAmxMinRows = 2;
/// K values per integer slab: Σ (w + 128)·a over 32768 values stays below 2^31.
inline constexpr std::size_t kInt8Slab = 32768;

inline std::int32_t load_i32(const std::uint8_t* p) {
  std::int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Σ of the int8 codes a[0, k).
QLINEAR_TARGET_AMX inline std::int32_t sum_codes(const std::uint8_t* a, std::size_t k) {
  __m512i acc = _mm512_setzero_si512();
  for (std::size_t l = 0; l < k; l += 64) acc = _mm512_dpbusd_epi32(acc, _mm512_set1_epi8(1), _mm512_loadu_si512(a + l));
  return _mm512_reduce_add_epi32(acc);
}

struct PackedInt8 {
  static constexpr std::size_t row_group = 16;
  static bool applies(std::size_t n, std::size_t k) { return n % 16 == 0 && k % 64 == 0 && n > 0 && k > 0; }
  static std::size_t bytes(std::size_t n, std::size_t k) { return n * k; }
  // Byte offset of tile row r, chunk c, panel p.
  static std::size_t at(std::size_t p, std::size_t c, std::size_t r, std::size_t k) {
    return ((p * (k / 64) + c) * 16 + r) * 64;
  }
  static void pack(const std::uint8_t* rows, std::size_t rb, std::size_t n, std::size_t k, std::uint8_t* out) {
    for (std::size_t p = 0; p < n / 16; ++p)
      for (std::size_t c = 0; c < k / 64; ++c)
        for (std::size_t r = 0; r < 16; ++r)
          for (std::size_t col = 0; col < 16; ++col) {
            std::uint32_t v;
            std::memcpy(&v, rows + (16 * p + col) * rb + 64 * c + 4 * r, 4);
            v ^= 0x80808080u;
            std::memcpy(out + at(p, c, r, k) + 4 * col, &v, 4);
          }
  }
  // Tiles back to rows: a 16 × 16 transpose of 4-byte groups per chunk. (Weights are packed only
  // for a level the processor runs, so AMX-level code is safe here whatever the ceiling.)
  QLINEAR_TARGET_AMX static void unpack(const std::uint8_t* packed, std::size_t, std::size_t k, std::size_t r0,
                                        std::size_t count, std::uint8_t* rows) {
    const __m512i flip = _mm512_set1_epi8(-128);
    for (std::size_t p = r0 / 16; p < (r0 + count) / 16; ++p)
      for (std::size_t c = 0; c < k / 64; ++c) {
        __m512i v[16];
        QLINEAR_UNROLL
        for (int r = 0; r < 16; ++r) v[r] = _mm512_loadu_si512(packed + at(p, c, std::size_t(r), k));
        transpose_dwords(v);
        QLINEAR_UNROLL
        for (int col = 0; col < 16; ++col)
          _mm512_storeu_si512(rows + (16 * p + std::size_t(col) - r0) * k + 64 * c, _mm512_xor_si512(v[col], flip));
      }
  }
};

// Per-column epilogue constants of panel p (16 weight rows): scales and 128 + zero points.
template <class S>
struct ColumnConstants {
  __m512 scale;
  __m512i offset;
};
template <class S>
QLINEAR_TARGET_AMX inline ColumnConstants<S> column_constants(const Int8Params& p, std::size_t j0) {
  alignas(64) float s[16];
  alignas(64) std::int32_t z[16];
  QLINEAR_UNROLL
  for (int c = 0; c < 16; ++c) s[c] = S::scale_of(p, j0 + std::size_t(c)), z[c] = 128 + S::zero_point_of(p, j0 + std::size_t(c));
  return {_mm512_load_ps(s), _mm512_load_si512(z)};
}

// y(i, j0 … j0 + 15) from the float sums f (already corrected) of one activation row.
QLINEAR_TARGET_AMX inline void store_row(const DotTileArgs& t, std::size_t i, std::size_t j0, __m512 scale, __m512 f) {
  __m512 v = _mm512_mul_ps(_mm512_set1_ps(t.row_scale[i]), _mm512_mul_ps(scale, f));
  if (t.bias) v = _mm512_add_ps(v, _mm512_loadu_ps(t.bias + j0));
  float* y = t.y + i * t.ldy + j0;
  if (t.accumulate) v = _mm512_add_ps(v, _mm512_loadu_ps(y));
  _mm512_storeu_ps(y, v);
}

// vpdpbusd on the packed bytes: MR activation rows × PR panels (16·PR columns) per register
// block, PR chosen so that at least 8 accumulators hide vpdpbusd's latency.
template <class S, int MR, int PR>
QLINEAR_TARGET_AMX inline void int8_vnni_block(const DotTileArgs& t, std::size_t i0, std::size_t p0, int np) {
  const auto& params = *static_cast<const Int8Params*>(t.params);
  const std::size_t k = t.k;
  const std::uint8_t* a[MR];
  QLINEAR_UNROLL
  for (int r = 0; r < MR; ++r) a[r] = t.a + (i0 + std::size_t(r)) * t.a_stride;
  __m512 f[MR][PR];
  QLINEAR_UNROLL
  for (int r = 0; r < MR; ++r)
    QLINEAR_UNROLL
    for (int q = 0; q < PR; ++q) f[r][q] = _mm512_setzero_ps();
  for (std::size_t k0 = 0; k0 < k; k0 += kInt8Slab) {
    const std::size_t k1 = std::min(k, k0 + kInt8Slab);
    __m512i acc[MR][PR];
    QLINEAR_UNROLL
    for (int r = 0; r < MR; ++r)
      QLINEAR_UNROLL
      for (int q = 0; q < PR; ++q) acc[r][q] = _mm512_setzero_si512();
    for (std::size_t c = k0 / 64; c < k1 / 64; ++c) {
      const std::uint8_t* w[PR];
      QLINEAR_UNROLL
      for (int q = 0; q < PR; ++q) w[q] = t.w + PackedInt8::at(p0 + std::size_t(std::min(q, np - 1)), c, 0, k);
      QLINEAR_UNROLL
      for (int row = 0; row < 16; ++row) {
        __m512i wv[PR];
        QLINEAR_UNROLL
        for (int q = 0; q < PR; ++q) wv[q] = _mm512_loadu_si512(w[q] + 64 * row);
        QLINEAR_UNROLL
        for (int r = 0; r < MR; ++r) {
          const __m512i av = _mm512_set1_epi32(load_i32(a[r] + 64 * c + 4 * std::size_t(row)));
          QLINEAR_UNROLL
          for (int q = 0; q < PR; ++q) acc[r][q] = _mm512_dpbusd_epi32(acc[r][q], wv[q], av);
        }
      }
    }
    QLINEAR_UNROLL
    for (int r = 0; r < MR; ++r) {
      const __m512i asum = _mm512_set1_epi32(sum_codes(a[r] + k0, k1 - k0));
      for (int q = 0; q < np; ++q) {
        const __m512i offset = column_constants<S>(params, 16 * (p0 + std::size_t(q))).offset;
        f[r][q] = _mm512_add_ps(f[r][q], _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][q], _mm512_mullo_epi32(offset, asum))));
      }
    }
  }
  for (int q = 0; q < np; ++q) {
    const __m512 scale = column_constants<S>(params, 16 * (p0 + std::size_t(q))).scale;
    QLINEAR_UNROLL
    for (int r = 0; r < MR; ++r) store_row(t, i0 + std::size_t(r), 16 * (p0 + std::size_t(q)), scale, f[r][q]);
  }
}

template <class S, int MR, int PR>
QLINEAR_TARGET_AMX inline void int8_vnni_rows(const DotTileArgs& t, std::size_t i0) {
  for (std::size_t p0 = t.n0 / 16; p0 < t.n1 / 16; p0 += PR)
    int8_vnni_block<S, MR, PR>(t, i0, p0, int(std::min<std::size_t>(PR, t.n1 / 16 - p0)));
}

template <class S>
QLINEAR_TARGET_AMX inline void int8_vnni_tile(const DotTileArgs& t) {
  for (std::size_t i0 = t.m0; i0 < t.m1; i0 += 4) {
    switch (std::min<std::size_t>(4, t.m1 - i0)) {
      case 1: int8_vnni_rows<S, 1, 8>(t, i0); break;
      case 2: int8_vnni_rows<S, 2, 4>(t, i0); break;
      case 3: int8_vnni_rows<S, 3, 3>(t, i0); break;
      default: int8_vnni_rows<S, 4, 2>(t, i0); break;
    }
  }
}

// AMX: activation rows [i0, i0 + mr), mr ≤ 32, as tiles A0 (rows 0-15) and A1 (16-31) against
// the panels' B tiles, C tiles 0-3 = (A0, B0), (A0, B1), (A1, B0), (A1, B1).
template <class S>
QLINEAR_TARGET_AMX inline void int8_amx_tile(const DotTileArgs& t) {
  const TileConfig before = stored_tile_config();  // given back at the end (restore_tiles)
  const auto& params = *static_cast<const Int8Params*>(t.params);
  const std::size_t k = t.k;
  for (std::size_t i0 = t.m0; i0 < t.m1; i0 += 32) {
    const std::size_t mr = std::min<std::size_t>(32, t.m1 - i0);
    const int ra0 = int(std::min<std::size_t>(16, mr)), ra1 = int(mr) - ra0;
    TileConfig cfg;
    QLINEAR_UNROLL
    for (int c = 0; c < 2; ++c) cfg.set(c, ra0, 64), cfg.set(2 + c, ra1, 64);
    cfg.set(4, ra0, 64);
    cfg.set(5, ra1, 64);
    cfg.set(6, 16, 64);
    cfg.set(7, 16, 64);
    load_tile_config(cfg);
    const std::uint8_t* a0 = t.a + i0 * t.a_stride;
    const std::uint8_t* a1 = a0 + 16 * t.a_stride;
    const auto stride = long(t.a_stride);
    alignas(64) std::int32_t c32[32][32];
    alignas(64) float f[32][32];
    // Σ codes of each activation row, per slab (one slab unless K > kInt8Slab).
    const std::size_t slabs = (k + kInt8Slab - 1) / kInt8Slab;
    std::int32_t asum_one[32];
    std::vector<std::int32_t> asum_many(slabs > 1 ? 32 * slabs : 0);
    std::int32_t* asum = slabs > 1 ? asum_many.data() : asum_one;
    for (std::size_t sl = 0; sl < slabs; ++sl)
      for (std::size_t r = 0; r < mr; ++r) {
        const std::size_t k0 = sl * kInt8Slab;
        asum[32 * sl + r] = sum_codes(t.a + (i0 + r) * t.a_stride + k0, std::min(k, k0 + kInt8Slab) - k0);
      }
    for (std::size_t p0 = t.n0 / 16; p0 < t.n1 / 16; p0 += 2) {
      const bool two = p0 + 1 < t.n1 / 16;
      for (std::size_t k0 = 0; k0 < k; k0 += kInt8Slab) {
        const std::size_t k1 = std::min(k, k0 + kInt8Slab);
        _tile_zero(0);
        _tile_zero(1);
        if (ra1) {
          _tile_zero(2);
          _tile_zero(3);
        }
        for (std::size_t c = k0 / 64; c < k1 / 64; ++c) {
          _tile_loadd(6, t.w + PackedInt8::at(p0, c, 0, k), 64);
          _tile_loadd(4, a0 + 64 * c, stride);
          _tile_dpbsud(0, 4, 6);
          if (ra1) {
            _tile_loadd(5, a1 + 64 * c, stride);
            _tile_dpbsud(2, 5, 6);
          }
          if (two) {
            _tile_loadd(7, t.w + PackedInt8::at(p0 + 1, c, 0, k), 64);
            _tile_dpbsud(1, 4, 7);
            if (ra1) _tile_dpbsud(3, 5, 7);
          }
        }
        _tile_stored(0, &c32[0][0], 128);
        _tile_stored(1, &c32[0][16], 128);
        if (ra1) {
          _tile_stored(2, &c32[16][0], 128);
          _tile_stored(3, &c32[16][16], 128);
        }
        for (int q = 0; q < (two ? 2 : 1); ++q) {
          const ColumnConstants<S> cc = column_constants<S>(params, 16 * (p0 + std::size_t(q)));
          for (std::size_t r = 0; r < mr; ++r) {
            const __m512i d = _mm512_sub_epi32(_mm512_load_si512(&c32[r][16 * q]),
                                               _mm512_mullo_epi32(cc.offset, _mm512_set1_epi32(asum[32 * (k0 / kInt8Slab) + r])));
            const __m512 v = _mm512_cvtepi32_ps(d);
            _mm512_store_ps(&f[r][16 * q], k0 == 0 ? v : _mm512_add_ps(_mm512_load_ps(&f[r][16 * q]), v));
          }
        }
      }
      for (int q = 0; q < (two ? 2 : 1); ++q) {
        const ColumnConstants<S> cc = column_constants<S>(params, 16 * (p0 + std::size_t(q)));
        for (std::size_t r = 0; r < mr; ++r) store_row(t, i0 + r, 16 * (p0 + std::size_t(q)), cc.scale, _mm512_load_ps(&f[r][16 * q]));
      }
    }
  }
  restore_tiles(before);
}

template <class S>
QLINEAR_TARGET_AMX inline void int8_packed_tile(const DotTileArgs& t) {
  if (t.m1 - t.m0 < kAmxMinRows)
    int8_vnni_tile<S>(t);
  else
    int8_amx_tile<S>(t);
}

}  // namespace amx

template <bool PerChannel, bool Affine>
struct PackedLayout<Int8Scheme<PerChannel, Affine>, Isa::amx> : amx::PackedInt8 {
  static void tile(const DotTileArgs& a) { amx::int8_packed_tile<Int8Scheme<PerChannel, Affine>>(a); }
};

}  // namespace qlinear::cpu
QLINEAR_X86_KERNELS_END
#endif
