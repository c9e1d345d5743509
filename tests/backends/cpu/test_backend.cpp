// cpu::Backend, every scheme × every ISA level this processor runs × both activation modes,
// on shape sweeps, against double-precision products:
//  - exact mode: y = x·Ŵᵀ (+ bias) with Ŵ the scheme's reference dequantization;
//  - quantized mode, scalar level: y = x̂·Ŵᵀ with x̂ the scalar quantizer's activations;
//  - quantized mode, every SIMD level: the scalar level's output, to float rounding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "cpu_test_util.hpp"
#include "qlinear/layers/quantized_linear.hpp"
#if defined(__x86_64__)
#include "qlinear/backends/cpu/x86/amx/tile.hpp"  // the test reads the tile configuration back
#endif

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

struct Shape {
  std::size_t m, n, k;
};

// The sweep of the issue: M in 1, 2, 3, 7, 16, 33, 64, 128, 257; N not a multiple of any tile;
// K of one block, a few blocks, and about a thousand weights.
template <class S>
std::vector<Shape> shapes() {
  const std::size_t b = S::block_elems;
  const std::size_t k1 = std::max<std::size_t>(b, 32 / b * b), k3 = 3 * k1,
                    kbig = std::max<std::size_t>(b, (1000 + b - 1) / b * b);
  std::vector<Shape> s;
  for (std::size_t m : {1, 2, 3, 7, 16, 33, 64, 128, 257}) s.push_back({m, m >= 128 ? 19u : 67u, k3});
  for (std::size_t n : {1, 13, 300}) s.push_back({3, n, k3});
  s.push_back({7, 33, k1});
  s.push_back({5, 21, kbig});
  return s;
}

std::vector<float> random_activations(std::size_t m, std::size_t k, std::uint32_t seed) {
  return random_floats(m * k, seed, 1.0f, 0.02f, 30.0f);
}

// The ISA levels whose kernels for S (in this mode) differ: a level that selects the same kernels
// as a lower one is not run again.
template <class S>
std::vector<Isa> distinct_levels(ActivationMode mode) {
  std::vector<Isa> out;
  std::vector<std::string> seen;
  for (Isa isa : cpu::supported_isas()) {
    cpu::Context ctx(1, isa, mode);
    const std::string name = cpu::Backend::kernel_name<S>(ctx);
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    out.push_back(isa);
  }
  return out;
}

template <class S>
class CpuBackendScheme : public ::testing::Test {};
TYPED_TEST_SUITE(CpuBackendScheme, ToGtest<AllSchemes>::type);

TYPED_TEST(CpuBackendScheme, ExactModeMatchesDoubleProductOnEveryIsa) {
  using S = TypeParam;
  std::uint32_t seed = 1;
  for (const Shape& sh : shapes<S>()) {
    const auto t = random_tensor<S>(sh.n, sh.k, seed++);
    const auto w = cpu::Backend::upload(t);
    const auto x = random_activations(sh.m, sh.k, seed++);
    const auto bias = random_floats(sh.n, seed++);
    const auto ref = double_product(x, sh.m, t.dequantize(), sh.n, sh.k, bias);
    for (Isa isa : distinct_levels<S>(ActivationMode::exact)) {
      for (unsigned threads : {1u, 3u}) {
        cpu::Context ctx(threads, isa, ActivationMode::exact);
        std::vector<float> y(sh.m * sh.n, std::numeric_limits<float>::quiet_NaN());
        cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), sh.m, sh.k), MatrixView<float>(y.data(), sh.m, sh.n),
                           Epilogue{bias.data(), false});
        ASSERT_TRUE(close_to(y, ref, 1e-5,
                             std::string(S::name) + " " + cpu::Backend::kernel_name<S>(ctx) + " M=" +
                                 std::to_string(sh.m) + " N=" + std::to_string(sh.n) + " K=" + std::to_string(sh.k) +
                                 " threads=" + std::to_string(threads)));
      }
    }
  }
}

