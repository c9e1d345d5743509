#pragma once
// The backward kernel: dx[M x K] (+)= dy[M x N] · W, the input gradient training needs, straight
// from the quantized rows. Thread t of threadgroup (x, y) owns input features [16p, 16p + 16) with
// p = 64x + t for activation rows [4y, 4y + 4); it walks all N weight rows, decoding its piece of
// each once, with 64 accumulators in registers. Neighbouring threads read neighbouring pieces of
// the same row. No threadgroup memory and no barriers, so out-of-range threads simply return.

#include "qlinear/backends/metal/kernels/args.hpp"
#include "qlinear/backends/metal/kernels/decoders.hpp"
#include "qlinear/backends/metal/kernels/prelude.hpp"
#include "qlinear/backends/metal/kernels/tiles.hpp"

namespace qlinear {
namespace metal {
namespace kernels {

/// Grid: (ceil(ceil(K / 16) / BACKWARD_THREADS), ceil(M / BACKWARD_MX), 1) threadgroups of
/// BACKWARD_THREADS threads. args.ldx is the row stride of dx, args.ldy that of dy.
template <typename D>
kernel void qlinear_backward(device const uchar* w [[buffer(0)]], device const float2* rowp [[buffer(1)]],
                             device const float* dy [[buffer(2)]], device float* dx [[buffer(3)]],
                             constant GemmArgs& args [[buffer(4)]], uint3 tgpig [[threadgroup_position_in_grid]],
                             ushort tiitg [[thread_index_in_threadgroup]]) {
  const uint MX = QLINEAR_METAL_BACKWARD_MX;
  const uint N = args.N, K = args.K;
  const uint p = tgpig.x * QLINEAR_METAL_BACKWARD_THREADS + tiitg;
  if (p * 16 >= K) return;
  const uint m0 = tgpig.y * MX;
  const uint mcount = min(MX, args.M - m0);

  float acc[MX][16];
  for (uint m = 0; m < MX; ++m)
    for (uint i = 0; i < 16; ++i) acc[m][i] = 0.0f;
  for (uint n = 0; n < N; ++n) {
    float wv[16];
    D::piece(w + ulong(n) * args.row_bytes, K, p, D::ROW_PARAMS ? rowp[n] : float2(0.0f), wv);
    for (uint m = 0; m < MX; ++m) {
      if (m >= mcount) break;
      const float g = dy[ulong(m0 + m) * args.ldy + n];
      for (uint i = 0; i < 16; ++i) acc[m][i] += g * wv[i];
    }
  }
  for (uint m = 0; m < MX; ++m) {
    if (m >= mcount) break;
    for (uint i = 0; i < 16; ++i) {
      const uint e = p * 16 + i;
      if (e < K) {
        const ulong at = ulong(m0 + m) * args.ldx + e;
        float v = acc[m][i];
        if (args.flags & gemm_accumulate) v += dx[at];
        dx[at] = v;
      }
    }
  }
}

}  // namespace kernels
}  // namespace metal
}  // namespace qlinear
