// LoRA<Layer>: forward against the double model, initialisation, dropout, several adapters and
// their weighted combination, merge/unmerge, the module API, bad input, a device-style backend.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "lora_reference.hpp"
#include "test_util.hpp"

using namespace qlinear;
using Ref = cpu::ReferenceBackend;
using test::MatrixXd;

namespace {

RowMatrixXf gaussian(Eigen::Index r, Eigen::Index c, std::uint32_t seed, float scale = 1.0f) {
  auto v = test::random_floats(std::size_t(r * c), seed, scale, 0.0f);
  return Eigen::Map<RowMatrixXf>(v.data(), r, c);
}
double max_rel(const RowMatrixXf& a, const MatrixXd& b) {
  return (a.cast<double>() - b).cwiseAbs().maxCoeff() / std::max(1e-12, b.cwiseAbs().maxCoeff());
}
double max_rel(const RowMatrixXf& a, const RowMatrixXf& b) { return max_rel(a, MatrixXd(b.cast<double>())); }

constexpr std::size_t kN = 16, kK = 256;

QuantizedLinear<Ref, Q8_0> q8_layer(std::uint32_t seed) {
  const RowMatrixXf w = gaussian(kN, kK, seed, 0.1f);
  const auto b = test::random_floats(kN, seed + 1, 0.5f, 0.0f);
  return QuantizedLinear<Ref, Q8_0>::from_float(w.data(), kN, kK, b);
}

FusedLinear<Ref> fused_layer(std::uint32_t seed) {
  const RowMatrixXf wq = gaussian(8, kK, seed, 0.1f), wk = gaussian(4, kK, seed + 1, 0.1f),
                    wv = gaussian(6, kK, seed + 2, 0.1f);
  return FusedLinear<Ref>({AnyLinear<Ref>::from_float(SchemeId::q4_K, wq.data(), 8, kK),
                           AnyLinear<Ref>::from_float(SchemeId::q6_K, wk.data(), 4, kK),
                           AnyLinear<Ref>::from_float(SchemeId::int8_per_channel, wv.data(), 6, kK,
                                                      test::random_floats(6, seed + 3, 0.5f, 0.0f))});
}

LoraConfig random_cfg(std::size_t r, std::uint64_t seed) {
  return LoraConfig{.r = r, .alpha = 16.0f, .init = LoraInit::random, .seed = seed};
}

}  // namespace

TEST(Lora, NewAdaptersAreANoOp) {
  const auto base = q8_layer(1);
  const RowMatrixXf x = gaussian(5, kK, 2);
  const RowMatrixXf y0 = base.forward(x);
  for (LoraInit init : {LoraInit::kaiming_uniform, LoraInit::gaussian}) {
    LoRA lora(base, LoraConfig{.r = 8, .init = init, .seed = 3});
    EXPECT_EQ(lora.forward(x), y0);
    LoRA dora(base, LoraConfig{.r = 8, .use_dora = true, .init = init, .seed = 3});
    EXPECT_EQ(dora.forward(x), y0);  // m = ‖W‖ makes c exactly 1
    EXPECT_TRUE(dora.weights("default").magnitude.isApprox(base.dequantize().rowwise().norm()));
  }
}

TEST(Lora, ForwardMatchesTheDoubleModelOnEveryLayerKind) {
  const RowMatrixXf x = gaussian(7, kK, 10);
  {
    LoRA lora(q8_layer(11), random_cfg(8, 12));
    lora.add_adapter("rs", LoraConfig{.r = 4, .alpha = 4, .use_rslora = true, .init = LoraInit::random, .seed = 13});
    lora.add_adapter("dora", LoraConfig{.r = 2, .alpha = 3, .use_dora = true, .init = LoraInit::random, .seed = 14});
    lora.weights("dora").magnitude *= 1.1f;
    lora.set_active_adapters({"default", "rs", "dora"});
    EXPECT_LT(max_rel(lora.forward(x), test::reference_of(lora, 7).forward(x.cast<double>())), 1e-5);
    EXPECT_FLOAT_EQ(lora.weights("rs").scaling, 4.0f / 2.0f);  // alpha / √r
    EXPECT_FLOAT_EQ(lora.weights("default").scaling, 16.0f / 8.0f);
  }
  {
    const RowMatrixXf w = gaussian(kN, kK, 15, 0.1f);
    LoRA lora(AnyLinear<Ref>::from_float(SchemeId::nf4, w.data(), kN, kK), random_cfg(4, 16));
    EXPECT_LT(max_rel(lora.forward(x), test::reference_of(lora, 7).forward(x.cast<double>())), 1e-5);
  }
  {
    LoRA lora(fused_layer(17));
    lora.add_adapter("qv", random_cfg(4, 18), {0, 2});
    EXPECT_FALSE(lora.has_adapter_part("qv", 1));
    EXPECT_LT(max_rel(lora.forward(x), test::reference_of(lora, 7).forward(x.cast<double>())), 1e-5);
    // The part without an adapter gives exactly the base output.
    const RowMatrixXf yb = lora.base().forward(x), y = lora.forward(x);
    EXPECT_EQ(RowMatrixXf(y.middleCols(8, 4)), RowMatrixXf(yb.middleCols(8, 4)));
  }
}

