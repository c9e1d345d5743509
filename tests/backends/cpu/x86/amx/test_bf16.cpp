// The bf16 path (x86/amx/bf16.hpp) that cpu::Backend takes for NF4 (± double quant) in the
// quantized mode, for more than kExactDotMaxRows activation rows, and for the GGUF schemes from
// kBf16FromRows<S> rows on, where the processor has AMX-BF16:
//  - it computes exactly what it promises: bf16(2^e·x) · bf16(ŵ) summed in f32, 2^-e undone
//    (checked against that product in double, to f32 rounding), on shape sweeps (M across
//    the 16- and 32-row tiles, N not a multiple of the 32-row panels, K not a multiple of 32),
//    thread counts 1-3, bias and accumulate, canonical and ceiling-restricted contexts;
//  - it stays within bf16's error of the exact product, also for rows of tiny (subnormal) and
//    huge values, which the per-row power of two keeps in bf16's range;
//  - NaN and ±Inf in a row propagate as in f32;
//  - the exact mode and M ≤ kExactDotMaxRows keep the f32 exact path;
//  - the GGUF schemes: from kBf16FromRows<S> rows on the same bf16 product, on canonical and
//    AMX-packed weights (decoded straight to bf16 panels), also for rows long enough to go in
//    K blocks; one row fewer, lower ceilings and the exact mode keep their own paths.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "../../cpu_test_util.hpp"
#include "qlinear/core/half.hpp"

namespace qlinear::test {
namespace {

using cpu::ActivationMode;
using cpu::Isa;

bool has_bf16_path() { return bool(cpu::select_bf16_kernels(cpu::best_isa())); }
#define QLINEAR_SKIP_WITHOUT_BF16_PATH()                                                       \
  if (!has_bf16_path())                                                                     \
  GTEST_SKIP() << "no bf16 path on this processor (it needs AMX-BF16): " << cpu_features().describe()

float to_bf16(float v) { return bf16_to_f32(f32_to_bf16(v)); }

// The promised product in double: activation row i times 2^e_i (its largest magnitude then in
// [1, 2); e_i = 0 for rows with NaN or Inf), rounded to bf16; weights ŵ rounded to bf16.
DoubleProduct bf16_product(const std::vector<float>& x, std::size_t m, const std::vector<float>& w, std::size_t n,
                           std::size_t k, const std::vector<float>& bias) {
  std::vector<float> xb(x.size()), wb(w.size());
  std::vector<double> unscale(m, 1.0);
  for (std::size_t i = 0; i < m; ++i) {
    float big = 0;
    bool finite = true;
    for (std::size_t l = 0; l < k; ++l) {
      finite = finite && std::isfinite(x[i * k + l]);
      big = std::max(big, std::fabs(x[i * k + l]));
    }
    const int e = finite && big > 0 ? -std::ilogb(big) : 0;
    unscale[i] = std::ldexp(1.0, -e);
    for (std::size_t l = 0; l < k; ++l) xb[i * k + l] = to_bf16(float(std::ldexp(double(x[i * k + l]), e)));
  }
  for (std::size_t l = 0; l < w.size(); ++l) wb[l] = to_bf16(w[l]);
  DoubleProduct p = double_product(xb, m, wb, n, k, {});
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double& y = p.y[i * n + j];
      double& a = p.magnitude[i * n + j];
      y = y * unscale[i] + (bias.empty() ? 0.0 : bias[j]);
      a = a * unscale[i] + (bias.empty() ? 0.0 : std::fabs(bias[j]));
    }
  return p;
}

// p twice over (the expectation after accumulating the same product into y again).
DoubleProduct doubled(DoubleProduct p) {
  for (auto& v : p.y) v *= 2;
  for (auto& v : p.magnitude) v *= 2;
  return p;
}

// y = x·Ŵᵀ (+ e) through cpu::Backend, into y (m rows).
template <class S>
void gemm(cpu::Context& ctx, const cpu::Backend::Weights<S>& w, const std::vector<float>& x, std::size_t m,
          std::vector<float>& y, Epilogue e = {}) {
  y.resize(m * w.rows());
  cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), m, w.cols()), MatrixView<float>(y.data(), m, w.rows()), e);
}
template <class S>
std::vector<float> forward(cpu::Context& ctx, const cpu::Backend::Weights<S>& w, const std::vector<float>& x,
                           std::size_t m) {
  std::vector<float> y;
  gemm(ctx, w, x, m, y);
  return y;
}

template <class S>
class Bf16Path : public ::testing::Test {};
using Bf16Schemes = ::testing::Types<NF4, NF4DoubleQuant>;
TYPED_TEST_SUITE(Bf16Path, Bf16Schemes);

