#pragma once
// PEFT-compatible LoRA adapter files: a folder with adapter_config.json and
// adapter_model.safetensors, as Hugging Face PEFT's save_pretrained writes and
// PeftModel.from_pretrained reads them.
//
//   adapter_model.safetensors   base_model.model.<module>.lora_A.weight           [r, in]
//                               base_model.model.<module>.lora_B.weight           [out, r]
//                               base_model.model.<module>.lora_magnitude_vector   [out]  (DoRA)
//   adapter_config.json         {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "lora_dropout": 0.0,
//                                "target_modules": [...], "use_rslora": false, "use_dora": false,
//                                "rank_pattern": {module: r}, "alpha_pattern": {module: alpha}, ...}
//
// A module's scaling is lora_alpha / r (rsLoRA: lora_alpha / √r), with r and lora_alpha taken
// from rank_pattern / alpha_pattern where a key matches the module name (PEFT matches keys as
// the regex `(.*\.)?(key)$`; qlinear accepts keys that are literal names, with `.` or `\.` as the
// separator, and rejects other regex syntax with an Error rather than guess). Files are read as
// hostile: every name, shape, dtype, value and config field is checked, with an Error naming it.
// Not supported (an Error says so): bias other than "none", modules_to_save, embedding adapters,
// adapter_model.bin (pickle).
//
// Needs nlohmann/json (Debian: nlohmann-json3-dev), as io/safetensors.hpp does.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "qlinear/core/eigen.hpp"
#include "qlinear/core/error.hpp"
#include "qlinear/io/safetensors.hpp"
#include "qlinear/layers/lora.hpp"

namespace qlinear::io {

namespace detail {
/// A rank_pattern / alpha_pattern key as a literal module-name suffix ("\." and "." both mean a
/// dot); throws for any other regex syntax.
inline std::string pattern_literal(std::string_view key, std::string_view source) {
  check(!key.empty() && key.size() <= 4096, source, ": empty or overlong pattern key in adapter_config.json");
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    if (c == '\\' && i + 1 < key.size() && key[i + 1] == '.') {
      out += '.', ++i;
    } else {
      check(std::string_view("^$*+?()[]{}|\\").find(c) == std::string_view::npos, source, ": pattern key '", key,
            "' uses regex syntax; qlinear matches literal module names only");
      out += c;
    }
  }
  return out;
}
/// Whether `module` is `name` or ends with "." + name (PEFT's `(.*\.)?(name)$` for a literal name).
inline bool module_matches(std::string_view name, std::string_view module) {
  if (module == name) return true;
  return module.size() > name.size() && module.ends_with(name) && module[module.size() - name.size() - 1] == '.';
}
/// `.` → `\.`: a module name as a PEFT regex that matches only itself.
inline std::string escape_dots(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '.') out += '\\';
    out += c;
  }
  return out;
}
/// The double whose shortest decimal form is the float's (0.05f → 0.05, not 0.0500000007...),
/// so adapter_config.json shows the value the user wrote.
inline double shortest_double(float f) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, f);
  return std::strtod(std::string(buf, r.ptr).c_str(), nullptr);
}
inline std::string read_text(const std::filesystem::path& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  check(bool(in), "cannot open ", path.string());
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, std::size_t(in.gcount()));
    check(text.size() <= limit, path.string(), ": larger than ", limit, " bytes");
  }
  return text;
}
}  // namespace detail

/// The fields of adapter_config.json qlinear uses; the others are kept in `extra` and written
/// back unchanged.
/// Usage: `io::PeftConfig c = io::PeftConfig::from_json(nlohmann::json::parse(text)); LoraConfig l = c.lora_config("model.layers.0.q_proj");`
struct PeftConfig {
  std::size_t r = 8;
  double lora_alpha = 8;
  double lora_dropout = 0;
  bool use_rslora = false;
  bool use_dora = false;
  std::vector<std::string> target_modules;  ///< names (a regex string in the file is kept in extra)
  std::vector<std::pair<std::string, std::size_t>> rank_pattern;  ///< literal keys, in file order
  std::vector<std::pair<std::string, double>> alpha_pattern;
  std::optional<std::string> base_model_name_or_path;
  nlohmann::json extra = nlohmann::json::object();

