// PEFT adapter files: tiny adapters built byte by byte (safetensors header, little-endian F32
// values, adapter_config.json as PEFT writes it) whose effect is checked by hand; round trips of
// adapters trained here (fused parts, per-module ranks, DoRA, F16); hostile files rejected.

#include <gtest/gtest.h>

#if __has_include(<nlohmann/json.hpp>)

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <fstream>
#include <string>
#include <vector>

#include "qlinear/io/peft.hpp"
#include "qlinear/qlinear.hpp"
#include "test_util.hpp"

namespace {

using namespace qlinear;
using io::PeftAdapter;
using io::SafetensorsFile;
using Ref = cpu::ReferenceBackend;

// ---- the hand-made fixture -------------------------------------------------------------------
//
// Module "mlp.fc" (in 4, out 3), r = 2, lora_alpha 16 → scaling 8:
//   A = [[1, 2, 0, 0],      B = [[1,  0],
//        [0, 0, 1, -1]]          [0,  1],
//                                [2, -1]]
// DoRA adds lora_magnitude_vector = [2, 1, 4].

void put_f32(std::vector<std::uint8_t>& out, float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, 4);
  for (int i = 0; i < 4; ++i) out.push_back(std::uint8_t(b >> (8 * i)));  // little-endian
}

std::vector<std::uint8_t> fixture_bytes(bool dora, const std::string& a_name = "base_model.model.mlp.fc.lora_A.weight") {
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"},\"" + a_name +
                       "\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[0,32]},"
                       "\"base_model.model.mlp.fc.lora_B.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],"
                       "\"data_offsets\":[32,56]}";
  if (dora)
    header += ",\"base_model.model.mlp.fc.lora_magnitude_vector\":{\"dtype\":\"F32\",\"shape\":[3],"
              "\"data_offsets\":[56,68]}";
  header += "}";
  std::vector<std::uint8_t> out;
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(std::uint8_t(n >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  for (float v : {1.0f, 2.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f, -1.0f}) put_f32(out, v);  // A, row-major
  for (float v : {1.0f, 0.0f, 0.0f, 1.0f, 2.0f, -1.0f}) put_f32(out, v);              // B
  if (dora)
    for (float v : {2.0f, 1.0f, 4.0f}) put_f32(out, v);
  return out;
}

// adapter_config.json as PEFT 0.11 writes it for this adapter.
std::string fixture_config(bool dora) {
  return std::string(R"({
  "alpha_pattern": {},
  "auto_mapping": null,
  "base_model_name_or_path": "tiny-model",
  "bias": "none",
  "fan_in_fan_out": false,
  "inference_mode": true,
  "init_lora_weights": true,
  "layer_replication": null,
  "layers_pattern": null,
  "layers_to_transform": null,
  "loftq_config": {},
  "lora_alpha": 16,
  "lora_dropout": 0.05,
  "megatron_config": null,
  "megatron_core": "megatron.core",
  "modules_to_save": null,
  "peft_type": "LORA",
  "r": 2,
  "rank_pattern": {},
  "revision": null,
  "target_modules": ["fc"],
  "task_type": "CAUSAL_LM",
  "use_dora": )") +
         (dora ? "true" : "false") + R"(,
  "use_rslora": false
})";
}

// The base: W = [[1,0,0,0],[0,1,0,0],[0,0,1,0]], bias [0.5, 0, -1], stored exactly (f32).
QuantizedLinear<Ref, DenseF32> fixture_base() {
  const float w[12] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
  const float b[3] = {0.5f, 0.0f, -1.0f};
  return QuantizedLinear<Ref, DenseF32>::from_float(w, 3, 4, b);
}

PeftAdapter parse(const std::string& config, const std::vector<std::uint8_t>& bytes) {
  return PeftAdapter::parse(config, SafetensorsFile::from_bytes(bytes), "fixture");
}

std::filesystem::path temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("qlinear_test_peft_" + name);
  std::filesystem::remove_all(d);
  return d;
}

RowMatrixXf gaussian(Eigen::Index r, Eigen::Index c, std::uint32_t seed, float scale = 1.0f) {
  auto v = test::random_floats(std::size_t(r * c), seed, scale, 0.0f);
  return Eigen::Map<RowMatrixXf>(v.data(), r, c);
}

