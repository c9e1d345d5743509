// metal::Backend on an Apple GPU against cpu::ReferenceBackend: every scheme of AllSchemes ×
// M ∈ {1, 3, 16, 33, 128}, N = 45, the backward product, the layers on top, weights wrapped in
// place from an mmapped file, deferred execution, and the errors for memory the backend does not
// own. Built only on Apple with -DQLINEAR_METAL_TESTS=ON (`cmake --preset metal`).
// STATUS: never compiled or run yet (no Apple hardware in this project); see the README.
//
// Tolerance: as in test_kernels.cpp, (K + 35)·2⁻²⁴·Σ|x·w| + 3·2⁻²⁴·(|bias| + |y₀|), doubled: the
// GPU compiler may fuse a multiply and an add (one rounding fewer, so within the same bound, but
// the doubling leaves room for the order of simd_sum's tree, which Apple does not document).

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "qlinear/backends/cpu/reference.hpp"
#include "qlinear/backends/metal/backend.hpp"
#include "qlinear/layers/any_linear.hpp"
#include "qlinear/layers/fused_linear.hpp"
#include "qlinear/layers/quantized_linear.hpp"
#include "qlinear/schemes/registry.hpp"
#include "test_util.hpp"

namespace qlinear::metal {
namespace {

template <class L>
struct GtestTypes;
template <class... S>
struct GtestTypes<TypeList<S...>> {
  using type = ::testing::Types<S...>;
};
struct SchemeNames {
  template <class S>
  static std::string GetName(int) {
    return std::string(S::name);
  }
};

template <class S>
class MetalGpu : public ::testing::Test {};
TYPED_TEST_SUITE(MetalGpu, GtestTypes<AllSchemes>::type, SchemeNames);

constexpr std::size_t test_n = 45;

template <class S>
constexpr std::size_t test_k() {
  if constexpr (S::block_elems == 1) return 100;
  if constexpr (S::block_elems >= 128) return 2 * S::block_elems;
  return 3 * S::block_elems;
}

Buffer device_copy(const std::vector<float>& v) { return Backend::upload_floats(v); }

// |got − want| within the bound of the file comment; `a` is [rows × inner], `b` [cols × inner].
void expect_close(const float* got, const float* want, std::size_t rows, std::size_t cols, const float* a,
                  const float* b, std::size_t inner, const float* before, const float* bias, const std::string& what) {
  const double u = std::ldexp(1.0, -24);
  int bad = 0;
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) {
      const float g = got[i * cols + j], w = want[i * cols + j];
      if (!std::isfinite(g) || !std::isfinite(w)) {
        if (!((std::isnan(g) && std::isnan(w)) || g == w) && ++bad <= 5)
          ADD_FAILURE() << what << ": (" << i << ", " << j << ") = " << g << ", reference " << w;
        continue;
      }
      double mag = 0;
      for (std::size_t l = 0; l < inner; ++l) mag += std::fabs(double(a[i * inner + l]) * b[j * inner + l]);
      const double extra = (bias ? std::fabs(bias[j]) : 0.0) + (before ? std::fabs(before[i * cols + j]) : 0.0);
      const double tol = 2.0 * u * (double(inner + 35) * mag + 3.0 * extra) + 1e-38;
      if (std::fabs(double(g) - w) > tol && ++bad <= 5)
        ADD_FAILURE() << what << ": (" << i << ", " << j << ") = " << g << ", reference " << w << ", bound " << tol;
    }
  EXPECT_EQ(bad, 0) << what;
}

TYPED_TEST(MetalGpu, GemmEveryMAgainstTheReference) {
  using S = TypeParam;
  const std::size_t n = test_n, k = test_k<S>();
  const std::vector<float> wf = test::random_floats(n * k, 11 + unsigned(S::id), 0.5f);
  const auto t = QuantizedTensor<S>::quantize(wf.data(), n, k);
  const std::vector<float> wd = t.dequantize();
  const auto w = Backend::upload(t);
  const std::vector<float> bias = test::random_floats(n, 3, 2.0f);
  const Buffer bias_dev = device_copy(bias);
  Context ctx;
  for (const std::size_t m : {1, 3, 16, 33, 128}) {
    for (const bool with_bias : {false, true}) {
      const std::vector<float> x = test::random_floats(m * k, 100 + unsigned(m));
      const std::vector<float> y0 = test::random_floats(m * n, 200 + unsigned(m));
      std::vector<float> want = y0;
      const Epilogue ref_e{with_bias ? bias.data() : nullptr, with_bias};
      cpu::ReferenceBackend::gemm(cpu::ReferenceBackend::default_context(), cpu::ReferenceBackend::upload(t),
                                  ConstMatrixView<float>(x.data(), m, k), MatrixView<float>(want.data(), m, n), ref_e);
      const Buffer xb = device_copy(x), yb = device_copy(y0);
      Backend::gemm(ctx, w, xb.view(m, k), yb.view(m, n), Epilogue{with_bias ? Backend::data(bias_dev) : nullptr, with_bias});
      Backend::synchronize(ctx);
      expect_close(yb.data(), want.data(), m, n, x.data(), wd.data(), k, with_bias ? y0.data() : nullptr,
                   with_bias ? bias.data() : nullptr,
                   std::string(S::name) + " M=" + std::to_string(m) + (with_bias ? " bias+accumulate" : ""));
    }
  }
}

TYPED_TEST(MetalGpu, BackwardAgainstTheReference) {
  using S = TypeParam;
  const std::size_t n = test_n, k = test_k<S>();
  const std::vector<float> wf = test::random_floats(n * k, 21 + unsigned(S::id), 0.5f);
  const auto t = QuantizedTensor<S>::quantize(wf.data(), n, k);
  std::vector<float> wt(n * k);
  const std::vector<float> wd = t.dequantize();
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < k; ++c) wt[c * n + r] = wd[r * k + c];
  const auto w = Backend::upload(t);
  Context ctx;
  for (const std::size_t m : {1, 6}) {
    const std::vector<float> dy = test::random_floats(m * n, 30 + unsigned(m));
    std::vector<float> want(m * k);
    cpu::ReferenceBackend::gemm_transposed(cpu::ReferenceBackend::default_context(), cpu::ReferenceBackend::upload(t),
                                           ConstMatrixView<float>(dy.data(), m, n), MatrixView<float>(want.data(), m, k));
    const Buffer dyb = device_copy(dy), dxb = Backend::allocate(m * k);
    Backend::gemm_transposed(ctx, w, dyb.view(m, n), dxb.view(m, k));
    Backend::synchronize(ctx);
    expect_close(dxb.data(), want.data(), m, k, dy.data(), wt.data(), n, nullptr, nullptr,
                 std::string(S::name) + " backward M=" + std::to_string(m));
  }
}

