#pragma once
// AMX-BF16 tiles of the bf16 path (Bf16Tile<Isa::amx>, in namespace qlinear::cpu): what
// cpu::Backend computes in bf16 in the quantized mode: the schemes with no integer path (NF4 ±
// double quant, as bitsandbytes does) for more activation rows than the exact dot tiles take,
// and the GGUF schemes from kBf16FromRows<S> rows on.
//
// Activations: each row is multiplied by a power of two 2^e that brings its largest magnitude
// into [1, 2) (exact; rows holding NaN or ±Inf keep e = 0) and rounded to bf16 (nearest even,
// vcvtne2ps2bf16), so tiny and huge rows keep bf16's 8 significant bits: the conversion and
// tdpbf16ps read subnormals as 0, which after the scaling only drops values below 2^-126 of the
// row's largest.
// row_scale[i] = 2^-e is undone in the epilogue. The rows are stored a group of 32 rows and a
// chunk of 32 values at a time (bf16_act_index), each A tile one contiguous kilobyte. Weights: a
// panel of up to 32 rows over one K block, rounded to bf16 and packed as two AMX B tiles per 32
// values (tile row r holds, for each of the 16 weight rows c, its values 2r and 2r + 1 of the
// chunk), by pack from dequantized f32 rows or by a packed layout's own decoder. Products are
// summed in f32 by tdpbf16ps over 2 × 2 tiles of 16 × 16, carried in f32 between K blocks.

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
      std::uint16_t* out = c.out + bf16_act_index(i, 0, c.kp);
      if (i >= c.m) {  // padding rows of the last group
        for (std::size_t l = 0; l < c.kp; l += 32)
          _mm512_storeu_si512(out + l / 32 * bf16_chunk_values(), _mm512_setzero_si512());
        continue;
      }
      const float* x = c.x + i * c.ldx;
      float big = 0.0f;
      const bool finite = avx512::q8::row_amax(x, c.k, big);
      const int e = finite && big > 0.0f ? -std::ilogb(big) : 0;  // big · 2^e in [1, 2)
      c.row_scale[i] = std::ldexp(1.0f, -e);
      // 2^e in two factors, each a normal float (e reaches 149 for the smallest subnormal).
      const __m512 s1 = _mm512_set1_ps(std::ldexp(1.0f, e / 2)), s2 = _mm512_set1_ps(std::ldexp(1.0f, e - e / 2));
      for (std::size_t l = 0; l < c.kp; l += 32) {
        const __m512 lo = _mm512_maskz_loadu_ps(amx::first_lanes(l < c.k ? c.k - l : 0), x + l);
        const __m512 hi = _mm512_maskz_loadu_ps(amx::first_lanes(l + 16 < c.k ? c.k - l - 16 : 0), x + l + 16);
        _mm512_storeu_si512(out + l / 32 * bf16_chunk_values(),
                            (__m512i)_mm512_cvtne2ps_pbh(_mm512_mul_ps(_mm512_mul_ps(hi, s1), s2),
                                                         _mm512_mul_ps(_mm512_mul_ps(lo, s1), s2)));
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

  // A group's 2 × 2 C tiles from sums at `in` (32 floats a row; zeros where in is null), and
  // back to `out`; two: whether the group has a second 16 rows.
  QLINEAR_TARGET_AMX static void load_sums(const float* in, bool two) {
    if (!in) {
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      return;
    }
    _tile_loadd(0, in, 128);
    _tile_loadd(1, in + 16, 128);
    if (two) {
      _tile_loadd(2, in + 512, 128);
      _tile_loadd(3, in + 528, 128);
    }
  }
  QLINEAR_TARGET_AMX static void store_sums(float* out, bool two) {
    _tile_stored(0, out, 128);
    _tile_stored(1, out + 16, 128);
    if (two) {
      _tile_stored(2, out + 512, 128);
      _tile_stored(3, out + 528, 128);
    }
  }
  // The epilogue of activation rows [i0, i1) from their final sums c (32 floats a row).
  QLINEAR_TARGET_AMX static void write_rows(const Bf16TileArgs& t, const float* c, std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1; ++i, c += 32) {
      const __m512 s = _mm512_set1_ps(t.row_scale[i]);
      float* y = t.y + i * t.ldy;
      for (std::size_t j0 = 0; j0 < t.n; j0 += 16) {
        const __mmask16 mask = amx::first_lanes(t.n - j0);
        __m512 v = _mm512_mul_ps(s, _mm512_load_ps(c + j0));
        if (t.bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, t.bias + j0));
        if (t.accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, y + j0));
        _mm512_mask_storeu_ps(y + j0, mask, v);
      }
    }
  }

  // Products over K chunks [c0, c1) into 2 × 2 C tiles per group of 32 activation rows; the
  // partial sums of earlier K blocks come in from acc, and go back there unless this is the last.
  // Over more than kBlockRows rows the chunks go kSubChunks at a time over blocks of kBlockRows
  // rows, so that the panel's 16 KiB of them stay in L1 while the block's groups pass over them
  // (each tdpbf16ps reads 1 KiB of tiles, 64 bytes a cycle; a microbenchmark of the loop ran
  // 1,250-1,460 GFLOP/s with A and B from L2, 1,600-1,770 from L1); the sums between sub-blocks
  // stay in cbuf (16 KiB, L1). Up to kBlockRows rows all the chunks go at once: each sub-block's
  // round trip of the sums through cbuf stalls the tile unit, and 128 rows read the panel from
  // L2 only four times.
  static constexpr std::size_t kSubChunks = 8, kBlockRows = 128;
  QLINEAR_TARGET_AMX static void tile(const Bf16TileArgs& t) {
    const amx::TileConfig before = amx::stored_tile_config();
    amx::TileConfig cfg;
    for (int i = 0; i < 8; ++i) cfg.set(i, 16, 64);
    amx::load_tile_config(cfg);
    alignas(64) float cbuf[kBlockRows * 32];
    const std::size_t chunks = t.c1 - t.c0;
    const std::size_t sub = t.m1 - t.m0 > kBlockRows ? kSubChunks : chunks;
    for (std::size_t b0 = t.m0; b0 < t.m1; b0 += kBlockRows)
      for (std::size_t s0 = 0; s0 < chunks; s0 += sub) {
        const std::size_t s1 = std::min(chunks, s0 + sub);
        for (std::size_t i0 = b0; i0 < std::min(t.m1, b0 + kBlockRows); i0 += 32) {
          const bool two = i0 + 16 < t.m1;
          const std::uint16_t* a = t.a + bf16_act_index(i0, 32 * t.c0, t.kp);
          float* local = cbuf + (i0 - b0) * 32;
          load_sums(s0 > 0 ? local : t.first ? nullptr : t.acc + i0 * 32, two);
          for (std::size_t ch = s0; ch < s1; ++ch) {
            const std::uint16_t* b = t.panel + 1024 * ch;
            _tile_loadd(6, b, 64);
            _tile_loadd(7, b + 512, 64);
            _tile_loadd(4, a + 1024 * ch, 64);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            if (two) {  // the second 16 activation rows (the branch is the same for the whole loop)
              _tile_loadd(5, a + 1024 * ch + 512, 64);
              _tile_dpbf16ps(2, 5, 6);
              _tile_dpbf16ps(3, 5, 7);
            }
          }
          const bool done = s1 == chunks;  // this K block's sums are complete
          store_sums(done && !t.last ? t.acc + i0 * 32 : local, two);
          if (done && t.last) write_rows(t, local, i0, std::min(t.m1, i0 + 32));
        }
      }
    amx::restore_tiles(before);
  }
};

}  // namespace qlinear::cpu
QLINEAR_X86_KERNELS_END
#endif
