#pragma once
// safetensors reader and writer (the Hugging Face format): an 8-byte little-endian header
// length N, N bytes of JSON, then the tensor bytes.
//
//   { "__metadata__": {"key": "value", ...},                    (optional, strings only)
//     "<name>": {"dtype": "F16", "shape": [out, in], "data_offsets": [begin, end]}, ... }
//
// Offsets are relative to the first byte after the header; shapes are row-major (PyTorch's
// order: a linear weight is [out_features, in_features]). The reader follows the reference
// implementation's rules and checks every one, treating the file as hostile: the header length
// fits the file (and 100 MB), the JSON parses (nlohmann/json, duplicate keys rejected), each
// dtype is known, each shape's element count times the dtype size equals end − begin without
// overflow, and the tensors tile the data exactly (sorted by offset: no overlap, no hole, the
// last ends at the end of the file). Tensor bytes are views into the memory-mapped file.
//
// Needs nlohmann/json (Debian: nlohmann-json3-dev); the CMake target links it when found.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "qlinear/core/error.hpp"
#include "qlinear/core/half.hpp"
#include "qlinear/io/mapped_file.hpp"

static_assert(std::endian::native == std::endian::little, "qlinear's file readers assume a little-endian host");

namespace qlinear::io {

/// Element types of safetensors tensors (the strings of the format's "dtype" field).
enum class Dtype : std::uint8_t { BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64, F8_E4M3, F8_E5M2 };

namespace detail {
struct DtypeInfo {
  Dtype dtype;
  std::string_view name;
  std::size_t size;
};
inline constexpr DtypeInfo kDtypes[] = {
    {Dtype::BOOL, "BOOL", 1}, {Dtype::U8, "U8", 1},   {Dtype::I8, "I8", 1},           {Dtype::I16, "I16", 2},
    {Dtype::U16, "U16", 2},   {Dtype::F16, "F16", 2}, {Dtype::BF16, "BF16", 2},       {Dtype::I32, "I32", 4},
    {Dtype::U32, "U32", 4},   {Dtype::F32, "F32", 4}, {Dtype::I64, "I64", 8},         {Dtype::U64, "U64", 8},
    {Dtype::F64, "F64", 8},   {Dtype::F8_E4M3, "F8_E4M3", 1}, {Dtype::F8_E5M2, "F8_E5M2", 1},
};

/// float8 e4m3fn (no infinities; exponent and mantissa all ones is NaN) -> float.
inline float f8_e4m3_to_f32(std::uint8_t v) {
  const std::uint32_t sign = std::uint32_t(v & 0x80u) << 24;
  const std::uint32_t exp = (v >> 3) & 0xFu, man = v & 0x7u;
  if (exp == 0xF && man == 0x7) return std::bit_cast<float>(sign | 0x7FC00000u);
  float mag;
  if (exp == 0)
    mag = float(man) * 0x1.0p-9f;  // subnormal: man/8 · 2^-6
  else
    mag = std::bit_cast<float>(((exp + 120u) << 23) | (man << 20));
  return sign ? -mag : mag;
}
}  // namespace detail

/// "F32", "BF16", ...
inline std::string_view dtype_name(Dtype d) { return detail::kDtypes[std::size_t(d)].name; }
/// Bytes of one element.
inline std::size_t dtype_size(Dtype d) { return detail::kDtypes[std::size_t(d)].size; }
/// The dtype called `name`; throws qlinear::Error for a name the format does not define.
inline Dtype dtype_from_name(std::string_view name) {
  for (const auto& d : detail::kDtypes)
    if (d.name == name) return d.dtype;
  fail("unknown safetensors dtype '", name, "'");
}

/// The dtype that stores C++ type T (float F32, f16 F16, bf16 BF16, std::int8_t I8, ...).
template <class T>
constexpr Dtype dtype_of() {
  if constexpr (std::is_same_v<T, float>) return Dtype::F32;
  else if constexpr (std::is_same_v<T, double>) return Dtype::F64;
  else if constexpr (std::is_same_v<T, f16>) return Dtype::F16;
  else if constexpr (std::is_same_v<T, bf16>) return Dtype::BF16;
  else if constexpr (std::is_same_v<T, std::int8_t>) return Dtype::I8;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return Dtype::U8;
  else if constexpr (std::is_same_v<T, std::int16_t>) return Dtype::I16;
  else if constexpr (std::is_same_v<T, std::uint16_t>) return Dtype::U16;
  else if constexpr (std::is_same_v<T, std::int32_t>) return Dtype::I32;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return Dtype::U32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return Dtype::I64;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return Dtype::U64;
  else static_assert(sizeof(T) == 0, "no safetensors dtype stores this C++ type (BOOL reads as std::uint8_t)");
}

namespace detail {
// A JSON value for an error message, cut short (hostile headers can be huge).
inline std::string json_excerpt(const nlohmann::json& v) {
  std::string s = v.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}
template <class T>
constexpr bool dtype_matches(Dtype d) {
  if constexpr (std::is_same_v<T, std::uint8_t>) return d == Dtype::U8 || d == Dtype::BOOL;
  else return dtype_of<T>() == d;
}
}  // namespace detail

/// One tensor of a safetensors file: name, dtype, row-major shape and its bytes, a view into
/// the file (valid while the SafetensorsFile, or its owner(), lives).
/// Usage: `auto w = file.tensor("lm_head.weight"); std::vector<float> v = w.to_floats();`
struct SafetensorsTensor {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<std::uint64_t> shape;   ///< row-major, outermost first ([out, in] for a weight)
  std::uint64_t file_offset = 0;      ///< absolute offset of the first byte in the file
  std::span<const std::uint8_t> bytes;

