#pragma once
// GGUF reader and writer (ggml's model file format), memory-mapped and zero-copy.
//
// Layout (all little-endian):
//   "GGUF" magic, u32 version (1, 2 or 3), tensor count, metadata count,
//   metadata: key string, u32 value type, value           (type ids: see GgufValueType)
//   tensor infos: name string, u32 n_dims, n_dims dims, u32 ggml type, u64 offset
//   padding to general.alignment (u32, default 32), then the tensor data; each tensor's
//   offset is relative to the data start and a multiple of the alignment.
// Strings are a length then bytes (no terminator); arrays are a u32 element type, a count,
// then the elements (arrays may nest). v2 and v3 write counts, lengths and dims as u64; v1
// (2023's first files) as u32, which the reader also accepts. Dims are ggml's order: dims[0]
// (ne0) is the row length, so a linear weight [out × in] has dims {in, out}.
//
// The reader treats every byte as hostile: each count, length, offset and size is checked
// against the bytes left before it is used, with overflow-safe arithmetic, and a bad file
// gives a qlinear::Error naming the file, the field and its byte offset.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "qlinear/core/error.hpp"
#include "qlinear/core/half.hpp"
#include "qlinear/io/ggml_types.hpp"
#include "qlinear/io/mapped_file.hpp"
#include "qlinear/schemes/registry.hpp"

static_assert(std::endian::native == std::endian::little, "qlinear's file readers assume a little-endian host");

namespace qlinear::io {

/// GGUF metadata value types (the file's u32 type ids).
enum class GgufValueType : std::uint32_t { u8, i8, u16, i16, u32, i32, f32, boolean, string, array, u64, i64, f64 };

/// "u8", "string", "array", ...
inline std::string_view gguf_value_type_name(GgufValueType t) {
  constexpr std::string_view names[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
  return std::uint32_t(t) < 13 ? names[std::uint32_t(t)] : std::string_view("unknown");
}

namespace detail {
inline std::size_t gguf_scalar_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::u8: case GgufValueType::i8: case GgufValueType::boolean: return 1;
    case GgufValueType::u16: case GgufValueType::i16: return 2;
    case GgufValueType::u32: case GgufValueType::i32: case GgufValueType::f32: return 4;
    case GgufValueType::u64: case GgufValueType::i64: case GgufValueType::f64: return 8;
    default: return 0;  // string, array: not fixed-size
  }
}
template <class T>
constexpr GgufValueType gguf_type_of() {
  if constexpr (std::is_same_v<T, std::uint8_t>) return GgufValueType::u8;
  else if constexpr (std::is_same_v<T, std::int8_t>) return GgufValueType::i8;
  else if constexpr (std::is_same_v<T, std::uint16_t>) return GgufValueType::u16;
  else if constexpr (std::is_same_v<T, std::int16_t>) return GgufValueType::i16;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return GgufValueType::u32;
  else if constexpr (std::is_same_v<T, std::int32_t>) return GgufValueType::i32;
  else if constexpr (std::is_same_v<T, float>) return GgufValueType::f32;
  else if constexpr (std::is_same_v<T, bool>) return GgufValueType::boolean;
  else if constexpr (std::is_same_v<T, std::string>) return GgufValueType::string;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return GgufValueType::u64;
  else if constexpr (std::is_same_v<T, std::int64_t>) return GgufValueType::i64;
  else if constexpr (std::is_same_v<T, double>) return GgufValueType::f64;
  else static_assert(sizeof(T) == 0, "no GGUF value type stores this C++ type");
}
}  // namespace detail

/// A GGUF array: elements of one type; numbers and bools packed little-endian in `raw`,
/// strings in `strings`, nested arrays in `arrays`.
/// Usage: `auto a = io::GgufArray::of(std::vector<std::string>{"a", "b"}); auto v = a.values<float>();`
struct GgufArray {
  GgufValueType type = GgufValueType::u8;
  std::vector<std::uint8_t> raw;
  std::vector<std::string> strings;
  std::vector<GgufArray> arrays;

