#pragma once
// Library-wide configuration: version and the host/device function marker.

#define QLINEAR_VERSION_MAJOR 0
#define QLINEAR_VERSION_MINOR 1
#define QLINEAR_VERSION_PATCH 0

// A function usable from host and device code: plain `inline` for a host compiler,
// `__host__ __device__` under nvcc (as EIGEN_DEVICE_FUNC does).
#if defined(__CUDACC__)
#define QLINEAR_HD __host__ __device__ inline
#else
#define QLINEAR_HD inline
#endif

#if defined(__GNUC__) || defined(__clang__)
#define QLINEAR_RESTRICT __restrict__
#else
#define QLINEAR_RESTRICT
#endif
