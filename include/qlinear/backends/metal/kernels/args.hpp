#pragma once
// The arguments every qlinear Metal kernel takes in `constant` memory, laid out identically for
// the host (C++) and the GPU (MSL): eight 32-bit words, set with setBytes.

namespace qlinear {
namespace metal {
namespace kernels {

/// Shapes and strides of one product. gemm: y[M x N] = x[M x K] · Wᵀ (+ bias) (+ y), x rows ldx
/// floats apart, y rows ldy. backward: dx[M x K] (+)= dy[M x N] · W, dx rows ldx, dy rows ldy.
/// row_bytes: bytes of one weight row. Usage (host): `GemmArgs a{}; a.M = m; ...`
struct GemmArgs {
  unsigned int M;
  unsigned int N;
  unsigned int K;
  unsigned int ldx;
  unsigned int ldy;
  unsigned int row_bytes;
  unsigned int flags;
  unsigned int reserved;
};

/// Bits of GemmArgs::flags.
enum GemmFlags : unsigned int {
  gemm_has_bias = 1u,    ///< add bias[n] to y[m, n]
  gemm_accumulate = 2u,  ///< add the previous y (or dx) instead of overwriting it
};

}  // namespace kernels
}  // namespace metal
}  // namespace qlinear