  std::uint64_t numel() const {
    std::uint64_t n = 1;
    for (auto d : shape) n *= d;  // the reader checked this product for overflow
    return n;
  }
  /// The elements in place as T (zero copy). Throws unless T matches the dtype (BOOL reads
  /// as std::uint8_t) and the bytes are aligned for T (files whose header length is not a
  /// multiple of 8 may not be: use values<T>() or to_floats() then).
  template <class T>
  std::span<const T> as() const {
    check(detail::dtype_matches<T>(dtype), "safetensors tensor '", name, "' is ", dtype_name(dtype),
          ", not ", dtype_name(dtype_of<T>()));
    check(reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(T) == 0, "safetensors tensor '", name,
          "' at file offset ", file_offset, " is not aligned for ", dtype_name(dtype), ": use values<T>() to copy it");
    return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)};
  }
  /// A copy of the elements as T (any alignment). Throws unless T matches the dtype.
  template <class T>
  std::vector<T> values() const {
    check(detail::dtype_matches<T>(dtype), "safetensors tensor '", name, "' is ", dtype_name(dtype),
          ", not ", dtype_name(dtype_of<T>()));
    std::vector<T> out(bytes.size() / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
    return out;
  }
  /// Every element converted to float (any dtype; BOOL gives 0 or 1; wide integers round).
  std::vector<float> to_floats() const {
    const std::size_t n = bytes.size() / dtype_size(dtype);
    std::vector<float> out(n);
    const std::uint8_t* p = bytes.data();
    auto load = [&]<class T>(std::type_identity<T>, std::size_t i) {
      T v;
      std::memcpy(&v, p + i * sizeof(T), sizeof(T));
      return v;
    };
    for (std::size_t i = 0; i < n; ++i) {
      switch (dtype) {
        case Dtype::BOOL: out[i] = p[i] != 0 ? 1.0f : 0.0f; break;
        case Dtype::U8: out[i] = float(p[i]); break;
        case Dtype::I8: out[i] = float(std::int8_t(p[i])); break;
        case Dtype::I16: out[i] = float(load(std::type_identity<std::int16_t>{}, i)); break;
        case Dtype::U16: out[i] = float(load(std::type_identity<std::uint16_t>{}, i)); break;
        case Dtype::F16: out[i] = f16_to_f32(load(std::type_identity<std::uint16_t>{}, i)); break;
        case Dtype::BF16: out[i] = bf16_to_f32(load(std::type_identity<std::uint16_t>{}, i)); break;
        case Dtype::I32: out[i] = float(load(std::type_identity<std::int32_t>{}, i)); break;
        case Dtype::U32: out[i] = float(load(std::type_identity<std::uint32_t>{}, i)); break;
        case Dtype::F32: out[i] = load(std::type_identity<float>{}, i); break;
        case Dtype::I64: out[i] = float(load(std::type_identity<std::int64_t>{}, i)); break;
        case Dtype::U64: out[i] = float(load(std::type_identity<std::uint64_t>{}, i)); break;
        case Dtype::F64: out[i] = float(load(std::type_identity<double>{}, i)); break;
        case Dtype::F8_E4M3: out[i] = detail::f8_e4m3_to_f32(p[i]); break;
        case Dtype::F8_E5M2: out[i] = f16_to_f32(std::uint16_t(std::uint16_t(p[i]) << 8)); break;
      }
    }
    return out;
  }
};

