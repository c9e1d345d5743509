#pragma once
// MappedFile: the read-only bytes of a file (memory-mapped on POSIX) or of a buffer, shared by
// every tensor view the readers hand out, so weights are used in place without a copy.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "qlinear/core/error.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define QLINEAR_IO_MMAP 1
#else
#define QLINEAR_IO_MMAP 0
#endif

namespace qlinear::io {

/// Immutable bytes with a name for error messages. Made by `open` (a memory-mapped file; read
/// into memory where mmap is unavailable), `copy_of` (an owned copy of a buffer) or `borrow`
/// (someone else's memory, kept alive by an optional owner). Readers hold it through a
/// shared_ptr, and that shared_ptr is the `owner` layers take to use weights in place.
/// Usage: `auto file = io::MappedFile::open("model.gguf"); std::span<const std::uint8_t> b = file->bytes();`
class MappedFile {
 public:
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
#if QLINEAR_IO_MMAP
    if (mapped_ && size_ > 0) ::munmap(const_cast<std::uint8_t*>(data_), size_);
#endif
  }

  /// Maps `path` read-only. Throws qlinear::Error naming the path and the OS error.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path) {
    std::shared_ptr<MappedFile> f(new MappedFile(path.string()));
#if QLINEAR_IO_MMAP
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path.string(), ": cannot open: ", std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      fail(path.string(), ": cannot stat: ", std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      fail(path.string(), ": not a regular file");
    }
    f->size_ = std::size_t(st.st_size);
    if (f->size_ > 0) {
      void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
      const int e = errno;
      ::close(fd);
      if (p == MAP_FAILED) fail(path.string(), ": cannot map ", f->size_, " bytes: ", std::strerror(e));
      f->data_ = static_cast<const std::uint8_t*>(p);
      f->mapped_ = true;
    } else {
      ::close(fd);
    }
#else
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) fail(path.string(), ": cannot open");
    const auto n = in.tellg();
    in.seekg(0);
    f->storage_.resize(std::size_t(n));
    if (n > 0 && !in.read(reinterpret_cast<char*>(f->storage_.data()), n)) fail(path.string(), ": read failed");
    f->data_ = f->storage_.data();
    f->size_ = f->storage_.size();
#endif
    return f;
  }

  /// An owned copy of `bytes` (for parsing a buffer, as the fuzzers do).
  static std::shared_ptr<const MappedFile> copy_of(std::span<const std::uint8_t> bytes,
                                                   std::string name = "<memory>") {
    std::shared_ptr<MappedFile> f(new MappedFile(std::move(name)));
    f->storage_.assign(bytes.begin(), bytes.end());
    f->data_ = f->storage_.data();
    f->size_ = f->storage_.size();
    return f;
  }

  /// Someone else's bytes, used in place; `owner` (may be null) keeps them alive.
  static std::shared_ptr<const MappedFile> borrow(std::span<const std::uint8_t> bytes,
                                                  std::shared_ptr<const void> owner = nullptr,
                                                  std::string name = "<memory>") {
    std::shared_ptr<MappedFile> f(new MappedFile(std::move(name)));
    f->data_ = bytes.data();
    f->size_ = bytes.size();
    f->owner_ = std::move(owner);
    return f;
  }

  std::span<const std::uint8_t> bytes() const { return {data_, size_}; }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  /// The path (or the name given for a buffer), for messages.
  const std::string& name() const { return name_; }
  /// Whether the bytes are a memory mapping of the file (rather than a copy in memory).
  bool mapped() const { return mapped_; }

 private:
  explicit MappedFile(std::string name) : name_(std::move(name)) {}

  std::string name_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false;
  std::vector<std::uint8_t> storage_;
  std::shared_ptr<const void> owner_;
};

namespace detail {

/// a + b, or an Error naming `what` when it does not fit in 64 bits.
inline std::uint64_t checked_add(std::uint64_t a, std::uint64_t b, const char* what) {
  check(b <= UINT64_MAX - a, what, ": ", a, " + ", b, " overflows 64 bits");
  return a + b;
}
/// a · b, or an Error naming `what` when it does not fit in 64 bits.
inline std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const char* what) {
  check(a == 0 || b <= UINT64_MAX / a, what, ": ", a, " x ", b, " overflows 64 bits");
  return a * b;
}

/// Writes all of `bytes` to `out`, or throws naming `path`.
inline void write_all(std::ofstream& out, std::span<const std::uint8_t> bytes, const std::string& path) {
  if (!bytes.empty()) out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  check(bool(out), path, ": write failed");
}

/// Opens `path` for writing (truncating), or throws naming it.
inline std::ofstream open_for_writing(const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  check(bool(out), path.string(), ": cannot open for writing");
  return out;
}

}  // namespace detail
}  // namespace qlinear::io
