// The Metal kernels run on the grid emulator, launched as metal::Backend launches them, against
// cpu::ReferenceBackend: every scheme of AllSchemes × M ∈ {1, 3, 16, 33, 128} with N = 45 (not a
// multiple of either kernel's tile) and K a few blocks (K = 100 for the element-wise schemes, so
// rows end inside a piece and inside a K step), both kernels on either side of the cross-over,
// bias / accumulate / strided views, the backward product, and NaN, Inf, huge and tiny values.
//
// Tolerance: the kernels sum in float, the reference in double. Neither kernel chains more than
// K + 32 roundings into one output (the prefill kernel's K/8 multiply-accumulates of 8 products,
// plus the epilogue), so |y − ref| ≤ (K + 35)·2⁻²⁴·Σ|x·w| + 3·2⁻²⁴·(|bias| + |y₀|) is a bound,
// not a guess, while a wrong weight, scale or index moves y by far more.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "qlinear/backends/cpu/reference.hpp"
#include "qlinear/schemes/registry.hpp"
#include "test_util.hpp"
// clang-format off
#include "emulated_backend.hpp"
// clang-format on

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
class MetalKernels : public ::testing::Test {};
TYPED_TEST_SUITE(MetalKernels, GtestTypes<AllSchemes>::type, SchemeNames);

constexpr std::size_t test_n = 45;
constexpr std::size_t m_sweep[] = {1, 3, 16, 33, 128};

template <class S>
constexpr std::size_t test_k() {
  if constexpr (S::block_elems == 1) return 100;
  if constexpr (S::block_elems >= 128) return 2 * S::block_elems;
  return 3 * S::block_elems;
}

template <class S>
QuantizedTensor<S> make_weights(std::size_t n, std::size_t k, std::uint32_t seed) {
  const std::vector<float> w = test::random_floats(n * k, seed, 0.5f, 0.01f, 10.0f);
  return QuantizedTensor<S>::quantize(w.data(), n, k);
}

struct Matrix {
  std::vector<float> data;
  std::size_t rows = 0, cols = 0, stride = 0;
  Matrix(std::size_t r, std::size_t c, std::size_t s = 0) : data(r * (s ? s : c)), rows(r), cols(c), stride(s ? s : c) {}
  MatrixView<float> view() { return {data.data(), rows, cols, stride}; }
  ConstMatrixView<float> view() const { return {data.data(), rows, cols, stride}; }
  float& operator()(std::size_t r, std::size_t c) { return data[r * stride + c]; }
  float operator()(std::size_t r, std::size_t c) const { return data[r * stride + c]; }
};

Matrix random_matrix(std::size_t rows, std::size_t cols, std::uint32_t seed, std::size_t stride = 0) {
  Matrix m(rows, cols, stride);
  const std::vector<float> v = test::random_floats(rows * cols, seed);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) m(r, c) = v[r * cols + c];
  return m;
}

// Compares y with the reference element by element under the bound of the file comment.
// `a` is the left operand (x, or dy), `b_rows` the right one as dense rows: W (gemm) or Wᵀ (backward).
void expect_close(const Matrix& got, const Matrix& want, const Matrix& a, const std::vector<float>& b_rows,
                  std::size_t inner, const Matrix* before, const std::vector<float>* bias, const std::string& what) {
  const double u = std::ldexp(1.0, -24);
  int bad = 0;
  for (std::size_t i = 0; i < got.rows; ++i)
    for (std::size_t j = 0; j < got.cols; ++j) {
      const float g = got(i, j), w = want(i, j);
      if (std::isnan(w) || std::isnan(g) || std::isinf(w) || std::isinf(g)) {
        if (!((std::isnan(w) && std::isnan(g)) || g == w) && ++bad <= 5)
          ADD_FAILURE() << what << ": y(" << i << ", " << j << ") = " << g << ", reference " << w;
        continue;
      }
      double mag = 0;
      for (std::size_t l = 0; l < inner; ++l) mag += std::fabs(double(a(i, l)) * b_rows[j * inner + l]);
      double extra = 0;
      if (bias) extra += std::fabs((*bias)[j]);
      if (before) extra += std::fabs((*before)(i, j));
      const double tol = u * (double(inner + 35) * mag + 3.0 * extra) + 1e-38;
      if (std::fabs(double(g) - double(w)) > tol && ++bad <= 5)
        ADD_FAILURE() << what << ": y(" << i << ", " << j << ") = " << g << ", reference " << w << ", |diff| "
                      << std::fabs(double(g) - double(w)) << " > bound " << tol;
    }
  EXPECT_EQ(bad, 0) << what;
}