// The activations as the scalar quantizer gives them: bytes, pre-scales, exact-path flags,
// and x̂ (dequantized, pre-scale undone; the input itself for exact-path rows).
template <class A>
struct QuantizedActivations {
  std::vector<std::uint8_t> bytes;
  std::vector<float> scale, x_hat;
  std::vector<std::uint8_t> exact;
  std::size_t stride = 0;
};
template <class A>
QuantizedActivations<A> quantize_activations(const std::vector<float>& x, std::size_t m, std::size_t k) {
  QuantizedActivations<A> r;
  r.stride = row_bytes<A>(k);
  r.bytes.resize(m * r.stride);
  r.scale.resize(m);
  r.exact.resize(m);
  r.x_hat.resize(m * k);
  std::vector<float> scratch(k);
  cpu::QuantizeActivationArgs q;
  q.x = x.data();
  q.ldx = k;
  q.k = k;
  q.m0 = 0;
  q.m1 = m;
  q.out = r.bytes.data();
  q.out_stride = r.stride;
  q.row_scale = r.scale.data();
  q.exact = r.exact.data();
  q.scratch = scratch.data();
  cpu::QuantizeActivations<A, Isa::scalar>::rows(q);
  for (std::size_t i = 0; i < m; ++i) {
    if (r.exact[i]) {
      std::memcpy(r.x_hat.data() + i * k, x.data() + i * k, k * sizeof(float));
      continue;
    }
    A::dequantize_row(r.bytes.data() + i * r.stride, k, r.x_hat.data() + i * k, {}, i);
    for (std::size_t l = 0; l < k; ++l) r.x_hat[i * k + l] *= r.scale[i];
  }
  return r;
}

// Q4_1 and Q5_1 take their min term from Q8_1's stored s = f16(d·Σq), not from d·Σq itself:
// adds Σ_blocks m_w · (s − d·Σq) (· the row's pre-scale) to the x̂ product, so the expected
// value is what the format computes, and the tolerance can stay at float rounding.
template <class S>
void add_q8_1_sum_rounding(DoubleProduct& p, const QuantizedActivations<Q8_1>& a, const QuantizedTensor<S>& t,
                           std::size_t m) {
  const std::size_t n = t.rows(), blocks = t.cols() / 32;
  for (std::size_t i = 0; i < m; ++i) {
    if (a.exact[i]) continue;
    for (std::size_t j = 0; j < n; ++j) {
      double c = 0;
      for (std::size_t b = 0; b < blocks; ++b) {
        const auto wb = S::load_block(t.row(j), b);
        const auto ab = Q8_1::load_block(a.bytes.data() + i * a.stride, b);
        int sum = 0;
        for (int l = 0; l < 32; ++l) sum += ab.qs[l];
        c += double(wb.m.to_float()) * (double(ab.s.to_float()) - double(ab.d.to_float()) * sum);
      }
      p.y[i * n + j] += c * a.scale[i];
    }
  }
}

TYPED_TEST(CpuBackendScheme, QuantizedModeComputesTheQuantizedActivationsProduct) {
  using S = TypeParam;
  if constexpr (!cpu::HasIntegerPath<S>) {
    GTEST_SKIP() << S::name << " has no integer path: cpu::Backend runs it in exact mode (tested above)";
  } else {
    using A = cpu::activation_scheme_t<S>;
    std::uint32_t seed = 100;
    for (const Shape& sh : shapes<S>()) {
      const auto t = random_tensor<S>(sh.n, sh.k, seed++);
      const auto w = cpu::Backend::upload(t);
      const auto x = random_activations(sh.m, sh.k, seed++);
      const auto bias = random_floats(sh.n, seed++);
      const auto acts = quantize_activations<A>(x, sh.m, sh.k);
      auto ref = double_product(acts.x_hat, sh.m, t.dequantize(), sh.n, sh.k, bias);
      if constexpr (std::is_same_v<A, Q8_1>) add_q8_1_sum_rounding(ref, acts, t, sh.m);
      const std::string where = std::string(S::name) + " M=" + std::to_string(sh.m) + " N=" + std::to_string(sh.n) +
                                " K=" + std::to_string(sh.k);
      std::vector<float> y_scalar(sh.m * sh.n);
      {
        cpu::Context ctx(1, Isa::scalar);
        cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), sh.m, sh.k),
                           MatrixView<float>(y_scalar.data(), sh.m, sh.n), Epilogue{bias.data(), false});
        ASSERT_TRUE(close_to(y_scalar, ref, 1e-5, where + " scalar"));
      }
      // Every SIMD level: the scalar level's result to float rounding (same integer sums).
      DoubleProduct scalar_ref{std::vector<double>(y_scalar.begin(), y_scalar.end()), ref.magnitude};
      // (The integer mode: the quantized mode would take large batches to the bf16 path.)
      for (Isa isa : distinct_levels<S>(ActivationMode::integer)) {
        for (unsigned threads : {1u, 4u}) {
          cpu::Context ctx(threads, isa, ActivationMode::integer);
          std::vector<float> y(sh.m * sh.n, std::numeric_limits<float>::quiet_NaN());
          cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), sh.m, sh.k), MatrixView<float>(y.data(), sh.m, sh.n),
                             Epilogue{bias.data(), false});
          ASSERT_TRUE(close_to(y, scalar_ref, 1e-5,
                               where + " " + cpu::Backend::kernel_name<S>(ctx) + " threads=" + std::to_string(threads)));
        }
      }
    }
  }
}

