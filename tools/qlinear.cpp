// qlinear: inspect, dequantize, requantize and benchmark the tensors of GGUF and safetensors files.
//
//   qlinear inspect FILE [--all]                      metadata and a tensor table
//   qlinear dequant FILE TENSOR -o OUT                the tensor as raw little-endian f32 (.npy if OUT ends so)
//   qlinear quantize IN -o OUT.gguf --type TYPE [--type-for REGEX=TYPE ...]
//                                                     requantize the 2-D weights, keep everything else
//   qlinear bench FILE TENSOR [--m 1,8,128] [--threads N] [--reps R]
//                                                     forward speed of one layer from the file
// Errors are one line on stderr ("qlinear: error: ..."), exit status 1 (2 for a usage error).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <numeric>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <unistd.h>
#include <utility>
#include <variant>
#include <vector>

#include "qlinear/backends/cpu/reference.hpp"
#include "qlinear/io/gguf.hpp"
#include "qlinear/io/gguf_layers.hpp"

#if __has_include(<nlohmann/json.hpp>)
#include "qlinear/io/safetensors.hpp"
#include "qlinear/io/safetensors_layers.hpp"
#define QLINEAR_TOOL_SAFETENSORS 1
#else
#define QLINEAR_TOOL_SAFETENSORS 0
#endif

#if __has_include(<qlinear/backends/cpu/backend.hpp>)
#include <qlinear/backends/cpu/backend.hpp>
using BenchBackend = qlinear::cpu::Backend;
constexpr const char* kBenchBackendName = "cpu::Backend (dispatched kernels)";
#else
using BenchBackend = qlinear::cpu::ReferenceBackend;
constexpr const char* kBenchBackendName = "cpu::ReferenceBackend (scalar reference; cpu::Backend is not in this build)";
#endif

namespace {

using namespace qlinear;
namespace fs = std::filesystem;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr const char* kUsage =
    "usage:\n"
    "  qlinear inspect FILE [--all]\n"
    "  qlinear dequant FILE TENSOR -o OUT        (raw little-endian f32, or .npy when OUT ends so)\n"
    "  qlinear quantize IN -o OUT.gguf --type TYPE [--type-for REGEX=TYPE ...]\n"
    "  qlinear bench FILE TENSOR [--m 1,8,128] [--threads N] [--reps R]\n"
    "FILE is GGUF or safetensors. TYPE is a GGUF type qlinear implements: f32 f16 bf16 q4_0 q4_1\n"
    "q5_0 q5_1 q8_0 q2_K q3_K q4_K q5_K q6_K iq4_nl iq4_xs.\n";

// ---------------------------------------------------------------- files of either format

bool is_gguf(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail(p.string(), ": cannot open: ", std::strerror(errno));
  char magic[4] = {};
  in.read(magic, 4);
  // A .gguf file is parsed as GGUF whatever it starts with, so a bad magic is reported as such.
  return (in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0) || p.extension() == ".gguf";
}

// One tensor of either format, in a common description.
struct TensorRow {
  std::string name, type;
  std::vector<std::uint64_t> shape;  // as the format writes it
  double bpw;
  std::uint64_t bytes, offset;
};

std::string shape_str(const std::vector<std::uint64_t>& s) {
  std::string o = "[";
  for (std::size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + "]";
}

std::string printable(std::string_view s, std::size_t max = 60) {
  std::string o;
  for (char c : s.substr(0, max)) o += (c == '\n' ? ' ' : (unsigned char)c < 32 ? '?' : c);
  if (s.size() > max) o += "...";
  return o;
}

std::string value_str(const io::GgufValue& v, bool all) {
  std::ostringstream o;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          o << '"' << printable(x, all ? x.size() : 60) << '"';
        } else if constexpr (std::is_same_v<T, io::GgufArray>) {
          o << "[" << x.size() << " x " << io::gguf_value_type_name(x.type) << "]";
          const std::size_t show = std::min<std::size_t>(x.size(), all ? x.size() : 4);
          if (x.type == io::GgufValueType::string) {
            for (std::size_t i = 0; i < show; ++i) o << (i ? ", " : " ") << '"' << printable(x.strings[i], 24) << '"';
          } else if (x.type != io::GgufValueType::array) {
            const std::size_t es = x.raw.size() / std::max<std::size_t>(x.size(), 1);
            for (std::size_t i = 0; i < show; ++i) {
              io::GgufValue e;
              const std::uint8_t* p = x.raw.data() + i * es;
              switch (x.type) {
                case io::GgufValueType::f32: { float f; std::memcpy(&f, p, 4); e = f; break; }
                case io::GgufValueType::f64: { double d; std::memcpy(&d, p, 8); e = d; break; }
                case io::GgufValueType::boolean: e = p[0] != 0; break;
                default: {
                  std::int64_t n = 0;
                  std::memcpy(&n, p, es);
                  if (es < 8 && (x.type == io::GgufValueType::i8 || x.type == io::GgufValueType::i16 ||
                                 x.type == io::GgufValueType::i32) && (p[es - 1] & 0x80))
                    n -= std::int64_t(1) << (8 * es);
                  e = n;
                }
              }
              o << (i ? ", " : " ") << value_str(e, false);
            }
          }
          if (show < x.size()) o << ", ...";
        } else if constexpr (std::is_same_v<T, bool>) {
          o << (x ? "true" : "false");
        } else if constexpr (std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int8_t>) {
          o << int(x);
        } else {
          o << x;
        }
      },
      v);
  return o.str();
}

