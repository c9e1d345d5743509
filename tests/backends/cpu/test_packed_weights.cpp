// Weights repacked at upload (PackedLayout, packed_weights.hpp) for every scheme that has a
// layout on this processor:
//  - pack then unpack gives the canonical bytes back; download restores the tensor; the packed
//    weights take no more memory than the canonical ones; shapes a layout does not take stay
//    canonical, and upload below the layout's level keeps them canonical;
//  - the packed kernels equal the scalar level on shape sweeps (M from 1 to 257 across the
//    small-M / tile cross-over, N and K multiples of the layout's units), thread counts 1-3,
//    bias and accumulate;
//  - every lower ceiling, the exact mode and gemm_transposed run on packed weights (through the
//    restored rows) and give their canonical results; a layout's own exact tile matches the
//    double product, NaN / Inf / tiny / huge activations included;
//  - K past the integer slab.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "cpu_test_util.hpp"

namespace qlinear::test {
namespace {

using cpu::ActivationMode;
using cpu::Isa;

template <class List>
struct ToGtest;
template <class... Ts>
struct ToGtest<TypeList<Ts...>> {
  using type = ::testing::Types<Ts...>;
};

template <class S>
class PackedWeightsScheme : public ::testing::Test {};
TYPED_TEST_SUITE(PackedWeightsScheme, ToGtest<AllSchemes>::type);

// The smallest K the layout of S takes, if S has a layout on this processor at all.
template <class S>
std::size_t packed_k_unit() {
  for (std::size_t k : {64, 128, 256, 512})
    if (k % S::block_elems == 0 && cpu::select_packed_layout<S>(cpu::best_isa(), 16, k)) return k;
  return 0;
}

std::vector<float> activations(std::size_t m, std::size_t k, std::uint32_t seed) {
  return random_floats(m * k, seed, 1.0f, 0.02f, 30.0f);
}

template <class S>
std::vector<float> run(cpu::Context& ctx, const cpu::Backend::Weights<S>& w, const std::vector<float>& x, std::size_t m,
                       const float* bias, bool accumulate, float init = 0.5f) {
  std::vector<float> y(m * w.rows(), init);
  cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), m, w.cols()), MatrixView<float>(y.data(), m, w.rows()),
                     Epilogue{bias, accumulate});
  return y;
}

TYPED_TEST(PackedWeightsScheme, PackUnpackDownloadAndMemory) {
  using S = TypeParam;
  const std::size_t ku = packed_k_unit<S>();
  if (ku == 0) GTEST_SKIP() << S::name << " has no packed layout on this processor (best level " << cpu::isa_name(cpu::best_isa()) << ")";
  for (std::size_t k : {ku, 3 * ku}) {
    const std::size_t n = 48;
    const auto t = random_tensor<S>(n, k, 3);
    const auto w = cpu::Backend::upload(t, Isa::best);
    ASSERT_TRUE(bool(w.packed)) << S::name << " " << n << "x" << k;
    EXPECT_TRUE(w.tensor.empty()) << "the canonical copy is dropped once packed";
    EXPECT_LE(w.memory_bytes(), t.memory_bytes()) << S::name;
    EXPECT_EQ(w.rows(), n);
    EXPECT_EQ(w.cols(), k);
    const auto back = cpu::Backend::download(w);
    ASSERT_EQ(back.bytes().size(), t.bytes().size());
    EXPECT_EQ(0, std::memcmp(back.bytes().data(), t.bytes().data(), t.bytes().size())) << S::name << " download";
    EXPECT_EQ(back.params(), t.params());
    // Rows of panels 1 and 2 only.
    std::vector<std::uint8_t> rows(32 * t.row_bytes());
    w.packed.unpack_rows(16, 32, rows.data());
    EXPECT_EQ(0, std::memcmp(rows.data(), t.row(16), rows.size())) << S::name << " unpack_rows";
  }
  // Shapes the layout does not take, and uploads below its level, stay canonical.
  const auto odd = random_tensor<S>(17, ku, 4);
  EXPECT_FALSE(bool(cpu::Backend::upload(odd, Isa::best).packed)) << S::name << ": 17 rows";
  const auto fits = random_tensor<S>(32, ku, 5);
  const Isa level = cpu::Backend::upload(fits, Isa::best).packed.kernels.isa;
  for (Isa isa : cpu::supported_isas())
    if (isa < level) {
      EXPECT_FALSE(bool(cpu::Backend::upload(fits, isa).packed)) << S::name << " at " << cpu::isa_name(isa);
    }
}

