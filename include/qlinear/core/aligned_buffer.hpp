#pragma once
// A heap buffer with cache-line (64-byte) alignment, for weights and scratch.

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

namespace qlinear {

/// Owning, 64-byte aligned, zero-initialised array of trivially copyable T.
/// Usage: `AlignedBuffer<std::uint8_t> bytes(n); std::memcpy(bytes.data(), src, n);`
template <class T>
class AlignedBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "AlignedBuffer holds trivially copyable elements only");

 public:
  static constexpr std::size_t alignment = 64;

  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t n) : size_(n) {
    if (n == 0) return;
    data_.reset(static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{alignment})));
    std::memset(static_cast<void*>(data_.get()), 0, n * sizeof(T));
  }
  AlignedBuffer(const AlignedBuffer& o) : AlignedBuffer(o.size_) {
    if (size_) std::memcpy(static_cast<void*>(data_.get()), o.data_.get(), size_ * sizeof(T));
  }
  AlignedBuffer& operator=(const AlignedBuffer& o) {
    if (this != &o) *this = AlignedBuffer(o);
    return *this;
  }
  AlignedBuffer(AlignedBuffer&&) noexcept = default;
  AlignedBuffer& operator=(AlignedBuffer&&) noexcept = default;

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }

 private:
  struct Free {
    void operator()(T* p) const { ::operator delete(static_cast<void*>(p), std::align_val_t{alignment}); }
  };
  std::unique_ptr<T[], Free> data_;
  std::size_t size_ = 0;
};

}  // namespace qlinear