void print_table(const std::vector<TensorRow>& rows) {
  std::size_t wn = 4, wt = 4, ws = 5;
  for (const auto& r : rows) {
    wn = std::max(wn, r.name.size());
    wt = std::max(wt, r.type.size());
    ws = std::max(ws, shape_str(r.shape).size());
  }
  std::printf("%-*s  %-*s  %-*s  %8s  %12s  %12s\n", int(wn), "name", int(wt), "type", int(ws), "shape", "bits/w",
              "bytes", "offset");
  std::uint64_t total = 0, weights = 0;
  for (const auto& r : rows) {
    std::printf("%-*s  %-*s  %-*s  %8.4f  %12llu  %12llu\n", int(wn), r.name.c_str(), int(wt), r.type.c_str(), int(ws),
                shape_str(r.shape).c_str(), r.bpw, (unsigned long long)r.bytes, (unsigned long long)r.offset);
    total += r.bytes;
    std::uint64_t n = 1;
    for (auto d : r.shape) n *= d;
    weights += n;
  }
  std::printf("%zu tensors, %llu elements, %llu bytes (%.4f bits per element)\n", rows.size(),
              (unsigned long long)weights, (unsigned long long)total, weights ? 8.0 * double(total) / double(weights) : 0.0);
}

int cmd_inspect(const std::vector<std::string>& args) {
  if (args.empty()) throw UsageError("inspect needs a FILE");
  const fs::path path = args[0];
  const bool all = std::find(args.begin(), args.end(), "--all") != args.end();
  std::vector<TensorRow> rows;
  if (is_gguf(path)) {
    const auto f = io::GgufFile::open(path);
    std::printf("%s: GGUF v%u, %zu metadata entries, %zu tensors, alignment %u, data at byte %llu\n",
                path.string().c_str(), f.version(), f.metadata().size(), f.tensors().size(), f.alignment(),
                (unsigned long long)f.data_offset());
    for (const auto& kv : f.metadata())
      std::printf("  %-40s %-6s %s\n", kv.key.c_str(), std::string(io::gguf_value_type_name(io::gguf_type_of(kv.value))).c_str(),
                  value_str(kv.value, all).c_str());
    for (const auto& t : f.tensors())
      rows.push_back({t.name, std::string(t.type_name()), t.dims, t.bits_per_weight(), t.bytes.size(), t.file_offset});
    std::printf("tensors (shape in ggml order: row length first):\n");
  } else {
#if QLINEAR_TOOL_SAFETENSORS
    const auto f = io::SafetensorsFile::open(path);
    std::printf("%s: safetensors, %zu metadata entries, %zu tensors, data at byte %llu\n", path.string().c_str(),
                f.metadata().size(), f.size(), (unsigned long long)f.data_offset());
    for (const auto& [k, v] : f.metadata()) std::printf("  %-40s %s\n", k.c_str(), printable(v, all ? v.size() : 60).c_str());
    for (const auto& t : f.tensors())
      rows.push_back({t.name, std::string(io::dtype_name(t.dtype)), t.shape, 8.0 * double(io::dtype_size(t.dtype)),
                      t.bytes.size(), t.file_offset});
    std::printf("tensors (shape row-major: outermost first):\n");
#else
    fail(path.string(), ": not GGUF, and this build has no safetensors support (needs nlohmann-json3-dev)");
#endif
  }
  print_table(rows);
  return 0;
}