template <class S>
std::vector<float> dense_rows(const QuantizedTensor<S>& t) {
  return t.dequantize();
}
std::vector<float> transpose(const std::vector<float>& w, std::size_t n, std::size_t k) {
  std::vector<float> t(w.size());
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < k; ++c) t[c * n + r] = w[r * k + c];
  return t;
}

// One emulated gemm against the reference, checking which kernel ran and that it used the
// emulated machinery it is written around.
template <class S>
void check_gemm(const QuantizedTensor<S>& t, const emu::EmulatedWeights<S>& dev, const Matrix& x, Matrix y,
                const std::vector<float>* bias, bool accumulate, std::optional<KernelKind> force,
                const std::string& what) {
  using cpu::ReferenceBackend;
  const Matrix before = y;
  Matrix want = y;
  const Epilogue e{bias ? bias->data() : nullptr, accumulate};
  ReferenceBackend::gemm(ReferenceBackend::default_context(), ReferenceBackend::upload(t), x.view(), want.view(), e);
  const emu::Stats s = emu::gemm(dev, x.view(), y.view(), e, force);
  const KernelKind kind = force.value_or(x.rows <= decode_max_rows ? KernelKind::decode : KernelKind::prefill);
  if (kind == KernelKind::decode) {
    EXPECT_GT(s.simd_ops, 0u) << what << ": the decode kernel reduces with simd_sum";
    EXPECT_EQ(s.matrix_ops, 0u) << what;
  } else {
    EXPECT_GT(s.matrix_ops, 0u) << what << ": the prefill kernel multiplies simdgroup matrices";
    EXPECT_GT(s.barriers, 0u) << what;
  }
  expect_close(y, want, x, dense_rows(t), t.cols(), accumulate ? &before : nullptr, bias, what);
}

// Every M of the sweep with the kernel the backend picks; both kernels on the other side of the
// cross-over; bias, accumulate and strided views for both.
TYPED_TEST(MetalKernels, Gemm) {
  using S = TypeParam;
  const std::size_t n = test_n, k = test_k<S>();
  const auto t = make_weights<S>(n, k, 11 + std::uint32_t(S::id));
  const auto dev = emu::upload(t);
  const std::string name(S::name);
  for (const std::size_t m : m_sweep) {
    const Matrix x = random_matrix(m, k, 100 + std::uint32_t(m));
    check_gemm(t, dev, x, Matrix(m, n), nullptr, false, std::nullopt,
               name + " M=" + std::to_string(m) + " K=" + std::to_string(k));
  }
  const Matrix x3 = random_matrix(3, k, 5), x33 = random_matrix(33, k, 6);
  check_gemm(t, dev, x3, Matrix(3, n), nullptr, false, KernelKind::prefill, name + " prefill M=3");
  check_gemm(t, dev, x33, Matrix(33, n), nullptr, false, KernelKind::decode, name + " decode M=33");

  const std::vector<float> bias = test::random_floats(n, 7, 3.0f);
  for (const std::size_t m : {std::size_t(3), std::size_t(33)}) {
    const Matrix x = random_matrix(m, k, 8, k + 5);   // x rows k + 5 floats apart
    const Matrix y0 = random_matrix(m, n, 9, n + 3);  // y rows n + 3 apart, accumulated into
    check_gemm(t, dev, x, y0, &bias, true, std::nullopt, name + " bias+accumulate M=" + std::to_string(m));
    check_gemm(t, dev, x, y0, &bias, false, std::nullopt, name + " bias M=" + std::to_string(m));
  }
}

