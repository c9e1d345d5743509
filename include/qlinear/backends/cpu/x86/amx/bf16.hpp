#pragma once
// AMX-BF16 tiles of the bf16 path (Bf16Tile<Isa::amx>, in namespace qlinear::cpu): the schemes
// with no integer path that cpu::Backend computes in bf16 in the quantized mode (NF4 ± double
// quant, as bitsandbytes does), for more activation rows than the exact dot tiles take.
//
// Activations: each row is multiplied by a power of two 2^e that brings its largest magnitude
// into [1, 2) (exact; rows holding NaN or ±Inf keep e = 0) and rounded to bf16 (nearest even,
// vcvtneps2bf16), so tiny and huge rows keep bf16's 8 significant bits: the conversion and
// tdpbf16ps read subnormals as 0, which after the scaling only drops values below 2^-126 of the
// row's largest.
// row_scale[i] = 2^-e is undone in the epilogue. Weights: a panel of up to 32 dequantized f32
// rows, rounded to bf16 and packed as two AMX B tiles per 32 values of K (tile row r holds, for
// each of the 16 weight rows c, its values 2r and 2r + 1 of the chunk). Products are summed in
// f32 by tdpbf16ps over 2 × 2 tiles of 16 × 16.

#if defined(__x86_64__) || defined(_M_X64)
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/x86/amx/tile.hpp"
#include "qlinear/backends/cpu/x86/avx512/quantize_q8.hpp"
#include "qlinear/backends/cpu/x86/target.hpp"
#include "qlinear/core/cpu_features.hpp"

QLINEAR_X86_KERNELS_BEGIN
namespace qlinear::cpu {
namespace amx {

// The first `count` of 16 lanes (all of them from 16 on).
inline __mmask16 first_lanes(std::size_t count) {
  return count >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << count) - 1);
}

// 32 weights (k values from p, zeros past them) to 16 bf16 pairs, one per 32-bit lane (lane r:
// values 2r, 2r + 1). vcvtne2ps2bf16 rounds to nearest even as f32_to_bf16 (core/half.hpp) does, and reads
// subnormals as 0, which tdpbf16ps would do with them anyway.
QLINEAR_TARGET_AMX_BF16 inline __m512i bf16_pairs(const float* p, std::size_t k) {
  const __mmask16 lo = first_lanes(k), hi = first_lanes(k > 16 ? k - 16 : 0);
  return (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, p + 16), _mm512_maskz_loadu_ps(lo, p));
}

}  // namespace amx

/// AMX-BF16: the activation rounding, the panel packing and the 2 × 2-tile kernel.
template <>
struct Bf16Tile<Isa::amx> {
  static bool available() { return cpu_features().amx_bf16 && cpu_features().avx512_bf16; }

  QLINEAR_TARGET_AMX_BF16 static void convert(const Bf16ConvertArgs& c) {
    for (std::size_t i = c.m0; i < c.m1; ++i) {
      std::uint16_t* out = c.out + i * c.out_stride;
      if (i >= c.m) {  // padding rows of the last A tile
        std::memset(out, 0, c.out_stride * sizeof(std::uint16_t));
        continue;
      }
      const float* x = c.x + i * c.ldx;
      float big = 0.0f;
      const bool finite = avx512::q8::row_amax(x, c.k, big);
      const int e = finite && big > 0.0f ? -std::ilogb(big) : 0;  // big · 2^e in [1, 2)
      c.row_scale[i] = std::ldexp(1.0f, -e);
      // 2^e in two factors, each a normal float (e reaches 149 for the smallest subnormal).
      const __m512 s1 = _mm512_set1_ps(std::ldexp(1.0f, e / 2)), s2 = _mm512_set1_ps(std::ldexp(1.0f, e - e / 2));
      for (std::size_t l = 0; l < c.out_stride; l += 16) {
        const __m512 v = _mm512_maskz_loadu_ps(amx::first_lanes(l < c.k ? c.k - l : 0), x + l);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + l),
                            (__m256i)_mm512_cvtneps_pbh(_mm512_mul_ps(_mm512_mul_ps(v, s1), s2)));
      }
    }
  }

  QLINEAR_TARGET_AMX_BF16 static void pack(const float* panel, std::size_t rows, std::size_t k, std::uint16_t* out) {
    const std::size_t chunks = (k + 31) / 32;
    for (std::size_t ch = 0; ch < chunks; ++ch)
      for (std::size_t half = 0; half < 2; ++half) {
        __m512i v[16];
        QLINEAR_UNROLL
        for (int c = 0; c < 16; ++c) {
          const std::size_t j = 16 * half + std::size_t(c);
          v[c] = j < rows ? amx::bf16_pairs(panel + j * k + 32 * ch, k - 32 * ch) : _mm512_setzero_si512();
        }
        amx::transpose_dwords(v);  // v[r]: pair r of each of the 16 rows
        std::uint16_t* tile = out + (2 * ch + half) * 512;
        QLINEAR_UNROLL
        for (int r = 0; r < 16; ++r) _mm512_storeu_si512(tile + 32 * r, v[r]);
      }
  }

  QLINEAR_TARGET_AMX static void tile(const Bf16TileArgs& t) {
    const amx::TileConfig before = amx::stored_tile_config();
    amx::TileConfig cfg;
    for (int i = 0; i < 8; ++i) cfg.set(i, 16, 64);
    amx::load_tile_config(cfg);
    const std::size_t chunks = t.kp / 32, stride = t.a_stride * sizeof(std::uint16_t);
    alignas(64) float c32[32][32];
    for (std::size_t i0 = t.m0; i0 < t.m1; i0 += 32) {
      const bool two = i0 + 16 < t.m1;
      const std::uint16_t* a0 = t.a + i0 * t.a_stride;
      const std::uint16_t* a1 = a0 + 16 * t.a_stride;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (std::size_t ch = 0; ch < chunks; ++ch) {
        _tile_loadd(6, t.panel + 1024 * ch, 64);
        _tile_loadd(7, t.panel + 1024 * ch + 512, 64);
        _tile_loadd(4, a0 + 32 * ch, stride);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        if (two) {  // the second 16 activation rows (the branch is the same for the whole loop)
          _tile_loadd(5, a1 + 32 * ch, stride);
          _tile_dpbf16ps(2, 5, 6);
          _tile_dpbf16ps(3, 5, 7);
        }
      }
      _tile_stored(0, &c32[0][0], 128);
      _tile_stored(1, &c32[0][16], 128);
      if (two) {
        _tile_stored(2, &c32[16][0], 128);
        _tile_stored(3, &c32[16][16], 128);
      }
      const std::size_t i1 = std::min(t.m1, i0 + 32);
      for (std::size_t i = i0; i < i1; ++i) {
        const __m512 s = _mm512_set1_ps(t.row_scale[i]);
        float* y = t.y + i * t.ldy;
        for (std::size_t j0 = 0; j0 < t.n; j0 += 16) {
          const __mmask16 mask = amx::first_lanes(t.n - j0);
          __m512 v = _mm512_mul_ps(s, _mm512_load_ps(&c32[i - i0][j0]));
          if (t.bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, t.bias + j0));
          if (t.accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, y + j0));
          _mm512_mask_storeu_ps(y + j0, mask, v);
        }
      }
    }
    amx::restore_tiles(before);
  }
};

}  // namespace qlinear::cpu
QLINEAR_X86_KERNELS_END
#endif
