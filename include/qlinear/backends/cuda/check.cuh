#pragma once
// Every CUDA runtime call and kernel launch of the backend goes through QLINEAR_CUDA_CHECK:
// a failure becomes a qlinear::Error naming the call, the place and CUDA's own message.

#if !defined(__CUDACC__)
#error "qlinear/backends/cuda/*.cuh are CUDA headers: compile this file with nvcc (their host-side parts are the .hpp headers beside them)"
#endif

#include <cuda_runtime.h>

#include <cstddef>

#include "qlinear/core/error.hpp"

namespace qlinear::cuda {

/// Throws qlinear::Error for a failed CUDA call. Usage: `QLINEAR_CUDA_CHECK(cudaMemcpy(...));`
inline void check_cuda(cudaError_t err, const char* what, const char* file, int line) {
  if (err != cudaSuccess) [[unlikely]]
    fail("CUDA error in ", what, " (", file, ":", line, "): ", cudaGetErrorName(err), ": ", cudaGetErrorString(err));
}

}  // namespace qlinear::cuda

/// Checks a CUDA runtime call.
#define QLINEAR_CUDA_CHECK(expr) ::qlinear::cuda::check_cuda((expr), #expr, __FILE__, __LINE__)
/// Checks the kernel launch just made (configuration errors; faults surface at the next sync).
#define QLINEAR_CUDA_CHECK_LAUNCH(kernel) ::qlinear::cuda::check_cuda(cudaGetLastError(), "launch of " kernel, __FILE__, __LINE__)
