#pragma once
// Bodies of the kernels that prepare the tensor-core path, host-compilable. The tensor cores
// multiply f16 tiles; to keep f16's range from clipping (|x| > 65504) or flushing (tiny
// weights) anything, every activation row and every weight row is stored as f16 × 2^e with
// its own power-of-two exponent e (f16_row_exponent), and the epilogue multiplies by
// 2^(e_x + e_w) exactly. One warp handles one row in both kernels.

#include <cstddef>
#include <cstdint>

#include "qlinear/backends/cuda/codec.hpp"
#include "qlinear/backends/cuda/layout.hpp"
#include "qlinear/backends/cuda/portable.hpp"

namespace qlinear::cuda {

/// Activation rows as f16 with per-row exponents: x16[i, k] = f16(x[i, k] · 2^−e_i), zero for
/// k in [cols, x16_stride) (whole tiles need no masking of K).
struct ConvertArgs {
  const float* x = nullptr;
  std::size_t x_stride = 0;
  std::size_t rows = 0, cols = 0;
  std::uint16_t* x16 = nullptr;
  std::size_t x16_stride = 0;  ///< halves per row: cols rounded up to the tile's K
  int* x_exp = nullptr;
};

/// Lane `lane`'s largest |x| of row `row` (NaN ignored).
QLINEAR_HD float convert_lane_max(const ConvertArgs& a, std::size_t row, int lane) {
  const float* x = a.x + row * a.x_stride;
  float m = 0.0f;
  for (std::size_t k = std::size_t(lane); k < a.cols; k += warp_size) m = max_abs(m, load_f32(x + k));
  return m;
}

/// Lane `lane`'s share of writing row `row` given the row's largest magnitude.
QLINEAR_HD void convert_lane_write(const ConvertArgs& a, std::size_t row, int lane, float row_max) {
  const int e = f16_row_exponent(row_max);
  const float inv = pow2(-e);
  const float* x = a.x + row * a.x_stride;
  std::uint16_t* out = a.x16 + row * a.x16_stride;
  for (std::size_t k = std::size_t(lane); k < a.x16_stride; k += warp_size)
    out[k] = std::uint16_t(k < a.cols ? float_to_half_bits(load_f32(x + k) * inv) : 0u);
  if (lane == 0) a.x_exp[row] = e;
}

/// Lane `lane`'s largest |weight| of row `row` of a device tensor (padding excluded, NaN ignored).
template <class S>
QLINEAR_HD float weight_lane_max(const TensorRef& w, std::size_t row, int lane, const float* table) {
  using C = Codec<S>;
  const RowRef r = w.row(row);
  float m = 0.0f;
  for (int c = lane; c < w.chunks; c += warp_size) {
    ChunkCodes codes;
    C::decode(C::load(r, c), table, codes);
    const std::size_t k0 = std::size_t(c) * chunk_weights;
    QLINEAR_UNROLL
    for (int e = 0; e < chunk_weights; ++e) {
      const float value = codes.a[e / 16] * codes.v[e] + codes.b[e / 16];
      if (k0 + std::size_t(e) < w.cols) m = max_abs(m, value);
    }
  }
  return m;
}

/// The larger of two partial maxima (both non-negative, never NaN).
QLINEAR_HD float max_combine(float a, float b) { return b > a ? b : a; }

}  // namespace qlinear::cuda