  std::size_t size() const {
    if (type == GgufValueType::string) return strings.size();
    if (type == GgufValueType::array) return arrays.size();
    return raw.size() / detail::gguf_scalar_size(type);
  }
  /// The elements as T, which must be the element type (bool, std::string, float, ...).
  template <class T>
  std::vector<T> values() const {
    check(detail::gguf_type_of<T>() == type, "GGUF array of ", gguf_value_type_name(type), " read as ",
          gguf_value_type_name(detail::gguf_type_of<T>()));
    if constexpr (std::is_same_v<T, std::string>) {
      return strings;
    } else if constexpr (std::is_same_v<T, bool>) {
      std::vector<bool> out(raw.size());
      for (std::size_t i = 0; i < raw.size(); ++i) out[i] = raw[i] != 0;
      return out;
    } else {
      std::vector<T> out(raw.size() / sizeof(T));
      if (!out.empty()) std::memcpy(out.data(), raw.data(), out.size() * sizeof(T));
      return out;
    }
  }
  /// An array of `v`'s elements (numbers, bools or strings).
  template <class T>
  static GgufArray of(const std::vector<T>& v) {
    GgufArray a;
    a.type = detail::gguf_type_of<T>();
    if constexpr (std::is_same_v<T, std::string>) {
      a.strings = v;
    } else if constexpr (std::is_same_v<T, bool>) {
      for (bool b : v) a.raw.push_back(b ? 1 : 0);
    } else {
      a.raw.resize(v.size() * sizeof(T));
      if (!v.empty()) std::memcpy(a.raw.data(), v.data(), a.raw.size());
    }
    return a;
  }
  /// An array of arrays.
  static GgufArray of_arrays(std::vector<GgufArray> v) {
    GgufArray a;
    a.type = GgufValueType::array;
    a.arrays = std::move(v);
    return a;
  }
  friend bool operator==(const GgufArray&, const GgufArray&) = default;
};

/// One metadata value; the variant's index is the GgufValueType id.
/// Usage: `io::GgufValue v = std::uint32_t(32); v = std::string("llama");`
using GgufValue = std::variant<std::uint8_t, std::int8_t, std::uint16_t, std::int16_t, std::uint32_t, std::int32_t,
                               float, bool, std::string, GgufArray, std::uint64_t, std::int64_t, double>;
static_assert(std::variant_size_v<GgufValue> == 13);

inline GgufValueType gguf_type_of(const GgufValue& v) { return GgufValueType(v.index()); }

/// One metadata entry: key, value and the byte offset of the key in the file.
struct GgufKV {
  std::string key;
  GgufValue value;
  std::uint64_t offset = 0;
};

/// One tensor of a GGUF file: name, ggml type, dims in ggml order and a view of its bytes in
/// the mapping (valid while the GgufFile, or its owner(), lives).
/// Usage: `const auto& t = file.tensor("blk.0.attn_q.weight"); t.cols() == in_features`
struct GgufTensor {
  std::string name;
  std::uint32_t type = 0;             ///< ggml type id (SchemeId for the types qlinear runs)
  std::vector<std::uint64_t> dims;    ///< ggml order: dims[0] = ne0 = the row length
  std::uint64_t offset = 0;           ///< relative to the data section, as in the file
  std::uint64_t file_offset = 0;      ///< absolute offset of the first byte
  std::uint64_t info_offset = 0;      ///< where this tensor's entry starts in the tensor-info table
  std::span<const std::uint8_t> bytes;

  std::uint64_t numel() const {
    std::uint64_t n = 1;
    for (auto d : dims) n *= d;  // checked by the reader
    return n;
  }
  /// Row length (ne0).
  std::uint64_t cols() const { return dims.empty() ? 1 : dims[0]; }
  /// Rows: the product of the other dims.
  std::uint64_t rows() const { return cols() == 0 ? 0 : numel() / cols(); }
  std::string_view type_name() const { return ggml_type_name(type); }
  SchemeId scheme() const { return SchemeId(type); }
  /// Whether every row is a whole number of blocks (false in a few 2023 files, whose blocks
  /// straddle rows: such a tensor dequantizes as one flat run but cannot be a layer).
  bool rows_whole() const {
    const auto* t = ggml_type_info(type);
    return t && cols() % t->block_elems == 0;
  }
  /// Bits per weight as stored.
  double bits_per_weight() const { return numel() ? 8.0 * double(bytes.size()) / double(numel()) : 0.0; }
};

namespace detail {

// Reads little-endian fields from the file, each checked against its end; errors name the
// field (with its context, a metadata key or tensor name) and the byte offset.
class GgufCursor {
 public:
  GgufCursor(std::span<const std::uint8_t> bytes, const std::string& src) : bytes_(bytes), src_(src) {}