TEST(MetalGpuLayers, QuantizedAnyAndFusedLinearMatchTheCpu) {
  const std::size_t n = 64, k = 512, m = 5;
  const std::vector<float> w = test::random_floats(n * k, 5), bias = test::random_floats(n, 6);
  const RowMatrixXf x = RowMatrixXf::Random(Eigen::Index(m), Eigen::Index(k));
  auto gpu = QuantizedLinear<Backend, Q4_K>::from_float(w.data(), n, k, bias);
  auto cpu = QuantizedLinear<cpu::ReferenceBackend, Q4_K>::from_float(w.data(), n, k, bias);
  const RowMatrixXf yg = gpu.forward(x), yc = cpu.forward(x);
  EXPECT_LT((yg - yc).cwiseAbs().maxCoeff(), 1e-3f * (1.0f + yc.cwiseAbs().maxCoeff()));
  EXPECT_EQ(gpu.quantized().bytes().size(), cpu.quantized().bytes().size());
  EXPECT_EQ(0, std::memcmp(gpu.quantized().bytes().data(), cpu.quantized().bytes().data(), cpu.quantized().bytes().size()));

  auto any = AnyLinear<Backend>::from_float(SchemeId::q6_K, w.data(), n, k);
  auto any_cpu = AnyLinear<cpu::ReferenceBackend>::from_float(SchemeId::q6_K, w.data(), n, k);
  EXPECT_LT((any.forward(x) - any_cpu.forward(x)).cwiseAbs().maxCoeff(), 1e-3f * (1.0f + yc.cwiseAbs().maxCoeff()));

  FusedLinear<Backend> fused({gpu, any});
  const RowMatrixXf yf = fused.forward(x);
  ASSERT_EQ(yf.cols(), Eigen::Index(2 * n));
  EXPECT_LT((yf.leftCols(Eigen::Index(n)) - yg).cwiseAbs().maxCoeff(), 1e-5f * (1.0f + yc.cwiseAbs().maxCoeff()));
}