  /// r of `module`: the first rank_pattern key matching it, else r.
  std::size_t rank_for(std::string_view module) const {
    for (const auto& [k, v] : rank_pattern)
      if (detail::module_matches(k, module)) return v;
    return r;
  }
  double alpha_for(std::string_view module) const {
    for (const auto& [k, v] : alpha_pattern)
      if (detail::module_matches(k, module)) return v;
    return lora_alpha;
  }
  /// The LoraConfig of `module`.
  LoraConfig lora_config(std::string_view module) const {
    return LoraConfig{.r = rank_for(module), .alpha = float(alpha_for(module)), .use_rslora = use_rslora,
                      .dropout = float(lora_dropout), .use_dora = use_dora};
  }

  /// Reads and checks adapter_config.json's object (`source` names it in errors).
  static PeftConfig from_json(const nlohmann::json& j, std::string_view source = "adapter_config.json") {
    using nlohmann::json;
    check(j.is_object(), source, ": not a JSON object");
    PeftConfig c;
    auto field = [&](const char* name) -> const json* {
      auto it = j.find(name);
      return it == j.end() || it->is_null() ? nullptr : &*it;
    };
    auto positive_int = [&](const json& v, std::string_view what) -> std::size_t {
      check(v.is_number_integer() && v.get<std::int64_t>() > 0 && v.get<std::int64_t>() <= (1 << 20), source, ": ",
            what, " must be an integer in [1, 2^20], got ", detail::json_excerpt(v));
      return std::size_t(v.get<std::int64_t>());
    };
    auto finite_number = [&](const json& v, std::string_view what) -> double {
      check(v.is_number() && std::isfinite(v.get<double>()), source, ": ", what, " must be a finite number, got ",
            detail::json_excerpt(v));
      return v.get<double>();
    };
    auto boolean = [&](const char* name) {
      const json* v = field(name);
      if (!v) return false;
      check(v->is_boolean(), source, ": ", name, " must be true or false, got ", detail::json_excerpt(*v));
      return v->get<bool>();
    };
    const json* type = field("peft_type");
    check(type && type->is_string(), source, ": peft_type is missing (a LoRA adapter has \"peft_type\": \"LORA\")");
    check(type->get<std::string>() == "LORA", source, ": peft_type is ", detail::json_excerpt(*type),
          "; qlinear reads LoRA adapters (\"LORA\") only");
    if (const json* v = field("r")) c.r = positive_int(*v, "r");
    if (const json* v = field("lora_alpha")) c.lora_alpha = finite_number(*v, "lora_alpha");
    if (const json* v = field("lora_dropout")) {
      c.lora_dropout = finite_number(*v, "lora_dropout");
      check(c.lora_dropout >= 0 && c.lora_dropout < 1, source, ": lora_dropout must be in [0, 1), got ",
            c.lora_dropout);
    }
    c.use_rslora = boolean("use_rslora");
    c.use_dora = boolean("use_dora");
    if (const json* v = field("bias"))
      check(v->is_string() && v->get<std::string>() == "none", source, ": bias ", detail::json_excerpt(*v),
            " is not supported (only \"none\": the adapter must not train the base biases)");
    if (const json* v = field("modules_to_save"))
      check(v->is_array() && v->empty(), source, ": modules_to_save ", detail::json_excerpt(*v),
            " is not supported (full copies of modules, not adapters)");
    if (const json* v = field("target_modules")) {
      if (v->is_array()) {
        for (const auto& t : *v) {
          check(t.is_string(), source, ": target_modules holds ", detail::json_excerpt(t), ", not a string");
          c.target_modules.push_back(t.get<std::string>());
        }
      } else {
        check(v->is_string(), source, ": target_modules must be a list of names or a regex string, got ",
              detail::json_excerpt(*v));
      }
    }
    if (const json* v = field("rank_pattern")) {
      check(v->is_object(), source, ": rank_pattern must be an object, got ", detail::json_excerpt(*v));
      for (const auto& [k, val] : v->items())
        c.rank_pattern.emplace_back(detail::pattern_literal(k, source), positive_int(val, "rank_pattern[" + k + "]"));
    }
    if (const json* v = field("alpha_pattern")) {
      check(v->is_object(), source, ": alpha_pattern must be an object, got ", detail::json_excerpt(*v));
      for (const auto& [k, val] : v->items())
        c.alpha_pattern.emplace_back(detail::pattern_literal(k, source), finite_number(val, "alpha_pattern[" + k + "]"));
    }
    if (const json* v = field("base_model_name_or_path")) {
      check(v->is_string(), source, ": base_model_name_or_path must be a string, got ", detail::json_excerpt(*v));
      c.base_model_name_or_path = v->get<std::string>();
    }
    static const std::set<std::string> known = {"peft_type",     "r",          "lora_alpha",   "lora_dropout",
                                                "use_rslora",    "use_dora",   "bias",         "modules_to_save",
                                                "target_modules", "rank_pattern", "alpha_pattern",
                                                "base_model_name_or_path"};
    for (const auto& [k, val] : j.items())
      if (!known.contains(k) || (k == "target_modules" && val.is_string())) c.extra[k] = val;
    return c;
  }

