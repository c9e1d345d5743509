// The CUDA kernels' bodies run on the CPU over an emulated grid (emulator.hpp), through the same
// orchestration cuda::Backend uses (dispatch.hpp), for every scheme, against the reference
// backend: the decode kernel, the tensor-core kernel (f16 tiles, PTX fragment layouts), the
// transposed product, the f16 conversions, with bias, accumulation, edges of M, N and K, and
// extreme and non-finite values.

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "emulator.hpp"
#include "fixtures.hpp"
#include "qlinear/backends/cpu/reference.hpp"

namespace {

using namespace qlinear;
using namespace qlinear::cuda;
using namespace qlinear::cuda_test;

// y = x·Wᵀ + bias in double, and the scale Σ|x||w| + |bias| of each output for tolerances.
struct Expected {
  std::vector<double> y, scale;
};
Expected expected_product(const std::vector<float>& w, std::size_t n, std::size_t k, const std::vector<float>& x,
                          std::size_t m, const std::vector<float>& bias) {
  Expected e{std::vector<double>(m * n), std::vector<double>(m * n)};
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double s = bias.empty() ? 0.0 : bias[j], a = bias.empty() ? 0.0 : std::fabs(bias[j]);
      for (std::size_t l = 0; l < k; ++l) {
        s += double(x[i * k + l]) * w[j * k + l];
        a += std::fabs(double(x[i * k + l]) * w[j * k + l]);
      }
      e.y[i * n + j] = s;
      e.scale[i * n + j] = a;
    }
  return e;
}

// Σ_k f16(x·2^−ex)·f16(w·2^−ew) · 2^(ex+ew) + bias: what the tensor cores compute exactly, up
// to the order of f32 additions.
std::vector<double> expected_f16_product(const std::vector<float>& w, const int* w_exp, std::size_t n, std::size_t k,
                                         const std::vector<float>& x, std::size_t m, const std::vector<float>& bias) {
  std::vector<double> y(m * n);
  std::vector<float> xr(m * k), wr(n * k);
  std::vector<int> x_exp(m);
  for (std::size_t i = 0; i < m; ++i) {
    float amax = 0;
    for (std::size_t l = 0; l < k; ++l) amax = max_abs(amax, x[i * k + l]);
    x_exp[i] = f16_row_exponent(amax);
    for (std::size_t l = 0; l < k; ++l) xr[i * k + l] = f16_to_f32(f32_to_f16(x[i * k + l] * pow2(-x_exp[i])));
  }
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t l = 0; l < k; ++l) wr[j * k + l] = f16_to_f32(f32_to_f16(w[j * k + l] * pow2(-w_exp[j])));
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::size_t l = 0; l < k; ++l) s += double(xr[i * k + l]) * wr[j * k + l];
      y[i * n + j] = std::ldexp(s, x_exp[i] + w_exp[j]) + (bias.empty() ? 0.0 : bias[j]);
    }
  return y;
}

template <class S>
struct Case {
  QuantizedTensor<S> t;
  std::vector<float> w;  // dequantized
  std::size_t n, k;
  explicit Case(QuantizedTensor<S> tensor) : t(std::move(tensor)), w(t.dequantize()), n(t.rows()), k(t.cols()) {}
};

// Runs y = x·Wᵀ (+ bias) (+ y0) through the emulated backend with the given kernel.
template <class S>
std::vector<float> emulated_gemm(const EmulatedWeights<S>& ew, const std::vector<float>& x, std::size_t m,
                                 std::size_t k, const std::vector<float>& bias, Kernel kernel,
                                 const std::vector<float>* y0 = nullptr, std::size_t* launches = nullptr) {
  const std::size_t n = ew.ref.rows;
  std::vector<float> y = y0 ? *y0 : std::vector<float>(m * n, std::numeric_limits<float>::quiet_NaN());
  EmulatedLauncher launcher;
  GemmOptions o;
  o.kernel = kernel;
  run_gemm<S>(launcher, ew.ref, ConstMatrixView<float>(x.data(), m, k), MatrixView<float>(y.data(), m, n),
              Epilogue{bias.empty() ? nullptr : bias.data(), y0 != nullptr}, o);
  if (launches) *launches = launcher.launches;
  return y;
}

template <class S>
class CudaKernelsEmulated : public ::testing::Test {};
TYPED_TEST_SUITE(CudaKernelsEmulated, AllSchemeTypes, SchemeName);