TYPED_TEST(MetalKernels, BackwardInput) {
  using S = TypeParam;
  using cpu::ReferenceBackend;
  const std::size_t n = test_n, k = test_k<S>();
  const auto t = make_weights<S>(n, k, 41 + std::uint32_t(S::id));
  const auto dev = emu::upload(t);
  const std::vector<float> wt = transpose(dense_rows(t), n, k);
  for (const std::size_t m : {std::size_t(1), std::size_t(6)}) {
    for (const bool accumulate : {false, true}) {
      const Matrix dy = random_matrix(m, n, 50 + std::uint32_t(m), n + 2);
      const Matrix dx0 = random_matrix(m, k, 60 + std::uint32_t(m), k + 7);
      Matrix want = dx0, got = dx0;
      ReferenceBackend::gemm_transposed(ReferenceBackend::default_context(), ReferenceBackend::upload(t), dy.view(),
                                        want.view(), accumulate);
      emu::gemm_transposed(dev, dy.view(), got.view(), accumulate);
      expect_close(got, want, dy, wt, n, accumulate ? &dx0 : nullptr, nullptr,
                   std::string(S::name) + " backward M=" + std::to_string(m) + (accumulate ? " accumulate" : ""));
    }
  }
}

// ---- special values (a few schemes stand for the rest: the paths do not depend on the scheme) ----

template <class S>
void check_nan_row(std::size_t m) {
  const std::size_t n = test_n, k = test_k<S>();
  const auto t = make_weights<S>(n, k, 3);
  Matrix x = random_matrix(m, k, 4);
  x(1, k / 2) = std::numeric_limits<float>::quiet_NaN();
  check_gemm(t, emu::upload(t), x, Matrix(m, n), nullptr, false, std::nullopt,
             std::string(S::name) + " NaN in x, M=" + std::to_string(m));
}

TEST(MetalKernelValues, NaNInOneActivationRowStaysInThatRow) {
  for (const std::size_t m : {std::size_t(3), std::size_t(33)}) {
    check_nan_row<DenseF32>(m);
    check_nan_row<Q4_K>(m);
    check_nan_row<Int8PerChannel>(m);
  }
}

TEST(MetalKernelValues, InfiniteAndNaNWeights) {
  const std::size_t n = test_n, k = 100;
  for (const std::size_t m : {std::size_t(2), std::size_t(40)}) {
    std::vector<float> w = test::random_floats(n * k, 12, 0.1f, 0.0f);
    w[3 * k + 10] = std::numeric_limits<float>::infinity();
    w[17 * k + 99] = -std::numeric_limits<float>::infinity();
    w[44 * k + 0] = std::numeric_limits<float>::quiet_NaN();
    Matrix x(m, k);
    for (float& v : x.data) v = 0.25f;  // positive, so the infinite rows give ±inf, not NaN
    const auto f32 = QuantizedTensor<DenseF32>::quantize(w.data(), n, k);
    const auto f16 = QuantizedTensor<DenseF16>::quantize(w.data(), n, k);
    check_gemm(f32, emu::upload(f32), x, Matrix(m, n), nullptr, false, std::nullopt, "f32 Inf/NaN weights");
    check_gemm(f16, emu::upload(f16), x, Matrix(m, n), nullptr, false, std::nullopt, "f16 Inf/NaN weights");
  }
}

TEST(MetalKernelValues, HugeAndTinyMagnitudes) {
  const std::size_t n = test_n, k = 256;
  for (const float scale : {1e-30f, 1e25f}) {
    std::vector<float> w = test::random_floats(n * k, 13, scale);
    const auto f32 = QuantizedTensor<DenseF32>::quantize(w.data(), n, k);
    for (float& v : w) v = std::fmax(std::fmin(v / scale, 1e4f), -1e4f);  // f16-safe values for Q8_0
    const auto q8 = QuantizedTensor<Q8_0>::quantize(w.data(), n, k);
    for (const std::size_t m : {std::size_t(1), std::size_t(33)}) {
      Matrix x = random_matrix(m, k, 14);
      for (float& v : x.data) v *= 1.0f / scale * 1e-3f;
      check_gemm(f32, emu::upload(f32), x, Matrix(m, n), nullptr, false, std::nullopt,
                 "f32 weights of scale " + std::to_string(scale));
      check_gemm(q8, emu::upload(q8), x, Matrix(m, n), nullptr, false, std::nullopt,
                 "q8_0 with activations of scale " + std::to_string(1e-3f / scale));
    }
  }
}

}  // namespace
}  // namespace qlinear::metal
