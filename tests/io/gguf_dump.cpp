// Test helper for the independent-reader check: prints what qlinear's GGUF reader sees in a
// file as JSON (strings hex-encoded, 64-bit integers as decimal strings, so nothing is lost),
// or, with --write, writes a GGUF file holding every metadata type and several tensor types.
// Usage: io_gguf_dump FILE.gguf > view.json      io_gguf_dump --write OUT.gguf [VERSION]

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "qlinear/io/gguf.hpp"

using namespace qlinear;
using namespace qlinear::io;

namespace {

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void scalar_json(std::ostream& o, GgufValueType t, const std::uint8_t* p) {
  auto load = [&]<class T>(std::type_identity<T>) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
  };
  switch (t) {
    case GgufValueType::u8: o << unsigned(p[0]); break;
    case GgufValueType::i8: o << int(std::int8_t(p[0])); break;
    case GgufValueType::u16: o << load(std::type_identity<std::uint16_t>{}); break;
    case GgufValueType::i16: o << load(std::type_identity<std::int16_t>{}); break;
    case GgufValueType::u32: o << load(std::type_identity<std::uint32_t>{}); break;
    case GgufValueType::i32: o << load(std::type_identity<std::int32_t>{}); break;
    case GgufValueType::f32: o << number(load(std::type_identity<float>{})); break;
    case GgufValueType::boolean: o << (p[0] ? "true" : "false"); break;
    case GgufValueType::u64: o << '"' << load(std::type_identity<std::uint64_t>{}) << '"'; break;
    case GgufValueType::i64: o << '"' << load(std::type_identity<std::int64_t>{}) << '"'; break;
    case GgufValueType::f64: o << number(load(std::type_identity<double>{})); break;
    default: break;
  }
}

void array_json(std::ostream& o, const GgufArray& a) {
  o << "{\"type\":" << unsigned(a.type) << ",\"values\":[";
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (i) o << ',';
    if (a.type == GgufValueType::string) o << '"' << hex(a.strings[i]) << '"';
    else if (a.type == GgufValueType::array) array_json(o, a.arrays[i]);
    else scalar_json(o, a.type, a.raw.data() + i * (a.raw.size() / a.size()));
  }
  o << "]}";
}

void value_json(std::ostream& o, const GgufValue& v) {
  o << "{\"type\":" << v.index() << ",\"value\":";
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          o << '"' << hex(x) << '"';
        } else if constexpr (std::is_same_v<T, GgufArray>) {
          array_json(o, x);
        } else if constexpr (std::is_same_v<T, bool>) {
          o << (x ? "true" : "false");
        } else {
          std::uint8_t buf[8];
          std::memcpy(buf, &x, sizeof(T));
          scalar_json(o, GgufValueType(v.index()), buf);
        }
      },
      v);
  o << '}';
}

void write_sample(const std::string& path, std::uint32_t version) {
  GgufWriter w(version);
  w.set("general.architecture", std::string("qlinear-test"));
  w.set("general.name", std::string("written by qlinear \xE2\x9C\x93"));
  w.set("u8", std::uint8_t(250));
  w.set("i8", std::int8_t(-7));
  w.set("u16", std::uint16_t(65535));
  w.set("i16", std::int16_t(-32768));
  w.set("u32", std::uint32_t(4294967295u));
  w.set("i32", std::int32_t(-123456789));
  w.set("f32", 0.1f);
  w.set("bool", false);
  w.set("u64", std::uint64_t(18446744073709551615ull));
  w.set("i64", std::int64_t(-9223372036854775807ll - 1));
  w.set("f64", 1.0 / 3.0);
  w.set("tokens", GgufArray::of(std::vector<std::string>{"<s>", "</s>", "h\xC3\xA9", ""}));
  w.set("scores", GgufArray::of(std::vector<float>{0.5f, -1.25f, 3e-8f}));
  w.set("flags", GgufArray::of(std::vector<bool>{true, false}));
  w.set("ids", GgufArray::of(std::vector<std::int64_t>{-1, 1ll << 40}));
  w.set("nested", GgufArray::of_arrays({GgufArray::of(std::vector<std::string>{"a", "b"}),
                                        GgufArray::of(std::vector<std::string>{"c"})}));
  w.set_alignment(64);
  const std::size_t k = 256, n = 4;
  std::vector<float> x(n * k);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(int(i * 7919 % 255) - 127) / 64.0f;
  for (SchemeId id : {SchemeId::f32, SchemeId::f16, SchemeId::q8_0, SchemeId::q4_0, SchemeId::q4_K, SchemeId::q5_K,
                      SchemeId::q6_K, SchemeId::q2_K, SchemeId::iq4_xs, SchemeId::bf16}) {
    std::vector<std::uint8_t> bytes(n * scheme_row_bytes(id, k));
    quantize_rows(id, x.data(), n, k, bytes);
    w.add_tensor("blk.0." + std::string(scheme_name(id)) + ".weight", gguf_tensor_type(id), {k, n}, bytes);
  }
  w.add_tensor("norm", 0, {k}, std::vector<std::uint8_t>(k * 4, 0));
  w.add_tensor("conv", 1, {3, 3, 2, 5}, std::vector<std::uint8_t>(3 * 3 * 2 * 5 * 2, 0));
  w.write(path);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 3 && std::string(argv[1]) == "--write") {
      write_sample(argv[2], argc >= 4 ? std::uint32_t(std::stoul(argv[3])) : 3u);
      return 0;
    }
    if (argc != 2) {
      std::cerr << "usage: io_gguf_dump FILE.gguf | --write OUT.gguf [VERSION]\n";
      return 2;
    }
    const auto f = GgufFile::open(argv[1]);
    std::ostringstream o;
    o << "{\"version\":" << f.version() << ",\"alignment\":" << f.alignment() << ",\"data_offset\":\""
      << f.data_offset() << "\",\"metadata\":[";
    for (std::size_t i = 0; i < f.metadata().size(); ++i) {
      const auto& kv = f.metadata()[i];
      o << (i ? "," : "") << "{\"key\":\"" << hex(kv.key) << "\",\"value\":";
      value_json(o, kv.value);
      o << '}';
    }
    o << "],\"tensors\":[";
    for (std::size_t i = 0; i < f.tensors().size(); ++i) {
      const auto& t = f.tensors()[i];
      o << (i ? "," : "") << "{\"name\":\"" << hex(t.name) << "\",\"type\":" << t.type << ",\"offset\":\"" << t.offset
        << "\",\"dims\":[";
      for (std::size_t d = 0; d < t.dims.size(); ++d) o << (d ? "," : "") << '"' << t.dims[d] << '"';
      o << "]}";
    }
    o << "]}\n";
    std::cout << o.str();
  } catch (const std::exception& e) {
    std::cerr << "io_gguf_dump: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