  std::uint64_t pos() const { return pos_; }
  std::uint64_t left() const { return bytes_.size() - pos_; }

  template <class... Args>
  [[noreturn]] void error_at(std::uint64_t at, Args&&... args) const {
    fail(src_, ": GGUF ", std::forward<Args>(args)..., " (byte ", at, ")");
  }

  template <class T>
  T read(std::string_view ctx, const char* field) {
    if (sizeof(T) > left())
      error_at(pos_, ctx, ctx.empty() ? "" : " ", field, ": needs ", sizeof(T), " bytes, but the ", bytes_.size(),
               "-byte file ends");
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  // A count or length: u64 in v2/v3, u32 in v1.
  std::uint64_t read_size(std::string_view ctx, const char* field) {
    return wide_ ? read<std::uint64_t>(ctx, field) : read<std::uint32_t>(ctx, field);
  }
  std::string read_string(std::string_view ctx, const char* field) {
    const std::uint64_t at = pos_;
    const std::uint64_t n = read_size(ctx, field);
    if (n > left())
      error_at(at, ctx, ctx.empty() ? "" : " ", field, ": string length ", n, " runs past the end of the ",
               bytes_.size(), "-byte file");
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), std::size_t(n));
    pos_ += n;
    return s;
  }
  std::span<const std::uint8_t> take(std::uint64_t n) {
    auto s = bytes_.subspan(std::size_t(pos_), std::size_t(n));
    pos_ += n;
    return s;
  }
  void set_wide(bool wide) { wide_ = wide; }

 private:
  std::span<const std::uint8_t> bytes_;
  const std::string& src_;
  std::uint64_t pos_ = 0;
  bool wide_ = true;
};

}  // namespace detail

/// A GGUF file, parsed and validated: metadata, tensor infos and zero-copy tensor views.
/// Usage:
///   auto file = io::GgufFile::open("model.gguf");
///   std::string arch = file.get<std::string>("general.architecture");
///   for (const auto& t : file.tensors()) std::cout << t.name << ' ' << t.type_name() << '\n';
class GgufFile {
 public:
  static constexpr std::uint32_t default_alignment = 32;
  static constexpr std::uint32_t max_dims = 4;           // GGML_MAX_DIMS
  static constexpr int max_array_depth = 8;              // nested arrays deeper than this are refused

  static GgufFile open(const std::filesystem::path& path) { return GgufFile(MappedFile::open(path)); }
  /// Parses bytes in memory (used in place; `owner` keeps them alive, null if they outlive it).
  static GgufFile from_bytes(std::span<const std::uint8_t> bytes, std::shared_ptr<const void> owner = nullptr,
                             std::string name = "<memory>") {
    return GgufFile(MappedFile::borrow(bytes, std::move(owner), std::move(name)));
  }
  explicit GgufFile(std::shared_ptr<const MappedFile> file) : file_(std::move(file)) { parse(); }