  /// adapter_config.json as PEFT writes it (its usual fields, then whatever `extra` holds).
  nlohmann::json to_json() const {
    using nlohmann::json;
    json j = {{"alpha_pattern", json::object()}, {"auto_mapping", nullptr},
              {"base_model_name_or_path", nullptr}, {"bias", "none"},
              {"fan_in_fan_out", false},           {"inference_mode", true},
              {"init_lora_weights", true},         {"layers_pattern", nullptr},
              {"layers_to_transform", nullptr},    {"modules_to_save", nullptr},
              {"rank_pattern", json::object()},    {"revision", nullptr},
              {"task_type", nullptr}};
    for (const auto& [k, v] : extra.items()) j[k] = v;
    auto number = [](double v) -> json {
      if (v == std::floor(v) && std::abs(v) < 9.0e15) return json(std::int64_t(v));
      return json(v);
    };
    j["peft_type"] = "LORA";
    j["r"] = r;
    j["lora_alpha"] = number(lora_alpha);
    j["lora_dropout"] = lora_dropout;
    j["use_rslora"] = use_rslora;
    j["use_dora"] = use_dora;
    if (!target_modules.empty() || !j.contains("target_modules") || !j["target_modules"].is_string())
      j["target_modules"] = target_modules;
    json rp = json::object(), ap = json::object();
    for (const auto& [k, v] : rank_pattern) rp[detail::escape_dots(k)] = v;
    for (const auto& [k, v] : alpha_pattern) ap[detail::escape_dots(k)] = number(v);
    j["rank_pattern"] = rp;
    j["alpha_pattern"] = ap;
    if (base_model_name_or_path) j["base_model_name_or_path"] = *base_model_name_or_path;
    return j;
  }
};

/// The tensors of one adapted module (A [r × in], B [out × r], DoRA magnitude [out]).
struct PeftModule {
  RowMatrixXf A, B;
  Eigen::VectorXf magnitude;
};

/// A PEFT LoRA adapter in memory: its config and the tensors of each module, by module name
/// (the model's name for the layer, without PEFT's "base_model.model." prefix).
/// Usage:
///   io::PeftAdapter out;                                    // saving what was trained here
///   out.add("model.layers.0.self_attn", qkv_lora);         // parts named q_proj, k_proj, v_proj
///   out.add("model.layers.0.mlp.down_proj", down_lora);
///   out.save("my-adapter");                                 // loads in PEFT
///   auto in = io::PeftAdapter::load("peft-trained-adapter");
///   in.apply("model.layers.0.mlp.down_proj", other_lora);   // adds adapter "default"
class PeftAdapter {
 public:
  static constexpr std::string_view kPrefix = "base_model.model.";
  static constexpr std::string_view kConfigFile = "adapter_config.json";
  static constexpr std::string_view kWeightsFile = "adapter_model.safetensors";