TYPED_TEST(CpuBackendScheme, AccumulateAddsToY) {
  using S = TypeParam;
  const std::size_t m = 5, n = 37, k = 3 * std::max<std::size_t>(S::block_elems, 32);
  const auto t = random_tensor<S>(n, k, 7);
  const auto w = cpu::Backend::upload(t);
  const auto x = random_activations(m, k, 8);
  const auto bias = random_floats(n, 9);
  for (ActivationMode mode : {ActivationMode::quantized, ActivationMode::exact}) {
    cpu::Context ctx(2, Isa::best, mode);
    std::vector<float> y0(m * n), y(m * n, 0.5f);
    cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), m, k), MatrixView<float>(y0.data(), m, n),
                       Epilogue{bias.data(), false});
    cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), m, k), MatrixView<float>(y.data(), m, n),
                       Epilogue{bias.data(), true});
    for (std::size_t i = 0; i < m * n; ++i) ASSERT_FLOAT_EQ(y[i], y0[i] + 0.5f) << S::name << " element " << i;
  }
}

TYPED_TEST(CpuBackendScheme, NonFiniteTinyAndHugeActivationRows) {
  using S = TypeParam;
  const std::size_t m = 6, n = 29, k = 2 * std::max<std::size_t>(S::block_elems, 32);
  const auto t = random_tensor<S>(n, k, 11);
  const auto w = cpu::Backend::upload(t);
  auto x = random_activations(m, k, 12);
  x[0 * k + 3] = std::numeric_limits<float>::quiet_NaN();  // row 0: a NaN
  x[1 * k + 1] = std::numeric_limits<float>::infinity();   // row 1: +Inf
  for (std::size_t l = 0; l < k; ++l) {
    x[2 * k + l] = x[5 * k + l] * 0x1p-110f;  // row 2: tiny (below the quantizer's range: exact path)
    x[3 * k + l] = x[5 * k + l] * 0x1p80f;    // row 3: huge (row 5 times 2^80)
    x[4 * k + l] = 0.0f;                      // row 4: zeros
  }
  const auto ref = double_product(x, m, t.dequantize(), n, k, {});
  for (Isa isa : distinct_levels<S>(ActivationMode::quantized)) {
    for (bool accumulate : {false, true}) {
      cpu::Context ctx(2, isa);
      std::vector<float> y(m * n, accumulate ? 0.0f : std::numeric_limits<float>::quiet_NaN());
      cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), m, k), MatrixView<float>(y.data(), m, n),
                         Epilogue{nullptr, accumulate});
      const std::string where = std::string(S::name) + " " + cpu::Backend::kernel_name<S>(ctx);
      for (std::size_t j = 0; j < n; ++j) {
        EXPECT_TRUE(std::isnan(y[j])) << where << " NaN row, column " << j;
        EXPECT_EQ(std::isnan(y[n + j]), std::isnan(ref.y[n + j])) << where << " Inf row, column " << j;
        if (!std::isnan(ref.y[n + j])) {
          EXPECT_EQ(y[n + j], ref.y[n + j]) << where << " Inf row, column " << j;
        }
        EXPECT_NEAR(y[2 * n + j], ref.y[2 * n + j], 1e-5 * ref.magnitude[2 * n + j] + 1e-40) << where << " tiny row";
        EXPECT_EQ(y[3 * n + j], y[5 * n + j] * 0x1p80f) << where << " huge row";
        EXPECT_EQ(y[4 * n + j], 0.0f) << where << " zero row";
      }
    }
  }
}