TEST(Lora, ViewForwardAccumulatesAndMatchesEigen) {
  LoRA lora(q8_layer(20), LoraConfig{.r = 4, .use_dora = true, .init = LoraInit::random, .seed = 21});
  lora.weights("default").magnitude *= 0.9f;
  const RowMatrixXf x = gaussian(3, kK, 22);
  const RowMatrixXf y = lora.forward(x);
  RowMatrixXf acc = RowMatrixXf::Constant(3, kN, 0.5f);
  lora.forward(Ref::default_context(), const_view(x), view(acc), true);
  EXPECT_LT(max_rel(acc, RowMatrixXf(y.array() + 0.5f)), 1e-6);
  // A column slice of a wider output.
  RowMatrixXf wide = RowMatrixXf::Zero(3, kN + 5);
  lora.forward(const_view(x), view(wide).col_slice(2, kN));
  EXPECT_LT(max_rel(RowMatrixXf(wide.middleCols(2, kN)), y), 1e-6);
}

TEST(Lora, InitialisationIsSeededAndHasTheRightDistribution) {
  const auto base = q8_layer(30);
  LoRA a(base, LoraConfig{.r = 16, .seed = 5});
  LoRA b(base, LoraConfig{.r = 16, .seed = 5});
  LoRA c(base, LoraConfig{.r = 16, .seed = 6});
  EXPECT_EQ(a.weights("default").A, b.weights("default").A);
  EXPECT_NE(a.weights("default").A, c.weights("default").A);
  const RowMatrixXf& A = a.weights("default").A;
  const float bound = 1.0f / std::sqrt(float(kK));
  EXPECT_LE(A.cwiseAbs().maxCoeff(), bound);
  EXPECT_NEAR(A.mean(), 0.0, 0.05 * bound);
  EXPECT_NEAR(std::sqrt(A.array().square().mean()), bound / std::sqrt(3.0f), 0.03 * bound);  // U(±b): σ = b/√3
  EXPECT_TRUE(a.weights("default").B.isZero(0));
  LoRA g(base, LoraConfig{.r = 16, .init = LoraInit::gaussian, .seed = 5});
  const RowMatrixXf& Ag = g.weights("default").A;
  EXPECT_NEAR(std::sqrt(Ag.array().square().mean()), 1.0 / 16, 0.03 / 16);  // PEFT: std = 1/r
  // Adapters of different names start differently under the same seed.
  a.add_adapter("other", LoraConfig{.r = 16, .seed = 5});
  EXPECT_NE(a.weights("default").A, a.weights("other").A);
}

