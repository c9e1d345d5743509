#pragma once
// GGUF Q3_K: 256-weight super-blocks of sixteen 16-weight blocks, 3-bit quants (2 low bits in
// qs, the high bit in hmask), 6-bit block scales under one f16 scale (3.4375 bits per weight).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qlinear/schemes/gguf/common.hpp"
#include "qlinear/schemes/gguf/q8_k.hpp"
#include "qlinear/schemes/gguf/quantize_helpers.hpp"

namespace qlinear {

/// GGUF Q3_K scheme: x = d · (sc - 32) · (q - 4), q in [0, 7]; a set hmask bit means +4.
/// Usage: `QuantizedTensor<Q3_K>::quantize(w, n, k)`
struct Q3_K : gguf::BlockRows<Q3_K> {
  using Block = gguf::BlockQ3_K;
  using ActivationScheme = Q8_K;
  static constexpr SchemeId id = SchemeId::q3_K;
  static constexpr std::string_view name = "q3_K";
  static constexpr std::size_t block_elems = gguf::QK_K;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// ggml's quantize_row_q3_K_ref for one super-block.
  static void quantize_block(const float* x, Block& b) {
    constexpr int QK_K = gguf::QK_K;
    std::int8_t L[QK_K];
    float scales[QK_K / 16];
    float max_scale = 0, amax = 0;
    for (int j = 0; j < QK_K / 16; ++j) {
      scales[j] = gguf::make_q3_quants(16, 4, x + 16 * j, L + 16 * j, true);
      const float scale = std::fabs(scales[j]);
      if (scale > amax) {
        amax = scale;
        max_scale = scales[j];
      }
    }
    for (auto& s : b.scales) s = 0;
    if (max_scale != 0.f) {
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < QK_K / 16; ++j) {
        std::int8_t l = std::int8_t(gguf::nearest_int(iscale * scales[j]));
        l = std::int8_t(std::max<int>(-32, std::min<int>(31, l)) + 32);
        if (j < 8)
          b.scales[j] = std::uint8_t(l & 0xF);
        else
          b.scales[j - 8] = std::uint8_t(b.scales[j - 8] | ((l & 0xF) << 4));
        l = std::int8_t(l >> 4);
        b.scales[j % 4 + 8] = std::uint8_t(b.scales[j % 4 + 8] | (l << (2 * (j / 4))));
      }
      b.d = f16::from_float(1 / iscale);
    } else {
      b.d = f16::from_float(0.f);
    }
    for (int j = 0; j < QK_K / 16; ++j) {
      const int sc = gguf::q3_k_scale(j, b.scales) - 32;
      const float d = b.d.to_float() * float(sc);
      if (d == 0.f) continue;
      for (int ii = 0; ii < 16; ++ii) {
        int l = gguf::nearest_int(x[16 * j + ii] / d);
        l = std::max(-4, std::min(3, l));
        L[16 * j + ii] = std::int8_t(l + 4);
      }
    }
    for (auto& h : b.hmask) h = 0;
    int m = 0;
    std::uint8_t hm = 1;
    for (int j = 0; j < QK_K; ++j) {
      if (L[j] > 3) {
        b.hmask[m] = std::uint8_t(b.hmask[m] | hm);
        L[j] = std::int8_t(L[j] - 4);
      }
      if (++m == QK_K / 8) {
        m = 0;
        hm = std::uint8_t(hm << 1);
      }
    }
    for (int j = 0; j < QK_K; j += 128)
      for (int l = 0; l < 32; ++l)
        b.qs[j / 4 + l] =
            std::uint8_t(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
  }
  /// ggml's dequantize_row_q3_K for one super-block.
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const float d_all = b.d.to_float();
    const std::uint8_t* q = b.qs;
    const std::uint8_t* hm = b.hmask;
    std::uint8_t m = 1;
    int is = 0;
    for (int n = 0; n < gguf::QK_K; n += 128) {
      int shift = 0;
      for (int j = 0; j < 4; ++j) {
        float dl = d_all * float(gguf::q3_k_scale(is++, b.scales) - 32);
        for (int l = 0; l < 16; ++l) *y++ = dl * float(((q[l + 0] >> shift) & 3) - ((hm[l + 0] & m) ? 0 : 4));
        dl = d_all * float(gguf::q3_k_scale(is++, b.scales) - 32);
        for (int l = 0; l < 16; ++l) *y++ = dl * float(((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
        shift += 2;
        m = std::uint8_t(m << 1);
      }
      q += 32;
    }
  }

  /// ggml_vec_dot_q3_K_q8_K_generic: integer sums per 16-weight block into eight lanes,
  /// scaled by d·d8 per super-block, lanes summed last.
  static float vec_dot(std::size_t k, const std::uint8_t* w_row, const std::uint8_t* a_row) {
    const std::size_t nb = blocks_in_row(k);
    float sums[8] = {};
    for (std::size_t i = 0; i < nb; ++i) {
      const Block x = load_block(w_row, i);
      const Q8_K::Block y = Q8_K::load_block(a_row, i);
      std::int8_t aux8[gguf::QK_K];
      std::int32_t aux32[8] = {};
      const std::uint8_t* q3 = x.qs;
      std::int8_t* a = aux8;
      std::uint8_t m = 1;
      for (int j = 0; j < gguf::QK_K; j += 128) {
        for (int shift = 0; shift < 8; shift += 2) {
          for (int l = 0; l < 32; ++l)
            a[l] = std::int8_t(((q3[l] >> shift) & 3) - ((x.hmask[l] & m) ? 0 : 4));
          a += 32;
          m = std::uint8_t(m << 1);
        }
        q3 += 32;
      }
      a = aux8;
      const std::int8_t* q8 = y.qs;
      for (int j = 0; j < gguf::QK_K / 16; ++j) {
        const int scale = gguf::q3_k_scale(j, x.scales) - 32;
        for (int l = 0; l < 16; ++l) aux32[l % 8] += scale * (int(q8[l]) * int(a[l]));
        q8 += 16;
        a += 16;
      }
      const float d = x.d.to_float() * y.d;
      for (int l = 0; l < 8; ++l) sums[l] += d * float(aux32[l]);
    }
    float sumf = 0;
    for (int l = 0; l < 8; ++l) sumf += sums[l];
    return sumf;
  }
};
static_assert(Scheme<Q3_K>);

}  // namespace qlinear
