// The integer path of qlinear's own schemes (int8 → I8Row, int4 groups → Q8Block<G>):
//  - every level's activation quantizer writes exactly the scalar quantizer's bytes, scales and
//    exact-path flags (rows with outliers, NaN, Inf, tiny, huge, zero rows; blocks that are
//    zero or far below their row's maximum; K not a multiple of any vector);
//  - Q8Block's storage order is a permutation and its rows decode to within half a step;
//  - every level's dot tile equals the scalar tile to float rounding, called directly on
//    sub-tiles (m0, n0 not zero; M and N not multiples of the register blocks; with and without
//    bias and accumulate), and the scalar tile equals the double product of the decoded
//    activations and weights;
//  - int8 sums beyond 2^31 (K past 2^20 with extreme codes) are exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "cpu_test_util.hpp"

namespace qlinear::test {
namespace {

using cpu::Isa;

// Rows that exercise the quantizers: Gaussian with outliers, then special rows.
std::vector<float> quantizer_rows(std::size_t m, std::size_t k, std::uint32_t seed) {
  auto x = random_floats(m * k, seed, 1.0f, 0.02f, 30.0f);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  if (m > 1) x[1 * k + k / 2] = nan;
  if (m > 2) x[2 * k] = -inf;
  if (m > 3)
    for (std::size_t l = 0; l < k; ++l) x[3 * k + l] *= 0x1p-110f;  // tiny: the exact path
  if (m > 4)
    for (std::size_t l = 0; l < k; ++l) x[4 * k + l] *= 1e30f;  // huge
  if (m > 5)
    for (std::size_t l = 0; l < k; ++l) x[5 * k + l] = 0.0f;
  if (m > 6)  // a row whose first 32 values are 2^-140 of its largest: that block is stored as zeros
    for (std::size_t l = 0; l < std::min<std::size_t>(32, k); ++l) x[6 * k + l] *= 0x1p-140f;
  if (m > 7)  // a row whose first 32 values are 0
    for (std::size_t l = 0; l < std::min<std::size_t>(32, k); ++l) x[7 * k + l] = 0.0f;
  if (m > 8) x[8 * k + k - 1] = 1e6f;  // one outlier in the last element
  return x;
}

struct Quantized {
  std::vector<std::uint8_t> bytes, exact;
  std::vector<float> scale;
};
template <class A>
Quantized run_quantizer(cpu::QuantizeActivationsFn fn, const std::vector<float>& x, std::size_t m, std::size_t k) {
  Quantized r;
  const std::size_t stride = row_bytes<A>(k);
  r.bytes.assign(m * stride, 0xAB);
  r.exact.assign(m, 7);
  r.scale.assign(m, -1.0f);
  std::vector<float> scratch(k);
  cpu::QuantizeActivationArgs q;
  q.x = x.data();
  q.ldx = k;
  q.k = k;
  q.m0 = 0;
  q.m1 = m;
  q.out = r.bytes.data();
  q.out_stride = stride;
  q.row_scale = r.scale.data();
  q.exact = r.exact.data();
  q.scratch = scratch.data();
  fn(q);
  return r;
}

template <class A>
void check_quantizer_bytes(const std::vector<std::size_t>& ks) {
  for (Isa isa : cpu::supported_isas()) {
    const auto sel = cpu::select_quantize_activations<A>(isa);
    if (sel.isa != isa || isa == Isa::scalar) continue;  // each level's own quantizer, once
    for (std::size_t k : ks) {
      const std::size_t m = 11;
      const auto x = quantizer_rows(m, k, std::uint32_t(k));
      const auto want = run_quantizer<A>(&cpu::QuantizeActivations<A, Isa::scalar>::rows, x, m, k);
      const auto got = run_quantizer<A>(sel.fn, x, m, k);
      const std::string where = std::string(A::name) + " at " + std::string(cpu::isa_name(isa)) + " K=" + std::to_string(k);
      ASSERT_EQ(got.exact, want.exact) << where;
      for (std::size_t i = 0; i < m; ++i) ASSERT_EQ(got.scale[i], want.scale[i]) << where << " row " << i;
      for (std::size_t i = 0; i < got.bytes.size(); ++i)
        ASSERT_EQ(got.bytes[i], want.bytes[i]) << where << ": byte " << i << " of row " << i / row_bytes<A>(k);
    }
  }
}

TEST(OwnActivationFormats, QuantizersWriteTheScalarBytesOnEveryLevel) {
  check_quantizer_bytes<cpu::I8Row>({1, 15, 16, 17, 63, 64, 100, 1000});
  check_quantizer_bytes<cpu::Q8Block<32>>({32, 64, 96, 160, 1024});
  check_quantizer_bytes<cpu::Q8Block<64>>({64, 192, 1024});
  check_quantizer_bytes<cpu::Q8Block<128>>({128, 384, 1024});
}

template <int G>
void check_q8_block_round_trip() {
  using A = cpu::Q8Block<G>;
  for (std::size_t k : {std::size_t(G), std::size_t(3 * G), std::size_t(1024)}) {
    std::vector<std::size_t> pos(k);
    for (std::size_t l = 0; l < k; ++l) pos[l] = A::position(l, k);
    std::vector<std::size_t> sorted = pos;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t l = 0; l < k; ++l) ASSERT_EQ(sorted[l], l) << A::name << " K=" << k << ": not a permutation";
    const auto x = random_floats(k, 5, 1.0f, 0.02f, 30.0f);
    std::vector<std::uint8_t> row(row_bytes<A>(k));
    A::quantize_row(x.data(), k, row.data(), {}, 0);
    std::vector<float> y(k);
    A::dequantize_row(row.data(), k, y.data(), {}, 0);
    for (std::size_t b = 0; b < k / G; ++b) {
      const float d = A::scale(row.data(), k, b);
      std::int32_t s = 0;
      for (int l = 0; l < G; ++l) s += A::codes(row.data())[A::position(b * G + std::size_t(l), k)];
      EXPECT_EQ(s, A::sum(row.data(), k, b)) << A::name << " block " << b;
      for (int l = 0; l < G; ++l) {
        const std::size_t at = b * G + std::size_t(l);
        ASSERT_LE(std::fabs(y[at] - x[at]), 0.5f * d * 1.0001f) << A::name << " K=" << k << " element " << at;
      }
    }
  }
}

TEST(OwnActivationFormats, Q8BlockStorageIsAPermutationAndDecodesWithinHalfAStep) {
  check_q8_block_round_trip<32>();
  check_q8_block_round_trip<64>();
  check_q8_block_round_trip<128>();
}

TEST(OwnActivationFormats, I8RowCodesAndScale) {
  const std::vector<float> x{0.0f, 1.0f, -2.0f, 0.5f, -0.25f, 2.0f};
  const auto q = run_quantizer<cpu::I8Row>(&cpu::QuantizeActivations<cpu::I8Row, Isa::scalar>::rows, x, 1, x.size());
  EXPECT_EQ(q.scale[0], 2.0f / 127.0f);
  const std::vector<std::int8_t> want{0, 64, -127, 32, -16, 127};  // 63.5 and 31.75 round to even / nearest
  for (std::size_t l = 0; l < x.size(); ++l) EXPECT_EQ(std::int8_t(q.bytes[l]), want[l]) << l;
}

// ---------------------------------------------------------------------------------------------
// Dot tiles, called directly.

using OwnIntegerSchemes = ::testing::Types<Int8PerTensor, Int8PerTensorAffine, Int8PerChannel, Int8PerChannelAffine,
                                           Int4G32, Int4G64, Int4G128, Int4G32Affine, Int4G64Affine, Int4G128Affine>;
template <class S>
class OwnDotTile : public ::testing::Test {};
TYPED_TEST_SUITE(OwnDotTile, OwnIntegerSchemes);

// x̂ of row i: the quantized activations decoded, times the row's scale.
template <class A>
std::vector<float> decoded_activations(const Quantized& q, std::size_t m, std::size_t k) {
  std::vector<float> x(m * k);
  for (std::size_t i = 0; i < m; ++i) {
    A::dequantize_row(q.bytes.data() + i * row_bytes<A>(k), k, x.data() + i * k, {}, i);
    for (std::size_t l = 0; l < k; ++l) x[i * k + l] *= q.scale[i];
  }
  return x;
}

TYPED_TEST(OwnDotTile, EveryLevelMatchesTheScalarTileAndTheScalarTileTheDecodedProduct) {
  using S = TypeParam;
  using A = cpu::activation_scheme_t<S>;
  const std::size_t b = S::block_elems;
  std::vector<std::size_t> ks{std::max<std::size_t>(b, 64), 3 * std::max<std::size_t>(b, 32), 1024};
  if (b == 1) ks.insert(ks.end(), {1, 31, 100});
  std::uint32_t seed = 300;
  for (std::size_t k : ks) {
    const std::size_t m = 11, n = 23;
    const auto t = random_tensor<S>(n, k, seed++);
    auto x = random_floats(m * k, seed++, 1.0f, 0.02f, 30.0f);
    const auto q = run_quantizer<A>(&cpu::QuantizeActivations<A, Isa::scalar>::rows, x, m, k);
    const auto xh = decoded_activations<A>(q, m, k);
    const auto bias = random_floats(n, seed++);
    const auto ref = double_product(xh, m, t.dequantize(), n, k, bias);
    // Sub-tiles: rows [2, 9) × columns [3, 20), and the whole.
    for (const auto& range : {std::array<std::size_t, 4>{2, 9, 3, 20}, std::array<std::size_t, 4>{0, m, 0, n}}) {
      // Named copies, not a structured binding: clang 14 cannot capture bindings in a lambda.
      const std::size_t m0 = range[0], m1 = range[1], n0 = range[2], n1 = range[3];
      for (bool with_bias : {true, false}) {
        for (bool accumulate : {false, true}) {
          auto run = [&](cpu::DotTileFn fn) {
            std::vector<float> y(m * n, 0.25f);
            cpu::DotTileArgs a;
            a.w = t.bytes().data();
            a.w_stride = t.row_bytes();
            a.a = q.bytes.data();
            a.a_stride = row_bytes<A>(k);
            a.k = k;
            a.m0 = m0, a.m1 = m1, a.n0 = n0, a.n1 = n1;
            a.y = y.data();
            a.ldy = n;
            a.row_scale = q.scale.data();
            a.bias = with_bias ? bias.data() : nullptr;
            a.accumulate = accumulate;
            a.params = &t.params();
            fn(a);
            return y;
          };
          const auto y_scalar = run(&cpu::DotTile<S, Isa::scalar>::tile);
          // Outside the sub-tile nothing is written; inside, the decoded product.
          DoubleProduct want{std::vector<double>(m * n, 0.25), std::vector<double>(m * n, 0.0)};
          for (std::size_t i = m0; i < m1; ++i)
            for (std::size_t j = n0; j < n1; ++j) {
              const double base = (accumulate ? 0.25 : 0.0) + ref.y[i * n + j] - (with_bias ? 0.0 : bias[j]);
              want.y[i * n + j] = base;
              want.magnitude[i * n + j] = ref.magnitude[i * n + j] + 1.0;
            }
          const std::string where = std::string(S::name) + " K=" + std::to_string(k) + " tile [" + std::to_string(m0) +
                                    "," + std::to_string(m1) + ")x[" + std::to_string(n0) + "," + std::to_string(n1) +
                                    ") bias=" + std::to_string(with_bias) + " accumulate=" + std::to_string(accumulate);
          ASSERT_TRUE(close_to(y_scalar, want, 1e-5, where + " scalar"));
          DoubleProduct scalar_ref{std::vector<double>(y_scalar.begin(), y_scalar.end()), want.magnitude};
          for (Isa isa : cpu::supported_isas()) {
            const auto sel = cpu::select_dot_tile<S>(isa);
            if (sel.isa != isa || isa == Isa::scalar) continue;
            ASSERT_TRUE(close_to(run(sel.fn), scalar_ref, 1e-5, where + " " + std::string(cpu::isa_name(isa))));
          }
        }
      }
    }
  }
}

// int8 sums past 2^31: K = 2^20 + 96 with every weight at its extreme and every code ±127.
TEST(OwnDotTile, Int8SumsBeyondInt32AreExact) {
  const std::size_t k = (std::size_t(1) << 20) + 96, n = 3, m = 2;
  Int8Params p;
  p.scale = {1.0f, 1.0f, 1.0f};
  p.zero_point = {127, -128, 5};
  std::vector<std::uint8_t> w(n * k), act(m * k);
  for (std::size_t l = 0; l < k; ++l) {
    w[0 * k + l] = std::uint8_t(std::int8_t(-128));
    w[1 * k + l] = std::uint8_t(std::int8_t(127));
    w[2 * k + l] = std::uint8_t(std::int8_t(l % 2 ? 127 : -128));
    act[0 * k + l] = std::uint8_t(std::int8_t(-127));
    act[1 * k + l] = std::uint8_t(std::int8_t(l % 3 ? 127 : -127));
  }
  const auto t = QuantizedTensor<Int8PerChannelAffine>::adopt(w, n, k, nullptr, p);
  const std::vector<float> row_scale{1.0f, 1.0f};
  for (Isa isa : cpu::supported_isas()) {
    const auto sel = cpu::select_dot_tile<Int8PerChannelAffine>(isa);
    if (sel.isa != isa) continue;
    std::vector<float> y(m * n);
    cpu::DotTileArgs a;
    a.w = t.bytes().data();
    a.w_stride = k;
    a.a = act.data();
    a.a_stride = k;
    a.k = k;
    a.m0 = 0, a.m1 = m, a.n0 = 0, a.n1 = n;
    a.y = y.data();
    a.ldy = n;
    a.row_scale = row_scale.data();
    a.params = &t.params();
    sel.fn(a);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        std::int64_t want = 0;
        for (std::size_t l = 0; l < k; ++l)
          want += (std::int64_t(std::int8_t(w[j * k + l])) - p.zero_point[j]) * std::int8_t(act[i * k + l]);
        EXPECT_EQ(y[i * n + j], float(want)) << cpu::isa_name(isa) << " row " << i << " column " << j;
      }
  }
}