TEST(Lora, DropoutOnlyInTrainingReproducibleAndUnbiased) {
  LoRA lora(q8_layer(40), LoraConfig{.r = 4, .dropout = 0.3f, .init = LoraInit::random, .seed = 41});
  const RowMatrixXf x = gaussian(64, kK, 42);
  EXPECT_TRUE(lora.is_training());
  const std::uint64_t s0 = lora.dropout_step();
  const RowMatrixXf y1 = lora.forward(x);
  EXPECT_EQ(lora.dropout_step(), s0 + 1);
  const RowMatrixXf mask = lora.dropout_mask("default", 0, 64);
  const double dropped = double((mask.array() == 0.0f).count()) / double(mask.size());
  EXPECT_NEAR(dropped, 0.3, 0.01);
  EXPECT_TRUE(((mask.array() == 0.0f) || (mask.array() == 1.0f / 0.7f)).all());
  EXPECT_LT(max_rel(y1, test::reference_of(lora, 64).forward(x.cast<double>())), 1e-5);
  const RowMatrixXf y2 = lora.forward(x);
  EXPECT_GT(max_rel(y2, y1), 1e-3);  // a new mask
  lora.set_dropout_step(s0);
  EXPECT_EQ(lora.forward(x), y1);  // the same step reproduces the same mask
  // Another layer with the same seed gives the same masks.
  LoRA twin(q8_layer(40), LoraConfig{.r = 4, .dropout = 0.3f, .init = LoraInit::random, .seed = 41});
  EXPECT_EQ(twin.forward(x), y1);
  lora.eval();
  EXPECT_FALSE(lora.is_training());
  const std::uint64_t s1 = lora.dropout_step();
  const RowMatrixXf ye = lora.forward(x);
  EXPECT_EQ(lora.dropout_step(), s1);
  EXPECT_LT(max_rel(ye, test::reference_of(lora, 64).forward(x.cast<double>())), 1e-5);  // no mask
  lora.train();
  EXPECT_TRUE(lora.is_training());
}

TEST(Lora, SeveralAdaptersActiveSetsDisableDelete) {
  const auto base = q8_layer(50);
  const RowMatrixXf x = gaussian(4, kK, 51);
  LoRA lora(base, random_cfg(4, 52), "a");
  lora.add_adapter("b", random_cfg(6, 53));
  EXPECT_EQ(lora.active_adapters(), std::vector<std::string>{"a"});  // the first added
  EXPECT_EQ(lora.adapter_names(), (std::vector<std::string>{"a", "b"}));
  const RowMatrixXf y0 = base.forward(x);
  const RowMatrixXf ya = lora.forward(x);
  lora.set_active_adapter("b");
  const RowMatrixXf yb = lora.forward(x);
  lora.set_active_adapters({"a", "b"});
  EXPECT_LT(max_rel(lora.forward(x), RowMatrixXf(ya + yb - y0)), 1e-5);
  lora.disable_adapters();
  EXPECT_EQ(lora.forward(x), y0);
  lora.enable_adapters();
  EXPECT_LT(max_rel(lora.forward(x), RowMatrixXf(ya + yb - y0)), 1e-5);
  lora.delete_adapter("a");
  EXPECT_EQ(lora.active_adapters(), std::vector<std::string>{"b"});
  EXPECT_EQ(lora.forward(x), yb);
  lora.set_active_adapters({});
  EXPECT_EQ(lora.forward(x), y0);
  EXPECT_THROW(lora.set_active_adapter("a"), Error);
  EXPECT_THROW(lora.set_active_adapters({"b", "b"}), Error);
  EXPECT_THROW(lora.delete_adapter("a"), Error);
  EXPECT_THROW(lora.add_adapter("b", random_cfg(2, 1)), Error);
  LoRA fused(fused_layer(54));
  fused.add_adapter("q", random_cfg(2, 55), {0});
  EXPECT_THROW(fused.add_adapter("q", random_cfg(2, 56)), Error);  // part 0 exists: nothing is added
  EXPECT_FALSE(fused.has_adapter_part("q", 1));
  EXPECT_THROW(fused.add_adapter("v", random_cfg(2, 57), {2, 2}), Error);
  EXPECT_THROW(fused.add_adapter("v", random_cfg(2, 57), {2, 3}), Error);
  EXPECT_FALSE(fused.has_adapter("v"));
  EXPECT_THROW(lora.weights("a"), Error);
}