// ---------------------------------------------------------------- dequant

struct FloatTensor {
  std::vector<float> values;
  std::vector<std::uint64_t> numpy_shape;  // row-major, outermost first
};

FloatTensor read_floats(const fs::path& path, const std::string& name) {
  if (is_gguf(path)) {
    const auto f = io::GgufFile::open(path);
    const auto& t = f.tensor(name);
    return {io::dequantize(t), std::vector<std::uint64_t>(t.dims.rbegin(), t.dims.rend())};
  }
#if QLINEAR_TOOL_SAFETENSORS
  const auto f = io::SafetensorsFile::open(path);
  const auto& t = f.tensor(name);
  return {t.to_floats(), t.shape};
#else
  fail(path.string(), ": not GGUF, and this build has no safetensors support (needs nlohmann-json3-dev)");
#endif
}

void write_npy(const fs::path& out, const FloatTensor& t) {
  std::string shape = "(";
  for (std::size_t i = 0; i < t.numpy_shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(t.numpy_shape[i]);
  shape += t.numpy_shape.size() == 1 ? ",)" : ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  const std::size_t total = (10 + header.size() + 1 + 63) / 64 * 64;  // NPY v1.0: 64-byte aligned data
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  std::ofstream o(out, std::ios::binary | std::ios::trunc);
  if (!o) fail(out.string(), ": cannot open for writing");
  const std::uint16_t len = std::uint16_t(header.size());
  o.write("\x93NUMPY\x01\x00", 8);
  o.write(reinterpret_cast<const char*>(&len), 2);
  o << header;
  o.write(reinterpret_cast<const char*>(t.values.data()), std::streamsize(t.values.size() * 4));
  if (!o) fail(out.string(), ": write failed");
}

int cmd_dequant(const std::vector<std::string>& args) {
  std::vector<std::string> pos;
  std::string out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-o" && i + 1 < args.size()) out = args[++i];
    else if (args[i].starts_with("-")) throw UsageError("dequant: unknown option " + args[i]);
    else pos.push_back(args[i]);
  }
  if (pos.size() != 2 || out.empty()) throw UsageError("dequant needs FILE TENSOR -o OUT");
  const auto t = read_floats(pos[0], pos[1]);
  if (out.ends_with(".npy")) {
    write_npy(out, t);
  } else {
    std::ofstream o(out, std::ios::binary | std::ios::trunc);
    if (!o) fail(out, ": cannot open for writing");
    o.write(reinterpret_cast<const char*>(t.values.data()), std::streamsize(t.values.size() * 4));
    if (!o) fail(out, ": write failed");
  }
  std::printf("%s: %zu floats, shape %s -> %s\n", pos[1].c_str(), t.values.size(), shape_str(t.numpy_shape).c_str(),
              out.c_str());
  return 0;
}

// ---------------------------------------------------------------- quantize

SchemeId parse_type(const std::string& s) {
  const std::int64_t id = io::ggml_type_from_name(s);
  if (id < 0 || !scheme_known(SchemeId(id)) || SchemeId(id) == SchemeId::q8_K || SchemeId(id) == SchemeId::q8_1)
    fail("unsupported type '", s, "': qlinear quantizes to f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_K q3_K q4_K q5_K q6_K iq4_nl iq4_xs");
  return SchemeId(id);
}

// llama.cpp's general.file_type for a model whose weights are mostly `id`.
std::optional<std::uint32_t> file_type_for(SchemeId id) {
  switch (id) {
    case SchemeId::f32: return 0;
    case SchemeId::f16: return 1;
    case SchemeId::q4_0: return 2;
    case SchemeId::q4_1: return 3;
    case SchemeId::q8_0: return 7;
    case SchemeId::q5_0: return 8;
    case SchemeId::q5_1: return 9;
    case SchemeId::q2_K: return 10;
    case SchemeId::q3_K: return 11;
    case SchemeId::q4_K: return 14;
    case SchemeId::q5_K: return 16;
    case SchemeId::q6_K: return 18;
    case SchemeId::iq4_nl: return 25;
    case SchemeId::iq4_xs: return 30;
    case SchemeId::bf16: return 32;
    default: return std::nullopt;
  }
}