  std::uint32_t version() const { return version_; }
  /// Metadata in file order.
  const std::vector<GgufKV>& metadata() const { return kvs_; }
  /// The value of `key`, or nullptr.
  const GgufValue* find(std::string_view key) const {
    auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
  }
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  /// The value of `key` as T, which must be its stored type; throws naming the key otherwise.
  template <class T>
  const T& get(std::string_view key) const {
    const GgufValue* v = find(key);
    check(v != nullptr, file_->name(), ": GGUF has no metadata key '", key, "'");
    const T* p = std::get_if<T>(v);
    check(p != nullptr, file_->name(), ": GGUF metadata '", key, "' is ", gguf_value_type_name(gguf_type_of(*v)),
          ", not ", gguf_value_type_name(GgufValueType(GgufValue(std::in_place_type<T>).index())));
    return *p;
  }
  /// An integer value of any integer type, widened; nullopt when absent or not an integer.
  std::optional<std::int64_t> get_int(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    return std::visit(
        [](const auto& x) -> std::optional<std::int64_t> {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
            if constexpr (std::is_same_v<T, std::uint64_t>)
              if (x > std::uint64_t(INT64_MAX)) return std::nullopt;
            return std::int64_t(x);
          } else {
            return std::nullopt;
          }
        },
        *v);
  }

  std::uint32_t alignment() const { return alignment_; }
  /// Absolute offset of the data section (may lie past the end of a file with no tensors).
  std::uint64_t data_offset() const { return data_offset_; }
  /// Tensors in the order of the tensor-info table.
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
  }
  const GgufTensor& tensor(std::string_view name) const {
    const auto* t = find_tensor(name);
    check(t != nullptr, file_->name(), ": GGUF has no tensor named '", name, "' (it has ", tensors_.size(),
          " tensors)");
    return *t;
  }
  /// Keeps the mapping alive: pass it as the `owner` of layers that use tensors in place.
  std::shared_ptr<const void> owner() const { return file_; }
  const MappedFile& file() const { return *file_; }
  const std::string& name() const { return file_->name(); }

 private:
  void parse() {
    const auto bytes = file_->bytes();
    const std::string& src = file_->name();
    detail::GgufCursor c(bytes, src);
    check(bytes.size() >= 4, src, ": not a GGUF file: ", bytes.size(), " bytes, too short for the magic (byte 0)");
    if (std::memcmp(bytes.data(), "GGUF", 4) != 0) {
      std::string got;
      for (int i = 0; i < 4; ++i) {
        const char ch = char(bytes[std::size_t(i)]);
        got += (ch >= 32 && ch < 127) ? ch : '?';
      }
      fail(src, ": not a GGUF file: magic is '", got, "', expected 'GGUF' (byte 0)");
    }
    c.take(4);
    version_ = c.read<std::uint32_t>("", "version");
    if (version_ != 1 && version_ != 2 && version_ != 3) {
      if ((version_ & 0xFFFFu) == 0 && (version_ >> 24) >= 1 && (version_ >> 24) <= 3)
        c.error_at(4, "version: ", version_, " is a big-endian GGUF file, which qlinear does not read");
      c.error_at(4, "version: ", version_, " is not 1, 2 or 3");
    }
    c.set_wide(version_ >= 2);
    const std::uint64_t n_tensors = c.read_size("", "tensor count");
    const std::uint64_t n_kv = c.read_size("", "metadata count");
    // Each metadata entry takes at least 13 bytes, each tensor info at least 20: a count the
    // file cannot hold is refused before anything is allocated for it.
    if (n_kv > c.left() / (version_ >= 2 ? 13 : 9)) c.error_at(version_ >= 2 ? 16 : 12, "metadata count: ", n_kv, " entries cannot fit in the ", c.left(), " bytes left");

    for (std::uint64_t i = 0; i < n_kv; ++i) {
      const std::uint64_t at = c.pos();
      std::string key = c.read_string("metadata key", "length");
      if (kv_index_.count(key)) c.error_at(at, "metadata key '", key, "' appears twice");
      const std::uint64_t type_at = c.pos();
      const auto type = c.read<std::uint32_t>(key, "value type");
      if (type > 12) c.error_at(type_at, "metadata '", key, "' value type: ", type, " is not a GGUF type (0-12)");
      GgufValue value = read_value(c, GgufValueType(type), key, 0);
      kv_index_.emplace(key, kvs_.size());
      kvs_.push_back({std::move(key), std::move(value), at});
    }

    if (const auto it = kv_index_.find(std::string_view("general.alignment")); it != kv_index_.end()) {
      const auto& kv = kvs_[it->second];
      const auto* a = std::get_if<std::uint32_t>(&kv.value);
      if (!a) c.error_at(kv.offset, "metadata 'general.alignment' is ", gguf_value_type_name(gguf_type_of(kv.value)), ", not u32");
      if (*a == 0 || (*a & (*a - 1)) != 0) c.error_at(kv.offset, "metadata 'general.alignment': ", *a, " is not a power of two");
      alignment_ = *a;
    }

    if (n_tensors > c.left() / 20) c.error_at(8, "tensor count: ", n_tensors, " tensors cannot fit in the ", c.left(), " bytes left");
    struct Pending {
      std::uint64_t offset_field_at;
      std::uint64_t size;
    };
    std::vector<Pending> pending;
    for (std::uint64_t i = 0; i < n_tensors; ++i) {
      GgufTensor t;
      t.info_offset = c.pos();
      t.name = c.read_string("tensor name", "length");
      if (tensor_index_.count(t.name)) c.error_at(t.info_offset, "tensor '", t.name, "' appears twice");
      const std::string ctx = "tensor '" + t.name + "'";
      const std::uint64_t dims_at = c.pos();
      const auto n_dims = c.read<std::uint32_t>(ctx, "n_dims");
      if (n_dims > max_dims) c.error_at(dims_at, ctx, " n_dims: ", n_dims, " is more than ggml's ", max_dims);
      std::uint64_t numel = 1;
      for (std::uint32_t d = 0; d < n_dims; ++d) {
        const std::uint64_t at = c.pos();
        const std::uint64_t dim = c.read_size(ctx, "dim");
        if (dim > std::uint64_t(INT64_MAX)) c.error_at(at, ctx, " dim ", d, ": ", dim, " exceeds ggml's int64 range");
        if (numel != 0 && dim > std::uint64_t(INT64_MAX) / numel)
          c.error_at(at, ctx, " dim ", d, ": ", dim, " makes the element count overflow int64");
        numel *= dim;
        t.dims.push_back(dim);
      }
      const std::uint64_t type_at = c.pos();
      t.type = c.read<std::uint32_t>(ctx, "type");
      const GgmlTypeInfo* info = ggml_type_info(t.type);
      if (!info) c.error_at(type_at, ctx, " type: ", t.type, " is not a ggml type");
      if (numel % info->block_elems != 0)
        c.error_at(type_at, ctx, " type ", info->name, ": ", numel, " elements are not a whole number of ",
                   info->block_elems, "-element blocks");
      const std::uint64_t offset_at = c.pos();
      t.offset = c.read<std::uint64_t>(ctx, "offset");
      if (t.offset % alignment_ != 0)
        c.error_at(offset_at, ctx, " offset: ", t.offset, " is not a multiple of the alignment ", alignment_);
      pending.push_back({offset_at, numel / info->block_elems * info->block_bytes});  // ≤ 8·numel: no overflow
      tensor_index_.emplace(t.name, tensors_.size());
      tensors_.push_back(std::move(t));
    }

    // The data section starts at the end of the tensor infos, rounded up to the alignment.
    // A file without tensors may end before that point (vocab-only files do).
    const std::uint64_t end_of_infos = c.pos();
    data_offset_ = (end_of_infos + alignment_ - 1) / alignment_ * alignment_;
    if (tensors_.empty()) return;
    if (data_offset_ > bytes.size())
      c.error_at(end_of_infos, "data section: starts at byte ", data_offset_, ", past the end of the ",
                 bytes.size(), "-byte file");
    const std::uint64_t data_size = bytes.size() - data_offset_;
    std::vector<std::size_t> order(tensors_.size());
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      auto& t = tensors_[i];
      const auto& p = pending[i];
      if (t.offset > data_size || p.size > data_size - t.offset)
        c.error_at(p.offset_field_at, "tensor '", t.name, "' offset: ", t.offset, " + ", p.size, " bytes of ",
                   t.type_name(), " run past the end of the tensor data (", data_size, " bytes from byte ", data_offset_,
                   ")");
      t.file_offset = data_offset_ + t.offset;
      t.bytes = bytes.subspan(std::size_t(t.file_offset), std::size_t(p.size));
      order[i] = i;
    }
    // No two tensors share bytes.
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return tensors_[a].offset < tensors_[b].offset; });
    for (std::size_t i = 1; i < order.size(); ++i) {
      const auto& prev = tensors_[order[i - 1]];
      const auto& t = tensors_[order[i]];
      if (!t.bytes.empty() && prev.offset + prev.bytes.size() > t.offset)
        c.error_at(pending[order[i]].offset_field_at, "tensor '", t.name, "' offset: ", t.offset, " overlaps tensor '",
                   prev.name, "' (", prev.offset, " + ", prev.bytes.size(), " bytes)");
    }
  }

  GgufValue read_value(detail::GgufCursor& c, GgufValueType type, std::string_view key, int depth) {
    switch (type) {
      case GgufValueType::u8: return c.read<std::uint8_t>(key, "value");
      case GgufValueType::i8: return c.read<std::int8_t>(key, "value");
      case GgufValueType::u16: return c.read<std::uint16_t>(key, "value");
      case GgufValueType::i16: return c.read<std::int16_t>(key, "value");
      case GgufValueType::u32: return c.read<std::uint32_t>(key, "value");
      case GgufValueType::i32: return c.read<std::int32_t>(key, "value");
      case GgufValueType::f32: return c.read<float>(key, "value");
      case GgufValueType::u64: return c.read<std::uint64_t>(key, "value");
      case GgufValueType::i64: return c.read<std::int64_t>(key, "value");
      case GgufValueType::f64: return c.read<double>(key, "value");
      case GgufValueType::boolean: {
        const std::uint64_t at = c.pos();
        const auto b = c.read<std::uint8_t>(key, "value");
        if (b > 1) c.error_at(at, "metadata '", key, "' bool value: ", unsigned(b), " is not 0 or 1");
        return b != 0;
      }
      case GgufValueType::string: return c.read_string(key, "string length");
      case GgufValueType::array: return read_array(c, key, depth);
    }
    c.error_at(c.pos(), "metadata '", key, "': value type ", std::uint32_t(type), " is not a GGUF type");
  }

  GgufArray read_array(detail::GgufCursor& c, std::string_view key, int depth) {
    const std::uint64_t at = c.pos();
    if (depth >= max_array_depth) c.error_at(at, "metadata '", key, "': arrays nested deeper than ", max_array_depth);
    const auto type = c.read<std::uint32_t>(key, "array element type");
    if (type > 12) c.error_at(at, "metadata '", key, "' array element type: ", type, " is not a GGUF type (0-12)");
    GgufArray a;
    a.type = GgufValueType(type);
    const std::uint64_t count_at = c.pos();
    const std::uint64_t n = c.read_size(key, "array count");
    const std::size_t es = detail::gguf_scalar_size(a.type);
    // The smallest element: its fixed size, a string's length field, an array's type + count.
    const std::uint64_t min_elem = es ? es : a.type == GgufValueType::string ? (version_ >= 2 ? 8 : 4) : (version_ >= 2 ? 12 : 8);
    if (n > c.left() / min_elem)
      c.error_at(count_at, "metadata '", key, "' array count: ", n, " elements of ", gguf_value_type_name(a.type),
                 " cannot fit in the ", c.left(), " bytes left");
    if (es) {
      const std::uint64_t data_at = c.pos();
      const auto raw = c.take(n * es);
      a.raw.assign(raw.begin(), raw.end());
      if (a.type == GgufValueType::boolean)
        for (std::size_t i = 0; i < a.raw.size(); ++i)
          if (a.raw[i] > 1) c.error_at(data_at + i, "metadata '", key, "' bool element ", i, ": ", unsigned(a.raw[i]), " is not 0 or 1");
    } else if (a.type == GgufValueType::string) {
      a.strings.reserve(std::size_t(n));
      for (std::uint64_t i = 0; i < n; ++i) a.strings.push_back(c.read_string(key, "array string length"));
    } else {
      a.arrays.reserve(std::size_t(n));
      for (std::uint64_t i = 0; i < n; ++i) a.arrays.push_back(read_array(c, key, depth + 1));
    }
    return a;
  }

  std::shared_ptr<const MappedFile> file_;
  std::uint32_t version_ = 0;
  std::uint32_t alignment_ = default_alignment;
  std::uint64_t data_offset_ = 0;
  std::vector<GgufKV> kvs_;
  std::map<std::string, std::size_t, std::less<>> kv_index_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, std::size_t, std::less<>> tensor_index_;
};