TEST(Lora, WeightedCombinationIsExact) {
  LoRA lora(fused_layer(60));
  lora.add_adapter("a", random_cfg(4, 61), {0, 1});
  lora.add_adapter("b", LoraConfig{.r = 3, .alpha = 5, .use_rslora = true, .init = LoraInit::random, .seed = 62});
  const RowMatrixXf x = gaussian(5, kK, 63);
  const RowMatrixXf y0 = lora.base().forward(x);
  lora.set_active_adapter("a");
  const RowMatrixXf da = lora.forward(x) - y0;
  lora.set_active_adapter("b");
  const RowMatrixXf db = lora.forward(x) - y0;
  lora.add_weighted_adapter("mix", {{"a", 0.7f}, {"b", -0.3f}});
  lora.set_active_adapter("mix");
  EXPECT_LT(max_rel(lora.forward(x), RowMatrixXf(y0 + 0.7f * da - 0.3f * db)), 1e-5);
  EXPECT_EQ(lora.weights("mix", 0).rank(), 7u);  // a and b on part 0
  EXPECT_EQ(lora.weights("mix", 2).rank(), 3u);  // only b on part 2
  EXPECT_FLOAT_EQ(lora.weights("mix", 0).scaling, 1.0f);
  lora.add_adapter("d", LoraConfig{.r = 2, .use_dora = true});
  EXPECT_THROW(lora.add_weighted_adapter("bad", {{"a", 1.0f}, {"d", 1.0f}}), Error);
  EXPECT_THROW(lora.add_weighted_adapter("mix", {{"a", 1.0f}}), Error);
  EXPECT_THROW(lora.add_weighted_adapter("x", {{"nope", 1.0f}}), Error);
}

TEST(Lora, MergeIntoTheSameSchemeAndUnmergeExactly) {
  const auto base = q8_layer(70);
  LoRA lora(base, random_cfg(8, 71));
  const RowMatrixXf x = gaussian(6, kK, 72);
  const RowMatrixXf y = lora.forward(x);
  const auto bytes_before = base.quantized().bytes();
  const std::vector<std::uint8_t> original(bytes_before.begin(), bytes_before.end());
  const MergeReport r = lora.merge();
  EXPECT_TRUE(lora.is_merged());
  ASSERT_EQ(r.parts.size(), 1u);
  EXPECT_GT(r.intended_norm, 0.0);
  EXPECT_NEAR(r.retained, 1.0, 0.02);  // a large adapter survives Q8_0 requantization
  EXPECT_LT(r.relative_error, 0.1);
  EXPECT_LT(max_rel(lora.forward(x), y), 0.02);
  EXPECT_THROW(lora.backward(x, y), Error);
  EXPECT_THROW(lora.set_active_adapters({}), Error);
  EXPECT_THROW(lora.merge(), Error);
  lora.unmerge();
  EXPECT_FALSE(lora.is_merged());
  const auto after = lora.base().quantized().bytes();
  EXPECT_TRUE(std::equal(after.begin(), after.end(), original.begin(), original.end()));
  EXPECT_EQ(lora.forward(x), y);
  EXPECT_THROW(lora.unmerge(), Error);
  // Without keeping the base there is no way back.
  lora.merge({.keep_base = false});
  EXPECT_THROW(lora.unmerge(), Error);
}

TEST(Lora, RequantizingCanEraseASmallAdapterAndTheReportSaysSo) {
  const RowMatrixXf w = gaussian(kN, kK, 80, 1.0f);
  LoRA lora(QuantizedLinear<Ref, Q4_K>::from_float(w.data(), kN, kK), random_cfg(4, 81));
  lora.weights("default").B *= 1e-4f;  // a change far below Q4_K's step
  const MergeReport small = lora.merge();
  EXPECT_GT(small.relative_error, 0.5) << "retained " << small.retained;
  lora.unmerge();
  const MergeReport exact = lora.merge({.target = MergeTarget::f32});
  EXPECT_NEAR(exact.retained, 1.0, 1e-2);
  EXPECT_LT(exact.relative_error, 2e-2);
}