  PeftConfig config;
  std::map<std::string, PeftModule> modules;

  /// Reads `dir`/adapter_config.json and `dir`/adapter_model.safetensors.
  static PeftAdapter load(const std::filesystem::path& dir) {
    const auto weights = dir / kWeightsFile;
    if (!std::filesystem::exists(weights) && std::filesystem::exists(dir / "adapter_model.bin"))
      fail(dir.string(), ": holds adapter_model.bin (a pickle), which qlinear does not read; save the adapter with "
                         "safe_serialization=True");
    const std::string text = detail::read_text(dir / kConfigFile, std::size_t(16) << 20);
    return parse(text, SafetensorsFile::open(weights), dir.string());
  }

  /// Builds an adapter from adapter_config.json's text and the parsed weights file.
  static PeftAdapter parse(std::string_view config_text, const SafetensorsFile& weights, std::string_view source) {
    PeftAdapter a;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(config_text);
    } catch (const nlohmann::json::exception& e) {
      fail(source, "/", kConfigFile, ": not valid JSON: ", e.what());
    }
    a.config = PeftConfig::from_json(j, std::string(source) + "/" + std::string(kConfigFile));
    const std::string where = std::string(source) + "/" + std::string(kWeightsFile);
    struct Parts {
      const SafetensorsTensor *A = nullptr, *B = nullptr, *m = nullptr;
    };
    std::map<std::string, Parts> found;
    for (const auto& t : weights.tensors()) {
      std::string_view name = t.name;
      check(name.starts_with(kPrefix), where, ": tensor '", t.name, "' does not start with '", kPrefix,
            "' (PEFT's prefix for a LoRA model)");
      name.remove_prefix(kPrefix.size());
      const SafetensorsTensor** slot = nullptr;
      std::string module;
      for (auto [suffix, which] : {std::pair{std::string_view(".lora_A.weight"), 0},
                                   std::pair{std::string_view(".lora_B.weight"), 1},
                                   std::pair{std::string_view(".lora_magnitude_vector"), 2}})
        if (name.ends_with(suffix) && name.size() > suffix.size()) {
          module = std::string(name.substr(0, name.size() - suffix.size()));
          Parts& p = found[module];
          slot = which == 0 ? &p.A : which == 1 ? &p.B : &p.m;
        }
      check(slot != nullptr, where, ": tensor '", t.name,
            "' is not a LoRA tensor qlinear reads (lora_A.weight, lora_B.weight, lora_magnitude_vector)");
      check(*slot == nullptr, where, ": tensor '", t.name, "' appears twice");
      check(t.dtype == Dtype::F32 || t.dtype == Dtype::F16 || t.dtype == Dtype::BF16 || t.dtype == Dtype::F64, where,
            ": tensor '", t.name, "' is ", dtype_name(t.dtype), "; LoRA tensors are F32, F16, BF16 or F64");
      *slot = &t;
    }
    for (const auto& [module, p] : found) {
      check(p.A && p.B, where, ": module '", module, "' has lora_", p.A ? "A" : "B", " but no lora_", p.A ? "B" : "A");
      check(p.A->shape.size() == 2 && p.B->shape.size() == 2, where, ": module '", module,
            "': lora_A and lora_B must be 2-D, got ", p.A->shape.size(), "-D and ", p.B->shape.size(), "-D");
      const std::uint64_t r = p.A->shape[0], in = p.A->shape[1], out = p.B->shape[0];
      check(r > 0 && in > 0 && out > 0, where, ": module '", module, "' has an empty lora_A or lora_B");
      check(p.B->shape[1] == r, where, ": module '", module, "': lora_B is [", out, ", ", p.B->shape[1],
            "] but lora_A has rank ", r);
      const std::size_t want = a.config.rank_for(module);
      check(r == want, where, ": module '", module, "' has rank ", r, " but adapter_config.json gives it r = ", want);
      check(a.config.use_dora == (p.m != nullptr), where, ": module '", module, "' ",
            p.m ? "has a lora_magnitude_vector but use_dora is false" : "has no lora_magnitude_vector but use_dora is true");
      if (p.m)
        check(p.m->shape.size() == 1 && p.m->shape[0] == out, where, ": module '", module,
              "': lora_magnitude_vector must be [", out, "], got ", p.m->shape.size(), "-D with ", p.m->numel(),
              " values");
      PeftModule m;
      m.A = matrix(*p.A, where);
      m.B = matrix(*p.B, where);
      if (p.m) {
        const RowMatrixXf v = matrix(*p.m, where);
        m.magnitude = Eigen::Map<const Eigen::VectorXf>(v.data(), v.size());
      }
      a.modules.emplace(module, std::move(m));
    }
    return a;
  }

  /// Writes `dir`/adapter_config.json and `dir`/adapter_model.safetensors (creating `dir`),
  /// tensors stored as `dtype` (F32, F16 or BF16).
  void save(const std::filesystem::path& dir, Dtype dtype = Dtype::F32) const {
    check(!modules.empty(), "PeftAdapter::save: no modules to save");
    std::filesystem::create_directories(dir);
    weights_writer(dtype).write(dir / kWeightsFile);
    const std::string text = config_json();
    const auto path = dir / kConfigFile;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    check(bool(out), "cannot write ", path.string());
    out << text;
    check(bool(out.flush()), "cannot write ", path.string());
  }
  /// adapter_config.json's text.
  std::string config_json() const {
    nlohmann::json j = config.to_json();
    return j.dump(2) + "\n";
  }
  /// adapter_model.safetensors, ready to write (metadata {"format": "pt"}, as PEFT saves it).
  SafetensorsWriter weights_writer(Dtype dtype = Dtype::F32) const {
    check(dtype == Dtype::F32 || dtype == Dtype::F16 || dtype == Dtype::BF16,
          "PeftAdapter: LoRA tensors are saved as F32, F16 or BF16, not ", dtype_name(dtype));
    SafetensorsWriter w;
    w.set_metadata("format", "pt");
    for (const auto& [module, m] : modules) {
      const std::string base = std::string(kPrefix) + module;
      auto span_of = [](const auto& x) { return std::span<const float>(x.data(), std::size_t(x.size())); };
      w.add_floats(base + ".lora_A.weight", dtype, {std::uint64_t(m.A.rows()), std::uint64_t(m.A.cols())},
                   span_of(m.A));
      w.add_floats(base + ".lora_B.weight", dtype, {std::uint64_t(m.B.rows()), std::uint64_t(m.B.cols())},
                   span_of(m.B));
      if (m.magnitude.size())
        w.add_floats(base + ".lora_magnitude_vector", dtype, {std::uint64_t(m.magnitude.size())}, span_of(m.magnitude));
    }
    return w;
  }

  /// Captures adapter `adapter` of `layer` as module `module` (on a multi-part layer, one module
  /// per adapted part: `module`.<part name>). The first module fixes r, lora_alpha, dropout,
  /// rsLoRA and DoRA; later modules with another r or alpha get rank_pattern / alpha_pattern
  /// entries; dropout, rsLoRA and DoRA must agree (PEFT keeps one value of each).
  template <class L>
  void add(const std::string& module, const LoRA<L>& layer, const std::string& adapter = "default") {
    check(!module.empty(), "PeftAdapter::add: empty module name");
    bool any = false;
    for (std::size_t p = 0; p < layer.num_parts(); ++p) {
      if (!layer.has_adapter_part(adapter, p)) continue;
      const std::string name = layer.num_parts() > 1 ? module + "." + layer.part_names()[p] : module;
      check(!modules.contains(name), "PeftAdapter::add: module '", name, "' added twice");
      const LoraWeights& w = layer.weights(adapter, p);
      const LoraConfig& c = w.config;
      check(std::size_t(w.A.rows()) == c.r, "PeftAdapter::add: '", name, "' has rank ", w.A.rows(), " but r = ", c.r);
      if (modules.empty()) {
        config.r = c.r, config.lora_alpha = detail::shortest_double(c.alpha);
        config.lora_dropout = detail::shortest_double(c.dropout);
        config.use_rslora = c.use_rslora, config.use_dora = c.use_dora;
      } else {
        check(c.use_rslora == config.use_rslora && c.use_dora == config.use_dora &&
                  float(c.dropout) == float(config.lora_dropout),
              "PeftAdapter::add: '", name, "' differs from the first module in use_rslora, use_dora or lora_dropout, ",
              "which a PEFT adapter holds once");
        if (c.r != config.r) config.rank_pattern.emplace_back(name, c.r);
        if (detail::shortest_double(c.alpha) != config.lora_alpha)
          config.alpha_pattern.emplace_back(name, detail::shortest_double(c.alpha));
      }
      config.target_modules.push_back(name);
      modules.emplace(name, PeftModule{w.A, w.B, w.magnitude});
      any = true;
    }
    check(any, "PeftAdapter::add: the layer for '", module, "' has no adapter '", adapter, "'");
  }

  /// Adds the tensors of module `module` (multi-part: of each `module`.<part name> present) to
  /// `layer` as adapter `adapter`, with this adapter's settings for that module. Returns the
  /// number of parts filled; throws when none is found or a shape differs from the layer's.
  template <class L>
  std::size_t apply(const std::string& module, LoRA<L>& layer, const std::string& adapter = "default") const {
    std::size_t applied = 0;
    for (std::size_t p = 0; p < layer.num_parts(); ++p) {
      const std::string name = layer.num_parts() > 1 ? module + "." + layer.part_names()[p] : module;
      auto it = modules.find(name);
      if (it == modules.end()) continue;
      const PeftModule& m = it->second;
      check(std::size_t(m.A.cols()) == layer.in_features() && std::size_t(m.B.rows()) == layer.part_out(p),
            "PeftAdapter::apply: module '", name, "' maps ", m.A.cols(), " inputs to ", m.B.rows(),
            " outputs but the layer's part takes ", layer.in_features(), " and gives ", layer.part_out(p));
      check(m.magnitude.size() == 0 || std::size_t(m.magnitude.size()) == layer.part_out(p),
            "PeftAdapter::apply: module '", name, "' has a magnitude of ", m.magnitude.size(), " values, expected ",
            layer.part_out(p));
      LoraConfig c = config.lora_config(name);
      check(c.r == std::size_t(m.A.rows()) && m.B.cols() == m.A.rows(), "PeftAdapter::apply: module '", name,
            "' has rank ", m.A.rows(), " but the config gives r = ", c.r);
      check(c.use_dora == (m.magnitude.size() > 0), "PeftAdapter::apply: module '", name,
            "': use_dora and the presence of lora_magnitude_vector disagree");
      layer.add_adapter_part(adapter, p, c);
      LoraWeights& w = layer.weights(adapter, p);
      w.A = m.A;
      w.B = m.B;
      if (c.use_dora) w.magnitude = m.magnitude;
      ++applied;
    }
    check(applied > 0, "PeftAdapter::apply: no module '", module, "'", layer.num_parts() > 1 ? " (or its parts)" : "",
          " in the adapter");
    return applied;
  }

 private:
  static RowMatrixXf matrix(const SafetensorsTensor& t, std::string_view where) {
    const std::vector<float> v = t.to_floats();
    for (std::size_t i = 0; i < v.size(); ++i)
      check(std::isfinite(v[i]), where, ": tensor '", t.name, "' holds ", v[i], " at index ", i);
    const Eigen::Index rows = Eigen::Index(t.shape[0]), cols = t.shape.size() > 1 ? Eigen::Index(t.shape[1]) : 1;
    return Eigen::Map<const RowMatrixXf>(v.data(), rows, cols);
  }
};

}  // namespace qlinear::io
