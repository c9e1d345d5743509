#pragma once
// The prefill kernel (large M): y[M x N] = x · Wᵀ (+ bias) (+ y) on simdgroup matrices. A
// threadgroup of 128 threads owns a BM x BN = 32 x 32 tile of y. Per step of BK = 32 along K it
// stages the x tile in threadgroup memory, dequantizes the BN x BK weight tile there (transposed,
// k-major, so it is the B operand as it stands: one thread per 16-weight piece), then each of the
// four SIMD groups multiplies its 16 x 16 quarter as 2 x 2 blocks of 8 x 8 matrices. The result
// goes through threadgroup memory to y, where the edges of M and N are cut and the epilogue applied.

#include "qlinear/backends/metal/kernels/args.hpp"
#include "qlinear/backends/metal/kernels/decoders.hpp"
#include "qlinear/backends/metal/kernels/prelude.hpp"
#include "qlinear/backends/metal/kernels/tiles.hpp"

namespace qlinear {
namespace metal {
namespace kernels {

static_assert(QLINEAR_METAL_PREFILL_BM == 32 && QLINEAR_METAL_PREFILL_BN == 32 && QLINEAR_METAL_PREFILL_THREADS == 128,
              "the prefill kernel splits its tile into four 16 x 16 SIMD-group quarters");
static_assert(QLINEAR_METAL_PREFILL_BK % 16 == 0 && QLINEAR_METAL_PREFILL_BN * QLINEAR_METAL_PREFILL_BK / 16 <=
                                                         QLINEAR_METAL_PREFILL_THREADS,
              "one thread decodes each 16-weight piece of the weight tile");

/// Threadgroup memory the prefill kernel needs at [[threadgroup(0)]], in bytes.
#define QLINEAR_METAL_PREFILL_SHARED_BYTES \
  ((QLINEAR_METAL_PREFILL_BM * QLINEAR_METAL_PREFILL_BK + QLINEAR_METAL_PREFILL_BK * QLINEAR_METAL_PREFILL_BN) * 4)

/// Grid: (ceil(N / BN), ceil(M / BM), 1) threadgroups of PREFILL_THREADS threads.
template <typename D>
kernel void qlinear_prefill(device const uchar* w [[buffer(0)]], device const float2* rowp [[buffer(1)]],
                            device const float* x [[buffer(2)]], device float* y [[buffer(3)]],
                            device const float* bias [[buffer(4)]], constant GemmArgs& args [[buffer(5)]],
                            threadgroup float* tg_mem QLINEAR_THREADGROUP_BUFFER(0),
                            uint3 tgpig [[threadgroup_position_in_grid]],
                            ushort tiitg [[thread_index_in_threadgroup]],
                            ushort sgitg [[simdgroup_index_in_threadgroup]]) {
  const uint BM = QLINEAR_METAL_PREFILL_BM, BN = QLINEAR_METAL_PREFILL_BN, BK = QLINEAR_METAL_PREFILL_BK;
  const uint T = QLINEAR_METAL_PREFILL_THREADS;
  const uint PT = BK / 16;  // pieces per weight-tile row
  const uint M = args.M, N = args.N, K = args.K;
  const uint n0 = tgpig.x * BN, m0 = tgpig.y * BM;
  threadgroup float* sx = tg_mem;            // [BM][BK]
  threadgroup float* sw = tg_mem + BM * BK;  // [BK][BN]
  const uint sm = (uint(sgitg) >> 1) * 16, sn = (uint(sgitg) & 1) * 16;

  simdgroup_float8x8 c[2][2];
  for (uint i = 0; i < 2; ++i)
    for (uint j = 0; j < 2; ++j) c[i][j] = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);

  // The piece this thread decodes in every step, if any.
  const bool decodes = uint(tiitg) < BN * PT;
  const uint wrow = tiitg / PT, wpiece = tiitg % PT;
  const bool row_ok = decodes && n0 + wrow < N;
  const float2 rp = D::ROW_PARAMS && row_ok ? rowp[n0 + wrow] : float2(0.0f);
  device const uchar* wr = w + ulong(row_ok ? n0 + wrow : 0) * args.row_bytes;

  for (uint k0 = 0; k0 < K; k0 += BK) {
    for (uint idx = tiitg; idx < BM * BK; idx += T) {
      const uint m = m0 + idx / BK, kx = k0 + idx % BK;
      sx[idx] = (m < M && kx < K) ? x[ulong(m) * args.ldx + kx] : 0.0f;
    }
    if (decodes) {
      float wv[16];
      const uint p = k0 / 16 + wpiece;
      if (row_ok && p * 16 < K) {
        D::piece(wr, K, p, rp, wv);
      } else {
        for (uint i = 0; i < 16; ++i) wv[i] = 0.0f;
      }
      for (uint i = 0; i < 16; ++i) sw[(wpiece * 16 + i) * BN + wrow] = wv[i];
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint kk = 0; kk < BK; kk += 8) {
      simdgroup_float8x8 a[2], b[2];
      simdgroup_load(a[0], sx + sm * BK + kk, BK);
      simdgroup_load(a[1], sx + (sm + 8) * BK + kk, BK);
      simdgroup_load(b[0], sw + kk * BN + sn, BN);
      simdgroup_load(b[1], sw + kk * BN + sn + 8, BN);
      for (uint i = 0; i < 2; ++i)
        for (uint j = 0; j < 2; ++j) simdgroup_multiply_accumulate(c[i][j], a[i], b[j], c[i][j]);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);  // the next step overwrites sx and sw
  }

  threadgroup float* sc = tg_mem;  // [BM][BN], over sx and sw, which are no longer read
  for (uint i = 0; i < 2; ++i)
    for (uint j = 0; j < 2; ++j) simdgroup_store(c[i][j], sc + (sm + 8 * i) * BN + sn + 8 * j, BN);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  for (uint idx = tiitg; idx < BM * BN; idx += T) {
    const uint m = m0 + idx / BN, n = n0 + idx % BN;
    if (m < M && n < N) {
      const ulong at = ulong(m) * args.ldy + n;
      float v = sc[idx];
      if (args.flags & gemm_has_bias) v += bias[n];
      if (args.flags & gemm_accumulate) v += y[at];
      y[at] = v;
    }
  }
}

}  // namespace kernels
}  // namespace metal
}  // namespace qlinear
