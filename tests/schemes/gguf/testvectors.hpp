#pragma once
// Reader for ggml's reference test vectors (../shared/testvectors/ggml/README.md): QTV1
// quantize/dequantize files and QTD1 dot-product files. Any malformed or missing file throws
// std::runtime_error naming the file and what was wrong, so a test fails with that message.

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace qlinear::test {

/// One row of a QTV1 file: the input, ggml's bytes for it and ggml's dequantization of them.
struct QtvRow {
  std::uint32_t len = 0, kind = 0;
  float scale = 0;
  std::vector<float> input;
  std::vector<std::uint8_t> bytes;
  std::vector<float> dequant;
};

/// A whole QTV1 file (`<type>.bin`).
struct QtvFile {
  std::string name;
  std::uint32_t ggml_type = 0, block_size = 0, type_size = 0;
  std::vector<QtvRow> rows;
};

/// One pair of a QTD1 file: a weight row, an activation row, their bytes and ggml's dots.
struct QtdPair {
  std::uint32_t len = 0, w_kind = 0, a_kind = 0;
  float w_scale = 0;
  std::vector<float> w_input, a_input;
  std::vector<std::uint8_t> w_bytes, a_bytes;
  float dot_simd = 0, dot_generic = 0;
  double dot_exact = 0;
};

/// A whole QTD1 file (`<w>_x_<a>.dot.bin`).
struct QtdFile {
  std::string wname, aname;
  std::uint32_t w_type = 0, a_type = 0;
  std::vector<QtdPair> pairs;
};

/// The folder holding the vectors; throws if it is missing (never a silent skip).
inline std::filesystem::path ggml_vectors_dir() {
  const auto dir = shared_dir() / "testvectors" / "ggml";
  if (!std::filesystem::is_directory(dir))
    throw std::runtime_error("ggml test vectors folder missing: " + dir.string() +
                             " (configure with -DQLINEAR_SHARED_DIR=<folder holding testvectors/>)");
  return dir;
}

namespace detail {
class ByteReader {
 public:
  explicit ByteReader(const std::filesystem::path& path) : path_(path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open test vector file " + path.string());
    data_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  void need(std::size_t n) const {
    if (data_.size() - pos_ < n)
      throw std::runtime_error(path_.string() + ": truncated at byte " + std::to_string(pos_) + " (need " +
                               std::to_string(n) + " more)");
  }
  template <class T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  template <class T>
  std::vector<T> array(std::size_t n) {
    need(n * sizeof(T));
    std::vector<T> v(n);
    if (n) std::memcpy(v.data(), data_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return v;
  }
  std::string str() {
    const auto n = get<std::uint32_t>();
    auto c = array<char>(n);
    return std::string(c.begin(), c.end());
  }
  void magic(const char* m) {
    auto c = array<char>(4);
    if (std::string(c.begin(), c.end()) != m)
      throw std::runtime_error(path_.string() + ": bad magic, expected " + m);
  }
  bool at_end() const { return pos_ == data_.size(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::vector<char> data_;
  std::size_t pos_ = 0;
};
}  // namespace detail

/// Reads `<type>.bin` from the vectors folder.
inline QtvFile read_qtv(const std::string& type_name) {
  detail::ByteReader r(ggml_vectors_dir() / (type_name + ".bin"));
  r.magic("QTV1");
  QtvFile f;
  f.name = r.str();
  f.ggml_type = r.get<std::uint32_t>();
  f.block_size = r.get<std::uint32_t>();
  f.type_size = r.get<std::uint32_t>();
  const auto n_rows = r.get<std::uint32_t>();
  for (std::uint32_t i = 0; i < n_rows; ++i) {
    QtvRow row;
    row.len = r.get<std::uint32_t>();
    row.kind = r.get<std::uint32_t>();
    row.scale = r.get<float>();
    row.input = r.array<float>(row.len);
    const auto nbytes = r.get<std::uint32_t>();
    if (f.block_size == 0 || nbytes != row.len / f.block_size * f.type_size)
      throw std::runtime_error(r.path().string() + ": row " + std::to_string(i) + " has an inconsistent byte count");
    row.bytes = r.array<std::uint8_t>(nbytes);
    row.dequant = r.array<float>(row.len);
    f.rows.push_back(std::move(row));
  }
  if (!r.at_end()) throw std::runtime_error(r.path().string() + ": trailing bytes after the last row");
  return f;
}

/// Reads `<wtype>_x_<atype>.dot.bin` from the vectors folder.
inline QtdFile read_qtd(const std::string& wname, const std::string& aname) {
  detail::ByteReader r(ggml_vectors_dir() / (wname + "_x_" + aname + ".dot.bin"));
  r.magic("QTD1");
  QtdFile f;
  f.wname = r.str();
  f.w_type = r.get<std::uint32_t>();
  f.aname = r.str();
  f.a_type = r.get<std::uint32_t>();
  const auto n = r.get<std::uint32_t>();
  for (std::uint32_t i = 0; i < n; ++i) {
    QtdPair p;
    p.len = r.get<std::uint32_t>();
    p.w_kind = r.get<std::uint32_t>();
    p.w_scale = r.get<float>();
    p.a_kind = r.get<std::uint32_t>();
    p.w_input = r.array<float>(p.len);
    p.w_bytes = r.array<std::uint8_t>(r.get<std::uint32_t>());
    p.a_input = r.array<float>(p.len);
    p.a_bytes = r.array<std::uint8_t>(r.get<std::uint32_t>());
    p.dot_simd = r.get<float>();
    p.dot_generic = r.get<float>();
    p.dot_exact = r.get<double>();
    f.pairs.push_back(std::move(p));
  }
  if (!r.at_end()) throw std::runtime_error(r.path().string() + ": trailing bytes after the last pair");
  return f;
}

}  // namespace qlinear::test
