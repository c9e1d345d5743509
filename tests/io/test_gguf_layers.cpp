// Layers loaded by name from GGUF files: real Q4_K/Q6_K weights used in place, fused parts of
// different schemes, bias attached, and the errors for tensors that cannot be layers.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "qlinear/backends/cpu/reference.hpp"
#include "qlinear/io/gguf_layers.hpp"
#include "test_util.hpp"

namespace {

using namespace qlinear;
using Ref = cpu::ReferenceBackend;

std::filesystem::path devstral() { return test::shared_dir() / "gguf-samples" / "devstral-slice-q4k-q6k.gguf"; }

std::vector<float> truth(const std::string& tensor) {
  std::ifstream in(test::shared_dir() / "gguf-samples" / ("devstral-slice-q4k-q6k.truth." + tensor + ".f32"),
                   std::ios::binary);
  std::vector<float> v(64 * 5120);
  in.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * 4));
  EXPECT_TRUE(bool(in));
  return v;
}

// y = x·Wᵀ in double, rounded once.
RowMatrixXf dense_forward(const RowMatrixXf& x, const std::vector<float>& w, std::size_t n, std::size_t k) {
  RowMatrixXf y(x.rows(), Eigen::Index(n));
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double acc = 0;
      for (std::size_t l = 0; l < k; ++l) acc += double(x(i, Eigen::Index(l))) * double(w[j * k + l]);
      y(i, Eigen::Index(j)) = float(acc);
    }
  return y;
}

TEST(GgufLayers, RealQ4KAndQ6KWeightsInPlace) {
  std::optional<AnyLinear<Ref>> k, v;
  const std::uint8_t* mapped_k = nullptr;
  {
    const auto file = io::GgufFile::open(devstral());
    k.emplace(io::load_linear<Ref>(file, "blk.0.attn_k.weight"));
    v.emplace(io::load_linear<Ref>(file, "blk.0.attn_v.weight"));
    mapped_k = file.tensor("blk.0.attn_k.weight").bytes.data();
  }  // the file object is gone; the layers keep the mapping alive
  EXPECT_EQ(k->scheme_id(), SchemeId::q4_K);
  EXPECT_EQ(v->scheme_id(), SchemeId::q6_K);
  EXPECT_EQ(k->in_features(), 5120u);
  EXPECT_EQ(k->out_features(), 64u);
  EXPECT_FALSE(k->has_bias());
  EXPECT_EQ(k->bits_per_weight(), 4.5);
  EXPECT_EQ(v->bits_per_weight(), 6.5625);
  const auto* q4 = k->get_if<Q4_K>();
  ASSERT_NE(q4, nullptr);
  EXPECT_EQ(q4->weights().tensor.bytes().data(), mapped_k) << "zero copy: the layer reads the mapping";

  const RowMatrixXf x = RowMatrixXf::Random(3, 5120);
  for (auto [layer, name] : {std::pair{&*k, "blk.0.attn_k.weight"}, std::pair{&*v, "blk.0.attn_v.weight"}}) {
    const auto w = truth(name);
    const RowMatrixXf want = dense_forward(x, w, 64, 5120);
    const RowMatrixXf got = layer->forward(x);
    EXPECT_LE((got - want).cwiseAbs().maxCoeff(), 1e-5f * (1.0f + want.cwiseAbs().maxCoeff())) << name;
    const RowMatrixXf deq = layer->dequantize();
    EXPECT_EQ(std::vector<float>(deq.data(), deq.data() + deq.size()), w) << name;
  }
}