/// A safetensors file, parsed and validated; tensors are views into its mapping.
/// Usage:
///   auto file = io::SafetensorsFile::open("model.safetensors");
///   const auto& w = file.tensor("model.layers.0.self_attn.q_proj.weight");   // w.shape = {out, in}
///   std::span<const qlinear::bf16> v = w.as<qlinear::bf16>();
class SafetensorsFile {
 public:
  /// Largest header accepted (the reference implementation's limit).
  static constexpr std::uint64_t max_header_bytes = 100'000'000;

  /// Maps and parses `path`. Throws qlinear::Error naming the file, the field and the problem.
  static SafetensorsFile open(const std::filesystem::path& path) { return SafetensorsFile(MappedFile::open(path)); }
  /// Parses bytes in memory (used in place; `owner` keeps them alive, null if they outlive it).
  static SafetensorsFile from_bytes(std::span<const std::uint8_t> bytes, std::shared_ptr<const void> owner = nullptr,
                                    std::string name = "<memory>") {
    return SafetensorsFile(MappedFile::borrow(bytes, std::move(owner), std::move(name)));
  }
  /// Parses an already mapped file.
  explicit SafetensorsFile(std::shared_ptr<const MappedFile> file) : file_(std::move(file)) { parse(); }

  /// The `__metadata__` map (empty when the file has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  /// Every tensor, in the order of their bytes in the file.
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  std::size_t size() const { return tensors_.size(); }
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  /// The tensor called `name`, or nullptr.
  const SafetensorsTensor* find(std::string_view name) const {
    auto it = index_.find(std::string(name));
    return it == index_.end() ? nullptr : &tensors_[it->second];
  }
  /// The tensor called `name`; throws qlinear::Error naming the file when there is none.
  const SafetensorsTensor& tensor(std::string_view name) const {
    const auto* t = find(name);
    check(t != nullptr, file_->name(), ": no tensor named '", name, "' (the file has ", tensors_.size(), ")");
    return *t;
  }
  /// Absolute offset of the tensor data (8 + header length).
  std::uint64_t data_offset() const { return data_offset_; }
  /// Keeps the bytes alive: pass it as the `owner` of layers that use tensors in place.
  std::shared_ptr<const void> owner() const { return file_; }
  const MappedFile& file() const { return *file_; }

