#pragma once
// GGUF Q4_K: 256-weight super-blocks of eight 32-weight blocks, 4-bit quants, 6-bit block
// scales and mins under two f16 scales (4.5 bits per weight).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qlinear/schemes/gguf/common.hpp"
#include "qlinear/schemes/gguf/q8_k.hpp"
#include "qlinear/schemes/gguf/quantize_helpers.hpp"

namespace qlinear {

namespace gguf {
/// Packs eight 6-bit scales and mins into the 12 bytes Q4_K and Q5_K share (the inverse of
/// get_scale_min_k4), as ggml's reference quantizers do.
inline void pack_scale_min_k4(const float* scales, const float* mins, float max_scale, float max_min,
                              std::uint8_t* out) {
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < QK_K / 32; ++j) {
    std::uint8_t ls = std::uint8_t(nearest_int(inv_scale * scales[j]));
    std::uint8_t lm = std::uint8_t(nearest_int(inv_min * mins[j]));
    ls = std::min<std::uint8_t>(63, ls);
    lm = std::min<std::uint8_t>(63, lm);
    if (j < 4) {
      out[j] = ls;
      out[j + 4] = lm;
    } else {
      out[j + 4] = std::uint8_t((ls & 0xF) | ((lm & 0xF) << 4));
      out[j - 4] = std::uint8_t(out[j - 4] | ((ls >> 4) << 6));
      out[j - 0] = std::uint8_t(out[j - 0] | ((lm >> 4) << 6));
    }
  }
}

/// The per-32 search Q4_K and Q5_K share: weights av_x + |x| (av_x the block's RMS), then
/// make_qkx2_quants with that format's nmax and search grid.
inline void qkx2_blocks_of_32(const float* x, int nmax, float rmin, float rdelta, int nstep, std::uint8_t* L,
                              float* scales, float* mins, float& max_scale, float& max_min) {
  std::uint8_t Laux[32];
  float weights[32];
  max_scale = 0;
  max_min = 0;
  for (int j = 0; j < QK_K / 32; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, rdelta, nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
}

/// Final levels of a Q4_K / Q5_K super-block from the stored (rounded) scales: L = round((x + dm) / d)
/// clamped to [0, nmax]; blocks whose scale rounds to 0 keep the search's levels.
inline void requantize_k4(const float* x, const std::uint8_t* packed, f16 d16, f16 dmin16, int nmax, std::uint8_t* L) {
  for (int j = 0; j < QK_K / 32; ++j) {
    std::uint8_t sc = 0, m = 0;
    get_scale_min_k4(j, packed, sc, m);
    const float d = d16.to_float() * float(sc);
    if (d == 0.f) continue;
    const float dm = dmin16.to_float() * float(m);
    for (int ii = 0; ii < 32; ++ii) {
      int l = nearest_int((x[32 * j + ii] + dm) / d);
      l = std::max(0, std::min(nmax, l));
      L[32 * j + ii] = std::uint8_t(l);
    }
  }
}
}  // namespace gguf

/// GGUF Q4_K scheme: x = d · sc · q - dmin · m, q in [0, 15], per 32-weight block (sc, m) 6-bit;
/// each 32-byte group of qs holds 64 weights: the first 32 in the low nibbles.
/// Usage: `QuantizedTensor<Q4_K>::quantize(w, n, k)`
struct Q4_K : gguf::BlockRows<Q4_K> {
  using Block = gguf::BlockQ4_K;
  using ActivationScheme = Q8_K;
  static constexpr SchemeId id = SchemeId::q4_K;
  static constexpr std::string_view name = "q4_K";
  static constexpr std::size_t block_elems = gguf::QK_K;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// ggml's quantize_row_q4_K_ref for one super-block.
  static void quantize_block(const float* x, Block& b) {
    constexpr int QK_K = gguf::QK_K;
    std::uint8_t L[QK_K];
    float mins[QK_K / 32], scales[QK_K / 32];
    float max_scale = 0, max_min = 0;
    gguf::qkx2_blocks_of_32(x, 15, -1.f, 0.1f, 20, L, scales, mins, max_scale, max_min);
    for (auto& s : b.scales) s = 0;
    gguf::pack_scale_min_k4(scales, mins, max_scale, max_min, b.scales);
    b.d = f16::from_float(max_scale / 63.f);
    b.dmin = f16::from_float(max_min / 63.f);
    gguf::requantize_k4(x, b.scales, b.d, b.dmin, 15, L);
    std::uint8_t* q = b.qs;
    for (int j = 0; j < QK_K; j += 64) {
      for (int l = 0; l < 32; ++l) q[l] = std::uint8_t(L[j + l] | (L[j + l + 32] << 4));
      q += 32;
    }
  }
  /// ggml's dequantize_row_q4_K for one super-block.
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const std::uint8_t* q = b.qs;
    const float d = b.d.to_float();
    const float min = b.dmin.to_float();
    int is = 0;
    std::uint8_t sc = 0, m = 0;
    for (int j = 0; j < gguf::QK_K; j += 64) {
      gguf::get_scale_min_k4(is + 0, b.scales, sc, m);
      const float d1 = d * float(sc), m1 = min * float(m);
      gguf::get_scale_min_k4(is + 1, b.scales, sc, m);
      const float d2 = d * float(sc), m2 = min * float(m);
      for (int l = 0; l < 32; ++l) *y++ = d1 * float(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * float(q[l] >> 4) - m2;
      q += 32;
      is += 2;
    }
  }

  /// ggml_vec_dot_q4_K_q8_K_generic: integer sums per 32-weight block into eight lanes, the
  /// mins through the activation's bsums, scaled per super-block, lanes summed last.
  static float vec_dot(std::size_t k, const std::uint8_t* w_row, const std::uint8_t* a_row) {
    const std::size_t nb = blocks_in_row(k);
    float sums[8] = {};
    float sumf = 0;
    for (std::size_t i = 0; i < nb; ++i) {
      const Block x = load_block(w_row, i);
      const Q8_K::Block y = Q8_K::load_block(a_row, i);
      std::int8_t aux8[gguf::QK_K];
      std::int32_t aux32[8] = {};
      const std::uint8_t* q4 = x.qs;
      std::int8_t* a = aux8;
      for (int j = 0; j < gguf::QK_K / 64; ++j) {
        for (int l = 0; l < 32; ++l) a[l] = std::int8_t(q4[l] & 0xF);
        a += 32;
        for (int l = 0; l < 32; ++l) a[l] = std::int8_t(q4[l] >> 4);
        a += 32;
        q4 += 32;
      }
      std::uint8_t scales[8], mins[8];
      for (int j = 0; j < 8; ++j) gguf::get_scale_min_k4(j, x.scales, scales[j], mins[j]);
      int sumi = 0;
      for (int j = 0; j < gguf::QK_K / 16; ++j) sumi += y.bsums[j] * mins[j / 2];
      a = aux8;
      const std::int8_t* q8 = y.qs;
      for (int j = 0; j < gguf::QK_K / 32; ++j) {
        const int scale = scales[j];
        for (int l = 0; l < 32; ++l) aux32[l % 8] += scale * (int(q8[l]) * int(a[l]));
        q8 += 32;
        a += 32;
      }
      const float d = x.d.to_float() * y.d;
      for (int l = 0; l < 8; ++l) sums[l] += d * float(aux32[l]);
      const float dmin = x.dmin.to_float() * y.d;
      sumf -= dmin * float(sumi);
    }
    for (int l = 0; l < 8; ++l) sumf += sums[l];
    return sumf;
  }
};
static_assert(Scheme<Q4_K>);

}  // namespace qlinear
