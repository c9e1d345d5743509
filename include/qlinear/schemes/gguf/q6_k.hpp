#pragma once
// GGUF Q6_K: 256-weight super-blocks of sixteen 16-weight blocks, 6-bit quants, int8 block
// scales under one f16 scale (6.5625 bits per weight).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qlinear/schemes/gguf/common.hpp"
#include "qlinear/schemes/gguf/q8_k.hpp"
#include "qlinear/schemes/gguf/quantize_helpers.hpp"

namespace qlinear {

/// GGUF Q6_K scheme: x = d · sc[j/16] · (q - 32), q in [0, 63] (low 4 bits in ql, high 2 in qh).
/// Usage: `QuantizedTensor<Q6_K>::quantize(w, n, k)`
struct Q6_K : gguf::BlockRows<Q6_K> {
  using Block = gguf::BlockQ6_K;
  using ActivationScheme = Q8_K;
  static constexpr SchemeId id = SchemeId::q6_K;
  static constexpr std::string_view name = "q6_K";
  static constexpr std::size_t block_elems = gguf::QK_K;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// ggml's quantize_row_q6_K_ref for one super-block.
  static void quantize_block(const float* x, Block& b) {
    constexpr int QK_K = gguf::QK_K;
    std::int8_t L[QK_K];
    float scales[QK_K / 16];
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < QK_K / 16; ++ib) {
      const float scale = gguf::make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1);
      scales[ib] = scale;
      const float abs_scale = std::fabs(scale);
      if (abs_scale > max_abs_scale) {
        max_abs_scale = abs_scale;
        max_scale = scale;
      }
    }
    if (max_abs_scale < gguf::GROUP_MAX_EPS) {
      b = Block{};
      b.d = f16::from_float(0.f);
      return;
    }
    const float iscale = -128.f / max_scale;
    b.d = f16::from_float(1 / iscale);
    for (int ib = 0; ib < QK_K / 16; ++ib) {
      const int l = gguf::nearest_int(iscale * scales[ib]);
      b.scales[ib] = std::int8_t(l < 127 ? l : 127);
    }
    for (int j = 0; j < QK_K / 16; ++j) {
      const float d = b.d.to_float() * float(b.scales[j]);
      if (d == 0.f) continue;
      for (int ii = 0; ii < 16; ++ii) {
        int l = gguf::nearest_int(x[16 * j + ii] / d);
        l = std::max(-32, std::min(31, l));
        L[16 * j + ii] = std::int8_t(l + 32);
      }
    }
    std::uint8_t* ql = b.ql;
    std::uint8_t* qh = b.qh;
    for (int j = 0; j < QK_K; j += 128) {
      for (int l = 0; l < 32; ++l) {
        const std::uint8_t q1 = L[j + l + 0] & 0xF;
        const std::uint8_t q2 = L[j + l + 32] & 0xF;
        const std::uint8_t q3 = L[j + l + 64] & 0xF;
        const std::uint8_t q4 = L[j + l + 96] & 0xF;
        ql[l + 0] = std::uint8_t(q1 | (q3 << 4));
        ql[l + 32] = std::uint8_t(q2 | (q4 << 4));
        qh[l] = std::uint8_t((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                             ((L[j + l + 96] >> 4) << 6));
      }
      ql += 64;
      qh += 32;
    }
  }
  /// ggml's dequantize_row_q6_K for one super-block: d · sc · q, left to right.
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const float d = b.d.to_float();
    const std::uint8_t* ql = b.ql;
    const std::uint8_t* qh = b.qh;
    const std::int8_t* sc = b.scales;
    for (int n = 0; n < gguf::QK_K; n += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = int(std::int8_t((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4))) - 32;
        const int q2 = int(std::int8_t((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4))) - 32;
        const int q3 = int(std::int8_t((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4))) - 32;
        const int q4 = int(std::int8_t((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4))) - 32;
        y[l + 0] = d * float(sc[is + 0]) * float(q1);
        y[l + 32] = d * float(sc[is + 2]) * float(q2);
        y[l + 64] = d * float(sc[is + 4]) * float(q3);
        y[l + 96] = d * float(sc[is + 6]) * float(q4);
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }

  /// ggml_vec_dot_q6_K_q8_K_generic: integer sums per 16-weight block into eight lanes,
  /// scaled by d·d8 per super-block, lanes summed last.
  static float vec_dot(std::size_t k, const std::uint8_t* w_row, const std::uint8_t* a_row) {
    const std::size_t nb = blocks_in_row(k);
    float sums[8] = {};
    for (std::size_t i = 0; i < nb; ++i) {
      const Block x = load_block(w_row, i);
      const Q8_K::Block y = Q8_K::load_block(a_row, i);
      std::int8_t aux8[gguf::QK_K];
      std::int32_t aux32[8] = {};
      const std::uint8_t* q4 = x.ql;
      const std::uint8_t* qh = x.qh;
      std::int8_t* a = aux8;
      for (int j = 0; j < gguf::QK_K; j += 128) {
        for (int l = 0; l < 32; ++l) {
          a[l + 0] = std::int8_t(((q4[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
          a[l + 32] = std::int8_t(((q4[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
          a[l + 64] = std::int8_t(((q4[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
          a[l + 96] = std::int8_t(((q4[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
        a += 128;
        q4 += 64;
        qh += 32;
      }
      a = aux8;
      const std::int8_t* q8 = y.qs;
      for (int j = 0; j < gguf::QK_K / 16; ++j) {
        const int scale = x.scales[j];
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
static_assert(Scheme<Q6_K>);

}  // namespace qlinear
