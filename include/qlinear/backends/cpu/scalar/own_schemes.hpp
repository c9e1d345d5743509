#pragma once
// Scalar integer path of qlinear's own schemes (int8, int4 groups): the activation quantizers
// into I8Row / Q8Block<G> and the dot tiles. These are the oracle the SIMD levels are checked
// against: plain integer sums, one float step per row (int8) or per block (int4), written from
// the schemes' dequantize_row formulas:
//   int8:   x̂_w = s·(q − zp)          →  y = row_scale · s · (Σ q·a − zp·Σ a)
//   int4:   x̂_w = d·(u − 8)           →  y = row_scale · Σ_b d_a·d·(Σ u·a − 8·Σ a)
//   int4 affine: x̂_w = d·u + m        →  y = row_scale · Σ_b d_a·(d·Σ u·a + m·Σ a)

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/activation_formats.hpp"
#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/scalar/kernels.hpp"

namespace qlinear::cpu {

namespace detail {
/// The row's largest |x| and whether all of it is finite.
inline float row_amax(const float* x, std::size_t k, bool& finite) {
  float amax = 0.0f;
  finite = true;
  for (std::size_t l = 0; l < k; ++l) {
    const float v = std::fabs(x[l]);
    finite = finite && std::isfinite(v);
    amax = v > amax ? v : amax;
  }
  return amax;
}

/// Stores y(i, j) = (accumulate ? y : 0) + v + bias[j].
inline void store_output(const DotTileArgs& t, std::size_t i, std::size_t j, float v) {
  float* y = t.y + i * t.ldy + j;
  if (t.bias) v += t.bias[j];
  *y = t.accumulate ? *y + v : v;
}
}  // namespace detail

/// Quantizer into I8Row: the row's own scale amax/127 (rows with NaN/Inf, or below 2^-100,
/// go to the exact path as for every format).
template <>
struct QuantizeActivations<I8Row, Isa::scalar> {
  static void rows(const QuantizeActivationArgs& q) {
    for (std::size_t i = q.m0; i < q.m1; ++i) {
      const float* x = q.x + i * q.ldx;
      std::uint8_t* out = q.out + i * q.out_stride;
      bool finite = true;
      const float amax = detail::row_amax(x, q.k, finite);
      const bool exact = !finite || amax < detail::activation_exact_below;
      q.exact[i] = exact ? 1 : 0;
      if (exact) {
        q.row_scale[i] = 1.0f;
        std::memset(out, 0, q.k);
        continue;
      }
      q.row_scale[i] = I8Row::scale_for(amax);
      I8Row::encode(x, q.k, amax, reinterpret_cast<std::int8_t*>(out));
    }
  }
};

/// Quantizer into Q8Block<G>: the row's power-of-two pre-scale, then Q8Block's blocks.
template <int G>
struct QuantizeActivations<Q8Block<G>, Isa::scalar> {
  static void rows(const QuantizeActivationArgs& q) {
    for (std::size_t i = q.m0; i < q.m1; ++i) {
      const float* x = q.x + i * q.ldx;
      std::uint8_t* out = q.out + i * q.out_stride;
      bool finite = true;
      const float amax = detail::row_amax(x, q.k, finite);
      const bool exact = !finite || amax < detail::activation_exact_below;
      q.exact[i] = exact ? 1 : 0;
      if (exact) {
        q.row_scale[i] = 1.0f;
        std::memset(out, 0, row_bytes<Q8Block<G>>(q.k));
        continue;
      }
      const float s = detail::activation_prescale(amax);
      for (std::size_t l = 0; l < q.k; ++l) q.scratch[l] = x[l] * s;
      q.row_scale[i] = 1.0f / s;
      Q8Block<G>::quantize_row(q.scratch, q.k, out, {}, i);
    }
  }
};

/// int8 weights (per tensor or per channel, ± affine) against I8Row activations.
template <bool PerChannel, bool Affine>
struct DotTile<Int8Scheme<PerChannel, Affine>, Isa::scalar> {
  using S = Int8Scheme<PerChannel, Affine>;
  static void tile(const DotTileArgs& t) {
    const auto& p = *static_cast<const Int8Params*>(t.params);
    for (std::size_t i = t.m0; i < t.m1; ++i) {
      const auto* a = reinterpret_cast<const std::int8_t*>(t.a + i * t.a_stride);
      std::int64_t asum = 0;
      for (std::size_t l = 0; l < t.k; ++l) asum += a[l];
      for (std::size_t j = t.n0; j < t.n1; ++j) {
        const auto* w = reinterpret_cast<const std::int8_t*>(t.w + j * t.w_stride);
        std::int64_t dot = 0;
        for (std::size_t l = 0; l < t.k; ++l) dot += std::int32_t(w[l]) * std::int32_t(a[l]);
        dot -= std::int64_t(S::zero_point_of(p, j)) * asum;
        detail::store_output(t, i, j, t.row_scale[i] * (S::scale_of(p, j) * float(dot)));
      }
    }
  }
};

/// Symmetric int4 groups against Q8Block<G> activations of the same G.
template <int G>
struct DotTile<Int4<G>, Isa::scalar> {
  static void tile(const DotTileArgs& t) {
    const std::size_t nb = t.k / G;
    for (std::size_t i = t.m0; i < t.m1; ++i) {
      const std::uint8_t* a = t.a + i * t.a_stride;
      for (std::size_t j = t.n0; j < t.n1; ++j) {
        const std::uint8_t* w = t.w + j * t.w_stride;
        float v = 0.0f;
        for (std::size_t b = 0; b < nb; ++b) {
          typename Int4<G>::Block wb;
          std::memcpy(&wb, w + b * sizeof(wb), sizeof(wb));
          std::int32_t dot = 0;
          for (int l = 0; l < G; ++l) {
            const std::size_t at = b * G + std::size_t(l);
            dot += std::int32_t(nibble_at(wb.qs, l)) * Q8Block<G>::codes(a)[Q8Block<G>::position(at, t.k)];
          }
          dot -= 8 * Q8Block<G>::sum(a, t.k, b);
          v += (wb.d.to_float() * Q8Block<G>::scale(a, t.k, b)) * float(dot);
        }
        detail::store_output(t, i, j, t.row_scale[i] * v);
      }
    }
  }
};

/// Affine int4 groups against Q8Block<G> activations of the same G.
template <int G>
struct DotTile<Int4Affine<G>, Isa::scalar> {
  static void tile(const DotTileArgs& t) {
    const std::size_t nb = t.k / G;
    for (std::size_t i = t.m0; i < t.m1; ++i) {
      const std::uint8_t* a = t.a + i * t.a_stride;
      for (std::size_t j = t.n0; j < t.n1; ++j) {
        const std::uint8_t* w = t.w + j * t.w_stride;
        float v = 0.0f;
        for (std::size_t b = 0; b < nb; ++b) {
          typename Int4Affine<G>::Block wb;
          std::memcpy(&wb, w + b * sizeof(wb), sizeof(wb));
          std::int32_t dot = 0;
          for (int l = 0; l < G; ++l) {
            const std::size_t at = b * G + std::size_t(l);
            dot += std::int32_t(nibble_at(wb.qs, l)) * Q8Block<G>::codes(a)[Q8Block<G>::position(at, t.k)];
          }
          const float da = Q8Block<G>::scale(a, t.k, b);
          v += da * (wb.d.to_float() * float(dot) + wb.m.to_float() * float(Q8Block<G>::sum(a, t.k, b)));
        }
        detail::store_output(t, i, j, t.row_scale[i] * v);
      }
    }
  }
};

}  // namespace qlinear::cpu