/// The tensor's values as floats, row-major (ne0 fastest): dequantized for the quantized
/// types qlinear implements, converted for F32/F16/BF16/F64 and the integer types. Tensors
/// whose blocks straddle rows are decoded as one flat run. Throws for types qlinear lacks.
/// Usage: `std::vector<float> w = io::dequantize(file.tensor("output_norm.weight"));`
inline std::vector<float> dequantize(const GgufTensor& t) {
  const std::uint64_t n = t.numel();
  check(n <= SIZE_MAX / sizeof(float), "GGUF tensor '", t.name, "': ", n, " elements do not fit in memory");
  std::vector<float> out(static_cast<std::size_t>(n));
  if (n == 0) return out;
  auto convert = [&]<class T>(std::type_identity<T>) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      T v;
      std::memcpy(&v, t.bytes.data() + i * sizeof(T), sizeof(T));
      out[i] = float(v);
    }
  };
  switch (t.type) {
    case 24: convert(std::type_identity<std::int8_t>{}); return out;
    case 25: convert(std::type_identity<std::int16_t>{}); return out;
    case 26: convert(std::type_identity<std::int32_t>{}); return out;
    case 27: convert(std::type_identity<std::int64_t>{}); return out;
    case 28: convert(std::type_identity<double>{}); return out;
    default: break;
  }
  check(t.type < 1000 && scheme_known(t.scheme()), "GGUF tensor '", t.name, "' is ", t.type_name(),
        ", which qlinear cannot dequantize");
  if (t.rows_whole())
    dequantize_rows(t.scheme(), t.bytes, std::size_t(t.rows()), std::size_t(t.cols()), out.data());
  else
    dequantize_rows(t.scheme(), t.bytes, 1, out.size(), out.data());
  return out;
}

