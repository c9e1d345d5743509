#pragma once
// The decode kernel's body (small M), host-compilable: one warp owns `rows_per_warp` output
// features and runs over K with its 32 lanes, each lane taking every 32nd chunk, so a warp's
// loads of a chunk column are consecutive 16-byte (4-bit formats) or 32-byte words and every
// weight byte is read once per call. Weights are decoded in registers to codes (v, a, b), the
// dot products run in f32 over up to MR activation rows at once, and the per-lane partial sums
// are added across the warp (a shuffle butterfly on the GPU, the same butterfly in the CPU
// emulation) before lane 0 applies the epilogue.

#include <cstddef>
#include <cstdint>

#include "qlinear/backends/cuda/codec.hpp"
#include "qlinear/backends/cuda/layout.hpp"
#include "qlinear/backends/cuda/portable.hpp"

namespace qlinear::cuda {

/// What one launch of the decode kernel computes: y[i, n] (+)= Σ_k x[i, k] · w[n, k] + bias[n]
/// for the m (≤ MR) rows of x given. Pointers are device pointers (host ones in emulation).
struct GemvArgs {
  TensorRef w;
  const float* x = nullptr;
  std::size_t x_stride = 0;
  bool x_vec = false;  ///< x rows 16-byte aligned: a full chunk loads as eight float4
  float* y = nullptr;
  std::size_t y_stride = 0;
  int m = 0;
  const float* bias = nullptr;
  bool accumulate = false;
  const float* table = nullptr;  ///< the scheme's codebook (shared memory on the device)
};

/// 32 activations of row i of x for chunk c; zero past the row's end (so padded weights add 0).
QLINEAR_HD void load_x_chunk(const float* x, std::size_t x_stride, bool x_vec, std::size_t cols, int i, int c,
                             float (&xv)[chunk_weights]) {
  const std::size_t k0 = std::size_t(c) * chunk_weights;
  const float* p = x + std::size_t(i) * x_stride + k0;
  if (x_vec && k0 + chunk_weights <= cols) {
    QLINEAR_UNROLL
    for (int q = 0; q < chunk_weights / 4; ++q) load_f32x4(p + 4 * q, xv + 4 * q);
  } else {
    QLINEAR_UNROLL
    for (int e = 0; e < chunk_weights; ++e) xv[e] = k0 + std::size_t(e) < cols ? load_f32(p + e) : 0.0f;
  }
}

/// Σ a[h] · (v · x over half h) (+ b[h] · Σ x over half h): one chunk's contribution to a dot product.
template <bool HasOffset>
QLINEAR_HD float chunk_dot(const ChunkCodes& codes, const float (&xv)[chunk_weights]) {
  float s0 = 0.0f, s1 = 0.0f;
  QLINEAR_UNROLL
  for (int e = 0; e < 16; ++e) {
    s0 += codes.v[e] * xv[e];
    s1 += codes.v[e + 16] * xv[e + 16];
  }
  float dot = codes.a[0] * s0 + codes.a[1] * s1;
  if constexpr (HasOffset) {
    float x0 = 0.0f, x1 = 0.0f;
    QLINEAR_UNROLL
    for (int e = 0; e < 16; ++e) x0 += xv[e], x1 += xv[e + 16];
    dot += codes.b[0] * x0 + codes.b[1] * x1;
  }
  return dot;
}

/// The decode kernel for scheme S over MR activation rows (MR is 1 or 4).
/// Usage (host emulation): `Gemv<Q4_K, 1>::lane_partial(args, row0, lane, acc)` per lane, then
/// the butterfly, then `store` with lane 0's sums.
template <class S, int MR>
struct Gemv {
  using C = Codec<S>;
  static constexpr int rows_per_warp = 2;
  static constexpr int warps_per_block = 4;
  static constexpr int threads = warps_per_block * warp_size;
  static constexpr int rows_per_block = rows_per_warp * warps_per_block;
  /// Chunks a lane loads before decoding any (more bytes in flight), where registers allow.
  static constexpr int unroll = C::q_bytes <= 32 ? 2 : 1;

  /// First output feature of warp `warp` (global index) in the grid.
  QLINEAR_HD static std::size_t first_row(std::size_t block, int warp_in_block) {
    return (block * warps_per_block + std::size_t(warp_in_block)) * rows_per_warp;
  }

  /// Lane `lane`'s partial sums of the dot products of rows [row0, row0 + rows_per_warp).
  QLINEAR_HD static void lane_partial(const GemvArgs& a, std::size_t row0, int lane,
                                      float (&acc)[rows_per_warp][MR]) {
    QLINEAR_UNROLL
    for (int r = 0; r < rows_per_warp; ++r) {
      QLINEAR_UNROLL
      for (int i = 0; i < MR; ++i) acc[r][i] = 0.0f;
    }
    bool valid[rows_per_warp];
    RowRef rows[rows_per_warp];
    QLINEAR_UNROLL
    for (int r = 0; r < rows_per_warp; ++r) {
      valid[r] = row0 + std::size_t(r) < a.w.rows;
      rows[r] = valid[r] ? a.w.row(row0 + std::size_t(r)) : RowRef{};
    }
    const int chunks = a.w.chunks;
    for (int c0 = lane; c0 < chunks; c0 += warp_size * unroll) {
      typename C::Raw raw[unroll][rows_per_warp] = {};
      QLINEAR_UNROLL
      for (int u = 0; u < unroll; ++u) {
        const int c = c0 + warp_size * u;
        QLINEAR_UNROLL
        for (int r = 0; r < rows_per_warp; ++r)
          if (c < chunks && valid[r]) raw[u][r] = C::load(rows[r], c);
      }
      QLINEAR_UNROLL
      for (int u = 0; u < unroll; ++u) {
        const int c = c0 + warp_size * u;
        if (c >= chunks) break;
        ChunkCodes codes[rows_per_warp];
        QLINEAR_UNROLL
        for (int r = 0; r < rows_per_warp; ++r)
          if (valid[r]) C::decode(raw[u][r], a.table, codes[r]);
        QLINEAR_UNROLL
        for (int i = 0; i < MR; ++i) {
          if (i >= a.m) break;
          float xv[chunk_weights];
          load_x_chunk(a.x, a.x_stride, a.x_vec, a.w.cols, i, c, xv);
          QLINEAR_UNROLL
          for (int r = 0; r < rows_per_warp; ++r)
            if (valid[r]) acc[r][i] += chunk_dot<C::has_offset>(codes[r], xv);
        }
      }
    }
  }

  /// The epilogue, run by one lane with the warp's total sums.
  QLINEAR_HD static void store(const GemvArgs& a, std::size_t row0, const float (&acc)[rows_per_warp][MR]) {
    QLINEAR_UNROLL
    for (int r = 0; r < rows_per_warp; ++r) {
      const std::size_t n = row0 + std::size_t(r);
      if (n >= a.w.rows) break;
      const float bias = a.bias ? a.bias[n] : 0.0f;
      QLINEAR_UNROLL
      for (int i = 0; i < MR; ++i) {
        if (i >= a.m) break;
        float* out = a.y + std::size_t(i) * a.y_stride + n;
        *out = (a.accumulate ? *out : 0.0f) + (acc[r][i] + bias);
      }
    }
  }
};

}  // namespace qlinear::cuda
