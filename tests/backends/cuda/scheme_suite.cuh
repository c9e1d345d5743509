#pragma once
// The per-scheme GPU tests, as a typed-parameterised suite that each test_schemes_*.cu file
// instantiates for a family of schemes (the families compile in parallel).
//   - gemm against the CPU reference backend: M 1, 3, 16, 33, 128, 512 × N = 200 (no multiple
//     of any tile) × K ≈ 512, for the decode kernel, the tensor-core kernel and the automatic
//     choice, with a bias and with accumulation;
//   - gemm_transposed against the reference;
//   - download gives back the uploaded GGUF-layout bytes; upload_gguf equals upload.

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cuda_test_util.cuh"
#include "qlinear/backends/cpu/reference.hpp"

namespace qlinear::cuda_test {

template <class S>
class CudaScheme : public ::testing::Test {
 protected:
  void SetUp() override { QLINEAR_REQUIRE_GPU(); }
};
TYPED_TEST_SUITE_P(CudaScheme);

TYPED_TEST_P(CudaScheme, GemmMatchesTheReferenceBackend) {
  using S = TypeParam;
  const std::size_t n = 200, k = cols_near<S>(512), max_m = 512;
  const auto wf = test::random_floats(n * k, 1);
  const auto t = QuantizedTensor<S>::quantize(wf.data(), n, k);
  const std::vector<float> w = t.dequantize();
  const auto bias = test::random_floats(n, 2);
  const auto x = test::random_floats(max_m * k, 3);
  // The reference backend's own result for the largest M (rows of smaller M are its prefixes).
  std::vector<float> ref(max_m * n);
  cpu::ReferenceBackend::Context rctx;
  const auto rw = cpu::ReferenceBackend::upload(t);
  const auto rbias = cpu::ReferenceBackend::upload_floats(bias);
  cpu::ReferenceBackend::gemm(rctx, rw, ConstMatrixView<float>(x.data(), max_m, k),
                              MatrixView<float>(ref.data(), max_m, n), Epilogue{rbias.data(), false});
  const Expected want = expected_product(w, n, k, x, max_m, bias);

  cuda::Context ctx;
  const auto cw = cuda::Backend::upload(ctx, t);
  const auto cbias = cuda::Backend::upload_floats(bias);
  DeviceFloats dx(x);
  for (const std::size_t m : {1, 3, 16, 33, 128, 512}) {
    for (const cuda::Kernel kernel : {cuda::Kernel::gemv, cuda::Kernel::mma, cuda::Kernel::automatic}) {
      ctx.options().kernel = kernel;
      DeviceFloats dy(m * n);
      cuda::Backend::gemm(ctx, cw, ConstMatrixView<float>(dx.data(), m, k), MatrixView<float>(dy.data(), m, n),
                          Epilogue{cbias.data(), false});
      cuda::Backend::synchronize(ctx);
      const auto y = dy.download();
      const cuda::Kernel ran = cuda::choose_kernel(m, ctx.options());
      std::size_t bad = 0;
      for (std::size_t i = 0; i < m * n; ++i) {
        const double tol = tolerance(ran) * want.scale[i] + 1e-30;
        if (!close_or_same_nonfinite(y[i], ref[i], tol + 1e-6 * std::fabs(ref[i])) && ++bad <= 3)
          ADD_FAILURE() << S::name << " " << cuda::kernel_name(ran) << " M=" << m << " N=" << n << " K=" << k
                        << " at (" << i / n << ", " << i % n << "): GPU " << y[i] << ", reference " << ref[i];
      }
      ASSERT_EQ(bad, 0u) << S::name << " " << cuda::kernel_name(kernel) << " M=" << m;
    }
  }
}

TYPED_TEST_P(CudaScheme, GemmAccumulatesIntoY) {
  using S = TypeParam;
  const std::size_t n = 72, k = cols_near<S>(256);
  const auto wf = test::random_floats(n * k, 4);
  const auto t = QuantizedTensor<S>::quantize(wf.data(), n, k);
  const std::vector<float> w = t.dequantize();
  cuda::Context ctx;
  const auto cw = cuda::Backend::upload(ctx, t);
  for (const std::size_t m : {2, 40}) {
    const auto x = test::random_floats(m * k, 5);
    const auto y0 = test::random_floats(m * n, 6);
    const Expected want = expected_product(w, n, k, x, m, {});
    for (const cuda::Kernel kernel : {cuda::Kernel::gemv, cuda::Kernel::mma}) {
      ctx.options().kernel = kernel;
      DeviceFloats dx(x), dy(y0);
      cuda::Backend::gemm(ctx, cw, ConstMatrixView<float>(dx.data(), m, k), MatrixView<float>(dy.data(), m, n),
                          Epilogue{nullptr, true});
      const auto y = dy.download();
      for (std::size_t i = 0; i < m * n; ++i)
        ASSERT_NEAR(y[i], want.y[i] + y0[i], tolerance(kernel) * (want.scale[i] + std::fabs(y0[i])) + 1e-30)
            << S::name << " " << cuda::kernel_name(kernel) << " M=" << m << " at " << i;
    }
  }
}

TYPED_TEST_P(CudaScheme, TransposedMatchesTheReferenceBackend) {
  using S = TypeParam;
  const std::size_t n = 200, k = cols_near<S>(512);
  const auto wf = test::random_floats(n * k, 7);
  const auto t = QuantizedTensor<S>::quantize(wf.data(), n, k);
  const std::vector<float> w = t.dequantize();
  cuda::Context ctx;
  const auto cw = cuda::Backend::upload(ctx, t);
  for (const std::size_t m : {1, 33, 128}) {
    const auto dy = test::random_floats(m * n, 8);
    const auto dx0 = test::random_floats(m * k, 9);
    DeviceFloats ddy(dy), ddx(dx0);
    cuda::Backend::gemm_transposed(ctx, cw, ConstMatrixView<float>(ddy.data(), m, n),
                                   MatrixView<float>(ddx.data(), m, k), true);
    const auto dx = ddx.download();
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t l = 0; l < k; ++l) {
        double s = dx0[i * k + l], a = std::fabs(dx0[i * k + l]);
        for (std::size_t j = 0; j < n; ++j) {
          s += double(dy[i * n + j]) * w[j * k + l];
          a += std::fabs(double(dy[i * n + j]) * w[j * k + l]);
        }
        ASSERT_NEAR(dx[i * k + l], s, 2e-5 * a + 1e-30) << S::name << " M=" << m << " at (" << i << ", " << l << ")";
      }
  }
}