TYPED_TEST(Bf16Path, ComputesTheBf16ProductOnShapeSweeps) {
  using S = TypeParam;
  static_assert(cpu::kBf16Products<S>);
  QLINEAR_SKIP_WITHOUT_BF16_PATH();
  struct Shape {
    std::size_t m, n, k;
  };
  // M = 300, K = 576: three blocks of rows (the last 44), each over three sub-blocks of chunks.
  for (Shape sh : {Shape{17, 33, 64}, Shape{33, 100, 192}, Shape{64, 32, 1088}, Shape{128, 47, 320},
                   Shape{257, 65, 128}, Shape{31, 1, 64}, Shape{300, 40, 576}}) {
    const auto t = random_tensor<S>(sh.n, sh.k, 7);
    const auto w = cpu::Backend::upload(t);
    const auto x = random_floats(sh.m * sh.k, 11, 1.0f, 0.02f, 30.0f);
    const auto bias = random_floats(sh.n, 12);
    const auto want = bf16_product(x, sh.m, t.dequantize(), sh.n, sh.k, bias);
    for (unsigned threads : {1u, 2u, 3u}) {
      cpu::Context ctx(threads);
      ASSERT_NE(cpu::Backend::kernel_name<S>(ctx).find(":bf16"), std::string::npos) << cpu::Backend::kernel_name<S>(ctx);
      std::vector<float> y(sh.m * sh.n, 0.25f);
      gemm(ctx, w, x, sh.m, y, Epilogue{bias.data(), false});
      const std::string what = std::string(S::name) + " M=" + std::to_string(sh.m) + " N=" + std::to_string(sh.n) +
                               " K=" + std::to_string(sh.k) + ", " + std::to_string(threads) + " threads";
      EXPECT_TRUE(close_to(y, want, 2e-6 * std::sqrt(double(sh.k)), what));
      // Accumulate: y += the same again.
      gemm(ctx, w, x, sh.m, y, Epilogue{bias.data(), true});
      const DoubleProduct twice = doubled(want);
      EXPECT_TRUE(close_to(y, twice, 2e-6 * std::sqrt(double(sh.k)), what + " accumulate"));
    }
  }
}

TYPED_TEST(Bf16Path, StaysWithinBf16OfTheExactProductForTinyAndHugeRows) {
  using S = TypeParam;
  QLINEAR_SKIP_WITHOUT_BF16_PATH();
  const std::size_t m = 24, n = 40, k = 256;
  const auto t = random_tensor<S>(n, k, 21);
  const auto w = cpu::Backend::upload(t);
  auto x = random_floats(m * k, 22);
  // Rows 0-7 ordinary, 8-15 tiny (down to subnormal), 16-23 huge.
  for (std::size_t i = 8; i < 16; ++i)
    for (std::size_t l = 0; l < k; ++l) x[i * k + l] *= i % 2 ? 1e-41f : 1e-30f;
  for (std::size_t i = 16; i < 24; ++i)
    for (std::size_t l = 0; l < k; ++l) x[i * k + l] *= 1e30f;
  cpu::Context ctx(2);
  const auto y = forward(ctx, w, x, m);
  EXPECT_TRUE(close_to(y, bf16_product(x, m, t.dequantize(), n, k, {}), 1e-4, std::string(S::name) + " bf16 product"));
  // bf16 keeps 8 significant bits of each factor: within 2 · 2^-8 of Σ|x·w|, row by row.
  const auto exact = double_product(x, m, t.dequantize(), n, k, {});
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      // (plus half of f32's subnormal spacing, for the rows whose results are subnormal)
      ASSERT_NEAR(y[i * n + j], exact.y[i * n + j], 2 * std::ldexp(1.0, -8) * exact.magnitude[i * n + j] + 1e-45)
          << S::name << " row " << i << " column " << j;
    }
  // The tiny rows are not flushed: they carry as much of the product as ordinary rows do.
  for (std::size_t j = 0; j < n; ++j) EXPECT_NE(y[9 * n + j], 0.0f) << "row of 1e-41 values, column " << j;
}

TYPED_TEST(Bf16Path, NanAndInfinityPropagateAsInF32) {
  using S = TypeParam;
  QLINEAR_SKIP_WITHOUT_BF16_PATH();
  const std::size_t m = 20, n = 35, k = 128;
  const auto t = random_tensor<S>(n, k, 31);
  const auto w = cpu::Backend::upload(t);
  auto x = random_floats(m * k, 32);
  x[3 * k + 5] = std::numeric_limits<float>::quiet_NaN();
  x[7 * k + 9] = std::numeric_limits<float>::infinity();
  x[12 * k + 1] = -std::numeric_limits<float>::infinity();
  cpu::Context ctx(1);
  const auto y = forward(ctx, w, x, m);
  // The double product over the same bf16 inputs has NaN / ±Inf exactly where f32 would.
  EXPECT_TRUE(close_to(y, bf16_product(x, m, t.dequantize(), n, k, {}), 1e-4, std::string(S::name) + " non-finite rows"));
  for (std::size_t j = 0; j < n; ++j) EXPECT_TRUE(std::isnan(y[3 * n + j])) << "NaN row, column " << j;
  for (std::size_t i : {0u, 19u})
    for (std::size_t j = 0; j < n; ++j) EXPECT_TRUE(std::isfinite(y[i * n + j])) << "row " << i << " column " << j;
}