TYPED_TEST(PackedWeightsScheme, PackedKernelsEqualTheScalarLevel) {
  using S = TypeParam;
  if constexpr (!cpu::HasIntegerPath<S>) {
    GTEST_SKIP() << S::name << " has no integer path";
  } else {
    const std::size_t ku = packed_k_unit<S>();
    if (ku == 0) GTEST_SKIP() << S::name << " has no packed layout on this processor";
    struct Shape {
      std::size_t m, n, k;
    };
    std::vector<Shape> shapes;
    for (std::size_t m : {1, 2, 3, 7, 16, 17, 31, 32, 33, 64, 128, 257}) shapes.push_back({m, m > 64 ? 32u : 80u, 3 * ku});
    shapes.push_back({5, 16, ku});
    shapes.push_back({40, 48, 16 * ku});
    std::uint32_t seed = 10;
    for (const Shape& sh : shapes) {
      const auto t = random_tensor<S>(sh.n, sh.k, seed++);
      const auto canonical = cpu::Backend::upload(t, Isa::scalar);
      const auto packed = cpu::Backend::upload(t, Isa::best);
      ASSERT_TRUE(bool(packed.packed));
      const auto x = activations(sh.m, sh.k, seed++);
      const auto bias = random_floats(sh.n, seed++);
      const auto mag = double_product(x, sh.m, t.dequantize(), sh.n, sh.k, bias).magnitude;
      const std::string where = std::string(S::name) + " M=" + std::to_string(sh.m) + " N=" + std::to_string(sh.n) +
                                " K=" + std::to_string(sh.k);
      for (bool accumulate : {false, true}) {
        const float* b = accumulate ? nullptr : bias.data();
        cpu::Context scalar(1, Isa::scalar);
        const auto want = run(scalar, canonical, x, sh.m, b, accumulate);
        const DoubleProduct ref{std::vector<double>(want.begin(), want.end()), mag};
        for (unsigned threads : {1u, 3u}) {
          cpu::Context ctx(threads, Isa::best, ActivationMode::integer);  // never the large-batch bf16 path
          ASSERT_TRUE(close_to(run(ctx, packed, x, sh.m, b, accumulate), ref, 1e-5,
                               where + " " + cpu::Backend::kernel_name<S>(ctx, packed) + " threads=" +
                                   std::to_string(threads) + " accumulate=" + std::to_string(accumulate)));
        }
      }
    }
  }
}