TEST(Lora, MergeIntoDenseCopiesMatchesTheUnmergedForward) {
  for (bool dora : {false, true}) {
    SCOPED_TRACE(dora ? "DoRA" : "LoRA");
    LoRA lora(fused_layer(90));
    lora.add_adapter("a", random_cfg(4, 91), {0, 2});
    lora.add_adapter("b", LoraConfig{.r = 3, .alpha = 2, .use_dora = dora, .init = LoraInit::random, .seed = 92});
    if (dora)
      for (std::size_t p = 0; p < 3; ++p) lora.weights("b", p).magnitude *= 1.2f;
    lora.set_active_adapters({"a", "b"});
    const RowMatrixXf x = gaussian(4, kK, 93);
    const RowMatrixXf y = lora.forward(x);
    const MergeReport r32 = lora.merge({.target = MergeTarget::f32});
    EXPECT_EQ(r32.parts.size(), 3u);
    EXPECT_NEAR(r32.retained, 1.0, 1e-5);
    EXPECT_LT(max_rel(lora.forward(x), y), 1e-4);
    lora.unmerge();
    const MergeReport r16 = lora.merge({.target = MergeTarget::f16});
    EXPECT_NEAR(r16.retained, 1.0, 1e-2);
    EXPECT_LT(max_rel(lora.forward(x), y), 5e-3);
    lora.unmerge();
    EXPECT_EQ(lora.forward(x), y);
    // Same-scheme merge requantizes the adapted parts only.
    lora.set_active_adapter("a");
    const RowMatrixXf ya = lora.forward(x);
    const auto k_bytes = lora.base().part(1).dequantize();
    lora.merge();
    EXPECT_EQ(lora.base().part(1).dequantize(), k_bytes);  // part 1 has no adapter "a"
    EXPECT_LT(max_rel(lora.forward(x), ya), 0.1);  // Q4_K/Q6_K/int8 requantization of every adapted row
    lora.unmerge();
  }
}

TEST(Lora, ModuleApi) {
  LoRA lora(fused_layer(100));
  lora.set_part_names({"q_proj", "k_proj", "v_proj"});
  lora.add_adapter("a", LoraConfig{.r = 4, .seed = 1}, {0, 2});
  lora.add_adapter("d", LoraConfig{.r = 2, .use_dora = true, .seed = 2}, {1});
  lora.set_active_adapters({"a", "d"});
  const auto params = lora.named_parameters();
  std::vector<std::string> names;
  for (const auto& p : params) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"q_proj.lora_A.a.weight", "q_proj.lora_B.a.weight",
                                             "v_proj.lora_A.a.weight", "v_proj.lora_B.a.weight",
                                             "k_proj.lora_A.d.weight", "k_proj.lora_B.d.weight",
                                             "k_proj.lora_magnitude_vector.d.weight"}));
  EXPECT_EQ(params[0].shape, (std::vector<std::size_t>{4, kK}));
  EXPECT_EQ(params[1].shape, (std::vector<std::size_t>{8, 4}));
  EXPECT_EQ(params[6].shape, (std::vector<std::size_t>{4}));
  const std::size_t adapters = 4 * kK + 8 * 4 + 4 * kK + 6 * 4 + 2 * kK + 4 * 2 + 4;
  EXPECT_EQ(lora.trainable_params_count(), adapters);
  EXPECT_EQ(lora.num_parameters(), 18 * kK + 6 + adapters);  // base weights, v's bias, adapters
  lora.set_active_adapter("d");
  EXPECT_EQ(lora.parameters().size(), 3u);
  EXPECT_EQ(lora.trainable_params_count(), 2 * kK + 4 * 2 + 4);
  EXPECT_EQ(lora.num_parameters(), 18 * kK + 6 + adapters);
  // Parameter views write through to the adapter.
  lora.parameters()[1].value[0] = 3.0f;
  EXPECT_EQ(lora.weights("d", 1).B(0, 0), 3.0f);

  // state_dict holds every adapter, active or not; it round-trips into a fresh layer.
  const StateDict sd = lora.state_dict("model.attn.");
  EXPECT_EQ(sd.size(), 7u);
  EXPECT_TRUE(sd.contains("model.attn.v_proj.lora_B.a.weight"));
  LoRA other(fused_layer(100));
  other.set_part_names({"q_proj", "k_proj", "v_proj"});
  other.add_adapter("a", LoraConfig{.r = 4, .seed = 7}, {0, 2});
  other.add_adapter("d", LoraConfig{.r = 2, .use_dora = true, .seed = 8}, {1});
  other.set_active_adapters({"a", "d"});
  lora.set_active_adapters({"a", "d"});
  const RowMatrixXf x = gaussian(3, kK, 101);
  EXPECT_NE(other.forward(x), lora.forward(x));
  StateDict with_other_keys = sd;
  with_other_keys["model.mlp.lora_A.a.weight"] = Tensor{{1}, {0.0f}};  // another module: ignored
  other.load_state_dict(with_other_keys, "model.attn.");
  EXPECT_EQ(other.state_dict("model.attn."), sd);
  EXPECT_EQ(other.forward(x), lora.forward(x));

  StateDict missing = sd;
  missing.erase("model.attn.q_proj.lora_A.a.weight");
  EXPECT_THROW(other.load_state_dict(missing, "model.attn."), Error);
  EXPECT_NO_THROW(other.load_state_dict(missing, "model.attn.", false));
  StateDict extra = sd;
  extra["model.attn.q_proj.lora_A.zzz.weight"] = Tensor{{4, kK}, std::vector<float>(4 * kK)};
  EXPECT_THROW(other.load_state_dict(extra, "model.attn."), Error);
  StateDict bad_shape = sd;
  bad_shape["model.attn.q_proj.lora_A.a.weight"].shape = {kK, 4};
  const StateDict before = other.state_dict();
  EXPECT_THROW(other.load_state_dict(bad_shape, "model.attn."), Error);
  EXPECT_EQ(other.state_dict(), before);  // nothing changed
  EXPECT_THROW(lora.set_part_names({"q", "q", "v"}), Error);
  EXPECT_THROW(lora.set_part_names({"q"}), Error);
}