TYPED_TEST(Bf16Path, ExactModeFewRowsAndLowerCeilingsKeepTheF32Path) {
  using S = TypeParam;
  const std::size_t n = 40, k = 192;
  const auto t = random_tensor<S>(n, k, 41);
  const auto w = cpu::Backend::upload(t);
  for (std::size_t m : {cpu::kExactDotMaxRows, std::size_t(40)}) {
    const auto x = random_floats(m * k, 42);
    const auto exact = double_product(x, m, t.dequantize(), n, k, {});
    auto run = [&](cpu::Context& ctx) { return forward(ctx, w, x, m); };
    cpu::Context exact_mode(1, Isa::best, ActivationMode::exact);
    EXPECT_TRUE(close_to(run(exact_mode), exact, 1e-5, std::string(S::name) + " exact mode M=" + std::to_string(m)));
    EXPECT_EQ(cpu::Backend::kernel_name<S>(exact_mode).find(":bf16"), std::string::npos);
    for (Isa level : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::avx512_vnni}) {
      if (!cpu::isa_supported(level)) continue;
      cpu::Context lower(1, level);
      EXPECT_FALSE(bool(cpu::select_bf16_kernels(level))) << cpu::isa_name(level);
      EXPECT_TRUE(close_to(run(lower), exact, 1e-5, std::string(S::name) + " at " + std::string(cpu::isa_name(level))));
    }
    if (m <= cpu::kExactDotMaxRows) {
      cpu::Context ctx(1);
      EXPECT_TRUE(close_to(run(ctx), exact, 1e-5, std::string(S::name) + " quantized mode, M=" + std::to_string(m)));
    }
  }
}

// The GGUF schemes that switch to the bf16 path for large batches.
template <class S>
class LargeBatchBf16 : public ::testing::Test {};
using LargeBatchSchemes =
    ::testing::Types<Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS>;
TYPED_TEST_SUITE(LargeBatchBf16, LargeBatchSchemes);

TYPED_TEST(LargeBatchBf16, FromItsRowCountOnTheQuantizedModeComputesTheBf16Product) {
  using S = TypeParam;
  constexpr std::size_t from = cpu::kBf16FromRows<S>;
  static_assert(from > cpu::kExactDotMaxRows);
  QLINEAR_SKIP_WITHOUT_BF16_PATH();
  const std::size_t k = 512;
  // N = 48: AMX-packed weights where S has a packed layout; N = 45: canonical rows.
  for (std::size_t n : {std::size_t(48), std::size_t(45)}) {
    const auto t = random_tensor<S>(n, k, 51);
    const auto w = cpu::Backend::upload(t);
    const auto bias = random_floats(n, 52);
    for (std::size_t m : {from, from + 37}) {
      const auto x = random_floats(m * k, 53, 1.0f, 0.02f, 30.0f);
      const auto want = bf16_product(x, m, t.dequantize(), n, k, bias);
      for (unsigned threads : {1u, 2u}) {
        cpu::Context ctx(threads);
        const std::string name = cpu::Backend::kernel_name<S>(ctx, w);
        ASSERT_NE(name.find("|M>=" + std::to_string(from) + ":amx:bf16"), std::string::npos) << name;
        std::vector<float> y(m * n, 0.5f);
        gemm(ctx, w, x, m, y, Epilogue{bias.data(), false});
        const std::string what = std::string(S::name) + " M=" + std::to_string(m) + " N=" + std::to_string(n) + ", " +
                                 std::to_string(threads) + " threads, " + name;
        EXPECT_TRUE(close_to(y, want, 2e-6 * std::sqrt(double(k)), what));
        gemm(ctx, w, x, m, y, Epilogue{bias.data(), true});
        const DoubleProduct twice = doubled(want);
        EXPECT_TRUE(close_to(y, twice, 2e-6 * std::sqrt(double(k)), what + " accumulate"));
      }
    }
  }
}

