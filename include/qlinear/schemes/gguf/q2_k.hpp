#pragma once
// GGUF Q2_K: 256-weight super-blocks of sixteen 16-weight blocks, 2-bit quants, 4-bit block
// scales and mins under two f16 scales (2.625 bits per weight).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qlinear/schemes/gguf/common.hpp"
#include "qlinear/schemes/gguf/q8_k.hpp"
#include "qlinear/schemes/gguf/quantize_helpers.hpp"

namespace qlinear {

/// GGUF Q2_K scheme: x = d · (sc & 15) · q - dmin · (sc >> 4), q in [0, 3]; byte l of each
/// 32-byte group holds elements l, l+32, l+64, l+96 of its 128 (two bits each, low first).
/// Usage: `QuantizedTensor<Q2_K>::quantize(w, n, k)`
struct Q2_K : gguf::BlockRows<Q2_K> {
  using Block = gguf::BlockQ2_K;
  using ActivationScheme = Q8_K;
  static constexpr SchemeId id = SchemeId::q2_K;
  static constexpr std::string_view name = "q2_K";
  static constexpr std::size_t block_elems = gguf::QK_K;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// ggml's quantize_row_q2_K_ref for one super-block.
  static void quantize_block(const float* x, Block& b) {
    constexpr int QK_K = gguf::QK_K;
    std::uint8_t L[QK_K];
    std::uint8_t Laux[16];
    float weights[16];
    float mins[QK_K / 16];
    float scales[QK_K / 16];
    const float q4scale = 15.f;
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = gguf::make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
      const float iscale = q4scale / max_scale;
      for (int j = 0; j < QK_K / 16; ++j) b.scales[j] = std::uint8_t(gguf::nearest_int(iscale * scales[j]));
      b.d = f16::from_float(max_scale / q4scale);
    } else {
      for (int j = 0; j < QK_K / 16; ++j) b.scales[j] = 0;
      b.d = f16::from_float(0.f);
    }
    if (max_min > 0) {
      const float iscale = q4scale / max_min;
      for (int j = 0; j < QK_K / 16; ++j) {
        const int l = gguf::nearest_int(iscale * mins[j]);
        b.scales[j] = std::uint8_t(b.scales[j] | (l << 4));
      }
      b.dmin = f16::from_float(max_min / q4scale);
    } else {
      b.dmin = f16::from_float(0.f);
    }
    for (int j = 0; j < QK_K / 16; ++j) {
      const float d = b.d.to_float() * float(b.scales[j] & 0xF);
      if (d == 0.f) continue;
      const float dm = b.dmin.to_float() * float(b.scales[j] >> 4);
      for (int ii = 0; ii < 16; ++ii) {
        int l = gguf::nearest_int((x[16 * j + ii] + dm) / d);
        l = std::max(0, std::min(3, l));
        L[16 * j + ii] = std::uint8_t(l);
      }
    }
    for (int j = 0; j < QK_K; j += 128)
      for (int l = 0; l < 32; ++l)
        b.qs[j / 4 + l] =
            std::uint8_t(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
  }
  /// ggml's dequantize_row_q2_K for one super-block.
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const float d = b.d.to_float();
    const float min = b.dmin.to_float();
    const std::uint8_t* q = b.qs;
    int is = 0;
    for (int n = 0; n < gguf::QK_K; n += 128) {
      int shift = 0;
      for (int j = 0; j < 4; ++j) {
        std::uint8_t sc = b.scales[is++];
        float dl = d * float(sc & 0xF), ml = min * float(sc >> 4);
        for (int l = 0; l < 16; ++l) *y++ = dl * float((q[l] >> shift) & 3) - ml;
        sc = b.scales[is++];
        dl = d * float(sc & 0xF);
        ml = min * float(sc >> 4);
        for (int l = 0; l < 16; ++l) *y++ = dl * float((q[l + 16] >> shift) & 3) - ml;
        shift += 2;
      }
      q += 32;
    }
  }

  /// ggml_vec_dot_q2_K_q8_K_generic: w_row in Q2_K, a_row in Q8_K; the mins enter through the
  /// activation's bsums.
  static float vec_dot(std::size_t k, const std::uint8_t* w_row, const std::uint8_t* a_row) {
    const std::size_t nb = blocks_in_row(k);
    float sumf = 0;
    for (std::size_t i = 0; i < nb; ++i) {
      const Block x = load_block(w_row, i);
      const Q8_K::Block y = Q8_K::load_block(a_row, i);
      const std::uint8_t* q2 = x.qs;
      const std::int8_t* q8 = y.qs;
      const std::uint8_t* sc = x.scales;
      int summs = 0;
      for (int j = 0; j < 16; ++j) summs += y.bsums[j] * (sc[j] >> 4);
      const float dall = y.d * x.d.to_float();
      const float dmin = y.d * x.dmin.to_float();
      int isum = 0, is = 0;
      for (int kk = 0; kk < gguf::QK_K / 128; ++kk) {
        int shift = 0;
        for (int j = 0; j < 4; ++j) {
          int d = sc[is++] & 0xF;
          int isuml = 0;
          for (int l = 0; l < 16; ++l) isuml += q8[l] * ((q2[l] >> shift) & 3);
          isum += d * isuml;
          d = sc[is++] & 0xF;
          isuml = 0;
          for (int l = 16; l < 32; ++l) isuml += q8[l] * ((q2[l] >> shift) & 3);
          isum += d * isuml;
          shift += 2;
          q8 += 32;
        }
        q2 += 32;
      }
      sumf += dall * float(isum) - dmin * float(summs);
    }
    return sumf;
  }
};
static_assert(Scheme<Q2_K>);

}  // namespace qlinear