TEST(Lora, GradientsAccumulateUntilZeroGrad) {
  LoRA lora(q8_layer(110), LoraConfig{.r = 4, .use_dora = true, .init = LoraInit::random, .seed = 111});
  const RowMatrixXf x = gaussian(3, kK, 112), dy = gaussian(3, kN, 113);
  lora.forward(x);
  lora.backward_params(x, dy);
  const LoraWeights once = lora.weights("default");
  EXPECT_GT(once.grad_A.norm(), 0.0f);
  EXPECT_GT(once.grad_B.norm(), 0.0f);
  EXPECT_GT(once.grad_magnitude.norm(), 0.0f);
  lora.backward_params(x, dy);
  EXPECT_TRUE(lora.weights("default").grad_A.isApprox(2 * once.grad_A));
  EXPECT_TRUE(lora.weights("default").grad_magnitude.isApprox(2 * once.grad_magnitude));
  lora.zero_grad();
  EXPECT_TRUE(lora.weights("default").grad_A.isZero(0));
  EXPECT_TRUE(lora.weights("default").grad_magnitude.isZero(0));
  // The view overload with accumulate adds to dx; backward_params equals backward's parameter part.
  RowMatrixXf dx = RowMatrixXf::Ones(3, kK);
  lora.backward(Ref::default_context(), const_view(x), const_view(dy), view(dx), true);
  EXPECT_TRUE(lora.weights("default").grad_A.isApprox(once.grad_A));
  lora.zero_grad();
  const RowMatrixXf dx2 = lora.backward(x, dy);
  EXPECT_LT(max_rel(dx, RowMatrixXf(dx2.array() + 1.0f)), 1e-6);
  // With adapters disabled backward is the base's alone.
  lora.disable_adapters();
  lora.zero_grad();
  EXPECT_LT(max_rel(lora.backward(x, dy), lora.base().backward_input(dy)), 1e-7);
  EXPECT_TRUE(lora.weights("default").grad_A.isZero(0));
}

TEST(Lora, CachedDequantizationGivesTheSameResults) {
  LoRA lora(q8_layer(120), random_cfg(4, 121));
  const RowMatrixXf x = gaussian(3, kK, 122), dy = gaussian(3, kN, 123);
  const RowMatrixXf y = lora.forward(x), dx = lora.backward(x, dy);
  lora.cache_dequantized(true);
  EXPECT_TRUE(lora.dequantized_cached());
  EXPECT_LT(max_rel(lora.forward(x), y), 1e-6);
  EXPECT_LT(max_rel(lora.backward(x, dy), dx), 1e-6);
  EXPECT_GT(lora.memory_bytes(), lora.base().memory_bytes());
}