TEST(Peft, HandMadeLoraAdapterHasTheEffectComputedByHand) {
  const PeftAdapter a = parse(fixture_config(false), fixture_bytes(false));
  EXPECT_EQ(a.config.r, 2u);
  EXPECT_EQ(a.config.lora_alpha, 16.0);
  EXPECT_EQ(a.config.lora_dropout, 0.05);
  EXPECT_EQ(a.config.target_modules, std::vector<std::string>{"fc"});
  EXPECT_EQ(a.config.base_model_name_or_path.value_or(""), "tiny-model");
  EXPECT_EQ(a.config.extra.at("task_type"), "CAUSAL_LM");
  ASSERT_EQ(a.modules.size(), 1u);
  const auto& m = a.modules.at("mlp.fc");
  EXPECT_EQ(m.A(0, 1), 2.0f);
  EXPECT_EQ(m.A(1, 3), -1.0f);
  EXPECT_EQ(m.B(2, 0), 2.0f);
  EXPECT_EQ(m.B(2, 1), -1.0f);

  LoRA lora(fixture_base());
  EXPECT_EQ(a.apply("mlp.fc", lora), 1u);
  EXPECT_FLOAT_EQ(lora.weights("default").scaling, 8.0f);
  EXPECT_FLOAT_EQ(lora.weights("default").config.dropout, 0.05f);
  lora.eval();
  RowMatrixXf x(2, 4);
  x << 1, 1, 1, 1,  //
      0, 0, 2, 1;
  // x₁·Aᵀ = [3, 0] → ·Bᵀ = [3, 0, 6] → ×8 = [24, 0, 48]; base x₁·Wᵀ + b = [1.5, 1, 0].
  // x₂·Aᵀ = [0, 1] → ·Bᵀ = [0, 1, −1] → ×8 = [0, 8, −8]; base = [0.5, 0, 1].
  RowMatrixXf expected(2, 3);
  expected << 25.5f, 1.0f, 48.0f,  //
      0.5f, 8.0f, -7.0f;
  EXPECT_EQ(lora.forward(x), expected);
}

TEST(Peft, HandMadeDoraAdapterHasTheEffectComputedByHand) {
  const PeftAdapter a = parse(fixture_config(true), fixture_bytes(true));
  EXPECT_TRUE(a.config.use_dora);
  LoRA lora(fixture_base());
  a.apply("mlp.fc", lora);
  lora.eval();
  EXPECT_EQ(lora.weights("default").magnitude, Eigen::Vector3f(2, 1, 4));
  // V = W + 8·B·A: rows [9, 16, 0, 0], [0, 1, 8, −8], [16, 32, −7, 8] with norms √337, √129,
  // √1393; y = (m / ‖V‖)∘(x·Vᵀ) + b.
  RowMatrixXf x(2, 4);
  x << 1, 1, 1, 1,  //
      0, 0, 2, 1;
  const double n0 = std::sqrt(337.0), n1 = std::sqrt(129.0), n2 = std::sqrt(1393.0);
  const double expected[2][3] = {{2 * 25 / n0 + 0.5, 1 * 1 / n1, 4 * 49 / n2 - 1},
                                 {2 * 0 / n0 + 0.5, 1 * 8 / n1, 4 * (-14 + 8) / n2 - 1}};
  const RowMatrixXf y = lora.forward(x);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(y(i, j), expected[i][j], 1e-5) << i << "," << j;
}

TEST(Peft, SavedFilesUsePeftsNamesAndFields) {
  LoRA lora(fixture_base());
  parse(fixture_config(false), fixture_bytes(false)).apply("mlp.fc", lora);
  PeftAdapter out;
  out.add("mlp.fc", lora);
  const auto dir = temp_dir("names");
  out.save(dir);
  const auto file = SafetensorsFile::open(dir / "adapter_model.safetensors");
  EXPECT_EQ(file.metadata().at("format"), "pt");
  ASSERT_EQ(file.size(), 2u);
  const auto& A = file.tensor("base_model.model.mlp.fc.lora_A.weight");
  const auto& B = file.tensor("base_model.model.mlp.fc.lora_B.weight");
  EXPECT_EQ(A.dtype, io::Dtype::F32);
  EXPECT_EQ(A.shape, (std::vector<std::uint64_t>{2, 4}));  // [r, in]
  EXPECT_EQ(B.shape, (std::vector<std::uint64_t>{3, 2}));  // [out, r]
  EXPECT_EQ(A.to_floats(), (std::vector<float>{1, 2, 0, 0, 0, 0, 1, -1}));
  std::ifstream in(dir / "adapter_config.json");
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("peft_type"), "LORA");
  EXPECT_EQ(j.at("r"), 2);
  EXPECT_EQ(j.at("lora_alpha"), 16);
  EXPECT_TRUE(j.at("lora_alpha").is_number_integer());
  EXPECT_EQ(j.at("lora_dropout"), 0.05);  // as written, not 0.0500000007
  EXPECT_EQ(j.at("target_modules"), nlohmann::json::array({"mlp.fc"}));
  EXPECT_EQ(j.at("use_dora"), false);
  EXPECT_EQ(j.at("use_rslora"), false);
  EXPECT_EQ(j.at("bias"), "none");
  EXPECT_TRUE(j.at("modules_to_save").is_null());
  std::filesystem::remove_all(dir);
}