/// Builds a GGUF file (v3 by default, or v2): metadata of every type in insertion order, and
/// tensors of any ggml type, each aligned to general.alignment (32 unless set).
/// Usage:
///   io::GgufWriter w;
///   w.set("general.architecture", std::string("llama"));
///   w.add_tensor("blk.0.attn_q.weight", io::gguf_tensor_type(SchemeId::q4_K), {in, out}, bytes);
///   w.write("out.gguf");
class GgufWriter {
 public:
  explicit GgufWriter(std::uint32_t version = 3) : version_(version) {
    check(version == 2 || version == 3, "GgufWriter writes GGUF v2 or v3, not v", version);
  }

  /// Sets `key` (replacing an earlier value in place, so the order stays the first one's).
  void set(std::string key, GgufValue value) {
    if (key == "general.alignment") {
      const auto* a = std::get_if<std::uint32_t>(&value);
      check(a && *a != 0 && (*a & (*a - 1)) == 0, "GGUF general.alignment must be a u32 power of two");
      alignment_ = *a;
    }
    for (auto& kv : kvs_)
      if (kv.key == key) {
        kv.value = std::move(value);
        return;
      }
    kvs_.push_back({std::move(key), std::move(value), 0});
  }
  /// Removes `key` if present.
  void remove(std::string_view key) {
    if (key == "general.alignment") alignment_ = GgufFile::default_alignment;
    std::erase_if(kvs_, [&](const GgufKV& kv) { return kv.key == key; });
  }
  void set_alignment(std::uint32_t a) { set("general.alignment", a); }
  std::uint32_t alignment() const { return alignment_; }