TEST(Lora, BadInputThrows) {
  const auto base = q8_layer(130);
  EXPECT_THROW(LoRA(base, LoraConfig{.r = 0}), Error);
  EXPECT_THROW(LoRA(base, LoraConfig{.dropout = 1.0f}), Error);
  EXPECT_THROW(LoRA(base, LoraConfig{.dropout = -0.1f}), Error);
  EXPECT_THROW(LoRA(base, LoraConfig{.alpha = NAN}), Error);
  EXPECT_THROW(LoRA(base, LoraConfig{}, ""), Error);
  LoRA lora(base, LoraConfig{});
  EXPECT_THROW(lora.add_adapter("x", LoraConfig{}, {1}), Error);  // one part only
  EXPECT_THROW(lora.forward(RowMatrixXf(2, kK + 1)), Error);
  EXPECT_THROW(lora.backward(RowMatrixXf(2, kK), RowMatrixXf(3, kN)), Error);
  EXPECT_THROW(lora.backward(RowMatrixXf(2, kK), RowMatrixXf(2, kN + 1)), Error);
  RowMatrixXf y(2, kN + 1);
  const RowMatrixXf x = RowMatrixXf::Zero(2, kK);
  EXPECT_THROW(lora.forward(const_view(x), view(y)), Error);
  // A matrix resized behind the layer's back is caught, not read out of bounds.
  lora.weights("default").A.resize(3, kK);
  EXPECT_THROW(lora.forward(x), Error);
  LoRA none(base);
  EXPECT_THROW(none.merge(), Error);
  EXPECT_EQ(none.forward(x), base.forward(x));
}

// ---- a backend whose memory is not host memory (as CUDA and Metal are) ------------------------

namespace {
/// The reference backend pretending its memory is a device's: views are "device" pointers, and
/// host data must go through gemm_host / gemm_transposed_host, which count their calls.
struct FakeDeviceBackend {
  static constexpr bool host_memory = false;
  using Context = Ref::Context;
  template <Scheme S>
  using Weights = Ref::Weights<S>;
  using Buffer = Ref::Buffer;
  static inline int host_gemms = 0, host_transposed = 0;

  static Context& default_context() { return Ref::default_context(); }
  template <Scheme S>
  static Weights<S> upload(QuantizedTensor<S> t) { return Ref::upload(std::move(t)); }
  template <Scheme S>
  static QuantizedTensor<S> download(const Weights<S>& w) { return Ref::download(w); }
  static Buffer upload_floats(std::span<const float> v) { return Ref::upload_floats(v); }
  static const float* data(const Buffer& b) { return Ref::data(b); }
  static void synchronize(Context&) {}
  template <Scheme S>
  static void gemm(Context& c, const Weights<S>& w, ConstMatrixView<float> x, MatrixView<float> y, Epilogue e = {}) {
    Ref::gemm(c, w, x, y, e);
  }
  template <Scheme S>
  static void gemm_transposed(Context& c, const Weights<S>& w, ConstMatrixView<float> dy, MatrixView<float> dx,
                              bool acc = false) {
    Ref::gemm_transposed(c, w, dy, dx, acc);
  }
  template <Scheme S>
  static void gemm_host(Context& c, const Weights<S>& w, ConstMatrixView<float> x, MatrixView<float> y, Epilogue e = {}) {
    ++host_gemms;
    Ref::gemm(c, w, x, y, e);
  }
  template <Scheme S>
  static void gemm_transposed_host(Context& c, const Weights<S>& w, ConstMatrixView<float> dy, MatrixView<float> dx,
                                   bool acc = false) {
    ++host_transposed;
    Ref::gemm_transposed(c, w, dy, dx, acc);
  }
};
}  // namespace

TEST(Lora, DeviceStyleBackendComputesTheAdapterPathOnTheHost) {
  const RowMatrixXf w = gaussian(kN, kK, 140, 0.1f);
  const auto b = test::random_floats(kN, 141, 0.5f, 0.0f);
  const LoraConfig cfg{.r = 4, .alpha = 8, .use_dora = true, .dora_detach_norm = false, .init = LoraInit::random,
                       .seed = 142};
  LoRA host(QuantizedLinear<Ref, Q4_K>::from_float(w.data(), kN, kK, b), cfg);
  LoRA dev(QuantizedLinear<FakeDeviceBackend, Q4_K>::from_float(w.data(), kN, kK, b), cfg);
  host.weights("default").magnitude *= 1.1f;
  dev.weights("default").magnitude *= 1.1f;
  const RowMatrixXf x = gaussian(3, kK, 143), dy = gaussian(3, kN, 144);
  FakeDeviceBackend::host_gemms = FakeDeviceBackend::host_transposed = 0;
  EXPECT_EQ(dev.forward(x), host.forward(x));
  EXPECT_GT(FakeDeviceBackend::host_gemms, 0);
  EXPECT_EQ(dev.backward(x, dy), host.backward(x, dy));
  EXPECT_GT(FakeDeviceBackend::host_transposed, 0);
  EXPECT_EQ(dev.weights("default").grad_A, host.weights("default").grad_A);
  EXPECT_EQ(dev.weights("default").grad_magnitude, host.weights("default").grad_magnitude);
  // FusedLinear's host backward_input on such a backend sums the parts' staged products.
  const FusedLinear<FakeDeviceBackend> f({AnyLinear<FakeDeviceBackend>::from_float(SchemeId::q8_0, w.data(), kN, kK),
                                          AnyLinear<FakeDeviceBackend>::from_float(SchemeId::nf4, w.data(), kN, kK)});
  const FusedLinear<Ref> fh({AnyLinear<Ref>::from_float(SchemeId::q8_0, w.data(), kN, kK),
                             AnyLinear<Ref>::from_float(SchemeId::nf4, w.data(), kN, kK)});
  const RowMatrixXf dy2 = gaussian(3, 2 * kN, 145);
  EXPECT_LT(max_rel(f.backward_input(dy2), fh.backward_input(dy2)), 1e-6);
}

