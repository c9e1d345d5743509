// AnyLinear (scheme chosen at run time) and FusedLinear (parts in different schemes, one call).
#include <gtest/gtest.h>

#include <vector>

#include "qlinear/qlinear.hpp"
#include "test_util.hpp"

using namespace qlinear;
using Ref = cpu::ReferenceBackend;

namespace {
RowMatrixXf random_matrix(Eigen::Index r, Eigen::Index c, std::uint32_t seed) {
  auto v = test::random_floats(std::size_t(r * c), seed);
  return Eigen::Map<RowMatrixXf>(v.data(), r, c);
}
}  // namespace

TEST(AnyLinear, EveryRunTimeIdBehavesLikeItsTypedLayer) {
  const std::size_t n = 5, k = 256;
  const RowMatrixXf w = random_matrix(n, k, 1);
  const RowMatrixXf x = random_matrix(2, k, 2);
  const auto bias = test::random_floats(n, 3);
  int count = 0;
  [&]<class... Ss>(TypeList<Ss...>) {
    (
        [&] {
          auto any = AnyLinear<Ref>::from_float(Ss::id, w.data(), n, k, bias);
          auto typed = QuantizedLinear<Ref, Ss>::from_float(w.data(), n, k, bias);
          EXPECT_EQ(any.scheme_id(), Ss::id);
          EXPECT_EQ(any.scheme_name(), Ss::name);
          EXPECT_EQ(scheme_from_name(Ss::name), Ss::id);
          EXPECT_EQ(any.forward(x), typed.forward(x)) << Ss::name;
          EXPECT_EQ(any.memory_bytes(), typed.memory_bytes());
          EXPECT_EQ(any.bits_per_weight(), typed.bits_per_weight());
          EXPECT_NE(any.template get_if<Ss>(), nullptr);
          ++count;
        }(),
        ...);
  }(AllSchemes{});
  EXPECT_EQ(count, int(AllSchemes::size));
}

TEST(AnyLinear, FromBytesAndUnknownIds) {
  const std::size_t n = 3, k = 256;
  const RowMatrixXf w = random_matrix(n, k, 4);
  std::vector<std::uint8_t> bytes(n * scheme_row_bytes(SchemeId::q6_K, k));
  quantize_rows(SchemeId::q6_K, w.data(), n, k, bytes);
  auto layer = AnyLinear<Ref>::from_bytes(SchemeId::q6_K, bytes, n, k);
  EXPECT_EQ(layer.dequantize(), (QuantizedLinear<Ref, Q6_K>::from_float(w.data(), n, k).dequantize()));
  EXPECT_THROW(AnyLinear<Ref>::from_bytes(SchemeId(4), bytes, n, k), Error);  // Q4_2: removed from GGUF
  EXPECT_THROW(AnyLinear<Ref>::from_bytes(SchemeId::q8_K, bytes, n, k), Error);  // activation-only
  EXPECT_THROW(AnyLinear<Ref>::from_bytes(SchemeId::q6_K, std::span(bytes).first(10), n, k), Error);
  EXPECT_THROW(AnyLinear<Ref>::from_bytes(SchemeId::int8_per_channel, bytes, n, k), Error);
}

TEST(RunTimeEntryPoints, QuantizeAndDequantizeRowsByIdMatchTheTypedSchemes) {
  const std::size_t rows = 3, k = 256;
  auto wv = test::random_floats(rows * k, 9, 1.0f, 0.0f);  // Gaussian, no outliers: errors comparable
  const RowMatrixXf w = Eigen::Map<RowMatrixXf>(wv.data(), rows, k);
  for (SchemeId id : {SchemeId::q4_0, SchemeId::q5_1, SchemeId::q2_K, SchemeId::iq4_xs, SchemeId::q8_K,
                      SchemeId::q8_1, SchemeId::f16, SchemeId::bf16, SchemeId::int4_g64, SchemeId::nf4}) {
    std::vector<std::uint8_t> bytes(rows * scheme_row_bytes(id, k));
    quantize_rows(id, w.data(), rows, k, bytes);
    std::vector<float> out(rows * k);
    dequantize_rows(id, bytes, rows, k, out.data());
    EXPECT_LT(test::rmse(out.data(), w.data(), out.size()), id == SchemeId::q2_K ? 0.4 : 0.15) << scheme_name(id);
    EXPECT_THROW(dequantize_rows(id, std::span(bytes).first(bytes.size() - 1), rows, k, out.data()), Error);
  }
  std::vector<std::uint8_t> bytes(rows * k);
  EXPECT_THROW(quantize_rows(SchemeId::int8_per_tensor, w.data(), rows, k, bytes), Error);
  EXPECT_THROW(scheme_row_bytes(SchemeId::q4_K, 100), Error);
  EXPECT_THROW(scheme_from_name("q4_2"), Error);
  EXPECT_EQ(scheme_name(SchemeId(4)), "unknown");
}