  /// Adds a tensor whose bytes are copied now. `dims` in ggml order (row length first).
  void add_tensor(std::string name, std::uint32_t type, std::vector<std::uint64_t> dims,
                  std::span<const std::uint8_t> bytes) {
    auto copy = std::make_shared<std::vector<std::uint8_t>>(bytes.begin(), bytes.end());
    const std::span<const std::uint8_t> view(*copy);
    add_tensor_borrowed(std::move(name), type, std::move(dims), view, std::move(copy));
  }
  /// Adds a tensor whose bytes are read at write time; `owner` keeps them alive (null: the
  /// caller does until the last write). The bytes are checked against the type and dims.
  void add_tensor_borrowed(std::string name, std::uint32_t type, std::vector<std::uint64_t> dims,
                           std::span<const std::uint8_t> bytes, std::shared_ptr<const void> owner) {
    const auto* info = ggml_type_info(type);
    check(info != nullptr, "GGUF tensor '", name, "': ", type, " is not a ggml type");
    check(dims.size() <= GgufFile::max_dims, "GGUF tensor '", name, "': ", dims.size(), " dims, ggml allows ",
          GgufFile::max_dims);
    for (const auto& t : tensors_) check(t.name != name, "GGUF tensor '", name, "' added twice");
    std::uint64_t numel = 1;
    for (auto d : dims) numel = detail::checked_mul(numel, d, "GGUF tensor element count");
    check(numel % info->block_elems == 0, "GGUF tensor '", name, "': ", numel, " elements of ", info->name,
          " are not a whole number of ", info->block_elems, "-element blocks");
    const std::uint64_t need = numel / info->block_elems * info->block_bytes;
    check(bytes.size() == need, "GGUF tensor '", name, "' (", info->name, "): ", bytes.size(), " bytes given, ",
          need, " needed");
    tensors_.push_back({std::move(name), type, std::move(dims), bytes, std::move(owner)});
  }
  std::size_t num_tensors() const { return tensors_.size(); }

