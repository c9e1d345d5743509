// The Arm integer dot tiles (arm/neon_dot.hpp, dotprod_dot.hpp, i8mm_dot.hpp), every GGUF
// weight scheme at every level this processor runs:
//  - against the scalar tile (the schemes' ggml-exact vec_dot) on odd tiles: sub-ranges of rows
//    and columns, one row, odd counts (the i8mm pair tiles' leftovers), unaligned rows with
//    padded strides, bias or none, accumulate or not, and the y outside the tile untouched;
//  - against ggml's own dot products (../shared/testvectors/ggml/*.dot.bin): each pair alone
//    (M = 1) and all pairs of a length as one tile (the larger-M kernels), on ggml's bytes;
//  - dispatch: each level runs its own kernel for every scheme (a cortex-a53, without dotprod,
//    gets the plain-NEON one).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "backends/cpu/cpu_test_util.hpp"
#include "schemes/gguf/testvectors.hpp"

#if defined(__aarch64__)
namespace qlinear::test {
namespace {

using cpu::Isa;

std::vector<Isa> arm_levels() {
  std::vector<Isa> out;
  for (Isa i : {Isa::neon, Isa::neon_dotprod, Isa::neon_i8mm})
    if (cpu::isa_supported(i)) out.push_back(i);
  return out;
}

// The level whose tile runs for S under ceiling `level`: the k-quants and IQ4_XS have no SMMLA
// tile (i8mm_dot.hpp says why), so neon_i8mm runs their dotprod tile.
template <class S>
Isa expected_level(Isa level) {
  if (level == Isa::neon_i8mm && !requires { &cpu::DotTile<S, Isa::neon_i8mm>::tile; }) return Isa::neon_dotprod;
  return level;
}

// The distinct tiles S runs at the levels this processor has.
template <class S>
std::vector<Isa> tile_levels() {
  std::vector<Isa> out;
  for (Isa l : arm_levels())
    if (out.empty() || out.back() != expected_level<S>(l)) out.push_back(expected_level<S>(l));
  return out;
}

template <class S>
cpu::DotTileFn tile_of(Isa level) {
  switch (expected_level<S>(level)) {
    case Isa::neon: return &cpu::DotTile<S, Isa::neon>::tile;
    case Isa::neon_dotprod: return &cpu::DotTile<S, Isa::neon_dotprod>::tile;
    case Isa::neon_i8mm:
      if constexpr (requires { &cpu::DotTile<S, Isa::neon_i8mm>::tile; }) return &cpu::DotTile<S, Isa::neon_i8mm>::tile;
      [[fallthrough]];
    default: return nullptr;
  }
}

template <class S>
class ArmDotTile : public ::testing::Test {};
using GgufWeights = ::testing::Types<Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS>;
TYPED_TEST_SUITE(ArmDotTile, GgufWeights);

// Rows of `row` bytes copied into a buffer at an odd offset with a padded stride.
struct Rows {
  std::vector<std::uint8_t> buf;
  std::size_t stride = 0, offset = 0;
  const std::uint8_t* data() const { return buf.data() + offset; }
};
Rows scatter(const std::uint8_t* src, std::size_t n, std::size_t row, std::size_t pad, std::size_t offset) {
  Rows r;
  r.stride = row + pad;
  r.offset = offset;
  r.buf.assign(offset + n * r.stride, 0xEE);
  for (std::size_t i = 0; i < n; ++i) std::memcpy(r.buf.data() + offset + i * r.stride, src + i * row, row);
  return r;
}

TYPED_TEST(ArmDotTile, OddTilesUnalignedRowsAndEveryEpilogueMatchTheScalarTile) {
  using S = TypeParam;
  using A = cpu::activation_scheme_t<S>;
  const std::size_t k = S::block_elems == 32 ? 7 * 32 : 3 * 256, n = 9, m = 11;
  const auto t = random_tensor<S>(n, k, 5);
  const auto x = random_floats(m * k, 6, 1.0f, 0.02f, 30.0f);
  // Activations as the backend gives them: the scalar quantizer's bytes and pre-scales.
  std::vector<std::uint8_t> acts(m * row_bytes<A>(k)), exact(m);
  std::vector<float> row_scale(m), scratch(k);
  cpu::QuantizeActivationArgs q{x.data(), k, k, 0, m, acts.data(), row_bytes<A>(k), row_scale.data(), exact.data(),
                                scratch.data()};
  cpu::QuantizeActivations<A, Isa::scalar>::rows(q);
  const Rows w = scatter(t.bytes().data(), n, t.row_bytes(), 5, 1);
  const Rows a = scatter(acts.data(), m, row_bytes<A>(k), 3, 3);
  // Σ|ŵ·â| per (i, j): the scale the f32 rounding differences are measured against.
  const auto wd = t.dequantize();
  std::vector<float> ad(m * k);
  for (std::size_t i = 0; i < m; ++i) A::dequantize_row(acts.data() + i * row_bytes<A>(k), k, ad.data() + i * k, {}, i);
  std::vector<double> mag(m * n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t l = 0; l < k; ++l) mag[i * n + j] += std::fabs(double(wd[j * k + l]) * ad[i * k + l]);
  const auto bias = random_floats(n, 7);

  struct Range {
    std::size_t m0, m1, n0, n1;
  };
  for (Isa level : tile_levels<S>()) {
    const cpu::DotTileFn fn = tile_of<S>(level);
    for (const Range r : {Range{0, 1, 0, n}, Range{0, m, 0, n}, Range{2, 9, 1, 8}, Range{3, 4, 2, 3}, Range{1, 6, 0, 5},
                          Range{4, 11, 3, 9}})
      for (bool accumulate : {false, true})
        for (const float* b : {static_cast<const float*>(nullptr), bias.data()}) {
          const std::size_t ldy = n + 2;
          std::vector<float> y0(m * ldy);
          for (std::size_t e = 0; e < y0.size(); ++e) y0[e] = float(e % 13) - 6.0f;
          std::vector<float> want = y0, got = y0;
          cpu::DotTileArgs d;
          d.w = w.data();
          d.w_stride = w.stride;
          d.a = a.data();
          d.a_stride = a.stride;
          d.k = k;
          d.m0 = r.m0;
          d.m1 = r.m1;
          d.n0 = r.n0;
          d.n1 = r.n1;
          d.ldy = ldy;
          d.row_scale = row_scale.data();
          d.bias = b;
          d.accumulate = accumulate;
          d.y = want.data();
          cpu::DotTile<S, Isa::scalar>::tile(d);
          d.y = got.data();
          fn(d);
          const std::string where = std::string(S::name) + " " + std::string(cpu::isa_name(level)) + " rows [" +
                                    std::to_string(r.m0) + "," + std::to_string(r.m1) + ") cols [" +
                                    std::to_string(r.n0) + "," + std::to_string(r.n1) + ") acc=" +
                                    std::to_string(accumulate) + " bias=" + std::to_string(b != nullptr);
          for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < ldy; ++j) {
              const std::size_t e = i * ldy + j;
              const bool inside = i >= r.m0 && i < r.m1 && j >= r.n0 && j < r.n1;
              if (!inside) {
                ASSERT_EQ(got[e], y0[e]) << where << ": y(" << i << "," << j << ") outside the tile was written";
                continue;
              }
              const double tol = 1e-5 * row_scale[i] * mag[i * n + j] + 1e-6;
              ASSERT_NEAR(got[e], want[e], tol) << where << " y(" << i << "," << j << ")";
            }
        }
  }
}

TYPED_TEST(ArmDotTile, GgmlDotVectorsOneByOneAndAsOneTile) {
  using S = TypeParam;
  using A = cpu::activation_scheme_t<S>;
  const QtdFile f = read_qtd(std::string(S::name), std::string(A::name));
  ASSERT_FALSE(f.pairs.empty());
  // ggml's kernels take Q4_1/Q5_1's min term from Q8_1's f16 s, so dot_exact is off by up to 1%
  // there: those files are checked against ggml's own generic kernel (README).
  const bool generic = std::is_same_v<A, Q8_1>;
  std::vector<double> terms(f.pairs.size());
  for (std::size_t p = 0; p < f.pairs.size(); ++p) {
    const QtdPair& q = f.pairs[p];
    std::vector<float> wd(q.len), ad(q.len);
    S::dequantize_row(q.w_bytes.data(), q.len, wd.data(), {}, 0);
    A::dequantize_row(q.a_bytes.data(), q.len, ad.data(), {}, 0);
    for (std::size_t l = 0; l < q.len; ++l) terms[p] += std::fabs(double(wd[l]) * ad[l]);
  }
  const float one = 1.0f;
  for (Isa level : tile_levels<S>()) {
    const cpu::DotTileFn fn = tile_of<S>(level);
    const std::string lv(cpu::isa_name(level));
    for (std::size_t p = 0; p < f.pairs.size(); ++p) {
      const QtdPair& q = f.pairs[p];
      float y = 0;
      cpu::DotTileArgs d;
      d.w = q.w_bytes.data();
      d.w_stride = q.w_bytes.size();
      d.a = q.a_bytes.data();
      d.a_stride = q.a_bytes.size();
      d.k = q.len;
      d.m1 = d.n1 = 1;
      d.y = &y;
      d.ldy = 1;
      d.row_scale = &one;
      fn(d);
      const double want = generic ? double(q.dot_generic) : q.dot_exact;
      EXPECT_NEAR(y, want, 1e-5 * terms[p] + 1e-30) << S::name << " " << lv << " pair " << p << " (len " << q.len << ")";
    }
    // All pairs of one length as one tile: rows of weights × rows of activations; the diagonal
    // holds ggml's pairs.
    for (std::uint32_t len : {256u, 4096u}) {
      std::vector<std::size_t> idx;
      for (std::size_t p = 0; p < f.pairs.size(); ++p)
        if (f.pairs[p].len == len) idx.push_back(p);
      if (idx.empty()) continue;
      const std::size_t cnt = idx.size(), wb = f.pairs[idx[0]].w_bytes.size(), ab = f.pairs[idx[0]].a_bytes.size();
      std::vector<std::uint8_t> wm(cnt * wb), am(cnt * ab);
      for (std::size_t r = 0; r < cnt; ++r) {
        std::memcpy(wm.data() + r * wb, f.pairs[idx[r]].w_bytes.data(), wb);
        std::memcpy(am.data() + r * ab, f.pairs[idx[r]].a_bytes.data(), ab);
      }
      std::vector<float> y(cnt * cnt), ones(cnt, 1.0f);
      cpu::DotTileArgs d;
      d.w = wm.data();
      d.w_stride = wb;
      d.a = am.data();
      d.a_stride = ab;
      d.k = len;
      d.m1 = d.n1 = cnt;
      d.y = y.data();
      d.ldy = cnt;
      d.row_scale = ones.data();
      fn(d);
      for (std::size_t r = 0; r < cnt; ++r) {
        const QtdPair& q = f.pairs[idx[r]];
        const double want = generic ? double(q.dot_generic) : q.dot_exact;
        EXPECT_NEAR(y[r * cnt + r], want, 1e-5 * terms[idx[r]] + 1e-30)
            << S::name << " " << lv << " tile of " << cnt << " rows of " << len << ", pair " << idx[r];
      }
    }
  }
}

TYPED_TEST(ArmDotTile, EveryLevelRunsItsOwnKernelAndTheNeonQuantizer) {
  using S = TypeParam;
  static_assert(requires { &cpu::DotTile<S, Isa::neon>::tile; } && requires { &cpu::DotTile<S, Isa::neon_dotprod>::tile; });
  static_assert(requires { &cpu::DotTile<S, Isa::neon_i8mm>::tile; } == (S::block_elems == 32),
                "SMMLA tiles exist for the 32-weight-block schemes");
  for (Isa level : arm_levels()) {
    cpu::Context ctx(1, level);
    const std::string name = cpu::Backend::kernel_name<S>(ctx);
    EXPECT_EQ(name.rfind(std::string(cpu::isa_name(expected_level<S>(level))) + ":dot(", 0), 0u) << name;
    EXPECT_NE(name.find("+quantize@neon"), std::string::npos) << name;
  }
  if (!cpu::isa_supported(Isa::neon_dotprod)) {
    // An Armv8.0 core (qemu -cpu cortex-a53 in CI): the best level is plain NEON.
    EXPECT_EQ(cpu::best_isa(), Isa::neon);
    cpu::Context ctx(1);
    EXPECT_EQ(cpu::Backend::kernel_name<S>(ctx).rfind("neon:dot(", 0), 0u) << cpu::Backend::kernel_name<S>(ctx);
  }
}

}  // namespace
}  // namespace qlinear::test
#endif
