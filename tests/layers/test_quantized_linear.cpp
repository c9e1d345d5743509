// QuantizedLinear on the reference backend, for every scheme: forward equals a float64 dense
// product over the dequantized weights (to float rounding), accounting is what the format says,
// and misuse raises qlinear::Error.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "qlinear/qlinear.hpp"
#include "test_util.hpp"

using namespace qlinear;
using Ref = cpu::ReferenceBackend;

namespace {

template <class List>
struct ToGTest;
template <class... Ts>
struct ToGTest<TypeList<Ts...>> {
  using type = ::testing::Types<Ts...>;
};

// float64 dense y = x·Wᵀ + b over the dequantized weights.
RowMatrixXf dense_reference(const RowMatrixXf& w, const RowMatrixXf& x, std::span<const float> bias) {
  RowMatrixXf y(x.rows(), w.rows());
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index j = 0; j < w.rows(); ++j) {
      double acc = 0.0;
      for (Eigen::Index l = 0; l < w.cols(); ++l) acc += double(x(i, l)) * double(w(j, l));
      if (!bias.empty()) acc += double(bias[std::size_t(j)]);
      y(i, j) = float(acc);
    }
  return y;
}

RowMatrixXf random_matrix(Eigen::Index r, Eigen::Index c, std::uint32_t seed, float outlier_rate = 0.01f) {
  auto v = test::random_floats(std::size_t(r * c), seed, 1.0f, outlier_rate);
  return Eigen::Map<RowMatrixXf>(v.data(), r, c);
}

}  // namespace

template <class S>
class EveryScheme : public ::testing::Test {};
TYPED_TEST_SUITE(EveryScheme, ToGTest<AllSchemes>::type);

TYPED_TEST(EveryScheme, ForwardMatchesFloat64DenseOverDequantizedWeights) {
  using S = TypeParam;
  const std::size_t n = 37, k = 512;
  const RowMatrixXf w = random_matrix(n, k, 11);
  const auto bias = test::random_floats(n, 12);
  auto layer = QuantizedLinear<Ref, S>::from_float(w.data(), n, k, bias);
  const RowMatrixXf wq = layer.dequantize();
  for (Eigen::Index m : {1, 3, 8}) {
    const RowMatrixXf x = random_matrix(m, k, 13 + std::uint32_t(m));
    const RowMatrixXf y = layer.forward(x);
    const RowMatrixXf expected = dense_reference(wq, x, bias);
    ASSERT_EQ(y.rows(), m);
    for (Eigen::Index i = 0; i < y.size(); ++i) EXPECT_EQ(y.data()[i], expected.data()[i]) << "element " << i;
  }
  // Quantization error against the float layer is bounded (loose: 2-bit formats are coarse).
  const RowMatrixXf x = random_matrix(4, k, 99, 0.0f);
  const RowMatrixXf exact = dense_reference(w, x, bias);
  const double rel = (layer.forward(x) - exact).norm() / exact.norm();
  EXPECT_LT(rel, 0.5) << S::name;
}

TYPED_TEST(EveryScheme, AccountingFollowsTheFormat) {
  using S = TypeParam;
  const std::size_t n = 8, k = 1024;
  const RowMatrixXf w = random_matrix(n, k, 5);
  auto layer = QuantizedLinear<Ref, S>::from_float(w.data(), n, k);
  EXPECT_EQ(layer.in_features(), k);
  EXPECT_EQ(layer.out_features(), n);
  EXPECT_FALSE(layer.has_bias());
  const auto t = layer.quantized();
  EXPECT_EQ(layer.memory_bytes(), t.memory_bytes());
  EXPECT_EQ(t.bytes().size(), n * row_bytes<S>(k));
  EXPECT_DOUBLE_EQ(layer.bits_per_weight(), 8.0 * double(t.memory_bytes()) / double(n * k));
  EXPECT_GE(layer.bits_per_weight(), nominal_bits_per_weight<S>());
  EXPECT_EQ(layer.memory_savings_bytes(), n * k * 4 > layer.memory_bytes() ? n * k * 4 - layer.memory_bytes() : 0);
}