// Long rows go in K blocks (bf16_k_block), their partial sums carried between blocks in f32,
// tasks of several panels sharing each block of activations; the weights come from the packed
// layout's own bf16 decoder where S has one (N = 144: 4 panels of 32 rows and one of 16) or
// from the canonical rows (N = 141: the last panel 13 rows).
TYPED_TEST(LargeBatchBf16, LongRowsInKBlocksGiveTheBf16Product) {
  using S = TypeParam;
  QLINEAR_SKIP_WITHOUT_BF16_PATH();
  const std::size_t m = 520, k = 1024;
  ASSERT_GE(m, cpu::kBf16FromRows<S>);
  const std::size_t kc = cpu::bf16_k_block((m + 31) / 32 * 32, k, cpu::bf16_slice_values<S>());
  ASSERT_LT(kc, k) << "the shape must take more than one K block";
  const auto x = random_floats(m * k, 71, 1.0f, 0.02f, 30.0f);
  for (std::size_t n : {std::size_t(144), std::size_t(141)}) {
    const auto t = random_tensor<S>(n, k, 72);
    const auto w = cpu::Backend::upload(t);
    const auto bias = random_floats(n, 73);
    const auto want = bf16_product(x, m, t.dequantize(), n, k, bias);
    for (unsigned threads : {1u, 2u}) {
      cpu::Context ctx(threads);
      const std::string what = std::string(S::name) + " N=" + std::to_string(n) + ", " + std::to_string(threads) +
                               " threads, K blocks of " + std::to_string(kc) + ", " + cpu::Backend::kernel_name<S>(ctx, w);
      std::vector<float> y(m * n, 0.5f);
      gemm(ctx, w, x, m, y, Epilogue{bias.data(), false});
      EXPECT_TRUE(close_to(y, want, 2e-6 * std::sqrt(double(k)), what));
      gemm(ctx, w, x, m, y, Epilogue{bias.data(), true});
      const DoubleProduct twice = doubled(want);
      EXPECT_TRUE(close_to(y, twice, 2e-6 * std::sqrt(double(k)), what + " accumulate"));
    }
  }
}

// Another path's result as the expectation, with the f32 product's magnitudes.
DoubleProduct integer_ref(const std::vector<float>& y, const DoubleProduct& exact) {
  return {std::vector<double>(y.begin(), y.end()), exact.magnitude};
}

// One row fewer stays on the integer path: the result agrees to f32 rounding with the integer
// kernels of a ceiling without the bf16 path (AVX-512 VNNI), and not with the bf16 product;
// that ceiling, the exact mode and the integer mode never take the bf16 path, at any M.
TYPED_TEST(LargeBatchBf16, FewerRowsLowerCeilingsAndTheExactModeKeepTheirPaths) {
  using S = TypeParam;
  constexpr std::size_t from = cpu::kBf16FromRows<S>;
  QLINEAR_SKIP_WITHOUT_BF16_PATH();
  if (!cpu::isa_supported(Isa::avx512_vnni)) GTEST_SKIP() << "no AVX-512 VNNI to compare the integer path with";
  const std::size_t n = 32, k = 256;
  const auto t = random_tensor<S>(n, k, 61);
  const auto w = cpu::Backend::upload(t);
  const auto wd = t.dequantize();
  for (std::size_t m : {from - 1, from}) {
    const auto x = random_floats(m * k, 62);
    const auto exact = double_product(x, m, wd, n, k, {});
    cpu::Context best(1), vnni(1, Isa::avx512_vnni), exact_mode(1, Isa::best, ActivationMode::exact),
        integer(1, Isa::best, ActivationMode::integer);
    for (cpu::Context* c : {&vnni, &exact_mode, &integer})
      EXPECT_EQ(cpu::Backend::kernel_name<S>(*c, w).find(":bf16"), std::string::npos) << cpu::Backend::kernel_name<S>(*c, w);
    const auto y = forward(best, w, x, m), y_int = forward(vnni, w, x, m);
    EXPECT_TRUE(close_to(forward(exact_mode, w, x, m), exact, 1e-5, std::string(S::name) + " exact mode"));
    const auto bf16 = bf16_product(x, m, wd, n, k, {});
    const std::string what = std::string(S::name) + " M=" + std::to_string(m);
    EXPECT_TRUE(close_to(forward(integer, w, x, m), integer_ref(y_int, exact), 1e-5, what + " integer mode"));
    if (m < from) {
      EXPECT_TRUE(close_to(y, integer_ref(y_int, exact), 1e-5, what + " against the integer path"));
      EXPECT_FALSE(close_to(y, bf16, 2e-6 * std::sqrt(double(k)), what + " against the bf16 product"));
    } else {
      EXPECT_TRUE(close_to(y, bf16, 2e-6 * std::sqrt(double(k)), what + " against the bf16 product"));
      EXPECT_FALSE(close_to(y, integer_ref(y_int, exact), 1e-5, what + " against the integer path"));
    }
  }
}

}  // namespace
}  // namespace qlinear::test
