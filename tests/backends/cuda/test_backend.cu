// cuda::Backend beyond the per-scheme sweep: the layers on it (QuantizedLinear, AnyLinear,
// FusedLinear), host staging, streams, bad input, and values f16 cannot hold or that are not
// finite. Every test skips, saying why, where no suitable GPU is present.

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "cuda_test_util.cuh"
#include "qlinear/backends/cpu/reference.hpp"
#include "qlinear/layers/any_linear.hpp"
#include "qlinear/layers/fused_linear.hpp"
#include "qlinear/layers/quantized_linear.hpp"

namespace {

using namespace qlinear;
using namespace qlinear::cuda_test;

// The four family lists of the per-scheme suite are exactly AllSchemes.
template <class S, class... Ts>
constexpr int count_in(TypeList<Ts...>) {
  return (int(std::is_same_v<S, Ts>) + ... + 0);
}
template <class... Ts>
constexpr bool each_once(TypeList<Ts...>) {
  return ((count_in<Ts>(DenseInt8Schemes{}) + count_in<Ts>(GgufLegacySchemes{}) + count_in<Ts>(GgufKSchemes{}) +
               count_in<Ts>(Int4Nf4Schemes{}) ==
           1) &&
          ...);
}
static_assert(each_once(AllSchemes{}) && DenseInt8Schemes::size + GgufLegacySchemes::size + GgufKSchemes::size +
                                                 Int4Nf4Schemes::size ==
                                             AllSchemes::size,
              "the CUDA test families must cover every scheme once");

static_assert(BackendFor<cuda::Backend, Q4_K> && BackendFor<cuda::Backend, NF4DoubleQuant>);
static_assert(cuda::Backend::supports<Q6_K> && !cuda::Backend::supports<Q8_K>);

class CudaBackend : public ::testing::Test {
 protected:
  void SetUp() override { QLINEAR_REQUIRE_GPU(); }
};

TEST_F(CudaBackend, QuantizedLinearMatchesTheReferenceLayer) {
  const std::size_t out = 300, in = 512;
  const auto w = test::random_floats(out * in, 1);
  const auto bias = test::random_floats(out, 2);
  const auto gpu = QuantizedLinear<cuda::Backend, Q4_K>::from_float(w.data(), out, in, bias);
  const auto cpu = QuantizedLinear<cpu::ReferenceBackend, Q4_K>::from_float(w.data(), out, in, bias);
  EXPECT_EQ(gpu.in_features(), in);
  EXPECT_EQ(gpu.out_features(), out);
  for (const Eigen::Index m : {1, 7, 130}) {
    const RowMatrixXf x = RowMatrixXf::Random(m, Eigen::Index(in));
    const RowMatrixXf yg = gpu.forward(x), yc = cpu.forward(x);
    ASSERT_EQ(yg.rows(), m);
    const double scale = (x.cwiseAbs() * gpu.dequantize().cwiseAbs().transpose()).maxCoeff();
    EXPECT_LE((yg - yc).cwiseAbs().maxCoeff(), 2e-3 * scale) << "M=" << m;
  }
  // The weights read back are the uploaded bytes.
  const auto t = gpu.quantized();
  const auto tc = cpu.quantized();
  EXPECT_TRUE(std::equal(t.bytes().begin(), t.bytes().end(), tc.bytes().begin()));
}

TEST_F(CudaBackend, BackwardInputMatchesTheReferenceLayer) {
  const std::size_t out = 96, in = 256, m = 9;
  const auto w = test::random_floats(out * in, 3);
  const auto gpu = QuantizedLinear<cuda::Backend, Q8_0>::from_float(w.data(), out, in);
  const auto cpu = QuantizedLinear<cpu::ReferenceBackend, Q8_0>::from_float(w.data(), out, in);
  const auto dy = test::random_floats(m * out, 4);
  std::vector<float> dxc(m * in);
  cpu.backward_input(cpu::ReferenceBackend::default_context(), ConstMatrixView<float>(dy.data(), m, out),
                     MatrixView<float>(dxc.data(), m, in));
  DeviceFloats ddy(dy), ddx(m * in);
  gpu.backward_input(cuda::Backend::default_context(), ConstMatrixView<float>(ddy.data(), m, out),
                     MatrixView<float>(ddx.data(), m, in));
  const auto dxg = ddx.download();
  for (std::size_t i = 0; i < m * in; ++i) ASSERT_NEAR(dxg[i], dxc[i], 1e-4 * (1 + std::fabs(dxc[i]))) << i;
}

// AnyLinear and FusedLinear over a few schemes (the per-scheme suite runs every scheme on the
// backend; instantiating the layers for all of them again here would double nvcc's build time).
using LayerSchemes = TypeList<Q4_K, Q6_K, Q8_0, Int4G128, NF4>;

TEST_F(CudaBackend, AnyLinearRunsSchemesChosenById) {
  const std::size_t out = 40, in = 256;
  const auto w = test::random_floats(out * in, 5);
  const RowMatrixXf x = RowMatrixXf::Random(5, Eigen::Index(in));
  std::size_t ran = 0;
  [&]<class... Ts>(TypeList<Ts...>) {
    (
        [&] {
          using S = Ts;
          auto gpu = BasicAnyLinear<cuda::Backend, LayerSchemes>::from_float(S::id, w.data(), out, in);
          auto cpu = BasicAnyLinear<cpu::ReferenceBackend, LayerSchemes>::from_float(S::id, w.data(), out, in);
          EXPECT_EQ(gpu.scheme_id(), S::id);
          const RowMatrixXf yg = gpu.forward(x), yc = cpu.forward(x);
          EXPECT_LE((yg - yc).cwiseAbs().maxCoeff(), 1e-3 * (1 + yc.cwiseAbs().maxCoeff())) << S::name;
          ++ran;
        }(),
        ...);
  }(LayerSchemes{});
  EXPECT_EQ(ran, LayerSchemes::size);
  using Any = BasicAnyLinear<cuda::Backend, LayerSchemes>;
  EXPECT_THROW(Any::from_float(SchemeId::q2_K, w.data(), out, in), Error);  // not in this layer's list
}

TEST_F(CudaBackend, FusedLinearConcatenatesParts) {
  using Any = BasicAnyLinear<cuda::Backend, LayerSchemes>;
  const std::size_t in = 256;
  const auto wq = test::random_floats(64 * in, 6), wv = test::random_floats(48 * in, 7);
  Any q = Any::from_float(SchemeId::q4_K, wq.data(), 64, in);
  Any v = Any::from_float(SchemeId::q6_K, wv.data(), 48, in);
  BasicFusedLinear<cuda::Backend, LayerSchemes> qv({q, v});
  const RowMatrixXf x = RowMatrixXf::Random(3, Eigen::Index(in));
  const RowMatrixXf y = qv.forward(x);
  ASSERT_EQ(y.cols(), 112);
  const RowMatrixXf yq = q.forward(x), yv = v.forward(x);
  EXPECT_LE((y.leftCols(64) - yq).cwiseAbs().maxCoeff(), 1e-5 * (1 + yq.cwiseAbs().maxCoeff()));
  EXPECT_LE((y.rightCols(48) - yv).cwiseAbs().maxCoeff(), 1e-5 * (1 + yv.cwiseAbs().maxCoeff()));
}

TEST_F(CudaBackend, RunsOnACallersStream) {
  cudaStream_t stream = nullptr;
  QLINEAR_CUDA_CHECK(cudaStreamCreate(&stream));
  {
    cuda::Context ctx(0, stream);
    const std::size_t n = 64, k = 128, m = 2;
    const auto wf = test::random_floats(n * k, 8);
    const auto t = QuantizedTensor<Int4G64>::quantize(wf.data(), n, k);
    const auto w = cuda::Backend::upload(ctx, t);
    const auto x = test::random_floats(m * k, 9);
    DeviceFloats dx(x), dy(m * n);
    cuda::Backend::gemm(ctx, w, ConstMatrixView<float>(dx.data(), m, k), MatrixView<float>(dy.data(), m, n));
    QLINEAR_CUDA_CHECK(cudaStreamSynchronize(stream));
    const auto y = dy.download();
    const Expected want = expected_product(t.dequantize(), n, k, x, m, {});
    for (std::size_t i = 0; i < m * n; ++i) ASSERT_NEAR(y[i], want.y[i], 2e-5 * want.scale[i]);
  }
  QLINEAR_CUDA_CHECK(cudaStreamDestroy(stream));
}

TEST_F(CudaBackend, BadInputThrowsWithoutTouchingTheDevice) {
  const std::size_t n = 32, k = 64;
  const auto wf = test::random_floats(n * k, 10);
  const auto w = cuda::Backend::upload(QuantizedTensor<Q8_0>::quantize(wf.data(), n, k));
  cuda::Context ctx;
  DeviceFloats dx(4 * k), dy(4 * n);
  // Wrong shapes.
  EXPECT_THROW(cuda::Backend::gemm(ctx, w, ConstMatrixView<float>(dx.data(), 4, k - 1),
                                   MatrixView<float>(dy.data(), 4, n)),
               Error);
  EXPECT_THROW(cuda::Backend::gemm(ctx, w, ConstMatrixView<float>(dx.data(), 4, k), MatrixView<float>(dy.data(), 3, n)),
               Error);
  // Host memory where device memory is expected (unless the device can read pageable memory).
  int pageable = 0;
  QLINEAR_CUDA_CHECK(cudaDeviceGetAttribute(&pageable, cudaDevAttrPageableMemoryAccess, 0));
  std::vector<float> host(4 * k);
  if (!pageable)
    EXPECT_THROW(cuda::Backend::gemm(ctx, w, ConstMatrixView<float>(host.data(), 4, k),
                                     MatrixView<float>(dy.data(), 4, n)),
                 Error);
  // Overlapping input and output.
  DeviceFloats both(4 * (k + n));
  EXPECT_THROW(cuda::Backend::gemm(ctx, w, ConstMatrixView<float>(both.data(), 4, k),
                                   MatrixView<float>(both.data() + k, 4, n)),
               Error);
  // An empty M is fine.
  EXPECT_NO_THROW(cuda::Backend::gemm(ctx, w, ConstMatrixView<float>(dx.data(), 0, k), MatrixView<float>(dy.data(), 0, n)));
  // Weights that were never uploaded.
  cuda::Backend::Weights<Q8_0> empty;
  EXPECT_THROW(cuda::Backend::gemm(ctx, empty, ConstMatrixView<float>(dx.data(), 4, 0),
                                   MatrixView<float>(dy.data(), 4, 0)),
               Error);
  EXPECT_THROW(cuda::Backend::download(empty), Error);
  // The context still works afterwards.
  EXPECT_NO_THROW(cuda::Backend::gemm(ctx, w, ConstMatrixView<float>(dx.data(), 4, k),
                                      MatrixView<float>(dy.data(), 4, n)));
  EXPECT_NO_THROW(cuda::Backend::synchronize(ctx));
}

// Values f16 cannot hold, through the tensor-core kernel's per-row exponents.
TEST_F(CudaBackend, HugeAndTinyValuesThroughBothKernels) {
  const std::size_t n = 40, k = 96, m = 20;
  for (const auto& [xs, ws] : {std::pair{1e25f, 1e-20f}, std::pair{1e-30f, 1e-8f}, std::pair{3e4f, 2e5f}}) {
    const auto wf = test::random_floats(n * k, 11, ws);
    const auto t = QuantizedTensor<DenseF32>::quantize(wf.data(), n, k);
    const auto x = test::random_floats(m * k, 12, xs);
    const Expected want = expected_product(wf, n, k, x, m, {});
    cuda::Context ctx;
    const auto w = cuda::Backend::upload(ctx, t);
    for (const cuda::Kernel kernel : {cuda::Kernel::gemv, cuda::Kernel::mma}) {
      ctx.options().kernel = kernel;
      std::vector<float> y(m * n);
      cuda::Backend::gemm_host(ctx, w, ConstMatrixView<float>(x.data(), m, k), MatrixView<float>(y.data(), m, n));
      for (std::size_t i = 0; i < m * n; ++i)
        ASSERT_TRUE(std::isfinite(y[i]) && std::fabs(y[i] - want.y[i]) <= tolerance(kernel) * want.scale[i] + 1e-44)
            << cuda::kernel_name(kernel) << " x~" << xs << " w~" << ws << " at " << i << ": " << y[i] << " vs "
            << want.y[i];
    }
  }
}

TEST_F(CudaBackend, NonFiniteActivationsStayInTheirRow) {
  const std::size_t n = 70, k = 512, m = 18;
  const auto wf = test::random_floats(n * k, 13);
  const auto t = QuantizedTensor<Q4_K>::quantize(wf.data(), n, k);
  auto x = test::random_floats(m * k, 14);
  x[2 * k + 100] = std::numeric_limits<float>::quiet_NaN();
  x[5 * k + 7] = std::numeric_limits<float>::infinity();
  const Expected want = expected_product(t.dequantize(), n, k, x, m, {});
  cuda::Context ctx;
  const auto w = cuda::Backend::upload(ctx, t);
  for (const cuda::Kernel kernel : {cuda::Kernel::gemv, cuda::Kernel::mma}) {
    ctx.options().kernel = kernel;
    std::vector<float> y(m * n);
    cuda::Backend::gemm_host(ctx, w, ConstMatrixView<float>(x.data(), m, k), MatrixView<float>(y.data(), m, n));
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const float v = y[i * n + j];
        if (i == 2)
          ASSERT_TRUE(std::isnan(v)) << cuda::kernel_name(kernel) << " (" << i << ", " << j << ")";
        else if (i == 5)
          ASSERT_FALSE(std::isfinite(v)) << cuda::kernel_name(kernel) << " (" << i << ", " << j << ")";
        else
          ASSERT_NEAR(v, want.y[i * n + j], tolerance(kernel) * want.scale[i * n + j]) << cuda::kernel_name(kernel);
      }
  }
}

TEST_F(CudaBackend, HostStagingHandlesStridedViews) {
  const std::size_t n = 50, k = 256, m = 6, x_stride = k + 3, y_stride = n + 5;
  const auto wf = test::random_floats(n * k, 15);
  const auto t = QuantizedTensor<IQ4_XS>::quantize(wf.data(), n, k);
  const auto w = cuda::Backend::upload(t);
  const auto xs = test::random_floats(m * x_stride, 16);
  std::vector<float> x(m * k);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t l = 0; l < k; ++l) x[i * k + l] = xs[i * x_stride + l];
  std::vector<float> y(m * y_stride, -7.0f);
  cuda::Backend::gemm_host(cuda::Backend::default_context(), w, ConstMatrixView<float>(xs.data(), m, k, x_stride),
                           MatrixView<float>(y.data(), m, n, y_stride));
  const Expected want = expected_product(t.dequantize(), n, k, x, m, {});
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) ASSERT_NEAR(y[i * y_stride + j], want.y[i * n + j], 2e-5 * want.scale[i * n + j]);
    for (std::size_t j = n; j < y_stride; ++j) ASSERT_EQ(y[i * y_stride + j], -7.0f) << "wrote past the view";
  }
}

}  // namespace