// A source tensor: name, dims in ggml order, its ggml type and bytes (raw, to copy), and a way
// to read it as floats.
struct Source {
  std::string name;
  std::vector<std::uint64_t> dims;
  std::uint32_t type;
  std::span<const std::uint8_t> bytes;
  std::function<std::vector<float>()> floats;
};

void progress(std::size_t done, std::size_t total, const std::string& name) {
  static const bool tty = ::isatty(2);
  const int width = 30, filled = total ? int(width * done / total) : width;
  if (tty) {
    std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu %-40.40s", filled, "##############################", width - filled, "",
                 done, total, name.c_str());
    if (done == total) std::fprintf(stderr, "\n");
  } else {
    std::fprintf(stderr, "[%.*s%*s] %zu/%zu %s\n", filled, "##############################", width - filled, "", done,
                 total, name.c_str());
  }
}

int cmd_quantize(const std::vector<std::string>& args) {
  std::vector<std::string> pos;
  std::string out, type;
  std::vector<std::pair<std::regex, SchemeId>> rules;
  std::vector<std::string> rule_text;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-o" && i + 1 < args.size()) {
      out = args[++i];
    } else if (args[i] == "--type" && i + 1 < args.size()) {
      type = args[++i];
    } else if (args[i] == "--type-for" && i + 1 < args.size()) {
      const std::string r = args[++i];
      const auto eq = r.rfind('=');
      if (eq == std::string::npos || eq == 0) throw UsageError("--type-for takes REGEX=TYPE, got '" + r + "'");
      try {
        rules.emplace_back(std::regex(r.substr(0, eq)), parse_type(r.substr(eq + 1)));
      } catch (const std::regex_error& e) {
        fail("--type-for '", r, "': bad regular expression: ", e.what());
      }
      rule_text.push_back(r);
    } else {
      if (args[i].starts_with("-")) throw UsageError("quantize: unknown option or missing value: " + args[i]);
      pos.push_back(args[i]);
    }
  }
  if (pos.size() != 1 || out.empty() || type.empty()) throw UsageError("quantize needs IN -o OUT.gguf --type TYPE");
  const SchemeId default_type = parse_type(type);
  const fs::path in = pos[0];

  io::GgufWriter writer;
  std::vector<Source> sources;
  std::shared_ptr<const void> keep;  // the input's mapping, alive until the output is written
  std::optional<io::GgufFile> gguf;
#if QLINEAR_TOOL_SAFETENSORS
  std::optional<io::SafetensorsFile> st;
