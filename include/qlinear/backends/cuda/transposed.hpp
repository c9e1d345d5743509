#pragma once
// The body of gemm_transposed's kernel, host-compilable: dx[i, k] (+)= Σ_n dy[i, n] · w[n, k],
// the input gradient of training. Each thread owns one 32-weight chunk column of W and
// `rows_per_thread` rows of dy, walks all N rows of W decoding its chunk in registers (threads
// of a warp read consecutive chunks of the same row, so the loads coalesce; dy values are the
// same address across the warp, a broadcast), and accumulates in f32. Written for correctness
// first: it decodes every weight once per rows_per_thread rows of dy.

#include <cstddef>
#include <cstdint>

#include "qlinear/backends/cuda/codec.hpp"
#include "qlinear/backends/cuda/layout.hpp"
#include "qlinear/backends/cuda/portable.hpp"

namespace qlinear::cuda {

/// One launch of the transposed product over dy rows [0, m).
struct TransposedArgs {
  TensorRef w;
  const float* dy = nullptr;
  std::size_t dy_stride = 0;
  float* dx = nullptr;
  std::size_t dx_stride = 0;
  std::size_t m = 0;
  bool accumulate = false;
  const float* table = nullptr;
};

/// The transposed kernel for scheme S. Thread (chunk c, row group g) computes
/// dx[g·rows_per_thread + i, 32c + e].
template <class S>
struct Transposed {
  using C = Codec<S>;
  static constexpr int rows_per_thread = 2;
  static constexpr int threads = 128;

  QLINEAR_HD static void run(const TransposedArgs& a, int c, std::size_t group) {
    if (c >= a.w.chunks) return;
    const std::size_t i0 = group * rows_per_thread;
    if (i0 >= a.m) return;
    float acc[rows_per_thread][chunk_weights];
    QLINEAR_UNROLL
    for (int i = 0; i < rows_per_thread; ++i) {
      QLINEAR_UNROLL
      for (int e = 0; e < chunk_weights; ++e) acc[i][e] = 0.0f;
    }
    const bool second = i0 + 1 < a.m;
    for (std::size_t n = 0; n < a.w.rows; ++n) {
      ChunkCodes codes;
      C::decode(C::load(a.w.row(n), c), a.table, codes);
      float g[rows_per_thread];
      g[0] = load_f32(a.dy + i0 * a.dy_stride + n);
      g[1] = second ? load_f32(a.dy + (i0 + 1) * a.dy_stride + n) : 0.0f;
      QLINEAR_UNROLL
      for (int e = 0; e < chunk_weights; ++e) {
        const float w = codes.a[e / 16] * codes.v[e] + codes.b[e / 16];
        QLINEAR_UNROLL
        for (int i = 0; i < rows_per_thread; ++i) acc[i][e] += g[i] * w;
      }
    }
    const std::size_t k0 = std::size_t(c) * chunk_weights;
    QLINEAR_UNROLL
    for (int i = 0; i < rows_per_thread; ++i) {
      if (i0 + std::size_t(i) >= a.m) break;
      float* out = a.dx + (i0 + std::size_t(i)) * a.dx_stride + k0;
      QLINEAR_UNROLL
      for (int e = 0; e < chunk_weights; ++e)
        if (k0 + std::size_t(e) < a.w.cols) out[e] = (a.accumulate ? out[e] : 0.0f) + acc[i][e];
    }
  }
};

}  // namespace qlinear::cuda
