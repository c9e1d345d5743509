// The x86 dot tiles of every GGUF weight format (AVX2, AVX-512, AVX-512 VNNI), called directly:
//  - against ggml's own dot products on its reference vectors (../shared/testvectors/ggml/*.dot.bin);
//  - against the scalar level (ggml's generic vec_dots) on odd shapes: every tail of a
//    32-element row, M and N around each micro-kernel's size, offsets m0 / n0, strides,
//    row scales, bias, accumulate, and weights of random bytes (every bit pattern a GGUF file
//    may hold, e.g. Q8_0's -128 or Q6_K's scale -128) with finite scales;
//  - on real Q4_K / Q6_K weights (a Devstral slice);
//  - through cpu::Backend at several thread counts (results independent of the split).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../cpu_test_util.hpp"
#include "schemes/gguf/testvectors.hpp"
#include "x86_levels.hpp"

namespace qlinear::test {
namespace {

#if defined(__x86_64__)

using cpu::Isa;

using GgufWeights = ::testing::Types<Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS>;

template <class S>
class X86GgufDot : public ::testing::Test {};
TYPED_TEST_SUITE(X86GgufDot, GgufWeights);

// Byte offsets of each block's f16 scale fields.
template <class S>
std::vector<int> f16_fields() {
  switch (S::id) {
    case SchemeId::q4_0: case SchemeId::q5_0: case SchemeId::q8_0: case SchemeId::iq4_nl: case SchemeId::iq4_xs:
      return {0};
    case SchemeId::q4_1: case SchemeId::q5_1: case SchemeId::q4_K: case SchemeId::q5_K: return {0, 2};
    case SchemeId::q2_K: return {80, 82};
    case SchemeId::q3_K: return {108};
    case SchemeId::q6_K: return {208};
    default: return {};
  }
}

// n rows of k weights: random bytes with random finite f16 scales (sign included), or the
// quantization of random floats.
template <class S>
std::vector<std::uint8_t> weight_bytes(std::size_t n, std::size_t k, std::uint32_t seed, bool random_bytes) {
  if (!random_bytes) {
    const auto t = random_tensor<S>(n, k, seed);
    return std::vector<std::uint8_t>(t.bytes().begin(), t.bytes().end());
  }
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> w(n * row_bytes<S>(k));
  for (auto& b : w) b = std::uint8_t(rng());
  std::normal_distribution<float> normal(0.0f, 0.01f);
  for (std::size_t b = 0; b < w.size() / S::block_bytes; ++b)
    for (int off : f16_fields<S>()) {
      const std::uint16_t h = f32_to_f16(normal(rng));
      std::memcpy(&w[b * S::block_bytes + std::size_t(off)], &h, 2);
    }
  return w;
}

// Activation rows quantized by the scalar quantizer, with their pre-scales.
template <class A>
struct Acts {
  std::vector<std::uint8_t> bytes;
  std::vector<float> scale;
  std::size_t stride = 0;
};
template <class A>
Acts<A> activations(std::size_t m, std::size_t k, std::uint32_t seed) {
  const auto x = random_floats(m * k, seed, 1.0f, 0.02f, 30.0f);
  Acts<A> r;
  r.stride = row_bytes<A>(k);
  r.bytes.resize(m * r.stride);
  r.scale.resize(m);
  std::vector<std::uint8_t> exact(m);
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
  q.exact = exact.data();
  q.scratch = scratch.data();
  cpu::QuantizeActivations<A, Isa::scalar>::rows(q);
  return r;
}

// Σ_l |ŵ_l · â_l| for one row pair (plus |m_w · s_a| per block for Q8_1's min term): the
// scale of the float rounding differences between two summation orders.
template <class S>
double magnitude(const std::uint8_t* w, const std::uint8_t* a, std::size_t k) {
  using A = cpu::activation_scheme_t<S>;
  std::vector<float> wd(k), ad(k);
  S::dequantize_row(w, k, wd.data(), {}, 0);
  A::dequantize_row(a, k, ad.data(), {}, 0);
  double m = 0;
  for (std::size_t l = 0; l < k; ++l) m += std::fabs(double(wd[l]) * ad[l]);
  if constexpr (std::is_same_v<A, Q8_1>) {
    for (std::size_t b = 0; b < k / 32; ++b) {
      const auto wb = S::load_block(w, b);
      const auto ab = Q8_1::load_block(a, b);
      m += std::fabs(double(wb.m.to_float()) * ab.s.to_float());
    }
  }
  return m;
}

struct TileCase {
  std::size_t m, n, k, m0, n0;
};

// One case: the level's tile against the scalar level's on the same inputs.
template <class S>
void check_tile(Isa level, const TileCase& c, std::uint32_t seed, bool random_bytes, bool with_bias, bool accumulate) {
  using A = cpu::activation_scheme_t<S>;
  const std::size_t rows_w = c.n0 + c.n, rows_a = c.m0 + c.m;
  const auto w = weight_bytes<S>(rows_w, c.k, seed, random_bytes);
  const auto acts = activations<A>(rows_a, c.k, seed + 1);
  std::mt19937 rng(seed + 2);
  std::vector<float> row_scale(rows_a), bias(rows_w);
  for (auto& s : row_scale) s = std::ldexp(1.0f, int(rng() % 40) - 20);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto& b : bias) b = normal(rng);
  const std::size_t ldy = rows_w + 3;
  std::vector<float> y0(rows_a * ldy);
  for (auto& v : y0) v = normal(rng);
  cpu::DotTileArgs t;
  t.w = w.data();
  t.w_stride = row_bytes<S>(c.k);
  t.a = acts.bytes.data();
  t.a_stride = acts.stride;
  t.k = c.k;
  t.m0 = c.m0;
  t.m1 = c.m0 + c.m;
  t.n0 = c.n0;
  t.n1 = c.n0 + c.n;
  t.ldy = ldy;
  t.row_scale = row_scale.data();
  t.bias = with_bias ? bias.data() : nullptr;
  t.accumulate = accumulate;
  std::vector<float> want = y0, got = y0;
  t.y = want.data();
  dot_tile_at<S>(Isa::scalar)(t);
  t.y = got.data();
  dot_tile_at<S>(level)(t);
  const std::string where = std::string(S::name) + " at " + std::string(cpu::isa_name(level)) + ": M=" +
                            std::to_string(c.m) + " N=" + std::to_string(c.n) + " K=" + std::to_string(c.k) + " m0=" +
                            std::to_string(c.m0) + " n0=" + std::to_string(c.n0) +
                            (random_bytes ? " random bytes" : " quantized") + (with_bias ? " bias" : "") +
                            (accumulate ? " accumulate" : "");
  for (std::size_t i = 0; i < rows_a; ++i)
    for (std::size_t j = 0; j < ldy; ++j) {
      const float g = got[i * ldy + j], e = want[i * ldy + j];
      const bool inside = i >= c.m0 && j >= c.n0 && j < c.n0 + c.n;
      if (!inside) {
        ASSERT_EQ(std::memcmp(&g, &y0[i * ldy + j], 4), 0) << where << ": wrote y(" << i << ", " << j << ") outside the tile";
        continue;
      }
      const double mag = double(row_scale[i]) * magnitude<S>(&w[j * t.w_stride], &acts.bytes[i * acts.stride], c.k) +
                         (with_bias ? std::fabs(bias[j]) : 0.0) + (accumulate ? std::fabs(y0[i * ldy + j]) : 0.0);
      ASSERT_LE(std::fabs(double(g) - e), 2e-5 * mag + 1e-30)
          << where << ": y(" << i << ", " << j << ") = " << g << ", scalar " << e;
    }
}

template <class S>
std::vector<std::size_t> lengths() {
  if (S::block_elems == 32) return {32, 64, 96, 128, 160, 192, 224, 256, 288, 800};  // every tail of 1..7 blocks
  return {256, 512, 1280};
}

TYPED_TEST(X86GgufDot, OddShapesMatchTheScalarLevel) {
  using S = TypeParam;
  const auto levels = x86_gguf_levels();
  if (levels.empty()) GTEST_SKIP() << "this processor has none of the x86 levels (AVX2, AVX-512, AVX-512 VNNI)";
  std::uint32_t seed = 1000;
  for (Isa level : levels) {
    // Every row length, at small M (the GEMV kernels) and N around the micro-kernels' widths.
    for (std::size_t k : lengths<S>())
      for (std::size_t m : {1, 2, 3, 4}) {
        check_tile<S>(level, {m, 5, k, 0, 0}, seed, seed % 2 == 0, true, false);
        ++seed;
      }
    // M around the large-M kernels (6 × 2 at AVX-512, 4 × 1 at AVX2) and their remainders,
    // with offsets, every epilogue.
    const std::size_t k = lengths<S>()[S::block_elems == 32 ? 6 : 1];
    for (std::size_t m : {5, 6, 7, 9, 12, 13, 17, 32})
      for (std::size_t n : {1, 2, 3, 7}) {
        const bool bias = (m + n) % 2 == 0, acc = n % 3 == 0, bytes = m % 2 == 1;
        check_tile<S>(level, {m, n, k, m % 3, n % 2}, seed++, bytes, bias, acc);
      }
  }
}

// ggml's .dot.bin pairs: each weight row against its activation row (GGUF bytes from ggml's
// reference quantizers), one pair at a time and all pairs of one length as a matrix.
TYPED_TEST(X86GgufDot, GgmlReferenceVectors) {
  using S = TypeParam;
  using A = cpu::activation_scheme_t<S>;
  const auto levels = x86_gguf_levels();
  if (levels.empty()) GTEST_SKIP() << "this processor has none of the x86 levels";
  const QtdFile f = read_qtd(std::string(S::name), std::string(A::name));
  ASSERT_FALSE(f.pairs.empty());
  const bool q8_1 = std::is_same_v<A, Q8_1>;
  for (Isa level : levels) {
    const auto tile = dot_tile_at<S>(level);
    for (std::size_t p = 0; p < f.pairs.size(); ++p) {
      const QtdPair& pr = f.pairs[p];
      const float one = 1.0f;
      float y = 0;
      cpu::DotTileArgs t;
      t.w = pr.w_bytes.data();
      t.w_stride = pr.w_bytes.size();
      t.a = pr.a_bytes.data();
      t.a_stride = pr.a_bytes.size();
      t.k = pr.len;
      t.m0 = 0;
      t.m1 = 1;
      t.n0 = 0;
      t.n1 = 1;
      t.y = &y;
      t.ldy = 1;
      t.row_scale = &one;
      tile(t);
      const double mag = magnitude<S>(pr.w_bytes.data(), pr.a_bytes.data(), pr.len);
      // ggml's q8_1 kernels take the min term from the f16 field s: compare with its generic dot.
      const double want = q8_1 ? double(pr.dot_generic) : pr.dot_exact;
      EXPECT_NEAR(y, want, 1e-5 * mag + 1e-30) << S::name << " at " << cpu::isa_name(level) << ", pair " << p
                                               << " (K=" << pr.len << ", weight kind " << pr.w_kind << ")";
      EXPECT_NEAR(y, pr.dot_simd, 1e-5 * mag + 1e-30) << S::name << " at " << cpu::isa_name(level) << ", pair " << p
                                                      << " against ggml's AVX-512 kernel";
    }
    // All pairs of length 256 as a 10 × 10 product: every weight row against every activation row.
    std::vector<const QtdPair*> sel;
    for (const QtdPair& pr : f.pairs)
      if (pr.len == 256) sel.push_back(&pr);
    const std::size_t n = sel.size(), wb = sel[0]->w_bytes.size(), ab = sel[0]->a_bytes.size();
    std::vector<std::uint8_t> w(n * wb), a(n * ab);
    for (std::size_t i = 0; i < n; ++i) {
      std::memcpy(&w[i * wb], sel[i]->w_bytes.data(), wb);
      std::memcpy(&a[i * ab], sel[i]->a_bytes.data(), ab);
    }
    std::vector<float> ones(n, 1.0f), got(n * n), want(n * n);
    cpu::DotTileArgs t;
    t.w = w.data();
    t.w_stride = wb;
    t.a = a.data();
    t.a_stride = ab;
    t.k = 256;
    t.m0 = 0;
    t.m1 = n;
    t.n0 = 0;
    t.n1 = n;
    t.ldy = n;
    t.row_scale = ones.data();
    t.y = want.data();
    dot_tile_at<S>(Isa::scalar)(t);
    t.y = got.data();
    tile(t);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        EXPECT_NEAR(got[i * n + j], want[i * n + j], 2e-5 * magnitude<S>(&w[j * wb], &a[i * ab], 256) + 1e-30)
            << S::name << " at " << cpu::isa_name(level) << ": weight row " << j << " × activation row " << i;
  }
}

TYPED_TEST(X86GgufDot, BackendResultsDoNotDependOnTheThreadCount) {
  using S = TypeParam;
  const std::size_t n = 300, k = 2 * 256;
  const auto w = cpu::Backend::upload(random_tensor<S>(n, k, 71));
  for (std::size_t m : {1u, 3u, 40u}) {
    const auto x = random_floats(m * k, 72);
    for (Isa level : x86_gguf_levels()) {
      std::vector<float> y1(m * n);
      {
        cpu::Context ctx(1, level);
        cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), m, k), MatrixView<float>(y1.data(), m, n));
      }
      for (unsigned threads : {2u, 3u}) {
        cpu::Context ctx(threads, level);
        std::vector<float> y(m * n);
        cpu::Backend::gemm(ctx, w, ConstMatrixView<float>(x.data(), m, k), MatrixView<float>(y.data(), m, n));
        ASSERT_EQ(0, std::memcmp(y.data(), y1.data(), y.size() * sizeof(float)))
            << S::name << " " << cpu::Backend::kernel_name<S>(ctx) << " M=" << m << ", " << threads << " threads";
      }
    }
  }
}

