// What the Metal host code builds before it touches Metal, all plain C++: kernel names, launch
// geometry, per-row parameters, and the embedded source it hands to newLibraryWithSource.

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "qlinear/backends/metal/dispatch.hpp"
#include "qlinear/backends/metal/kernel_names.hpp"
#include "qlinear/backends/metal/metal_source.hpp"
#include "qlinear/schemes/registry.hpp"
#include "test_util.hpp"

namespace qlinear::metal {
namespace {

TEST(MetalKernelNames, EncodeKindSchemeAndTile) {
  EXPECT_EQ(kernel_name<Q4_K>(KernelKind::decode), "qlinear_decode_q4_K_nr4_nsg2_mx4");
  EXPECT_EQ(kernel_name<Q6_K>(KernelKind::prefill), "qlinear_prefill_q6_K_bm32_bn32_bk32");
  EXPECT_EQ(kernel_name<NF4DoubleQuant>(KernelKind::backward), "qlinear_backward_nf4_double_quant_t64_mx4");
  EXPECT_EQ(kernel_name(KernelKind::decode, "f32"), "qlinear_decode_f32_nr4_nsg2_mx4");
}

TEST(MetalKernelNames, SupportedSchemes) {
  static_assert(supports<Q4_K> && supports<DenseBF16> && supports<NF4DoubleQuant> && supports<Int8PerTensorAffine>);
  static_assert(!supports<Q8_K> && !supports<Q8_1>, "activation-only formats have no kernels");
  std::size_t count = 0;
  [&]<class... S>(TypeList<S...>) { count = (std::size_t(supports<S>) + ...); }(AllSchemes{});
  EXPECT_EQ(count, AllSchemes::size);
}

TEST(MetalEmbeddedSource, IsTheTextTheShimCheckCompiles) {
  // extra.cmake cuts the raw-string pieces out of metal_source.hpp and compiles them as C++14
  // (backends_metal.embedded_source_names); this pins that text to what metal_source() returns.
  std::ifstream in(QLINEAR_METAL_EMBEDDED_DUMP, std::ios::binary);
  ASSERT_TRUE(in) << "missing " << QLINEAR_METAL_EMBEDDED_DUMP;
  std::ostringstream s;
  s << in.rdbuf();
  EXPECT_EQ(s.str(), metal_source());
}

TEST(MetalEmbeddedSource, SelfContainedForTheRuntimeCompiler) {
  const std::string src = metal_source();
  for (const char* piece : metal_source_pieces) EXPECT_LT(std::strlen(piece), 16380u) << "MSVC's literal limit";
  std::istringstream lines(src);
  std::string line;
  int includes = 0;
  while (std::getline(lines, line)) {
    if (line.find("#include") == std::string::npos) continue;
    EXPECT_NE(line.find("<metal_stdlib>"), std::string::npos) << "a stray include: " << line;
    ++includes;
  }
  EXPECT_EQ(includes, 1);
  EXPECT_NE(src.find("#if defined(__METAL_VERSION__)"), std::string::npos);
  EXPECT_EQ(src.find("#pragma once"), std::string::npos);
  // Every scheme's instantiation line is in the shipped text.
  std::vector<std::string> lines_wanted;
  [&]<class... S>(TypeList<S...>) {
    (lines_wanted.push_back("QLINEAR_METAL_SCHEME_KERNELS(\"" + std::string(S::name) + "\", " +
                            std::to_string(unsigned(S::id)) + ")"),
     ...);
  }(AllSchemes{});
  for (const std::string& l : lines_wanted) EXPECT_NE(src.find(l), std::string::npos) << l;
}

TEST(MetalDispatch, DecodeUpToTheCrossoverPrefillAbove) {
  for (std::size_t m = 1; m <= 40; ++m) {
    const Launch l = plan_gemm<Q4_K>(100, 512, m, 512, 100, false, false);
    const bool decode = m <= decode_max_rows;
    EXPECT_EQ(l.kind, decode ? KernelKind::decode : KernelKind::prefill) << m;
    EXPECT_EQ(l.kernel, kernel_name<Q4_K>(l.kind));
    if (decode) {
      EXPECT_EQ(l.grid[0], (100u + 7) / 8);
      EXPECT_EQ(l.grid[1], (unsigned(m) + 3) / 4);
      EXPECT_EQ(l.threads, 64u);
      EXPECT_EQ(l.threadgroup_bytes, 0u);
    } else {
      EXPECT_EQ(l.grid[0], (100u + 31) / 32);
      EXPECT_EQ(l.grid[1], (unsigned(m) + 31) / 32);
      EXPECT_EQ(l.threads, 128u);
      EXPECT_EQ(l.threadgroup_bytes, 8192u);
    }
    EXPECT_EQ(l.grid[2], 1u);
  }
}

TEST(MetalDispatch, Arguments) {
  const Launch l = plan_gemm<Q6_K>(7, 512, 3, 600, 9, true, true);
  EXPECT_EQ(l.args.M, 3u);
  EXPECT_EQ(l.args.N, 7u);
  EXPECT_EQ(l.args.K, 512u);
  EXPECT_EQ(l.args.ldx, 600u);
  EXPECT_EQ(l.args.ldy, 9u);
  EXPECT_EQ(l.args.row_bytes, 2u * 210u);
  EXPECT_EQ(l.args.flags, unsigned(kernels::gemm_has_bias | kernels::gemm_accumulate));
  EXPECT_EQ(plan_gemm<Q6_K>(7, 512, 3, 512, 7, false, false).args.flags, 0u);
  const Launch f = plan_gemm<Q6_K>(7, 512, 100, 512, 7, false, false, KernelKind::decode);
  EXPECT_EQ(f.kind, KernelKind::decode);
  static_assert(sizeof(kernels::GemmArgs) == 32, "eight 32-bit words, as the kernels read them");
}

TEST(MetalDispatch, Backward) {
  const Launch l = plan_gemm_transposed<DenseF16>(45, 1000, 9, 1003, 50, true);
  EXPECT_EQ(l.kind, KernelKind::backward);
  EXPECT_EQ(l.kernel, kernel_name<DenseF16>(KernelKind::backward));
  EXPECT_EQ(l.grid[0], 1u);   // 63 pieces of 16 in one threadgroup of 64
  EXPECT_EQ(l.grid[1], 3u);   // 9 rows of dy, 4 per threadgroup
  EXPECT_EQ(l.threads, 64u);
  EXPECT_EQ(l.args.ldx, 1003u);
  EXPECT_EQ(l.args.ldy, 50u);
  EXPECT_EQ(l.args.flags, unsigned(kernels::gemm_accumulate));
  EXPECT_EQ(plan_gemm_transposed<DenseF16>(45, 1025, 1, 1025, 45, false).grid[0], 2u);
}

TEST(MetalDispatch, RejectsWhatTheKernelsCannotTake) {
  EXPECT_THROW(plan_gemm<Q4_0>(8, 64, 0, 64, 8, false, false), Error);
  EXPECT_THROW(plan_gemm<Q4_0>(8, 64, 1, 63, 8, false, false), Error);      // stride below K
  EXPECT_THROW(plan_gemm<Q4_0>(8, 64, 1, 64, 7, false, false), Error);      // stride below N
  EXPECT_THROW(plan_gemm<Q4_0>(8, 48, 1, 48, 8, false, false), Error);      // K not whole blocks
  EXPECT_THROW(plan_gemm<DenseF32>(8, 64, std::size_t(1) << 32, 64, 8, false, false), Error);
  EXPECT_THROW(plan_gemm<DenseF32>(8, std::size_t(1) << 31, 1, std::size_t(1) << 31, 8, false, false), Error);
  EXPECT_THROW(plan_gemm<Q4_0>(8, 64, 1, 64, 8, false, false, KernelKind::backward), Error);
  EXPECT_THROW(plan_gemm_transposed<Q4_0>(8, 64, 1, 64, 7, false), Error);
}

TEST(MetalDispatch, RowParameters) {
  const std::size_t n = 4, k = 64;
  const std::vector<float> w = test::random_floats(n * k, 3);
  const auto pt = QuantizedTensor<Int8PerTensorAffine>::quantize(w.data(), n, k);
  const std::vector<float> a = row_params(pt);
  ASSERT_EQ(a.size(), 2 * n);
  for (std::size_t r = 0; r < n; ++r) {
    EXPECT_EQ(a[2 * r], pt.params().scale[0]);
    EXPECT_EQ(a[2 * r + 1], float(pt.params().zero_point[0]));
  }
  const auto pc = QuantizedTensor<Int8PerChannel>::quantize(w.data(), n, k);
  const std::vector<float> b = row_params(pc);
  for (std::size_t r = 0; r < n; ++r) {
    EXPECT_EQ(b[2 * r], pc.params().scale[r]);
    EXPECT_EQ(b[2 * r + 1], 0.0f);
  }
  const auto dq = QuantizedTensor<NF4DoubleQuant>::quantize(w.data(), n, k);
  const std::vector<float> c = row_params(dq);
  for (std::size_t r = 0; r < n; ++r) {
    EXPECT_EQ(c[2 * r], dq.params().offset);
    EXPECT_EQ(c[2 * r + 1], dq.params().scale[r]);
  }
  EXPECT_TRUE(row_params(QuantizedTensor<Q4_K>::quantize(test::random_floats(256, 1).data(), 1, 256)).empty());
}

}  // namespace
}  // namespace qlinear::metal