#endif
  if (is_gguf(in)) {
    gguf.emplace(io::GgufFile::open(in));
    for (const auto& kv : gguf->metadata()) writer.set(kv.key, kv.value);
    for (const auto& t : gguf->tensors()) {
      const io::GgufTensor* tp = &t;
      sources.push_back({t.name, t.dims, t.type, t.bytes, [tp] { return io::dequantize(*tp); }});
    }
  } else {
#if QLINEAR_TOOL_SAFETENSORS
    st.emplace(io::SafetensorsFile::open(in));
    for (const auto& [k, v] : st->metadata()) writer.set(k, v);
    for (const auto& t : st->tensors()) {
      std::uint32_t ggml;
      switch (t.dtype) {
        case io::Dtype::F32: ggml = 0; break;
        case io::Dtype::F16: ggml = 1; break;
        case io::Dtype::BF16: ggml = 30; break;
        case io::Dtype::I8: ggml = 24; break;
        case io::Dtype::I16: ggml = 25; break;
        case io::Dtype::I32: ggml = 26; break;
        case io::Dtype::I64: ggml = 27; break;
        case io::Dtype::F64: ggml = 28; break;
        default: fail(in.string(), ": tensor '", t.name, "' is ", io::dtype_name(t.dtype), ", which GGUF has no type for");
      }
      check(t.shape.size() <= 4, in.string(), ": tensor '", t.name, "' has ", t.shape.size(), " dims; GGUF allows 4");
      const io::SafetensorsTensor* tp = &t;
      sources.push_back({t.name, std::vector<std::uint64_t>(t.shape.rbegin(), t.shape.rend()), ggml, t.bytes,
                         [tp] { return tp->to_floats(); }});
    }
#else
    fail(in.string(), ": not GGUF, and this build has no safetensors support (needs nlohmann-json3-dev)");
#endif
  }
  if (const auto ft = file_type_for(default_type)) writer.set("general.file_type", *ft);

  struct Summary {
    std::string name, from, to, note;
    double rmse = 0, rel = 0, max_err = 0;
    bool quantized = false;
  };
  std::vector<Summary> summary;
  std::size_t failed = 0, kept = 0;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const Source& s = sources[i];
    progress(i, sources.size(), s.name);
    Summary row{s.name, std::string(io::ggml_type_name(s.type)), std::string(io::ggml_type_name(s.type)), "", 0, 0, 0, false};
    const bool weight = s.dims.size() >= 2 && s.name.ends_with(".weight") && s.dims[1] > 1;
    SchemeId target = default_type;
    for (const auto& [re, id] : rules)
      if (std::regex_search(s.name, re)) {
        target = id;
        break;
      }
    if (!weight) {
      writer.add_tensor_borrowed(s.name, s.type, s.dims, s.bytes, nullptr);
      row.note = "kept (not a 2-D weight)";
      summary.push_back(row);
      continue;
    }
    const std::size_t k = std::size_t(s.dims[0]);
    const std::size_t n = std::size_t(s.dims.size() > 1 ? std::accumulate(s.dims.begin() + 1, s.dims.end(), std::uint64_t(1), std::multiplies<>()) : 1);
    const auto* info = io::ggml_type_info(std::uint32_t(target));
    if (k % info->block_elems != 0) {
      writer.add_tensor_borrowed(s.name, s.type, s.dims, s.bytes, nullptr);
      row.note = "kept: rows of " + std::to_string(k) + " are not whole " + std::string(info->name) + " blocks of " +
                 std::to_string(info->block_elems);
      ++kept;
      summary.push_back(row);
      continue;
    }
    try {
      const std::vector<float> x = s.floats();
      auto buffer = std::make_shared<std::vector<std::uint8_t>>(n * scheme_row_bytes(target, k));
      std::vector<std::uint8_t>& q = *buffer;
      quantize_rows(target, x.data(), n, k, q);
      std::vector<float> y(x.size());
      dequantize_rows(target, q, n, k, y.data());
      double se = 0, ss = 0, mx = 0;
      for (std::size_t j = 0; j < x.size(); ++j) {
        const double e = double(y[j]) - double(x[j]);
        se += e * e;
        ss += double(x[j]) * double(x[j]);
        mx = std::max(mx, std::fabs(e));
      }
      row.rmse = std::sqrt(se / double(x.size()));
      row.rel = ss > 0 ? std::sqrt(se / ss) : 0.0;
      row.max_err = mx;
      row.to = std::string(io::ggml_type_name(std::uint32_t(target)));
      row.quantized = true;
      writer.add_tensor_borrowed(s.name, std::uint32_t(target), s.dims, q, buffer);
    } catch (const Error& e) {
      writer.add_tensor_borrowed(s.name, s.type, s.dims, s.bytes, nullptr);
      row.note = std::string("FAILED, kept: ") + e.what();
      ++failed;
    }
    summary.push_back(row);
  }
  progress(sources.size(), sources.size(), "writing " + out);
  writer.write(out);

  std::size_t wn = 4;
  for (const auto& r : summary) wn = std::max(wn, r.name.size());
  std::printf("%-*s  %-6s  %-6s  %12s  %10s  %12s\n", int(wn), "tensor", "from", "to", "rmse", "rel.rmse", "max|err|");
  for (const auto& r : summary) {
    if (r.quantized)
      std::printf("%-*s  %-6s  %-6s  %12.4e  %10.4e  %12.4e\n", int(wn), r.name.c_str(), r.from.c_str(), r.to.c_str(),
                  r.rmse, r.rel, r.max_err);
    else
      std::printf("%-*s  %-6s  %-6s  %s\n", int(wn), r.name.c_str(), r.from.c_str(), r.to.c_str(), r.note.c_str());
  }
  const auto quantized = std::count_if(summary.begin(), summary.end(), [](const Summary& r) { return r.quantized; });
  std::printf("%s: %zu tensors, %td quantized, %zu kept (rows not whole blocks), %zu failed\n", out.c_str(),
              summary.size(), quantized, kept, failed);
  return failed ? 3 : 0;
}

// ---------------------------------------------------------------- bench

// The backend's context, with `threads` workers when it takes a thread count (0: its default).
template <class Ctx>
Ctx make_context(int threads) {
  if constexpr (!std::is_aggregate_v<Ctx> && std::is_constructible_v<Ctx, int>) {
    if (threads > 0) return Ctx(threads);
    return Ctx{};
  } else {
    if (threads > 0) std::printf("note: --threads %d ignored: this backend runs on the calling thread\n", threads);
    return Ctx{};
  }
}

