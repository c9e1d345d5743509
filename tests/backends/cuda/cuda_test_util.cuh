#pragma once
// Helpers of the CUDA test binary: whether a GPU is there (tests skip, saying why, when not),
// device arrays, and the reference products the GPU results are compared with.

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "qlinear/backends/cuda/backend.cuh"
#include "qlinear/schemes/registry.hpp"
#include "test_util.hpp"

namespace qlinear::cuda_test {

/// Empty when a device the binary has kernels for (compute capability 8.0+) is present;
/// otherwise why the GPU tests skip.
inline const std::string& gpu_skip_reason() {
  static const std::string reason = [] {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      return std::string("no usable CUDA device (cudaGetDeviceCount: ") + cudaGetErrorString(err) + ")";
    }
    if (count == 0) return std::string("no CUDA device present");
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return std::string("cannot query CUDA device 0");
    if (prop.major < 8)
      return std::string("device 0 (") + prop.name + ") is sm_" + std::to_string(prop.major * 10 + prop.minor) +
             "; this binary holds kernels for sm_80 and newer";
    return std::string();
  }();
  return reason;
}

#define QLINEAR_REQUIRE_GPU()                                                                 \
  do {                                                                                        \
    if (!::qlinear::cuda_test::gpu_skip_reason().empty())                                    \
      GTEST_SKIP() << "GPU test skipped: " << ::qlinear::cuda_test::gpu_skip_reason();      \
  } while (0)

/// A float array in device memory, filled from and read back to host vectors.
class DeviceFloats {
 public:
  explicit DeviceFloats(std::size_t n) : memory_(n * sizeof(float)), n_(n) {}
  explicit DeviceFloats(const std::vector<float>& v) : DeviceFloats(v.size()) { upload(v); }
  void upload(const std::vector<float>& v) {
    ASSERT_EQ(v.size(), n_);
    QLINEAR_CUDA_CHECK(cudaMemcpy(memory_.data(), v.data(), n_ * sizeof(float), cudaMemcpyHostToDevice));
    QLINEAR_CUDA_CHECK(cudaDeviceSynchronize());  // the contexts' streams do not wait for this copy
  }
  std::vector<float> download() const {
    std::vector<float> v(n_);
    QLINEAR_CUDA_CHECK(cudaDeviceSynchronize());
    QLINEAR_CUDA_CHECK(cudaMemcpy(v.data(), memory_.data(), n_ * sizeof(float), cudaMemcpyDeviceToHost));
    return v;
  }
  float* data() { return static_cast<float*>(memory_.data()); }
  const float* data() const { return static_cast<const float*>(memory_.data()); }

 private:
  cuda::DeviceAllocation memory_;
  std::size_t n_;
};

/// y = x·Wᵀ + bias in double and Σ|x||w| + |bias| per output (the tolerance scale).
struct Expected {
  std::vector<double> y, scale;
};
inline Expected expected_product(const std::vector<float>& w, std::size_t n, std::size_t k,
                                 const std::vector<float>& x, std::size_t m, const std::vector<float>& bias) {
  Expected e{std::vector<double>(m * n), std::vector<double>(m * n)};
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double s = bias.empty() ? 0.0 : bias[j], a = bias.empty() ? 0.0 : std::fabs(bias[j]);
      const float* xi = x.data() + i * k;
      const float* wj = w.data() + j * k;
      for (std::size_t l = 0; l < k; ++l) {
        const double p = double(xi[l]) * wj[l];
        s += p;
        a += std::fabs(p);
      }
      e.y[i * n + j] = s;
      e.scale[i * n + j] = a;
    }
  return e;
}

/// Relative tolerance of each kernel against the exact product: f32 products (decode kernel,
/// transposed) and f16 tiles with f32 accumulation (tensor cores: 2^-11 per factor).
inline double tolerance(cuda::Kernel k) { return k == cuda::Kernel::mma ? 2e-3 : 2e-5; }

/// |a − b| within tol, or both NaN, or the same infinity.
inline bool close_or_same_nonfinite(double a, double b, double tol) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= tol;
}

/// A column count for scheme S near `target` (whole blocks; dense and int8 off the 32-grid).
template <class S>
std::size_t cols_near(std::size_t target) {
  if constexpr (S::block_elems == 1)
    return target + 7;
  else
    return (target + S::block_elems - 1) / S::block_elems * S::block_elems;
}

/// The scheme families the per-scheme suite is instantiated for, one test file each (together
/// they are AllSchemes: test_backend.cu checks it).
using DenseInt8Schemes = TypeList<DenseF32, DenseF16, DenseBF16, Int8PerTensor, Int8PerTensorAffine, Int8PerChannel, Int8PerChannelAffine>;
using GgufLegacySchemes = TypeList<Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL>;
using GgufKSchemes = TypeList<Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS>;
using Int4Nf4Schemes = TypeList<Int4G32, Int4G64, Int4G128, Int4G32Affine, Int4G64Affine, Int4G128Affine, NF4, NF4DoubleQuant>;

template <class L>
struct GTestTypes;
template <class... Ts>
struct GTestTypes<TypeList<Ts...>> {
  using type = ::testing::Types<Ts...>;
};
struct SchemeName {
  template <class S>
  static std::string GetName(int) {
    return std::string(S::name);
  }
};

}  // namespace qlinear::cuda_test