// The formats' accuracy on Gaussian rows without outliers: int8 activations cost well under 2%
// relative error. (I8Row's one scale per row is what a row's outliers coarsen: with 1% of values
// at 20σ its error is about 3%, a Q8Block<32>'s about 1%.)
TYPED_TEST(OwnDotTile, QuantizedModeStaysCloseToTheExactProduct) {
  using S = TypeParam;
  const std::size_t m = 9, n = 40, k = 512;
  const auto t = random_tensor<S>(n, k, 71);
  const auto w = cpu::Backend::upload(t);
  const auto x = random_floats(m * k, 72, 1.0f, 0.0f);
  std::vector<float> yq(m * n), ye(m * n);
  cpu::Context cq(1), ce(1, Isa::best, cpu::ActivationMode::exact);
  cpu::Backend::gemm(cq, w, ConstMatrixView<float>(x.data(), m, k), MatrixView<float>(yq.data(), m, n));
  cpu::Backend::gemm(ce, w, ConstMatrixView<float>(x.data(), m, k), MatrixView<float>(ye.data(), m, n));
  double e = 0, s = 0;
  for (std::size_t i = 0; i < m * n; ++i) e += (yq[i] - ye[i]) * double(yq[i] - ye[i]), s += ye[i] * double(ye[i]);
  EXPECT_LT(std::sqrt(e / s), 0.02) << S::name << " " << cpu::Backend::kernel_name<S>(cq);
}

}  // namespace
}  // namespace qlinear::test