// Every scheme, both kernels, M across the tile edges, N not a multiple of any tile, with bias.
TYPED_TEST(CudaKernelsEmulated, GemmMatchesTheReference) {
  using S = TypeParam;
  const std::size_t k = cols_for<S>(S::block_elems >= 128 ? 2 : 3);
  Case<S> c(random_tensor<S>(72, k, 21));
  const EmulatedWeights<S> ew(c.t);
  const auto bias = test::random_floats(c.n, 5);
  for (const std::size_t m : {1, 3, 6, 16, 70}) {
    const auto x = test::random_floats(m * k, std::uint32_t(100 + m));
    const Expected want = expected_product(c.w, c.n, k, x, m, bias);
    for (const Kernel kernel : {Kernel::gemv, Kernel::mma}) {
      if (kernel == Kernel::mma && m < 16) continue;  // covered by the larger M; keeps the test quick
      const auto y = emulated_gemm(ew, x, m, k, bias, kernel);
      const auto f16_want = kernel == Kernel::mma
                                ? expected_f16_product(c.w, ew.ref.f16_exp, c.n, k, x, m, bias)
                                : std::vector<double>{};
      std::size_t bad = 0;
      for (std::size_t i = 0; i < m * c.n; ++i) {
        // f32 products: rounding only; f16 tiles: 2^−11 per factor (bounded against the exact
        // product), and against the f16-rounded product only the order of f32 sums.
        const double tol = (kernel == Kernel::gemv ? 2e-5 : 2e-3) * want.scale[i] + 1e-30;
        bool ok = close_or_same_nonfinite(y[i], want.y[i], tol);
        if (kernel == Kernel::mma) ok = ok && close_or_same_nonfinite(y[i], f16_want[i], 1e-5 * want.scale[i] + 1e-30);
        if (!ok && ++bad <= 3)
          ADD_FAILURE() << S::name << " " << kernel_name(kernel) << " M=" << m << " N=" << c.n << " K=" << k
                        << " at (" << i / c.n << ", " << i % c.n << "): " << y[i] << " vs " << want.y[i]
                        << (kernel == Kernel::mma ? " (f16 product " + std::to_string(f16_want[i]) + ")" : "");
      }
      EXPECT_EQ(bad, 0u) << S::name << " " << kernel_name(kernel) << " M=" << m;
    }
  }
}

TYPED_TEST(CudaKernelsEmulated, TransposedMatchesTheReference) {
  using S = TypeParam;
  const std::size_t k = cols_for<S>(2), n = 37;
  Case<S> c(random_tensor<S>(n, k, 31));
  const EmulatedWeights<S> ew(c.t);
  for (const std::size_t m : {1, 4, 5}) {
    const auto dy = test::random_floats(m * n, std::uint32_t(7 + m));
    auto dx = test::random_floats(m * k, 9);
    const auto dx0 = dx;
    EmulatedLauncher launcher;
    run_gemm_transposed<S>(launcher, ew.ref, ConstMatrixView<float>(dy.data(), m, n),
                           MatrixView<float>(dx.data(), m, k), true);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t l = 0; l < k; ++l) {
        double s = dx0[i * k + l], a = std::fabs(dx0[i * k + l]);
        for (std::size_t j = 0; j < n; ++j) {
          s += double(dy[i * n + j]) * c.w[j * k + l];
          a += std::fabs(double(dy[i * n + j]) * c.w[j * k + l]);
        }
        ASSERT_TRUE(close_or_same_nonfinite(dx[i * k + l], s, 2e-5 * a + 1e-30))
            << S::name << " M=" << m << " at (" << i << ", " << l << "): " << dx[i * k + l] << " vs " << s;
      }
  }
}

TYPED_TEST(CudaKernelsEmulated, AccumulateAddsToY) {
  using S = TypeParam;
  const std::size_t k = cols_for<S>(1), m = 17;
  Case<S> c(random_tensor<S>(9, k, 41));
  const EmulatedWeights<S> ew(c.t);
  const auto x = test::random_floats(m * k, 3);
  const auto y0 = test::random_floats(m * c.n, 4);
  const Expected want = expected_product(c.w, c.n, k, x, m, {});
  for (const Kernel kernel : {Kernel::gemv, Kernel::mma}) {
    const auto y = emulated_gemm(ew, x, m, k, {}, kernel, &y0);
    for (std::size_t i = 0; i < m * c.n; ++i)
      ASSERT_NEAR(y[i], want.y[i] + y0[i], 2e-3 * (want.scale[i] + std::fabs(y0[i])) + 1e-30)
          << S::name << " " << kernel_name(kernel) << " at " << i;
  }
}

// Magnitudes far outside f16 (both ways) survive the tensor-core path's per-row scaling.
TEST(CudaKernelsEmulatedRange, HugeAndTinyValuesKeepTheirPrecision) {
  const std::size_t n = 40, k = 96, m = 20;
  for (const auto& [xs, ws] : {std::pair{1e25f, 1e-20f}, std::pair{1e-30f, 1e-8f}, std::pair{3e4f, 2e5f}}) {
    auto wf = test::random_floats(n * k, 1, ws);
    wf[5] = 0;  // a zero weight row element and a whole zero row
    for (std::size_t l = 0; l < k; ++l) wf[3 * k + l] = 0;
    const auto t = QuantizedTensor<DenseF32>::quantize(wf.data(), n, k);
    const EmulatedWeights<DenseF32> ew(t);
    const auto x = test::random_floats(m * k, 2, xs);
    const Expected want = expected_product(wf, n, k, x, m, {});
    for (const Kernel kernel : {Kernel::gemv, Kernel::mma}) {
      const auto y = emulated_gemm(ew, x, m, k, {}, kernel);
      for (std::size_t i = 0; i < m * n; ++i)
        ASSERT_TRUE(std::isfinite(y[i]) && std::fabs(y[i] - want.y[i]) <= 2e-3 * want.scale[i] + 1e-44)
            << kernel_name(kernel) << " x~" << xs << " w~" << ws << " at " << i << ": " << y[i] << " vs "
            << want.y[i];
    }
  }
}