TYPED_TEST(EveryScheme, MisuseRaisesErrors) {
  using S = TypeParam;
  const std::size_t n = 4, k = 256;
  const RowMatrixXf w = random_matrix(n, k, 6);
  const std::vector<float> short_bias(n - 1, 0.0f);
  EXPECT_THROW((QuantizedLinear<Ref, S>::from_float(w.data(), n, k, short_bias)), Error);
  auto layer = QuantizedLinear<Ref, S>::from_float(w.data(), n, k);
  const RowMatrixXf bad_x = RowMatrixXf::Ones(2, k + 1);
  EXPECT_THROW(layer.forward(bad_x), Error);
  RowMatrixXf y(2, n + 1);
  const RowMatrixXf x = RowMatrixXf::Ones(2, k);
  EXPECT_THROW(layer.forward(const_view(x), view(y)), Error);
  if constexpr (S::block_elems > 1) {
    const RowMatrixXf odd = random_matrix(n, Eigen::Index(S::block_elems + 1), 7);
    EXPECT_THROW((QuantizedLinear<Ref, S>::from_float(odd.data(), n, S::block_elems + 1)), Error);
  }
}

TYPED_TEST(EveryScheme, BackwardInputIsDyTimesW) {
  using S = TypeParam;
  const std::size_t n = 9, k = 256;
  const RowMatrixXf w = random_matrix(n, k, 21);
  auto layer = QuantizedLinear<Ref, S>::from_float(w.data(), n, k);
  const RowMatrixXf wq = layer.dequantize();
  const RowMatrixXf dy = random_matrix(3, n, 22);
  RowMatrixXf dx(3, k);
  Ref::Context ctx;
  layer.backward_input(ctx, const_view(dy), view(dx));
  const Eigen::MatrixXd expected = dy.cast<double>() * wq.cast<double>();
  EXPECT_LT((dx.cast<double>() - expected).cwiseAbs().maxCoeff(), 1e-5 * (1.0 + expected.cwiseAbs().maxCoeff()));
  RowMatrixXf dx2 = dx;
  layer.backward_input(ctx, const_view(dy), view(dx2), /*accumulate=*/true);
  EXPECT_LT((dx2 - 2 * dx).cwiseAbs().maxCoeff(), 1e-4f * (1.0f + dx.cwiseAbs().maxCoeff()));
}

TEST(QuantizedLinear, AccountingNumbersOfTheDesign) {
  const std::size_t n = 16, k = 4096;
  const RowMatrixXf w = random_matrix(n, k, 3);
  EXPECT_DOUBLE_EQ((QuantizedLinear<Ref, Q4_K>::from_float(w.data(), n, k).bits_per_weight()), 4.5);
  EXPECT_DOUBLE_EQ((QuantizedLinear<Ref, Q6_K>::from_float(w.data(), n, k).bits_per_weight()), 6.5625);
  EXPECT_DOUBLE_EQ((QuantizedLinear<Ref, Q8_0>::from_float(w.data(), n, k).bits_per_weight()), 8.5);
  EXPECT_DOUBLE_EQ((QuantizedLinear<Ref, Int4G128>::from_float(w.data(), n, k).bits_per_weight()), 4.125);
  EXPECT_DOUBLE_EQ((QuantizedLinear<Ref, Int8PerChannel>::from_float(w.data(), n, k).bits_per_weight()),
                   8.0 + 32.0 / double(k));
}