 private:
  void parse() {
    const auto bytes = file_->bytes();
    const std::string& src = file_->name();
    check(bytes.size() >= 8, src, ": safetensors file of ", bytes.size(),
          " bytes is shorter than its 8-byte header length (byte 0)");
    std::uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    check(n <= max_header_bytes, src, ": safetensors header length ", n, " (byte 0) exceeds the ",
          max_header_bytes, "-byte limit");
    check(n <= bytes.size() - 8, src, ": safetensors header length ", n, " (byte 0) runs past the end of the ",
          bytes.size(), "-byte file");
    check(n >= 2 && bytes[8] == '{', src, ": safetensors header (byte 8) must be a JSON object starting with '{'");
    data_offset_ = 8 + n;
    const std::uint64_t data_size = bytes.size() - data_offset_;

    const char* begin = reinterpret_cast<const char*>(bytes.data() + 8);
    nlohmann::json header;
    bool duplicate = false;
    std::string duplicate_key;
    std::set<std::string> keys;
    try {
      // The callback sees each key of the top-level object (depth 1) to catch duplicates,
      // which nlohmann/json would otherwise resolve silently (last one wins).
      header = nlohmann::json::parse(
          begin, begin + n,
          [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
            if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string() &&
                !keys.insert(parsed.get<std::string>()).second && !duplicate) {
              duplicate = true;
              duplicate_key = parsed.get<std::string>();
            }
            return true;
          });
    } catch (const nlohmann::json::exception& e) {
      fail(src, ": safetensors header JSON (bytes 8 to ", 8 + n, ") does not parse: ", e.what());
    }
    check(!duplicate, src, ": safetensors header names '", duplicate_key, "' twice");
    check(header.is_object(), src, ": safetensors header (byte 8) is not a JSON object");

    struct Entry {
      std::uint64_t begin, end;
      std::size_t index;
    };
    std::vector<Entry> entries;
    std::vector<SafetensorsTensor> parsed;
    for (auto it = header.begin(); it != header.end(); ++it) {
      const std::string& key = it.key();
      const auto& v = it.value();
      if (key == "__metadata__") {
        check(v.is_object(), src, ": safetensors field __metadata__ must be an object of strings");
        for (auto m = v.begin(); m != v.end(); ++m) {
          check(m.value().is_string(), src, ": safetensors __metadata__ value of '", m.key(), "' is ",
                m.value().type_name(), ", not a string");
          metadata_.emplace(m.key(), m.value().get<std::string>());
        }
        continue;
      }
      const std::string where = src + ": safetensors tensor '" + key + "'";
      check(v.is_object(), where, " is ", v.type_name(), ", not an object");
      for (auto f = v.begin(); f != v.end(); ++f)
        check(f.key() == "dtype" || f.key() == "shape" || f.key() == "data_offsets", where, " has unknown field '",
              f.key(), "'");
      SafetensorsTensor t;
      t.name = key;
      const auto dt = v.find("dtype");
      check(dt != v.end() && dt->is_string(), where, ": field dtype is missing or not a string");
      try {
        t.dtype = dtype_from_name(dt->get<std::string>());
      } catch (const Error& e) {
        fail(where, ": field dtype: ", e.what());
      }
      const auto sh = v.find("shape");
      check(sh != v.end() && sh->is_array(), where, ": field shape is missing or not an array");
      std::uint64_t numel = 1;
      for (const auto& d : *sh) {
        check(d.is_number_unsigned(), where, ": field shape holds ", detail::json_excerpt(d), ", not a non-negative integer");
        const auto dim = d.get<std::uint64_t>();
        check(numel == 0 || dim <= UINT64_MAX / numel, where, ": field shape ", detail::json_excerpt(*sh),
              " has more elements than 64 bits count");
        numel *= dim;
        t.shape.push_back(dim);
      }
      const auto off = v.find("data_offsets");
      check(off != v.end() && off->is_array() && off->size() == 2 && (*off)[0].is_number_unsigned() &&
                (*off)[1].is_number_unsigned(),
            where, ": field data_offsets must be [begin, end], non-negative integers");
      const auto b = (*off)[0].get<std::uint64_t>(), e = (*off)[1].get<std::uint64_t>();
      check(b <= e, where, ": field data_offsets [", b, ", ", e, "] ends before it begins");
      check(e <= data_size, where, ": field data_offsets end ", e, " (byte ", data_offset_, " + ", e,
            ") runs past the end of the ", bytes.size(), "-byte file");
      const std::size_t es = dtype_size(t.dtype);
      check(numel <= UINT64_MAX / es, where, ": field shape ", detail::json_excerpt(*sh), " of ", dtype_name(t.dtype),
            " has more bytes than 64 bits count");
      check(e - b == numel * es, where, ": field data_offsets [", b, ", ", e, "] holds ", e - b, " bytes, but shape ",
            detail::json_excerpt(*sh), " of ", dtype_name(t.dtype), " needs ", numel * es);
      t.file_offset = data_offset_ + b;
      t.bytes = bytes.subspan(std::size_t(t.file_offset), std::size_t(e - b));
      entries.push_back({b, e, parsed.size()});
      parsed.push_back(std::move(t));
    }
    // The tensors tile the data exactly, as the reference implementation demands (no polyglot files).
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
    std::uint64_t expect = 0;
    for (const auto& en : entries) {
      const auto& t = parsed[en.index];
      check(en.begin == expect, src, ": safetensors tensor '", t.name, "' field data_offsets begins at ", en.begin,
            en.begin < expect ? " inside the previous tensor" : " after a gap", " (expected ", expect, ")");
      expect = en.end;
    }
    check(expect == data_size, src, ": safetensors tensors cover ", expect, " of the ", data_size,
          " data bytes after the header (byte ", data_offset_ + expect, " onwards is unaccounted for)");
    tensors_.reserve(parsed.size());
    for (const auto& en : entries) {
      index_.emplace(parsed[en.index].name, tensors_.size());
      tensors_.push_back(std::move(parsed[en.index]));
    }
  }

  std::shared_ptr<const MappedFile> file_;
  std::map<std::string, std::string> metadata_;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, std::size_t> index_;
  std::uint64_t data_offset_ = 0;
};