TYPED_TEST(PackedWeightsScheme, LowerCeilingsExactModeAndTransposedRunOnPackedWeights) {
  using S = TypeParam;
  const std::size_t ku = packed_k_unit<S>();
  if (ku == 0) GTEST_SKIP() << S::name << " has no packed layout on this processor";
  const std::size_t m = 9, n = 64, k = 2 * ku;
  const auto t = random_tensor<S>(n, k, 21);
  const auto canonical = cpu::Backend::upload(t, Isa::scalar);
  const auto packed = cpu::Backend::upload(t, Isa::best);
  ASSERT_TRUE(bool(packed.packed));
  const auto x = activations(m, k, 22);
  const auto bias = random_floats(n, 23);
  for (Isa isa : cpu::supported_isas()) {
    for (ActivationMode mode : {ActivationMode::quantized, ActivationMode::exact}) {
      cpu::Context ctx(2, isa, mode);
      const auto want = run(ctx, canonical, x, m, bias.data(), false);
      const auto got = run(ctx, packed, x, m, bias.data(), false);
      const bool own_exact_tile = packed.packed.kernels.exact_tile && isa >= packed.packed.kernels.isa;
      if (isa < packed.packed.kernels.isa || (mode == ActivationMode::exact && !own_exact_tile) ||
          !cpu::HasIntegerPath<S>) {
        // The same canonical kernel on restored rows: the same floats.
        ASSERT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)))
            << S::name << " " << cpu::Backend::kernel_name<S>(ctx, packed);
      }
    }
  }
  // dx = dy · W on packed weights equals it on canonical ones.
  const auto dy = random_floats(m * n, 24);
  cpu::Context ctx(3);
  std::vector<float> a(m * k), b(m * k);
  cpu::Backend::gemm_transposed(ctx, canonical, ConstMatrixView<float>(dy.data(), m, n), MatrixView<float>(a.data(), m, k));
  cpu::Backend::gemm_transposed(ctx, packed, ConstMatrixView<float>(dy.data(), m, n), MatrixView<float>(b.data(), m, k));
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << S::name << " gemm_transposed";
}

// A layout's own exact tile (PackedKernels::exact_tile: f32 activation rows on the packed
// bytes) against the double product: every row count from 1 to 17, 32, 33 and 40 (its passes
// of 8 and their chains; the k-quants' limit of 32 and past it), several panels and tasks, K of
// one and of many blocks, 1-3 threads, bias and accumulate; NaN and Inf in a row give that row
// what IEEE arithmetic gives (the double product's own NaN / Inf), the other rows stay finite;
// tiny and huge activations keep their relative precision.
TYPED_TEST(PackedWeightsScheme, OwnExactTileMatchesDoubleProduct) {
  using S = TypeParam;
  const std::size_t ku = packed_k_unit<S>();
  if (ku == 0) GTEST_SKIP() << S::name << " has no packed layout on this processor";
  if (!cpu::select_packed_layout<S>(cpu::best_isa(), 16, ku).exact_tile)
    GTEST_SKIP() << S::name << "'s layout has no exact tile (the exact mode restores canonical rows)";
  std::uint32_t seed = 50;
  for (std::size_t k : {ku, 12 * ku}) {
    for (std::size_t n : {16u, 272u}) {
      const auto t = random_tensor<S>(n, k, seed++);
      const auto packed = cpu::Backend::upload(t, Isa::best);
      ASSERT_TRUE(bool(packed.packed));
      const auto bias = random_floats(n, seed++);
      for (std::size_t m : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 32, 33, 40}) {
        if (n == 16 && m % 4 != 1) continue;  // the small N for a few row counts only
        // The last row tiny or huge (without accumulate: y's 0.5 would swamp a tiny row's sum).
        const auto plain = activations(m, k, seed++);
        auto extreme = plain;
        for (std::size_t l = 0; l < k; ++l) extreme[(m - 1) * k + l] *= m % 2 ? 0x1p-100f : 0x1p+90f;
        const auto w = t.dequantize();
        for (bool accumulate : {false, true}) {
          const auto& x = accumulate ? plain : extreme;
          const float* b = accumulate ? nullptr : bias.data();
          auto ref = double_product(x, m, w, n, k, accumulate ? std::vector<float>{} : bias);
          if (accumulate)
            for (double& v : ref.y) v += 0.5;
          for (unsigned threads : {1u, 3u}) {
            cpu::Context ctx(threads, Isa::best, ActivationMode::exact);
            ASSERT_TRUE(close_to(run(ctx, packed, x, m, b, accumulate), ref, 1e-5,
                                 std::string(S::name) + " " + cpu::Backend::kernel_name<S>(ctx, packed) + " M=" +
                                     std::to_string(m) + " N=" + std::to_string(n) + " K=" + std::to_string(k) +
                                     " threads=" + std::to_string(threads) + " accumulate=" + std::to_string(accumulate)));
          }
        }
      }
    }
  }
  // NaN and Inf.
  const std::size_t m = 5, n = 48, k = 2 * ku;
  const auto t = random_tensor<S>(n, k, seed++);
  const auto packed = cpu::Backend::upload(t, Isa::best);
  auto x = activations(m, k, seed++);
  x[1 * k + 3] = std::numeric_limits<float>::quiet_NaN();
  x[3 * k + 5] = std::numeric_limits<float>::infinity();
  const auto ref = double_product(x, m, t.dequantize(), n, k, {});
  cpu::Context ctx(2, Isa::best, ActivationMode::exact);
  const auto y = run(ctx, packed, x, m, nullptr, false);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      const double want = ref.y[i * n + j];
      const float got = y[i * n + j];
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << S::name << " row " << i << " column " << j;
      } else if (std::isinf(want)) {
        EXPECT_EQ(double(got), want) << S::name << " row " << i << " column " << j;
      } else {
        ASSERT_TRUE(std::isfinite(got)) << S::name << " row " << i << " column " << j;
        EXPECT_NEAR(got, want, 1e-5 * ref.magnitude[i * n + j] + 1e-30) << S::name << " row " << i << " column " << j;
      }
    }
}