TEST(QuantizedLinear, FromGgufBytesAdoptsWithoutCopy) {
  const std::size_t n = 4, k = 512;
  const RowMatrixXf w = random_matrix(n, k, 8);
  const auto t = QuantizedTensor<Q4_K>::quantize(w.data(), n, k);
  auto owner = std::make_shared<std::vector<std::uint8_t>>(t.bytes().begin(), t.bytes().end());
  auto layer = QuantizedLinear<Ref, Q4_K>::from_gguf_bytes(*owner, n, k, owner);
  EXPECT_EQ(layer.quantized().bytes().data(), owner->data());
  EXPECT_EQ(layer.dequantize(), (QuantizedLinear<Ref, Q4_K>(t).dequantize()));
  EXPECT_THROW((QuantizedLinear<Ref, Q4_K>::from_gguf_bytes(std::span(*owner).first(owner->size() - 1), n, k, owner)),
               Error);
  auto copy = QuantizedLinear<Ref, Q4_K>::from_gguf_bytes(*owner, n, k);
  EXPECT_NE(copy.quantized().bytes().data(), owner->data());
  EXPECT_THROW((QuantizedLinear<Ref, Int8PerChannel>::from_gguf_bytes(*owner, n, k)), Error);
}

TEST(QuantizedLinear, CachedDequantizationGivesTheSameOutput) {
  const std::size_t n = 12, k = 256;
  const RowMatrixXf w = random_matrix(n, k, 31);
  const auto bias = test::random_floats(n, 32);
  auto layer = QuantizedLinear<Ref, Q5_K>::from_float(w.data(), n, k, bias);
  const RowMatrixXf x = random_matrix(5, k, 33);
  const RowMatrixXf y = layer.forward(x);
  const std::size_t before = layer.memory_bytes();
  layer.cache_dequantized(true);
  EXPECT_TRUE(layer.dequantized_cached());
  EXPECT_EQ(layer.memory_bytes(), before + n * k * sizeof(float));
  EXPECT_EQ(layer.forward(x), y);
  layer.cache_dequantized(false);
  EXPECT_EQ(layer.memory_bytes(), before);
}

TEST(QuantizedLinear, WithWeightsKeepsSchemeAndBias) {
  const std::size_t n = 6, k = 64;
  const RowMatrixXf w = random_matrix(n, k, 41), w2 = random_matrix(n, k, 42);
  const auto bias = test::random_floats(n, 43);
  auto layer = QuantizedLinear<Ref, Q8_0>::from_float(w.data(), n, k, bias);
  auto other = layer.with_weights(w2.data());
  EXPECT_EQ(std::vector<float>(other.bias().begin(), other.bias().end()), bias);
  EXPECT_EQ(other.dequantize(), (QuantizedLinear<Ref, Q8_0>::from_float(w2.data(), n, k).dequantize()));
}

TEST(QuantizedLinear, FromLinearAcceptsColumnMajorEigen) {
  const Eigen::MatrixXf w = Eigen::MatrixXf::Random(10, 64);  // column-major
  const Eigen::VectorXf b = Eigen::VectorXf::Random(10);
  auto layer = QuantizedLinear<Ref, Q8_0>::from_linear(w, &b);
  const RowMatrixXf wr = w;
  auto same = QuantizedLinear<Ref, Q8_0>::from_float(wr.data(), 10, 64, std::span<const float>(b.data(), 10));
  const Eigen::MatrixXf x = Eigen::MatrixXf::Random(3, 64);  // column-major activations are copied once
  EXPECT_EQ(layer.forward(x), same.forward(x));
}

TEST(QuantizedLinear, SharedByThreadsEachWithItsContext) {
  const std::size_t n = 32, k = 256;
  const RowMatrixXf w = random_matrix(n, k, 51);
  const auto layer = QuantizedLinear<Ref, Q4_0>::from_float(w.data(), n, k);
  const RowMatrixXf x = random_matrix(4, k, 52);
  const RowMatrixXf expected = layer.forward(x);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      Ref::Context ctx;
      bool all = true;
      for (int rep = 0; rep < 20; ++rep) all = all && layer.forward(ctx, x) == expected;
      ok[std::size_t(t)] = all;
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_TRUE(ok[std::size_t(t)]) << "thread " << t;
}