TYPED_TEST(CpuBackendScheme, GemmTransposedMatchesDoubleProduct) {
  using S = TypeParam;
  const std::size_t k = 3 * std::max<std::size_t>(S::block_elems, 32);
  for (std::size_t m : {1u, 4u, 17u}) {
    const std::size_t n = 45;
    const auto t = random_tensor<S>(n, k, 21);
    const auto w = cpu::Backend::upload(t);
    const auto dy = random_floats(m * n, 22);
    const auto wd = t.dequantize();
    // dx = dy · W: as a product with Wᵀ's rows, i.e. x = dy, "weights" = Wᵀ.
    std::vector<float> wt(k * n);
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t l = 0; l < k; ++l) wt[l * n + j] = wd[j * k + l];
    const auto ref = double_product(dy, m, wt, k, n, {});
    for (unsigned threads : {1u, 3u}) {
      cpu::Context ctx(threads);
      std::vector<float> dx(m * k, std::numeric_limits<float>::quiet_NaN());
      cpu::Backend::gemm_transposed(ctx, w, ConstMatrixView<float>(dy.data(), m, n), MatrixView<float>(dx.data(), m, k));
      ASSERT_TRUE(close_to(dx, ref, 1e-5, std::string(S::name) + " gemm_transposed M=" + std::to_string(m)));
      std::vector<float> dx2(m * k, 1.0f);
      cpu::Backend::gemm_transposed(ctx, w, ConstMatrixView<float>(dy.data(), m, n), MatrixView<float>(dx2.data(), m, k),
                                    true);
      for (std::size_t i = 0; i < m * k; ++i) ASSERT_NEAR(dx2[i], dx[i] + 1.0f, 1e-5f);
    }
  }
}

TEST(CpuBackend, ResultsDoNotDependOnTheThreadCount) {
  const std::size_t m = 33, n = 300, k = 512;
  const auto t = random_tensor<Q4_K>(n, k, 31);
  const auto w = cpu::Backend::upload(t);
  const auto x = random_activations(m, k, 32);
  std::vector<float> y1(m * n);
  {
    cpu::Context ctx(1);
    cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), m, k), MatrixView<float>(y1.data(), m, n));
  }
  for (unsigned threads : {2u, 3u, 4u}) {
    cpu::Context ctx(threads);
    std::vector<float> y(m * n);
    cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), m, k), MatrixView<float>(y.data(), m, n));
    ASSERT_EQ(0, std::memcmp(y.data(), y1.data(), y.size() * sizeof(float))) << threads << " threads";
  }
}

TEST(CpuBackend, ALayerSharedByThreadsEachWithItsOwnContext) {
  const std::size_t n = 96, k = 256;
  const auto wf = random_floats(n * k, 41, 0.05f);
  const auto layer = QuantizedLinear<cpu::Backend, Q4_K>::from_float(wf.data(), n, k);
  const RowMatrixXf x = RowMatrixXf::Random(9, Eigen::Index(k));
  cpu::Context ctx0(1);
  const RowMatrixXf want = layer.forward(ctx0, x);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      cpu::Context ctx(2);
      bool all = true;
      for (int rep = 0; rep < 20; ++rep) all = all && layer.forward(ctx, x) == want;
      ok[std::size_t(t)] = all;
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_TRUE(ok[std::size_t(t)]) << "thread " << t;
}

TEST(CpuBackend, ForcedIsaIsTheCeilingAndUnsupportedLevelsAreErrors) {
  cpu::Context scalar(1, Isa::scalar);
  EXPECT_EQ(cpu::Backend::kernel_name<Q4_K>(scalar).rfind("scalar:", 0), 0u) << cpu::Backend::kernel_name<Q4_K>(scalar);
  for (Isa isa : cpu::supported_isas()) {
    cpu::Context ctx(1, isa);
    EXPECT_EQ(ctx.isa(), isa);
  }
#if defined(__x86_64__)
  EXPECT_THROW(cpu::Context(1, Isa::neon), Error);
#else
  EXPECT_THROW(cpu::Context(1, Isa::avx2), Error);
#endif
  EXPECT_THROW(cpu::isa_from_name("sse9"), Error);
}