  /// The whole file in memory.
  std::vector<std::uint8_t> to_bytes() const {
    std::vector<std::uint8_t> out = header();
    for (const auto& t : tensors_) {
      out.insert(out.end(), t.bytes.begin(), t.bytes.end());
      out.resize(align(out.size()), 0);
    }
    return out;
  }
  /// Writes the file; tensor bytes are streamed from where they are.
  void write(const std::filesystem::path& path) const {
    const auto head = header();
    auto out = detail::open_for_writing(path);
    detail::write_all(out, head, path.string());
    const std::vector<std::uint8_t> zeros(alignment_, 0);
    for (const auto& t : tensors_) {
      detail::write_all(out, t.bytes, path.string());
      detail::write_all(out, std::span(zeros).first(std::size_t(align(t.bytes.size()) - t.bytes.size())), path.string());
    }
    out.close();
    check(bool(out), path.string(), ": write failed");
  }

 private:
  struct Pending {
    std::string name;
    std::uint32_t type;
    std::vector<std::uint64_t> dims;
    std::span<const std::uint8_t> bytes;
    std::shared_ptr<const void> owner;
  };

  std::uint64_t align(std::uint64_t n) const { return (n + alignment_ - 1) / alignment_ * alignment_; }

  template <class T>
  static void put(std::vector<std::uint8_t>& out, T v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
  }
  static void put_string(std::vector<std::uint8_t>& out, std::string_view s) {
    put<std::uint64_t>(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
  }
  static void put_array(std::vector<std::uint8_t>& out, const GgufArray& a) {
    put<std::uint32_t>(out, std::uint32_t(a.type));
    put<std::uint64_t>(out, a.size());
    if (a.type == GgufValueType::string) {
      for (const auto& s : a.strings) put_string(out, s);
    } else if (a.type == GgufValueType::array) {
      for (const auto& x : a.arrays) put_array(out, x);
    } else {
      check(a.raw.size() % detail::gguf_scalar_size(a.type) == 0, "GGUF array of ", gguf_value_type_name(a.type),
            " holds ", a.raw.size(), " bytes, not a whole number of elements");
      out.insert(out.end(), a.raw.begin(), a.raw.end());
    }
  }
  static void put_value(std::vector<std::uint8_t>& out, const GgufValue& v) {
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::string>) put_string(out, x);
          else if constexpr (std::is_same_v<T, GgufArray>) put_array(out, x);
          else if constexpr (std::is_same_v<T, bool>) put<std::uint8_t>(out, x ? 1 : 0);
          else put<T>(out, x);
        },
        v);
  }

  std::vector<std::uint8_t> header() const {
    std::vector<std::uint8_t> out = {'G', 'G', 'U', 'F'};
    put<std::uint32_t>(out, version_);
    put<std::uint64_t>(out, tensors_.size());
    put<std::uint64_t>(out, kvs_.size());
    for (const auto& kv : kvs_) {
      put_string(out, kv.key);
      put<std::uint32_t>(out, std::uint32_t(kv.value.index()));
      put_value(out, kv.value);
    }
    std::uint64_t offset = 0;
    for (const auto& t : tensors_) {
      put_string(out, t.name);
      put<std::uint32_t>(out, std::uint32_t(t.dims.size()));
      for (auto d : t.dims) put<std::uint64_t>(out, d);
      put<std::uint32_t>(out, t.type);
      put<std::uint64_t>(out, offset);
      offset += align(t.bytes.size());
    }
    out.resize(align(out.size()), 0);
    return out;
  }

  std::uint32_t version_;
  std::uint32_t alignment_ = GgufFile::default_alignment;
  std::vector<GgufKV> kvs_;
  std::vector<Pending> tensors_;
};

/// The ggml type id of a scheme qlinear can write to GGUF (the GGUF formats and F32/F16/BF16);
/// throws for qlinear's own schemes (int8, int4, NF4), which GGUF has no type for.
inline std::uint32_t gguf_tensor_type(SchemeId id) {
  check(std::uint32_t(id) < 1000 && ggml_type_info(std::uint32_t(id)) != nullptr, "scheme ", scheme_name(id),
        " is not a GGUF type (GGUF holds ggml types only; store qlinear's own schemes in safetensors)");
  return std::uint32_t(id);
}

}  // namespace qlinear::io
