#pragma once
// GGUF Q5_K: 256-weight super-blocks of eight 32-weight blocks, 5-bit quants (4 low bits in qs,
// the fifth in qh), 6-bit block scales and mins under two f16 scales (5.5 bits per weight).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qlinear/schemes/gguf/common.hpp"
#include "qlinear/schemes/gguf/q4_k.hpp"
#include "qlinear/schemes/gguf/q8_k.hpp"
#include "qlinear/schemes/gguf/quantize_helpers.hpp"

namespace qlinear {

/// GGUF Q5_K scheme: x = d · sc · q - dmin · m, q in [0, 31]; nibbles as Q4_K, and bit 2i
/// (2i+1) of qh[l] is the fifth bit of the low (high) nibble of byte l in 32-byte group i.
/// Usage: `QuantizedTensor<Q5_K>::quantize(w, n, k)`
struct Q5_K : gguf::BlockRows<Q5_K> {
  using Block = gguf::BlockQ5_K;
  using ActivationScheme = Q8_K;
  static constexpr SchemeId id = SchemeId::q5_K;
  static constexpr std::string_view name = "q5_K";
  static constexpr std::size_t block_elems = gguf::QK_K;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// ggml's quantize_row_q5_K_ref for one super-block.
  static void quantize_block(const float* x, Block& b) {
    constexpr int QK_K = gguf::QK_K;
    std::uint8_t L[QK_K];
    float mins[QK_K / 32], scales[QK_K / 32];
    float max_scale = 0, max_min = 0;
    gguf::qkx2_blocks_of_32(x, 31, -0.5f, 0.1f, 15, L, scales, mins, max_scale, max_min);
    for (auto& s : b.scales) s = 0;
    gguf::pack_scale_min_k4(scales, mins, max_scale, max_min, b.scales);
    b.d = f16::from_float(max_scale / 63.f);
    b.dmin = f16::from_float(max_min / 63.f);
    gguf::requantize_k4(x, b.scales, b.d, b.dmin, 31, L);
    std::uint8_t* qh = b.qh;
    std::uint8_t* ql = b.qs;
    for (auto& h : b.qh) h = 0;
    std::uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < QK_K; n += 64) {
      for (int j = 0; j < 32; ++j) {
        int l1 = L[n + j];
        if (l1 > 15) {
          l1 -= 16;
          qh[j] = std::uint8_t(qh[j] | m1);
        }
        int l2 = L[n + j + 32];
        if (l2 > 15) {
          l2 -= 16;
          qh[j] = std::uint8_t(qh[j] | m2);
        }
        ql[j] = std::uint8_t(l1 | (l2 << 4));
      }
      m1 = std::uint8_t(m1 << 2);
      m2 = std::uint8_t(m2 << 2);
      ql += 32;
    }
  }
  /// ggml's dequantize_row_q5_K for one super-block.
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const std::uint8_t* ql = b.qs;
    const std::uint8_t* qh = b.qh;
    const float d = b.d.to_float();
    const float min = b.dmin.to_float();
    int is = 0;
    std::uint8_t sc = 0, m = 0;
    std::uint8_t u1 = 1, u2 = 2;
    for (int j = 0; j < gguf::QK_K; j += 64) {
      gguf::get_scale_min_k4(is + 0, b.scales, sc, m);
      const float d1 = d * float(sc), m1 = min * float(m);
      gguf::get_scale_min_k4(is + 1, b.scales, sc, m);
      const float d2 = d * float(sc), m2 = min * float(m);
      for (int l = 0; l < 32; ++l) *y++ = d1 * float((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * float((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
      ql += 32;
      is += 2;
      u1 = std::uint8_t(u1 << 2);
      u2 = std::uint8_t(u2 << 2);
    }
  }

  /// ggml_vec_dot_q5_K_q8_K_generic: as Q4_K's, with the fifth bit added to each level.
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
      std::uint8_t m = 1;
      for (int j = 0; j < gguf::QK_K / 64; ++j) {
        for (int l = 0; l < 32; ++l) a[l] = std::int8_t((q4[l] & 0xF) + (x.qh[l] & m ? 16 : 0));
        a += 32;
        m = std::uint8_t(m << 1);
        for (int l = 0; l < 32; ++l) a[l] = std::int8_t((q4[l] >> 4) + (x.qh[l] & m ? 16 : 0));
        a += 32;
        m = std::uint8_t(m << 1);
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
static_assert(Scheme<Q5_K>);

}  // namespace qlinear