#if defined(__x86_64__)
// A caller's own AMX tile configuration survives a forward pass through each AMX kernel family
// (ggml loads its configuration once per thread; a release under it faults its next tile op), and
// a thread that had none is left with none. One thread: the kernels run on the caller's.
TEST(CpuBackend, AmxKernelsGiveBackTheCallersTileConfiguration) {
  if (!cpu::isa_supported(Isa::amx)) GTEST_SKIP() << "no AMX here: " << cpu_features().describe();
  const std::size_t m = 33, n = 64, k = 256;  // M > 16: NF4 takes its bf16 path
  const auto x = random_activations(m, k, 61);
  auto forward = [&]<class S>(std::type_identity<S>) {
    const auto w = cpu::Backend::upload(random_tensor<S>(n, k, 62));
    cpu::Context ctx(1);
    const std::string name = cpu::Backend::kernel_name(ctx, w);
    ASSERT_TRUE(name.rfind("amx:packed", 0) == 0 || name.ends_with("|M>16:amx:bf16")) << S::name << ": " << name;
    std::vector<float> y(m * n);
    cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), m, k), MatrixView<float>(y.data(), m, n));
  };
  auto each_family = [&](auto check) {
    check(std::type_identity<Q8_0>{});            // q32.hpp
    check(std::type_identity<Q4_K>{});            // kquants.hpp, Q4_K / Q5_K
    check(std::type_identity<Q6_K>{});            // kquants.hpp, Q6_K
    check(std::type_identity<Int8PerChannel>{});  // int8.hpp
    check(std::type_identity<Int4G128>{});        // int4.hpp
    if (cpu::select_bf16_kernels(Isa::amx)) check(std::type_identity<NF4>{});  // bf16.hpp (AMX-BF16)
  };
  cpu::amx::TileConfig callers;
  callers.set(0, 16, 64);
  callers.set(1, 8, 32);
  callers.set(7, 3, 12);
  each_family([&]<class S>(std::type_identity<S> s) {
    cpu::amx::load_tile_config(callers);
    forward(s);
    const cpu::amx::TileConfig after = cpu::amx::stored_tile_config();
    EXPECT_EQ(0, std::memcmp(&after, &callers, sizeof after)) << S::name << ": the caller's configuration was not given back";
    cpu::amx::release_tiles();
    forward(s);
    EXPECT_EQ(cpu::amx::stored_tile_config().palette, 0) << S::name << ": tiles left configured in a thread that had none";
  });
}
#endif

// This unit compiles against the prebuilt kernels (only the selectors' declarations): the exact
// path's f32 tile must still be the processor's best, as in a unit that sees every level (a
// selector defined inline where the SIMD tiles are hidden once gave scalar here).
TEST(CpuBackend, TheExactPathTakesTheBestF32Tile) {
  const auto got = cpu::select_f32_tile(cpu::best_isa()).isa;
  if (cpu::isa_supported(Isa::avx512))
    EXPECT_EQ(got, Isa::avx512);
  else if (cpu::isa_supported(Isa::avx2))
    EXPECT_EQ(got, Isa::avx2);
  else if (cpu::isa_supported(Isa::neon))
    EXPECT_EQ(got, Isa::neon);
  else
    GTEST_SKIP() << "no SIMD f32 tile on this processor: " << cpu_features().describe();
  EXPECT_NE(cpu::Backend::kernel_name<NF4>(cpu::Context(1)).find("+f32@" + std::string(cpu::isa_name(got))),
            std::string::npos);
}

TEST(CpuBackend, ShapeMismatchesAreErrors) {
  const auto w = cpu::Backend::upload(random_tensor<Q8_0>(8, 64, 51));
  cpu::Context ctx(1);
  std::vector<float> x(2 * 64), y(2 * 8);
  EXPECT_THROW(cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), 2, 32), MatrixView<float>(y.data(), 2, 8)),
               Error);
  EXPECT_THROW(cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), 2, 64), MatrixView<float>(y.data(), 1, 8)),
               Error);
  EXPECT_THROW(cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), 2, 64), MatrixView<float>(y.data(), 2, 7)),
               Error);
}

}  // namespace
}  // namespace qlinear::test
