#pragma once
// The decode kernel (small M, GEMV-like): y[M x N] = x · Wᵀ (+ bias) (+ y) with SIMD-group
// reductions. Threadgroup (x, y) covers weight rows [8x, 8x + 8) — DECODE_NR = 4 rows for each of
// its DECODE_NSG = 2 SIMD groups — and activation rows [4y, 4y + 4). Lane l of a SIMD group
// decodes pieces l, l + 32, ... of each of its rows once and dots every piece with up to four
// activation rows, so the weights stream through once per four activation rows and neighbouring
// lanes read neighbouring bytes; simd_sum folds the 32 partial sums.

#include "qlinear/backends/metal/kernels/args.hpp"
#include "qlinear/backends/metal/kernels/decoders.hpp"
#include "qlinear/backends/metal/kernels/prelude.hpp"
#include "qlinear/backends/metal/kernels/tiles.hpp"

namespace qlinear {
namespace metal {
namespace kernels {

static_assert(QLINEAR_METAL_DECODE_MX == 4, "the decode kernel keeps its activation rows in a float4");

/// Grid: (ceil(N / (NR · NSG)), ceil(M / MX), 1) threadgroups of NSG · 32 threads.
template <typename D>
kernel void qlinear_decode(device const uchar* w [[buffer(0)]], device const float2* rowp [[buffer(1)]],
                           device const float* x [[buffer(2)]], device float* y [[buffer(3)]],
                           device const float* bias [[buffer(4)]], constant GemmArgs& args [[buffer(5)]],
                           uint3 tgpig [[threadgroup_position_in_grid]],
                           ushort sgitg [[simdgroup_index_in_threadgroup]],
                           ushort tiisg [[thread_index_in_simdgroup]]) {
  const uint NR = QLINEAR_METAL_DECODE_NR;
  const uint MX = QLINEAR_METAL_DECODE_MX;
  const uint N = args.N, K = args.K;
  const uint n0 = (tgpig.x * QLINEAR_METAL_DECODE_NSG + sgitg) * NR;
  const uint m0 = tgpig.y * MX;
  const uint mcount = min(MX, args.M - m0);
  const uint npieces = (K + 15) / 16;

  // Lane r fetches the parameters of row n0 + r; a shuffle hands them to every lane.
  float2 own = float2(0.0f);
  if (D::ROW_PARAMS && uint(tiisg) < NR && n0 + tiisg < N) own = rowp[n0 + tiisg];
  float2 rp[NR];
  for (uint r = 0; r < NR; ++r) rp[r] = simd_shuffle(own, ushort(r));

  float4 acc[NR];
  for (uint r = 0; r < NR; ++r) acc[r] = float4(0.0f);
  for (uint p = tiisg; p < npieces; p += 32) {
    const uint e0 = p * 16;
    const bool whole = e0 + 16 <= K;
    for (uint r = 0; r < NR; ++r) {
      if (n0 + r >= N) break;
      float wv[16];
      D::piece(w + ulong(n0 + r) * args.row_bytes, K, p, rp[r], wv);
      for (uint m = 0; m < MX; ++m) {
        if (m >= mcount) break;
        device const float* xm = x + ulong(m0 + m) * args.ldx + e0;
        float s = 0.0f;
        if (whole) {
          for (uint i = 0; i < 16; ++i) s += wv[i] * xm[i];
        } else {
          for (uint i = 0; i < 16; ++i)
            if (e0 + i < K) s += wv[i] * xm[i];
        }
        acc[r][m] += s;
      }
    }
  }

  // Every lane takes part in every reduction; lane m then writes activation row m0 + m.
  for (uint r = 0; r < NR; ++r) {
    const float4 total = simd_sum(acc[r]);
    const uint n = n0 + r;
    if (n < N && uint(tiisg) < mcount) {
      const ulong at = ulong(m0 + tiisg) * args.ldy + n;
      float v = total[tiisg];
      if (args.flags & gemm_has_bias) v += bias[n];
      if (args.flags & gemm_accumulate) v += y[at];
      y[at] = v;
    }
  }
}

}  // namespace kernels
}  // namespace metal
}  // namespace qlinear