TEST(GgufLayers, FusedPartsOfDifferentSchemes) {
  const auto file = io::GgufFile::open(devstral());
  const auto kv = io::load_fused<Ref>(file, {"blk.0.attn_k.weight", "blk.0.attn_v.weight"});
  EXPECT_EQ(kv.num_parts(), 2u);
  EXPECT_EQ(kv.out_features(), 128u);
  EXPECT_EQ(kv.part(0).scheme_id(), SchemeId::q4_K);
  EXPECT_EQ(kv.part(1).scheme_id(), SchemeId::q6_K);
  EXPECT_NEAR(kv.bits_per_weight(), (4.5 + 6.5625) / 2, 1e-12);
  const RowMatrixXf x = RowMatrixXf::Random(2, 5120);
  const RowMatrixXf y = kv.forward(x);
  EXPECT_TRUE(y.leftCols(64).isApprox(io::load_linear<Ref>(file, "blk.0.attn_k.weight").forward(x)));
  EXPECT_TRUE(y.rightCols(64).isApprox(io::load_linear<Ref>(file, "blk.0.attn_v.weight").forward(x)));
  // attn_norm is 1-D: not a layer, and K would differ anyway.
  EXPECT_THROW((void)io::load_fused<Ref>(file, {"blk.0.attn_k.weight", "blk.0.attn_norm.weight"}), Error);
  EXPECT_THROW((void)io::load_fused<Ref>(file, {}), Error);
}

TEST(GgufLayers, BiasAttachedWhenPresent) {
  const std::size_t n = 5, k = 64;
  const auto w = test::random_floats(n * k, 3);
  std::vector<std::uint8_t> q(n * scheme_row_bytes(SchemeId::q8_0, k));
  quantize_rows(SchemeId::q8_0, w.data(), n, k, q);
  const std::vector<float> bias = {1, -2, 3, -4, 5};
  std::vector<std::uint8_t> bias_bytes(bias.size() * 4);
  std::memcpy(bias_bytes.data(), bias.data(), bias_bytes.size());
  io::GgufWriter writer;
  writer.add_tensor("proj.weight", 8, {k, n}, q);
  writer.add_tensor("proj.bias", 0, {n}, bias_bytes);
  writer.add_tensor("bad.weight", 8, {k, n}, q);
  writer.add_tensor("bad.bias", 0, {4}, std::vector<std::uint8_t>(16));
  writer.add_tensor("iq2.weight", 16, {256, 1}, std::vector<std::uint8_t>(66));
  const auto bytes = writer.to_bytes();
  const auto file = io::GgufFile::from_bytes(bytes);
  const auto layer = io::load_linear<Ref>(file, "proj.weight");
  ASSERT_TRUE(layer.has_bias());
  EXPECT_EQ(std::vector<float>(layer.bias().begin(), layer.bias().end()), bias);
  const RowMatrixXf x = RowMatrixXf::Zero(1, Eigen::Index(k));
  const RowMatrixXf y = layer.forward(x);
  for (std::size_t j = 0; j < n; ++j) EXPECT_EQ(y(0, Eigen::Index(j)), bias[j]);

  auto error_of = [&](const char* name) {
    try {
      (void)io::load_linear<Ref>(file, name);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_NE(error_of("bad.weight").find("'bad.bias' has 4 elements, but the weight has 5 rows"), std::string::npos);
  EXPECT_NE(error_of("iq2.weight").find("IQ2_XXS, which qlinear does not implement"), std::string::npos);
  EXPECT_NE(error_of("nope.weight").find("no tensor named 'nope.weight'"), std::string::npos);
  EXPECT_NE(error_of("proj.bias").find("has 1 dims"), std::string::npos);
}

TEST(GgufLayers, StraddlingRowsCannotBeLayers) {
  const auto file = io::GgufFile::open(test::shared_dir() / "gguf-samples" / "tinyllamas-stories-260k-q8_0.gguf");
  try {
    (void)io::load_linear<Ref>(file, "blk.0.ffn_down.weight");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not whole Q8_0 blocks"), std::string::npos) << e.what();
  }
  // Its other Q8_0 tensors load and match the dequantized tensor.
  const auto q = io::load_linear<Ref>(file, "blk.0.attn_q.weight");
  EXPECT_EQ(q.in_features(), 64u);
  const RowMatrixXf d = q.dequantize();
  EXPECT_EQ(std::vector<float>(d.data(), d.data() + d.size()), io::dequantize(file.tensor("blk.0.attn_q.weight")));
  // F16 weights load too (llama-2-tiny-random).
  const auto f16 = io::GgufFile::open(test::shared_dir() / "gguf-samples" / "llama-2-tiny-random.gguf");
  EXPECT_EQ(io::load_linear<Ref>(f16, "blk.0.attn_q.weight").scheme_id(), SchemeId::f16);
}

}  // namespace