TEST(Peft, RoundTripOfFusedPartsPerModuleRanksAndDora) {
  const std::size_t k = 256;
  auto fused = [&] {
    return FusedLinear<Ref>({AnyLinear<Ref>::from_float(SchemeId::q4_K, gaussian(8, k, 1, 0.1f).data(), 8, k),
                             AnyLinear<Ref>::from_float(SchemeId::q6_K, gaussian(4, k, 2, 0.1f).data(), 4, k),
                             AnyLinear<Ref>::from_float(SchemeId::nf4, gaussian(8, k, 3, 0.1f).data(), 8, k)});
  };
  auto down = [&] { return QuantizedLinear<Ref, Q8_0>::from_float(gaussian(16, k, 4, 0.1f).data(), 16, k); };
  for (bool dora : {false, true}) {
    SCOPED_TRACE(dora ? "DoRA" : "LoRA");
    LoRA attn(fused());
    attn.set_part_names({"q_proj", "k_proj", "v_proj"});
    attn.add_adapter("default",
                     LoraConfig{.r = 4, .alpha = 8, .use_rslora = true, .use_dora = dora, .init = LoraInit::random,
                                .seed = 5},
                     {0, 2});
    LoRA mlp(down(), LoraConfig{.r = 6, .alpha = 3, .use_rslora = true, .use_dora = dora, .init = LoraInit::random,
                                .seed = 6});
    if (dora) mlp.weights("default").magnitude *= 1.3f;
    PeftAdapter out;
    out.config.base_model_name_or_path = "my/base";
    out.add("model.layers.0.self_attn", attn);
    out.add("model.layers.0.mlp.down_proj", mlp);
    EXPECT_EQ(out.config.target_modules,
              (std::vector<std::string>{"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                                        "model.layers.0.mlp.down_proj"}));
    const auto j = nlohmann::json::parse(out.config_json());
    EXPECT_EQ(j.at("r"), 4);
    EXPECT_EQ(j.at("rank_pattern").at(R"(model\.layers\.0\.mlp\.down_proj)"), 6);
    EXPECT_EQ(j.at("alpha_pattern").at(R"(model\.layers\.0\.mlp\.down_proj)"), 3);
    EXPECT_EQ(j.at("use_rslora"), true);
    EXPECT_EQ(j.at("use_dora"), dora);
    EXPECT_EQ(j.at("base_model_name_or_path"), "my/base");

    const auto dir = temp_dir(dora ? "dora" : "lora");
    out.save(dir);
    const auto file = SafetensorsFile::open(dir / "adapter_model.safetensors");
    EXPECT_EQ(file.size(), dora ? 9u : 6u);
    EXPECT_TRUE(file.contains("base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight"));
    EXPECT_EQ(file.contains("base_model.model.model.layers.0.mlp.down_proj.lora_magnitude_vector"), dora);
    EXPECT_FALSE(file.contains("base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight"));

    const PeftAdapter in = PeftAdapter::load(dir);
    EXPECT_EQ(in.config.rank_for("model.layers.0.mlp.down_proj"), 6u);
    EXPECT_EQ(in.config.rank_for("model.layers.0.self_attn.q_proj"), 4u);
    LoRA attn2(fused());
    attn2.set_part_names({"q_proj", "k_proj", "v_proj"});
    LoRA mlp2(down());
    EXPECT_EQ(in.apply("model.layers.0.self_attn", attn2), 2u);
    EXPECT_EQ(in.apply("model.layers.0.mlp.down_proj", mlp2, "loaded"), 1u);
    EXPECT_FALSE(attn2.has_adapter_part("default", 1));
    EXPECT_FLOAT_EQ(mlp2.weights("loaded").scaling, float(3 / std::sqrt(6.0)));
    const RowMatrixXf x = gaussian(3, k, 7);
    EXPECT_EQ(attn2.forward(x), attn.forward(x));
    EXPECT_EQ(mlp2.forward(x), mlp.forward(x));
    // The same adapter stored as F16: within f16 rounding.
    out.save(dir, io::Dtype::F16);
    LoRA mlp3(down());
    PeftAdapter::load(dir).apply("model.layers.0.mlp.down_proj", mlp3);
    EXPECT_EQ(SafetensorsFile::open(dir / "adapter_model.safetensors").tensor(
                  "base_model.model.model.layers.0.mlp.down_proj.lora_A.weight").dtype,
              io::Dtype::F16);
    EXPECT_TRUE(mlp3.forward(x).isApprox(mlp.forward(x), 1e-2f));
    std::filesystem::remove_all(dir);
  }
}

TEST(Peft, AddRefusesWhatOnePeftConfigCannotHold) {
  const std::size_t k = 64;
  LoRA a(QuantizedLinear<Ref, Q8_0>::from_float(gaussian(8, k, 1).data(), 8, k), LoraConfig{.r = 2});
  LoRA b(QuantizedLinear<Ref, Q8_0>::from_float(gaussian(8, k, 2).data(), 8, k), LoraConfig{.r = 2, .use_dora = true});
  LoRA c(QuantizedLinear<Ref, Q8_0>::from_float(gaussian(8, k, 3).data(), 8, k), LoraConfig{.r = 2, .dropout = 0.1f});
  PeftAdapter out;
  out.add("a", a);
  EXPECT_THROW(out.add("a", a), Error);          // twice
  EXPECT_THROW(out.add("b", b), Error);          // DoRA next to LoRA
  EXPECT_THROW(out.add("c", c), Error);          // another dropout
  EXPECT_THROW(out.add("x", a, "nope"), Error);  // no such adapter
  EXPECT_THROW(PeftAdapter().save(temp_dir("empty")), Error);
  EXPECT_THROW(out.weights_writer(io::Dtype::I8), Error);
}

// ---- hostile files ---------------------------------------------------------------------------

std::string with(std::string config, const std::string& from, const std::string& to) {
  const auto at = config.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return config.replace(at, from.size(), to);
}

void expect_error(const std::string& config, const std::vector<std::uint8_t>& bytes, const std::string& needle) {
  try {
    (void)parse(config, bytes);
    ADD_FAILURE() << "no error, expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Peft, BadConfigsAreRejectedNamingTheField) {
  const auto bytes = fixture_bytes(false);
  const std::string good = fixture_config(false);
  expect_error("{not json", bytes, "not valid JSON");
  expect_error("[1, 2]", bytes, "not a JSON object");
  expect_error(with(good, R"("peft_type": "LORA")", R"("peft_type": "IA3")"), bytes, "IA3");
  expect_error(with(good, R"("peft_type": "LORA",)", ""), bytes, "peft_type is missing");
  expect_error(with(good, R"("r": 2)", R"("r": 0)"), bytes, "r must be");
  expect_error(with(good, R"("r": 2)", R"("r": 2.5)"), bytes, "r must be");
  expect_error(with(good, R"("r": 2)", R"("r": "2")"), bytes, "r must be");
  expect_error(with(good, R"("r": 2)", R"("r": 4)"), bytes, "rank 2");
  expect_error(with(good, R"("lora_dropout": 0.05)", R"("lora_dropout": 1.5)"), bytes, "lora_dropout");
  expect_error(with(good, R"("lora_alpha": 16)", R"("lora_alpha": "x")"), bytes, "lora_alpha");
  expect_error(with(good, R"("bias": "none")", R"("bias": "all")"), bytes, "bias");
  expect_error(with(good, R"("modules_to_save": null)", R"("modules_to_save": ["lm_head"])"), bytes,
               "modules_to_save");
  expect_error(with(good, R"("use_rslora": false)", R"("use_rslora": 1)"), bytes, "use_rslora");
  expect_error(with(good, R"("rank_pattern": {})", R"("rank_pattern": {"^fc.*": 4})"), bytes, "regex");
  expect_error(with(good, R"("rank_pattern": {})", R"("rank_pattern": {"fc": -1})"), bytes, "rank_pattern");
  expect_error(with(good, R"("target_modules": ["fc"])", R"("target_modules": [1])"), bytes, "target_modules");
  expect_error(with(good, R"("use_dora": false)", R"("use_dora": true)"), bytes, "no lora_magnitude_vector");
  // A rank_pattern that names the module applies to it.
  const PeftAdapter a = parse(with(with(good, R"("rank_pattern": {})", R"("rank_pattern": {"mlp\\.fc": 2})"),
                                   R"("r": 2)", R"("r": 8)"),
                              bytes);
  EXPECT_EQ(a.config.rank_for("mlp.fc"), 2u);
  EXPECT_EQ(a.config.rank_for("other.fc2"), 8u);
  const PeftAdapter t = parse(with(good, R"("target_modules": ["fc"])", R"("target_modules": ".*fc")"), bytes);
  EXPECT_EQ(nlohmann::json::parse(t.config_json()).at("target_modules"), ".*fc");  // a regex string is kept
}

TEST(Peft, BadTensorsAreRejectedNamingTheTensor) {
  const std::string config = fixture_config(false);
  expect_error(config, fixture_bytes(false, "model.mlp.fc.lora_A.weight"), "does not start with");
  expect_error(config, fixture_bytes(false, "base_model.model.mlp.fc.lora_embedding_A"), "not a LoRA tensor");
  expect_error(config, fixture_bytes(false, "base_model.model.mlp.other.lora_A.weight"), "no lora_A");
  expect_error(fixture_config(false), fixture_bytes(true), "use_dora is false");
  // NaN in A.
  auto nan = fixture_bytes(false);
  const std::size_t data = 8 + std::size_t(nan[0]) + (std::size_t(nan[1]) << 8);
  const float q = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(nan.data() + data + 4, &q, 4);
  expect_error(config, nan, "nan");
  // Shapes: B's columns must equal A's rows; 3-D A.
  auto shape = [&](const std::string& a_shape, const std::string& b_shape) {
    std::string header = "{\"base_model.model.mlp.fc.lora_A.weight\":{\"dtype\":\"F32\",\"shape\":" + a_shape +
                         ",\"data_offsets\":[0,32]},\"base_model.model.mlp.fc.lora_B.weight\":{\"dtype\":\"F32\","
                         "\"shape\":" + b_shape + ",\"data_offsets\":[32,56]}}";
    std::vector<std::uint8_t> out;
    const std::uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out.push_back(std::uint8_t(n >> (8 * i)));
    out.insert(out.end(), header.begin(), header.end());
    out.resize(out.size() + 56, 0);
    return out;
  };
  expect_error(config, shape("[2,4]", "[2,3]"), "rank 2");
  expect_error(config, shape("[2,2,2]", "[3,2]"), "2-D");
  expect_error(config, shape("[8,1]", "[3,2]"), "lora_B is [3, 2]");
  // An integer dtype.
  std::string ih = "{\"base_model.model.mlp.fc.lora_A.weight\":{\"dtype\":\"I32\",\"shape\":[2,4],"
                   "\"data_offsets\":[0,32]},\"base_model.model.mlp.fc.lora_B.weight\":{\"dtype\":\"F32\","
                   "\"shape\":[3,2],\"data_offsets\":[32,56]}}";
  std::vector<std::uint8_t> ib;
  for (int i = 0; i < 8; ++i) ib.push_back(std::uint8_t(std::uint64_t(ih.size()) >> (8 * i)));
  ib.insert(ib.end(), ih.begin(), ih.end());
  ib.resize(ib.size() + 56, 0);
  expect_error(config, ib, "I32");
}

TEST(Peft, ApplyChecksTheLayer) {
  const PeftAdapter a = parse(fixture_config(false), fixture_bytes(false));
  const float w[24] = {};
  LoRA wide(QuantizedLinear<Ref, DenseF32>::from_float(w, 3, 8));
  EXPECT_THROW(a.apply("mlp.fc", wide), Error);  // takes 8 inputs, the adapter 4
  LoRA lora(fixture_base());
  EXPECT_THROW(a.apply("mlp.other", lora), Error);
  a.apply("mlp.fc", lora);
  EXPECT_THROW(a.apply("mlp.fc", lora), Error);  // the layer already has adapter "default"
  EXPECT_NO_THROW(a.apply("mlp.fc", lora, "second"));
}

TEST(Peft, MissingFilesAndPickles) {
  const auto dir = temp_dir("missing");
  std::filesystem::create_directories(dir);
  EXPECT_THROW(PeftAdapter::load(dir), Error);
  std::ofstream(dir / "adapter_model.bin") << "pickle";
  try {
    (void)PeftAdapter::load(dir);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("adapter_model.bin"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace

#else
TEST(Peft, NeedsNlohmannJson) { GTEST_SKIP() << "nlohmann/json not found (apt-get install nlohmann-json3-dev)"; }
#endif