/// Builds a safetensors file from named tensors and a string metadata map. Tensors are laid
/// out widest dtype first (then by name), after a header padded to 8 bytes, so every tensor
/// is aligned for its element type when mapped.
/// Usage:
///   io::SafetensorsWriter w;
///   w.set_metadata("format", "pt");
///   w.add("proj.weight", {out, in}, weights);               // std::vector<float>: F32
///   w.add_floats("proj.bias", io::Dtype::F16, {out}, bias);  // floats stored as F16
///   w.write("model.safetensors");
class SafetensorsWriter {
 public:
  void set_metadata(std::string key, std::string value) { metadata_[std::move(key)] = std::move(value); }

  /// Adds a tensor whose bytes are copied now.
  void add(std::string name, Dtype dtype, std::vector<std::uint64_t> shape, std::span<const std::uint8_t> bytes) {
    auto copy = std::make_shared<std::vector<std::uint8_t>>(bytes.begin(), bytes.end());
    const std::span<const std::uint8_t> view(*copy);
    add_borrowed(std::move(name), dtype, std::move(shape), view, std::move(copy));
  }
  /// Adds a tensor whose bytes are used in place at write time; `owner` keeps them alive
  /// (null: the caller keeps them alive until the last write).
  void add_borrowed(std::string name, Dtype dtype, std::vector<std::uint64_t> shape,
                    std::span<const std::uint8_t> bytes, std::shared_ptr<const void> owner) {
    check(name != "__metadata__", "safetensors: a tensor cannot be called __metadata__");
    for (const auto& t : tensors_) check(t.name != name, "safetensors: tensor '", name, "' added twice");
    std::uint64_t numel = 1;
    for (auto d : shape) numel = detail::checked_mul(numel, d, "safetensors: shape element count");
    const std::uint64_t need = detail::checked_mul(numel, dtype_size(dtype), "safetensors: tensor bytes");
    check(bytes.size() == need, "safetensors: tensor '", name, "' of ", dtype_name(dtype), " has ", bytes.size(),
          " bytes, its shape needs ", need);
    tensors_.push_back({std::move(name), dtype, std::move(shape), bytes, std::move(owner)});
  }
  /// Adds a copy of `values` (dtype from T: float F32, f16 F16, std::int8_t I8, ...).
  template <class T>
  void add(std::string name, std::vector<std::uint64_t> shape, std::span<const T> values) {
    add(std::move(name), dtype_of<T>(), std::move(shape),
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(values.data()), values.size_bytes()));
  }
  template <class T>
  void add(std::string name, std::vector<std::uint64_t> shape, const std::vector<T>& values) {
    add(std::move(name), std::move(shape), std::span<const T>(values));
  }
  /// Adds floats stored as `dtype` (F32, F16, BF16 or F64; rounding to nearest even).
  void add_floats(std::string name, Dtype dtype, std::vector<std::uint64_t> shape, std::span<const float> values) {
    std::vector<std::uint8_t> out(values.size() * dtype_size(dtype));
    for (std::size_t i = 0; i < values.size(); ++i) {
      std::uint8_t* p = out.data() + i * dtype_size(dtype);
      switch (dtype) {
        case Dtype::F32: std::memcpy(p, &values[i], 4); break;
        case Dtype::F64: { const double d = values[i]; std::memcpy(p, &d, 8); break; }
        case Dtype::F16: { const std::uint16_t h = f32_to_f16(values[i]); std::memcpy(p, &h, 2); break; }
        case Dtype::BF16: { const std::uint16_t h = f32_to_bf16(values[i]); std::memcpy(p, &h, 2); break; }
        default: fail("safetensors: add_floats stores F32, F16, BF16 or F64, not ", dtype_name(dtype));
      }
    }
    add(std::move(name), dtype, std::move(shape), out);
  }

  std::size_t size() const { return tensors_.size(); }

  /// The whole file in memory.
  std::vector<std::uint8_t> to_bytes() const {
    const auto [header, order] = layout();
    std::vector<std::uint8_t> out(header.begin(), header.end());
    for (std::size_t i : order) out.insert(out.end(), tensors_[i].bytes.begin(), tensors_[i].bytes.end());
    return out;
  }
  /// Writes the file (tensor bytes streamed from where they are, not gathered first).
  void write(const std::filesystem::path& path) const {
    const auto [header, order] = layout();
    auto out = detail::open_for_writing(path);
    detail::write_all(out, std::span(header), path.string());
    for (std::size_t i : order) detail::write_all(out, tensors_[i].bytes, path.string());
    out.close();
    check(bool(out), path.string(), ": write failed");
  }

 private:
  struct Pending {
    std::string name;
    Dtype dtype;
    std::vector<std::uint64_t> shape;
    std::span<const std::uint8_t> bytes;
    std::shared_ptr<const void> owner;
  };

  // The 8-byte length + padded JSON, and the order the tensors' bytes follow in.
  std::pair<std::vector<std::uint8_t>, std::vector<std::size_t>> layout() const {
    std::vector<std::size_t> order(tensors_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      const auto sa = dtype_size(tensors_[a].dtype), sb = dtype_size(tensors_[b].dtype);
      return sa != sb ? sa > sb : tensors_[a].name < tensors_[b].name;
    });
    nlohmann::json j = nlohmann::json::object();
    if (!metadata_.empty()) j["__metadata__"] = metadata_;
    std::uint64_t offset = 0;
    for (std::size_t i : order) {
      const auto& t = tensors_[i];
      j[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
      offset += t.bytes.size();
    }
    std::string text = j.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    std::vector<std::uint8_t> header(8 + text.size());
    const std::uint64_t n = text.size();
    std::memcpy(header.data(), &n, 8);
    std::memcpy(header.data() + 8, text.data(), text.size());
    return {std::move(header), std::move(order)};
  }

  std::map<std::string, std::string> metadata_;
  std::vector<Pending> tensors_;
};

}  // namespace qlinear::io