TYPED_TEST(X86GgufDot, TheBackendSelectsTheLevelsKernels) {
  using S = TypeParam;
  using A = cpu::activation_scheme_t<S>;
  for (Isa level : x86_gguf_levels()) {
    cpu::Context ctx(1, level);
    const std::string quant = level == Isa::avx2 ? "avx2" : "avx512";
    // Large batches of the GGUF schemes take the bf16 path where the level has one (test_bf16.cpp).
    const auto bf16 = cpu::select_bf16_kernels(level);
    const std::string large = bf16 && cpu::kBf16FromRows<S> ? "|M>=" + std::to_string(cpu::kBf16FromRows<S>) +
                                                                  ":" + std::string(cpu::isa_name(bf16.isa)) + ":bf16"
                                                            : "";
    EXPECT_EQ(cpu::Backend::kernel_name<S>(ctx), std::string(cpu::isa_name(level)) + ":dot(" + std::string(S::name) +
                                                     "," + std::string(A::name) + ")+quantize@" + quant + large);
  }
}

// Real weights: rows of a Devstral Q4_K_M slice (../shared/gguf-samples) against quantized
// activations, at every level, against the scalar level.
template <class S>
void check_real(std::size_t offset) {
  constexpr std::size_t kRows = 64, kCols = 5120;
  const auto path = shared_dir() / "gguf-samples" / "devstral-slice-q4k-q6k.gguf";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "cannot open " << path;
  const std::size_t rb = row_bytes<S>(kCols);
  std::vector<std::uint8_t> w(kRows * rb);
  in.seekg(std::streamoff(offset));
  in.read(reinterpret_cast<char*>(w.data()), std::streamsize(w.size()));
  ASSERT_EQ(std::size_t(in.gcount()), w.size());
  const std::size_t m = 5;
  const auto acts = activations<Q8_K>(m, kCols, 3);
  std::vector<float> want(m * kRows), got(m * kRows);
  cpu::DotTileArgs t;
  t.w = w.data();
  t.w_stride = rb;
  t.a = acts.bytes.data();
  t.a_stride = acts.stride;
  t.k = kCols;
  t.m0 = 0;
  t.m1 = m;
  t.n0 = 0;
  t.n1 = kRows;
  t.ldy = kRows;
  t.row_scale = acts.scale.data();
  t.y = want.data();
  dot_tile_at<S>(Isa::scalar)(t);
  for (Isa level : x86_gguf_levels()) {
    t.y = got.data();
    dot_tile_at<S>(level)(t);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < kRows; ++j)
        ASSERT_NEAR(got[i * kRows + j], want[i * kRows + j],
                    2e-5 * acts.scale[i] * magnitude<S>(&w[j * rb], &acts.bytes[i * acts.stride], kCols))
            << S::name << " at " << cpu::isa_name(level) << " row " << j << " activation " << i;
  }
}
TEST(X86GgufDotRealWeights, DevstralQ4_K) { check_real<Q4_K>(95168); }
TEST(X86GgufDotRealWeights, DevstralQ6_K) { check_real<Q6_K>(279488); }

#else

TEST(X86GgufDot, NotOnThisArchitecture) { GTEST_SKIP() << "the x86 kernels are built on x86-64 only"; }

#endif

}  // namespace
}  // namespace qlinear::test