// Rows with NaN, Inf and tiny values go to the exact path, also on packed weights.
TYPED_TEST(PackedWeightsScheme, NonFiniteRowsOnPackedWeights) {
  using S = TypeParam;
  const std::size_t ku = packed_k_unit<S>();
  if (ku == 0) GTEST_SKIP() << S::name << " has no packed layout on this processor";
  const std::size_t m = 20, n = 32, k = ku;
  const auto t = random_tensor<S>(n, k, 31);
  const auto packed = cpu::Backend::upload(t, Isa::best);
  auto x = activations(m, k, 32);
  x[3 * k + 1] = std::numeric_limits<float>::quiet_NaN();
  for (std::size_t l = 0; l < k; ++l) x[7 * k + l] *= 0x1p-110f;
  const auto ref = double_product(x, m, t.dequantize(), n, k, {});
  cpu::Context ctx(2);
  const auto y = run(ctx, packed, x, m, nullptr, false);
  for (std::size_t j = 0; j < n; ++j) {
    EXPECT_TRUE(std::isnan(y[3 * n + j])) << S::name << " column " << j;
    EXPECT_NEAR(y[7 * n + j], ref.y[7 * n + j], 1e-5 * ref.magnitude[7 * n + j] + 1e-40) << S::name << " tiny row";
  }
}

// K beyond the int8 kernels' 32768-value integer slab: exact sums per slab, f32 across them.
TEST(PackedWeights, Int8KBeyondTheIntegerSlab) {
  const std::size_t n = 32, k = 32768 + 2 * 64;
  if (!cpu::select_packed_layout<Int8PerChannelAffine>(cpu::best_isa(), n, k))
    GTEST_SKIP() << "no packed int8 layout on this processor";
  const auto t = random_tensor<Int8PerChannelAffine>(n, k, 41);
  const auto canonical = cpu::Backend::upload(t, Isa::scalar);
  const auto packed = cpu::Backend::upload(t, Isa::best);
  for (std::size_t m : {1, 20}) {
    const auto x = activations(m, k, 42);
    cpu::Context scalar(1, Isa::scalar), best(1);
    const auto want = run(scalar, canonical, x, m, nullptr, false);
    const auto got = run(best, packed, x, m, nullptr, false);
    const auto mag = double_product(x, m, t.dequantize(), n, k, {}).magnitude;
    ASSERT_TRUE(close_to(got, DoubleProduct{std::vector<double>(want.begin(), want.end()), mag}, 1e-5,
                         "M=" + std::to_string(m) + " " + cpu::Backend::kernel_name<Int8PerChannelAffine>(best, packed)));
  }
}

}  // namespace
}  // namespace qlinear::test
