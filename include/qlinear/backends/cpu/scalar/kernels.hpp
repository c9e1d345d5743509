#pragma once
// Scalar kernels of cpu::Backend: plain C++ for every scheme. They are the level every other
// ISA is tested against (the integer path's scalar tile is the scheme's own ggml-exact vec_dot)
// and what runs on a processor without any SIMD level qlinear knows.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/schemes/gguf/all.hpp"

namespace qlinear::cpu {

namespace detail {
/// Rows whose largest magnitude is below this go to the exact path (see QuantizeActivationArgs).
inline constexpr float activation_exact_below = 0x1p-100f;
/// 2^e with e chosen so that amax · 2^e lies in [2^9, 2^10) (1 for amax == 0); see QuantizeActivationArgs.
inline float activation_prescale(float amax) {
  if (amax == 0.0f) return 1.0f;
  int e = 0;
  std::frexp(amax, &e);  // amax = f · 2^e, f in [0.5, 1)
  return std::ldexp(1.0f, 10 - e);
}
}  // namespace detail

/// Integer-path tile for every scheme with a vec_dot (the GGUF weight formats): one vec_dot per
/// (activation row, weight row), exactly ggml's generic kernels.
template <class S>
  requires requires(std::size_t k, const std::uint8_t* p) {
    { S::vec_dot(k, p, p) } -> std::convertible_to<float>;
  }
struct DotTile<S, Isa::scalar> {
  static void tile(const DotTileArgs& t) {
    for (std::size_t i = t.m0; i < t.m1; ++i) {
      const std::uint8_t* a = t.a + i * t.a_stride;
      float* y = t.y + i * t.ldy;
      for (std::size_t j = t.n0; j < t.n1; ++j) {
        float v = t.row_scale[i] * S::vec_dot(t.k, t.w + j * t.w_stride, a);
        if (t.bias) v += t.bias[j];
        y[j] = t.accumulate ? y[j] + v : v;
      }
    }
  }
};

/// Activation quantizer into a GGUF activation format A (Q8_0, Q8_1, Q8_K): the scheme's own
/// reference quantize_row on the pre-scaled row.
template <class A>
  requires(std::same_as<A, Q8_0> || std::same_as<A, Q8_1> || std::same_as<A, Q8_K>)
struct QuantizeActivations<A, Isa::scalar> {
  static void rows(const QuantizeActivationArgs& q) {
    for (std::size_t i = q.m0; i < q.m1; ++i) {
      const float* x = q.x + i * q.ldx;
      float amax = 0.0f;
      bool finite = true;
      for (std::size_t l = 0; l < q.k; ++l) {
        const float v = std::fabs(x[l]);
        finite = finite && std::isfinite(v);
        amax = v > amax ? v : amax;
      }
      const bool exact = !finite || amax < detail::activation_exact_below;
      q.exact[i] = exact ? 1 : 0;
      if (exact) {
        q.row_scale[i] = 1.0f;
        std::memset(q.out + i * q.out_stride, 0, row_bytes<A>(q.k));
        continue;
      }
      const float s = detail::activation_prescale(amax);
      for (std::size_t l = 0; l < q.k; ++l) q.scratch[l] = x[l] * s;
      q.row_scale[i] = 1.0f / s;
      A::quantize_row(q.scratch, q.k, q.out + i * q.out_stride, {}, i);
    }
  }
};

/// Weight rows to f32 for every scheme: its reference dequantize_row.
template <Scheme S>
struct DequantizeRows<S, Isa::scalar> {
  static void rows(const std::uint8_t* src, std::size_t stride, std::size_t count, std::size_t k, float* out,
                   const void* params, std::size_t first_row) {
    const auto& p = *static_cast<const typename S::TensorParams*>(params);
    for (std::size_t r = 0; r < count; ++r) S::dequantize_row(src + r * stride, k, out + r * k, p, first_row + r);
  }
};

/// Exact-path tile: plain dot products in f32 with eight partial sums (the order the SIMD
/// levels use, so their results are close to this one's).
template <>
struct F32Tile<Isa::scalar> {
  static void tile(const F32TileArgs& t) {
    for (std::size_t i = t.m0; i < t.m1; ++i) {
      const float* x = t.x + i * t.ldx;
      float* y = t.y + i * t.ldy;
      for (std::size_t j = 0; j < t.n; ++j) {
        const float* w = t.panel + j * t.k;
        float acc[8] = {};
        std::size_t l = 0;
        for (; l + 8 <= t.k; l += 8)
          for (int u = 0; u < 8; ++u) acc[u] += x[l + u] * w[l + u];
        for (; l < t.k; ++l) acc[0] += x[l] * w[l];
        float v = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        if (t.bias) v += t.bias[j];
        y[j] = t.accumulate ? y[j] + v : v;
      }
    }
  }
};

}  // namespace qlinear::cpu