TEST(FusedLinear, PartsInDifferentSchemesInOneCall) {
  const std::size_t k = 512;
  const RowMatrixXf wq = random_matrix(64, k, 11), wk = random_matrix(32, k, 12), wv = random_matrix(32, k, 13);
  const auto bq = test::random_floats(64, 14);
  AnyLinear<Ref> q = QuantizedLinear<Ref, Q4_K>::from_float(wq.data(), 64, k, bq);
  AnyLinear<Ref> kk = QuantizedLinear<Ref, Q4_K>::from_float(wk.data(), 32, k);
  AnyLinear<Ref> v = QuantizedLinear<Ref, Q6_K>::from_float(wv.data(), 32, k);
  FusedLinear<Ref> qkv({q, kk, v});
  EXPECT_EQ(qkv.num_parts(), 3u);
  EXPECT_EQ(qkv.out_features(), 128u);
  EXPECT_EQ(qkv.part_offset(2), 96u);
  const RowMatrixXf x = random_matrix(3, k, 15);
  const RowMatrixXf y = qkv.forward(x);
  EXPECT_EQ(y.leftCols(64), q.forward(x));
  EXPECT_EQ(y.middleCols(64, 32), kk.forward(x));
  EXPECT_EQ(y.rightCols(32), v.forward(x));
  EXPECT_EQ(qkv.memory_bytes(), q.memory_bytes() + kk.memory_bytes() + v.memory_bytes());
  const double bpw = (4.5 * 96 * k + 6.5625 * 32 * k) / (128.0 * k);
  EXPECT_DOUBLE_EQ(qkv.bits_per_weight(), bpw);
  const auto bias = qkv.bias();
  ASSERT_EQ(bias.size(), 128u);
  EXPECT_EQ(bias[5], bq[5]);
  EXPECT_EQ(bias[100], 0.0f);

  // backward: dx = Σ dy_i·W_i
  const RowMatrixXf dy = random_matrix(3, 128, 16);
  RowMatrixXf dx(3, k);
  Ref::Context ctx;
  qkv.backward_input(ctx, const_view(dy), view(dx));
  const Eigen::MatrixXd expected = dy.cast<double>() * qkv.dequantize().cast<double>();
  EXPECT_LT((dx.cast<double>() - expected).cwiseAbs().maxCoeff(), 1e-4);

  // with_weights re-quantizes every part in its own scheme.
  RowMatrixXf all(128, k);
  all << wq, wk, wv;
  auto again = qkv.with_weights(all.data());
  EXPECT_EQ(again.part(2).scheme_id(), SchemeId::q6_K);
  EXPECT_EQ(again.dequantize(), qkv.dequantize());
}

TEST(FusedLinear, RejectsPartsWithDifferentInputs) {
  const RowMatrixXf a = random_matrix(4, 256, 1), b = random_matrix(4, 512, 2);
  AnyLinear<Ref> pa = QuantizedLinear<Ref, Q8_0>::from_float(a.data(), 4, 256);
  AnyLinear<Ref> pb = QuantizedLinear<Ref, Q8_0>::from_float(b.data(), 4, 512);
  EXPECT_THROW(FusedLinear<Ref>({pa, pb}), Error);
  EXPECT_THROW(FusedLinear<Ref>(std::vector<AnyLinear<Ref>>{}), Error);
  FusedLinear<Ref> ok({pa, pa});
  EXPECT_THROW(ok.part(2), Error);
  RowMatrixXf y(1, 7);
  const RowMatrixXf x = RowMatrixXf::Ones(1, 256);
  EXPECT_THROW(ok.forward(const_view(x), view(y)), Error);
}