template <class Layer, class Ctx>
double median_seconds(const Layer& layer, Ctx& ctx, const RowMatrixXf& x, int reps) {
  RowMatrixXf y(x.rows(), Eigen::Index(layer.out_features()));
  layer.forward(ctx, const_view(x), view(y));  // warm-up
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto a = std::chrono::steady_clock::now();
    layer.forward(ctx, const_view(x), view(y));
    BenchBackend::synchronize(ctx);
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int cmd_bench(const std::vector<std::string>& args) {
  std::vector<std::string> pos;
  std::vector<std::size_t> ms = {1, 8, 128};
  int threads = 0, reps = 5;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--m" && i + 1 < args.size()) {
      ms.clear();
      std::stringstream ss(args[++i]);
      for (std::string tok; std::getline(ss, tok, ',');) {
        if (tok.empty() || tok.find_first_not_of("0123456789") != std::string::npos || std::stoul(tok) == 0)
          throw UsageError("--m takes positive integers separated by commas, got '" + args[i] + "'");
        ms.push_back(std::stoul(tok));
      }
    } else if (args[i] == "--threads" && i + 1 < args.size()) {
      threads = std::atoi(args[++i].c_str());
      if (threads <= 0) throw UsageError("--threads takes a positive integer");
    } else if (args[i] == "--reps" && i + 1 < args.size()) {
      reps = std::atoi(args[++i].c_str());
      if (reps <= 0) throw UsageError("--reps takes a positive integer");
    } else {
      if (args[i].starts_with("-")) throw UsageError("bench: unknown option or missing value: " + args[i]);
      pos.push_back(args[i]);
    }
  }
  if (pos.size() != 2) throw UsageError("bench needs FILE TENSOR");
  const fs::path path = pos[0];
  std::optional<AnyLinear<BenchBackend>> layer;
  if (is_gguf(path)) {
    layer.emplace(io::load_linear<BenchBackend>(io::GgufFile::open(path), pos[1]));
  } else {
#if QLINEAR_TOOL_SAFETENSORS
    const auto f = io::SafetensorsFile::open(path);
    std::string prefix = pos[1];
    if (prefix.ends_with(".weight") && !f.contains(prefix + ".weight") && !f.contains(prefix + ".qweight"))
      prefix.resize(prefix.size() - 7);
    layer.emplace(io::load_linear<BenchBackend>(f, prefix));
#else
    fail(path.string(), ": not GGUF, and this build has no safetensors support (needs nlohmann-json3-dev)");
#endif
  }
  auto ctx = make_context<typename BenchBackend::Context>(threads);
  const std::size_t n = layer->out_features(), k = layer->in_features();
  std::printf("%s: %s, %zu x %zu (out x in), %.4f bits per weight, %zu weight bytes\nbackend: %s\n", pos[1].c_str(),
              std::string(layer->scheme_name()).c_str(), n, k, layer->bits_per_weight(), layer->memory_bytes(),
              kBenchBackendName);
  std::printf("%6s  %12s  %10s  %12s\n", "m", "median ms", "GFLOP/s", "weights GB/s");
  for (std::size_t m : ms) {
    const RowMatrixXf x = RowMatrixXf::Random(Eigen::Index(m), Eigen::Index(k));
    const double s = median_seconds(*layer, ctx, x, reps);
    std::printf("%6zu  %12.4f  %10.3f  %12.3f\n", m, s * 1e3, 2.0 * double(m * n * k) / s * 1e-9,
                double(layer->memory_bytes()) / s * 1e-9);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  try {
    if (cmd == "inspect") return cmd_inspect(args);
    if (cmd == "dequant") return cmd_dequant(args);
    if (cmd == "quantize") return cmd_quantize(args);
    if (cmd == "bench") return cmd_bench(args);
    throw UsageError("unknown command '" + cmd + "'");
  } catch (const UsageError& e) {
    std::fprintf(stderr, "qlinear: %s\n%s", e.what(), kUsage);
    return 2;
  } catch (const std::exception& e) {
    std::string m = e.what();
    std::replace(m.begin(), m.end(), '\n', ' ');
    std::fprintf(stderr, "qlinear: error: %s\n", m.c_str());
    return 1;
  }
}