TYPED_TEST_P(CudaScheme, DownloadGivesBackTheGgufBytes) {
  using S = TypeParam;
  const std::size_t n = 33, k = cols_near<S>(300);
  const auto wf = test::random_floats(n * k, 10);
  const auto t = QuantizedTensor<S>::quantize(wf.data(), n, k);
  const auto cw = cuda::Backend::upload(t);
  EXPECT_EQ(cw.rows(), n);
  EXPECT_EQ(cw.cols(), k);
  EXPECT_GE(cw.memory_bytes(), t.bytes().size());
  const QuantizedTensor<S> back = cuda::Backend::download(cw);
  ASSERT_EQ(back.bytes().size(), t.bytes().size());
  EXPECT_TRUE(std::equal(back.bytes().begin(), back.bytes().end(), t.bytes().begin())) << S::name;
  EXPECT_EQ(back.params(), t.params()) << S::name;
  if constexpr (SelfDescribingRows<S>) {
    const auto from_bytes = cuda::Backend::upload_gguf<S>(t.bytes(), n, k);
    const auto again = cuda::Backend::download(from_bytes);
    EXPECT_TRUE(std::equal(again.bytes().begin(), again.bytes().end(), t.bytes().begin())) << S::name;
  }
}

REGISTER_TYPED_TEST_SUITE_P(CudaScheme, GemmMatchesTheReferenceBackend, GemmAccumulatesIntoY,
                            TransposedMatchesTheReferenceBackend, DownloadGivesBackTheGgufBytes);

}  // namespace qlinear::cuda_test
