// Quantized layers in safetensors under a prefix: every scheme with a form round-trips bit for
// bit; a file in the 4-bit grouped layout written by hand loads with the documented meaning.

#include <gtest/gtest.h>

#if __has_include(<nlohmann/json.hpp>)

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "qlinear/backends/cpu/reference.hpp"
#include "qlinear/io/safetensors_layers.hpp"
#include "test_util.hpp"

namespace {

using namespace qlinear;
using Ref = cpu::ReferenceBackend;
using io::Dtype;

std::string error_of(const std::vector<std::uint8_t>& bytes, const char* prefix) {
  try {
    const auto f = io::SafetensorsFile::from_bytes(bytes);
    (void)io::load_linear<Ref>(f, prefix);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SafetensorsLayers, EverySchemeRoundTripsUnderItsPrefix) {
  const std::size_t n = 6, k = 256;
  const auto w = test::random_floats(n * k, 11);
  const std::vector<float> bias = {0.5f, -1, 2, 0, 3, -4};
  const SchemeId ids[] = {SchemeId::f32,           SchemeId::f16,
                          SchemeId::bf16,          SchemeId::int8_per_tensor,
                          SchemeId::int8_per_tensor_affine, SchemeId::int8_per_channel,
                          SchemeId::int8_per_channel_affine, SchemeId::int4_g32,
                          SchemeId::int4_g64,      SchemeId::int4_g128,
                          SchemeId::int4_g32_affine, SchemeId::int4_g64_affine,
                          SchemeId::int4_g128_affine, SchemeId::nf4,
                          SchemeId::q8_0,          SchemeId::q4_K,
                          SchemeId::q6_K,          SchemeId::iq4_nl};
  io::SafetensorsWriter writer;
  std::vector<AnyLinear<Ref>> layers;
  for (SchemeId id : ids) {
    layers.push_back(AnyLinear<Ref>::from_float(id, w.data(), n, k, id == SchemeId::q4_K ? std::span<const float>{} : bias));
    io::save_linear(writer, "layers." + std::string(scheme_name(id)), layers.back());
  }
  const auto bytes = writer.to_bytes();
  const auto f = io::SafetensorsFile::from_bytes(bytes);
  const RowMatrixXf x = RowMatrixXf::Random(2, Eigen::Index(k));
  for (std::size_t i = 0; i < std::size(ids); ++i) {
    const std::string prefix = "layers." + std::string(scheme_name(ids[i]));
    const auto got = io::load_linear<Ref>(f, prefix);
    EXPECT_EQ(got.scheme_id(), ids[i]) << prefix;
    EXPECT_EQ(got.out_features(), n);
    EXPECT_EQ(got.in_features(), k);
    EXPECT_EQ(got.has_bias(), layers[i].has_bias()) << prefix;
    EXPECT_EQ(got.dequantize(), layers[i].dequantize()) << prefix;
    EXPECT_EQ(got.forward(x), layers[i].forward(x)) << prefix;
  }
  // The documented names, dtypes and shapes.
  EXPECT_EQ(f.tensor("layers.int4_g64.weight_4bit").dtype, Dtype::U8);
  EXPECT_EQ(f.tensor("layers.int4_g64.weight_4bit").shape, (std::vector<std::uint64_t>{6, 128}));
  EXPECT_EQ(f.tensor("layers.int4_g64.scales_4bit").dtype, Dtype::F16);
  EXPECT_EQ(f.tensor("layers.int4_g64.scales_4bit").shape, (std::vector<std::uint64_t>{6, 4}));
  EXPECT_EQ(f.tensor("layers.int4_g64.bias").shape, (std::vector<std::uint64_t>{6}));
  EXPECT_FALSE(f.metadata().count("qlinear.scheme.layers.int4_g64"));
  EXPECT_EQ(f.tensor("layers.int8_per_channel_affine.qweight").dtype, Dtype::I8);
  EXPECT_EQ(f.tensor("layers.int8_per_channel_affine.scales").shape, (std::vector<std::uint64_t>{6}));
  EXPECT_EQ(f.tensor("layers.int8_per_channel_affine.zeros").dtype, Dtype::I32);
  EXPECT_EQ(f.tensor("layers.int8_per_tensor.scales").shape, (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(f.tensor("layers.int4_g128_affine.zeros").shape, (std::vector<std::uint64_t>{6, 2}));
  EXPECT_EQ(f.tensor("layers.nf4.scales").dtype, Dtype::F32);
  EXPECT_EQ(f.tensor("layers.nf4.scales").shape, (std::vector<std::uint64_t>{6, 4}));
  EXPECT_EQ(f.tensor("layers.q4_K.qweight").shape, (std::vector<std::uint64_t>{6, 144}));
  EXPECT_EQ(f.metadata().at("qlinear.scheme.layers.q4_K"), "q4_K");
  EXPECT_EQ(f.tensor("layers.bf16.weight").dtype, Dtype::BF16);
  EXPECT_FALSE(f.contains("layers.q4_K.bias"));
}

TEST(SafetensorsLayers, HandWrittenFourBitLayoutMeansWhatTheHeaderSays) {
  // 2 rows of 64 inputs, groups of 32: w = scale · (q − 8), element 2j in the low nibble.
  const std::size_t out = 2, in = 64;
  std::vector<std::uint8_t> packed(out * in / 2);
  std::vector<f16> scales = {f16::from_float(0.5f), f16::from_float(-0.25f), f16::from_float(2.0f),
                             f16::from_float(1.0f)};
  std::vector<float> want(out * in);
  for (std::size_t r = 0; r < out; ++r)
    for (std::size_t c = 0; c < in; ++c) {
      const std::uint8_t q = std::uint8_t((r * 7 + c * 3) % 16);
      packed[r * in / 2 + c / 2] |= std::uint8_t(c % 2 ? q << 4 : q);
      want[r * in + c] = scales[r * 2 + c / 32].to_float() * float(int(q) - 8);
    }
  io::SafetensorsWriter w;
  w.add("proj.weight_4bit", Dtype::U8, {out, in / 2}, packed);
  w.add("proj.scales_4bit", {out, 2}, scales);
  w.add_floats("proj.bias", Dtype::F16, {out}, std::vector<float>{1.5f, -2.5f});
  const auto bytes = w.to_bytes();
  const auto f = io::SafetensorsFile::from_bytes(bytes);
  const auto layer = io::load_linear<Ref>(f, "proj");
  EXPECT_EQ(layer.scheme_id(), SchemeId::int4_g32);
  const RowMatrixXf d = layer.dequantize();
  EXPECT_EQ(std::vector<float>(d.data(), d.data() + d.size()), want);
  EXPECT_EQ(std::vector<float>(layer.bias().begin(), layer.bias().end()), (std::vector<float>{1.5f, -2.5f}));
}

TEST(SafetensorsLayers, Int8WithoutMetadataIsDeducedFromShapes) {
  io::SafetensorsWriter w;
  w.add("a.qweight", {2, 3}, std::vector<std::int8_t>{1, -2, 3, -4, 5, -127});
  w.add("a.scales", {2}, std::vector<float>{0.5f, 2.0f});
  w.add("a.zeros", {2}, std::vector<std::int32_t>{1, -1});
  w.add("b.qweight", {2, 3}, std::vector<std::int8_t>{1, -2, 3, -4, 5, -127});
  w.add("b.scales", {1}, std::vector<float>{0.5f});
  const auto bytes = w.to_bytes();
  const auto f = io::SafetensorsFile::from_bytes(bytes);
  const auto a = io::load_linear<Ref>(f, "a");
  EXPECT_EQ(a.scheme_id(), SchemeId::int8_per_channel_affine);
  const RowMatrixXf da = a.dequantize();
  EXPECT_EQ(da(0, 0), 0.0f);   // 0.5 · (1 − 1)
  EXPECT_EQ(da(1, 2), -252.0f);  // 2 · (−127 + 1)
  const auto b = io::load_linear<Ref>(f, "b");
  EXPECT_EQ(b.scheme_id(), SchemeId::int8_per_tensor);
  EXPECT_EQ(b.dequantize()(1, 1), 2.5f);
}

TEST(SafetensorsLayers, QuantizesFloatCheckpointWeights) {
  const std::size_t n = 4, k = 64;
  const auto w = test::random_floats(n * k, 2);
  io::SafetensorsWriter writer;
  writer.add_floats("lm_head.weight", Dtype::BF16, {n, k}, w);
  const auto bytes = writer.to_bytes();
  const auto f = io::SafetensorsFile::from_bytes(bytes);
  const auto q = io::quantize_linear<Ref>(f, "lm_head", SchemeId::q8_0);
  EXPECT_EQ(q.scheme_id(), SchemeId::q8_0);
  const auto dense = io::load_linear<Ref>(f, "lm_head");  // used as it is: BF16
  EXPECT_EQ(dense.scheme_id(), SchemeId::bf16);
  const RowMatrixXf dq = q.dequantize(), dd = dense.dequantize();
  EXPECT_LT((dq - dd).cwiseAbs().maxCoeff(), 0.05f * dd.cwiseAbs().maxCoeff());
}

TEST(SafetensorsLayers, ErrorsNameTheTensor) {
  auto file = [](auto&& fill) {
    io::SafetensorsWriter w;
    fill(w);
    return w.to_bytes();
  };
  const auto bad_groups = file([](auto& w) {
    w.add("p.weight_4bit", Dtype::U8, {2, 24}, std::vector<std::uint8_t>(48));
    w.add("p.scales_4bit", {2, 2}, std::vector<f16>(4));
  });
  EXPECT_NE(error_of(bad_groups, "p").find("48 inputs in 2 groups is not a group size"), std::string::npos)
      << error_of(bad_groups, "p");
  const auto bad_scales = file([](auto& w) {
    w.add("p.weight_4bit", Dtype::U8, {2, 32}, std::vector<std::uint8_t>(64));
    w.add("p.scales_4bit", {2, 2}, std::vector<float>(4));
  });
  EXPECT_NE(error_of(bad_scales, "p").find("'p.scales_4bit' is F32, expected F16"), std::string::npos);
  const auto no_meta = file([](auto& w) { w.add("p.qweight", Dtype::U8, {2, 32}, std::vector<std::uint8_t>(64)); });
  EXPECT_NE(error_of(no_meta, "p").find("needs the metadata entry 'qlinear.scheme.p'"), std::string::npos);
  const auto bad_meta = file([](auto& w) {
    w.set_metadata("qlinear.scheme.p", "q9_Z");
    w.add("p.qweight", Dtype::U8, {2, 32}, std::vector<std::uint8_t>(64));
  });
  EXPECT_NE(error_of(bad_meta, "p").find("unknown scheme name 'q9_Z'"), std::string::npos);
  const auto bad_rows = file([](auto& w) {
    w.set_metadata("qlinear.scheme.p", "q8_0");
    w.add("p.qweight", Dtype::U8, {2, 35}, std::vector<std::uint8_t>(70));
  });
  EXPECT_NE(error_of(bad_rows, "p").find("rows of 35 bytes are not whole q8_0 blocks"), std::string::npos);
  const auto bad_bias = file([](auto& w) {
    w.add("p.weight", {2, 2}, std::vector<float>(4));
    w.add("p.bias", {3}, std::vector<float>(3));
  });
  EXPECT_NE(error_of(bad_bias, "p").find("'p.bias' has 3 elements, the weight has 2 rows"), std::string::npos);
  const auto nothing = file([](auto& w) { w.add("x", {1}, std::vector<float>(1)); });
  EXPECT_NE(error_of(nothing, "p").find("no layer under 'p'"), std::string::npos);
  const auto missing_zeros = file([](auto& w) {
    w.set_metadata("qlinear.scheme.p", "int8_per_channel_affine");
    w.add("p.qweight", {2, 2}, std::vector<std::int8_t>(4));
    w.add("p.scales", {2}, std::vector<float>{1, 1});
  });
  EXPECT_NE(error_of(missing_zeros, "p").find("no tensor named 'p.zeros'"), std::string::npos);

  io::SafetensorsWriter w;
  const auto wts = test::random_floats(64 * 2, 1);
  EXPECT_THROW(io::save_linear(w, "d", AnyLinear<Ref>::from_float(SchemeId::nf4_double_quant, wts.data(), 2, 64)), Error);
}

}  // namespace

#else
TEST(SafetensorsLayers, NeedsNlohmannJson) { GTEST_SKIP() << "nlohmann/json not found (apt-get install nlohmann-json3-dev)"; }
#endif