TEST(MetalGpuMemory, WeightsFromAPageAlignedMappingAreUsedInPlace) {
  const std::size_t n = 48, k = 1024;
  const std::vector<float> w = test::random_floats(n * k, 8);
  const auto t = QuantizedTensor<Q4_K>::quantize(w.data(), n, k);
  char path[] = "/tmp/qlinear_metal_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, t.bytes().data(), t.bytes().size()), ssize_t(t.bytes().size()));
  void* map = mmap(nullptr, t.bytes().size(), PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  unlink(path);
  ASSERT_NE(map, MAP_FAILED);
  const std::size_t size = t.bytes().size();
  std::shared_ptr<const void> owner(map, [size](const void* p) { munmap(const_cast<void*>(p), size); });
  const auto mapped = QuantizedTensor<Q4_K>::adopt(
      std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(map), size), n, k, owner);
  const auto wm = Backend::upload(mapped);
  EXPECT_TRUE(wm.in_place());
  EXPECT_EQ(Backend::download(wm).bytes().data(), static_cast<const std::uint8_t*>(map));

  const auto copied = Backend::upload(QuantizedTensor<Q4_K>::copy_of(t.bytes().subspan(0), n, k));
  const std::vector<float> x = test::random_floats(3 * k, 9);
  const Buffer xb = device_copy(x), y1 = Backend::allocate(3 * n), y2 = Backend::allocate(3 * n);
  Context ctx;
  Backend::gemm(ctx, wm, xb.view(3, k), y1.view(3, n));
  Backend::gemm(ctx, copied, xb.view(3, k), y2.view(3, n));
  Backend::synchronize(ctx);
  for (std::size_t i = 0; i < 3 * n; ++i) EXPECT_EQ(y1.data()[i], y2.data()[i]) << i;
}

TEST(MetalGpuContext, WorkIsDeferredUntilSynchronizeAndRunsInOrder) {
  const std::size_t n = 32, k = 256, m = 2;
  const std::vector<float> w = test::random_floats(n * k, 10), w2 = test::random_floats(n * n, 11);
  const auto a = Backend::upload(QuantizedTensor<DenseF32>::quantize(w.data(), n, k));
  const auto b = Backend::upload(QuantizedTensor<DenseF32>::quantize(w2.data(), n, n));
  const std::vector<float> x = test::random_floats(m * k, 12);
  const Buffer xb = device_copy(x), hb = Backend::allocate(m * n), yb = Backend::allocate(m * n);
  Context ctx;
  Backend::gemm(ctx, a, xb.view(m, k), hb.view(m, n));
  Backend::gemm(ctx, b, hb.view(m, n), yb.view(m, n));  // reads what the first product writes
  for (std::size_t i = 0; i < m * n; ++i) EXPECT_EQ(yb.data()[i], 0.0f) << "ran before synchronize";
  Backend::synchronize(ctx);
  std::vector<float> h(m * n), y(m * n);
  using R = cpu::ReferenceBackend;
  R::gemm(R::default_context(), R::upload(QuantizedTensor<DenseF32>::quantize(w.data(), n, k)),
          ConstMatrixView<float>(x.data(), m, k), MatrixView<float>(h.data(), m, n));
  R::gemm(R::default_context(), R::upload(QuantizedTensor<DenseF32>::quantize(w2.data(), n, n)),
          ConstMatrixView<float>(hb.data(), m, n), MatrixView<float>(y.data(), m, n));
  for (std::size_t i = 0; i < m * n; ++i) EXPECT_NEAR(yb.data()[i], y[i], 1e-4f * (1.0f + std::fabs(y[i])));
}

TEST(MetalGpuErrors, MemoryTheBackendDoesNotOwn) {
  const std::size_t n = 8, k = 64;
  const std::vector<float> w = test::random_floats(n * k, 13);
  const auto q = Backend::upload(QuantizedTensor<Q8_0>::quantize(w.data(), n, k));
  std::vector<float> x(k), y(n);
  Context ctx;
  try {
    Backend::gemm(ctx, q, ConstMatrixView<float>(x.data(), 1, k), MatrixView<float>(y.data(), 1, n));
    ADD_FAILURE() << "host pointers accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gemm_host"), std::string::npos) << e.what();
  }
  const Buffer small = Backend::allocate(k), out = Backend::allocate(2 * n);
  // Two rows of x in a buffer of one: the view runs past the buffer's end.
  EXPECT_THROW(Backend::gemm(ctx, q, ConstMatrixView<float>(small.data(), 2, k), out.view(2, n)), Error);
  EXPECT_THROW(small.view(2, k), Error);
}

}  // namespace
}  // namespace qlinear::metal