// A NaN or Inf in a row of x makes that row's outputs non-finite and leaves the others exact.
TEST(CudaKernelsEmulatedRange, NonFiniteActivationsStayInTheirRow) {
  const std::size_t n = 70, k = 512, m = 18;
  Case<Q4_K> c(random_tensor<Q4_K>(n, k, 8));
  const EmulatedWeights<Q4_K> ew(c.t);
  auto x = test::random_floats(m * k, 6);
  x[2 * k + 100] = std::numeric_limits<float>::quiet_NaN();
  x[5 * k + 7] = std::numeric_limits<float>::infinity();
  const Expected want = expected_product(c.w, n, k, x, m, {});
  for (const Kernel kernel : {Kernel::gemv, Kernel::mma}) {
    const auto y = emulated_gemm(ew, x, m, k, {}, kernel);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const float v = y[i * n + j];
        if (i == 2) {
          ASSERT_TRUE(std::isnan(v)) << kernel_name(kernel) << " (" << i << ", " << j << ") = " << v;
        } else if (i == 5) {
          ASSERT_FALSE(std::isfinite(v)) << kernel_name(kernel) << " (" << i << ", " << j << ") = " << v;
        } else {
          ASSERT_NEAR(v, want.y[i * n + j], 2e-3 * want.scale[i * n + j]) << kernel_name(kernel) << " " << i << " " << j;
        }
      }
  }
}

// Weights that are themselves NaN or Inf (dense formats) give non-finite outputs in their column.
TEST(CudaKernelsEmulatedRange, NonFiniteWeightsStayInTheirColumn) {
  const std::size_t n = 20, k = 64, m = 17;
  auto wf = test::random_floats(n * k, 3);
  wf[4 * k + 9] = std::numeric_limits<float>::quiet_NaN();
  wf[11 * k + 1] = -std::numeric_limits<float>::infinity();
  const auto t = QuantizedTensor<DenseF16>::quantize(wf.data(), n, k);
  const EmulatedWeights<DenseF16> ew(t);
  const auto x = test::random_floats(m * k, 4);
  for (const Kernel kernel : {Kernel::gemv, Kernel::mma}) {
    const auto y = emulated_gemm(ew, x, m, k, {}, kernel);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const float v = y[i * n + j];
        if (j == 4 || j == 11)
          ASSERT_FALSE(std::isfinite(v)) << kernel_name(kernel) << " (" << i << ", " << j << ")";
        else
          ASSERT_TRUE(std::isfinite(v)) << kernel_name(kernel) << " (" << i << ", " << j << ")";
      }
  }
}

TEST(CudaKernelsEmulatedDispatch, LaunchesCoverEveryRowOnce) {
  Case<Q8_0> c(random_tensor<Q8_0>(10, 64, 2));
  const EmulatedWeights<Q8_0> ew(c.t);
  const std::size_t k = 64;
  for (const std::size_t m : {1, 2, 3, 4, 5, 6, 9}) {
    const auto x = test::random_floats(m * k, 1);
    std::size_t launches = 0;
    const auto y = emulated_gemm(ew, x, m, k, {}, Kernel::gemv, nullptr, &launches);
    EXPECT_EQ(launches, (m + 3) / 4) << m;  // 4 rows of x per decode launch
    for (const float v : y) ASSERT_FALSE(std::isnan(v)) << "an output was never written, M=" << m;
  }
  const auto x = test::random_floats(130 * k, 1);
  std::size_t launches = 0;
  const auto y = emulated_gemm(ew, x, 130, k, {}, Kernel::automatic, nullptr, &launches);
  EXPECT_EQ(launches, 2u);  // the f16 conversion, then one tensor-core launch
  for (const float v : y) ASSERT_FALSE(std::isnan(v));
}

TEST(CudaKernelsEmulatedDispatch, F16ExponentsOfWeightRows) {
  auto wf = test::random_floats(4 * 32, 1);
  for (std::size_t l = 0; l < 32; ++l) wf[l] = 0.0f, wf[32 + l] *= 1e-30f, wf[64 + l] *= 1e30f;
  wf[64 + 3] = 3e38f;
  const EmulatedWeights<DenseF32> ew(QuantizedTensor<DenseF32>::quantize(wf.data(), 4, 32));
  EXPECT_EQ(ew.ref.f16_exp[0], 0);  // a zero row keeps exponent 0
  for (std::size_t r = 1; r < 4; ++r) {
    float amax = 0;
    for (std::size_t l = 0; l < 32; ++l) amax = std::max(amax, std::fabs(wf[r * 32 + l]));
    const float scaled = amax * pow2(-ew.ref.f16_exp[r]);
    EXPECT_GE(scaled, 16384.0f) << r;
    EXPECT_LT(scaled, 32768.0f) << r;
  }
}

}  // namespace