TEST(Layers, BackwardInputOnEigenDataMatchesTheViewOverload) {
  const auto q = q8_layer(150);
  const auto f = fused_layer(151);
  const RowMatrixXf dy = gaussian(3, kN, 152), dyf = gaussian(3, 18, 153);
  RowMatrixXf dx(3, kK), dxf(3, kK);
  q.backward_input(Ref::default_context(), const_view(dy), view(dx));
  f.backward_input(Ref::default_context(), const_view(dyf), view(dxf));
  EXPECT_EQ(q.backward_input(dy), dx);
  EXPECT_EQ(AnyLinear<Ref>(q).backward_input(dy), dx);
  EXPECT_EQ(f.backward_input(dyf), dxf);
  // dx = dy·W against the dequantized weights.
  EXPECT_LT(max_rel(dx, RowMatrixXf(dy * q.dequantize())), 1e-5);
  EXPECT_THROW(f.backward_input(RowMatrixXf(3, 17)), Error);
}

// ---- the fast CPU backend ------------------------------------------------------------------------

TEST(Lora, OverTheFastCpuBackendMatchesTheReference) {
  const RowMatrixXf w = gaussian(kN, kK, 160, 0.1f);
  const auto b = test::random_floats(kN, 161, 0.5f, 0.0f);
  const LoraConfig cfg{.r = 4, .alpha = 8, .use_dora = true, .dora_detach_norm = false, .init = LoraInit::random,
                       .seed = 162};
  LoRA ref(QuantizedLinear<Ref, Q4_K>::from_float(w.data(), kN, kK, b), cfg);
  LoRA fast(QuantizedLinear<cpu::Backend, Q4_K>::from_float(w.data(), kN, kK, b), cfg);
  ref.weights("default").magnitude *= 1.1f;
  fast.weights("default").magnitude *= 1.1f;
  const RowMatrixXf x = gaussian(5, kK, 163), dy = gaussian(5, kN, 164);
  for (auto mode : {cpu::ActivationMode::exact, cpu::ActivationMode::quantized}) {
    SCOPED_TRACE(mode == cpu::ActivationMode::exact ? "exact activations" : "int8 activations");
    cpu::Context ctx(2, cpu::Isa::best, mode);
    const double tol = mode == cpu::ActivationMode::exact ? 1e-5 : 2e-2;  // int8 activations: ~0.3% per product
    EXPECT_LT(max_rel(fast.forward(ctx, x), ref.forward(x)), tol);
    ref.zero_grad();
    fast.zero_grad();
    EXPECT_LT(max_rel(fast.backward(ctx, x, dy), ref.backward(x, dy)), tol);
    // The gradients sum products the backends round differently (f32 vs double accumulation).
    const double gtol = std::max(tol, 5e-4);
    EXPECT_LT(max_rel(fast.weights("default").grad_A, ref.weights("default").grad_A), gtol);
    EXPECT_LT(max_rel(fast.weights("default").grad_B, ref.weights("default").grad_B), gtol);
    EXPECT_LT(max_rel(RowMatrixXf(fast.weights("default").grad_magnitude),
                      RowMatrixXf(ref.weights("default").grad_magnitude)),
              gtol);
  }
}
