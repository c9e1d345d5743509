#pragma once
// QuantizedTensor<Scheme>: N rows of K weights stored in one scheme, plus its tensor-wide parameters.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "qlinear/core/aligned_buffer.hpp"
#include "qlinear/core/error.hpp"
#include "qlinear/schemes/scheme.hpp"

namespace qlinear {

/// N rows × K columns of weights in scheme S. The bytes are immutable once made and shared
/// between copies; they are either owned (64-byte aligned) or adopted from memory someone
/// else keeps alive (a memory-mapped GGUF file), in which case `owner` holds it.
/// Usage: `auto t = QuantizedTensor<Q4_K>::quantize(w.data(), n, k);`
template <Scheme S>
class QuantizedTensor {
 public:
  using scheme = S;
  using TensorParams = typename S::TensorParams;

  QuantizedTensor() = default;

  /// Quantizes a row-major rows × cols float matrix (rows `stride` floats apart, 0 = cols).
  static QuantizedTensor quantize(const float* w, std::size_t rows, std::size_t cols,
                                  const QuantizeOptions& options = {}, std::size_t stride = 0) {
    check(w != nullptr || rows == 0, S::name, ": quantize got a null weight pointer");
    check(rows > 0, S::name, ": a tensor needs at least one row, got 0");
    if (stride == 0) stride = cols;
    check(stride >= cols, S::name, ": row stride ", stride, " is smaller than the ", cols, " columns");
    const std::size_t rb = qlinear::row_bytes<S>(cols);
    std::vector<float> packed;
    const float* dense = w;
    if (stride != cols) {  // calibrate() sees a packed matrix
      packed.resize(rows * cols);
      for (std::size_t r = 0; r < rows; ++r) std::memcpy(packed.data() + r * cols, w + r * stride, cols * sizeof(float));
      dense = packed.data();
    }
    TensorParams params = S::calibrate(dense, rows, cols, options);
    auto buffer = std::make_shared<AlignedBuffer<std::uint8_t>>(rows * rb);
    for (std::size_t r = 0; r < rows; ++r) S::quantize_row(dense + r * cols, cols, buffer->data() + r * rb, params, r);
    const std::uint8_t* data = buffer->data();
    return QuantizedTensor(rows, cols, data, std::move(buffer), std::move(params));
  }

  /// Adopts bytes laid out as `rows` rows of row_bytes<S>(cols) each, without copying.
  /// `owner` keeps them alive (pass nullptr only if they outlive the tensor).
  static QuantizedTensor adopt(std::span<const std::uint8_t> bytes, std::size_t rows, std::size_t cols,
                               std::shared_ptr<const void> owner, TensorParams params = {}) {
    check(rows > 0, S::name, ": a tensor needs at least one row, got 0");
    const std::size_t rb = qlinear::row_bytes<S>(cols);
    check(rows <= SIZE_MAX / rb, S::name, ": ", rows, " rows of ", rb, " bytes overflow size_t");
    check(bytes.size() == rows * rb, S::name, ": ", rows, " x ", cols, " weights take ", rows * rb,
          " bytes, but ", bytes.size(), " bytes were given");
    validate(params, rows, cols);
    return QuantizedTensor(rows, cols, bytes.data(), std::move(owner), std::move(params));
  }

  /// Copies bytes laid out as `rows` rows of row_bytes<S>(cols) each into an owned buffer.
  static QuantizedTensor copy_of(std::span<const std::uint8_t> bytes, std::size_t rows, std::size_t cols,
                                 TensorParams params = {}) {
    check(rows > 0, S::name, ": a tensor needs at least one row, got 0");
    const std::size_t rb = qlinear::row_bytes<S>(cols);
    check(bytes.size() == rows * rb, S::name, ": ", rows, " x ", cols, " weights take ", rows * rb,
          " bytes, but ", bytes.size(), " bytes were given");
    validate(params, rows, cols);
    auto buffer = std::make_shared<AlignedBuffer<std::uint8_t>>(bytes.size());
    if (!bytes.empty()) std::memcpy(buffer->data(), bytes.data(), bytes.size());
    const std::uint8_t* data = buffer->data();
    return QuantizedTensor(rows, cols, data, std::move(buffer), std::move(params));
  }

  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  std::size_t row_bytes() const { return rows_ ? bytes_size_ / rows_ : 0; }
  std::span<const std::uint8_t> bytes() const { return {data_, bytes_size_}; }
  const std::uint8_t* row(std::size_t r) const { return data_ + r * row_bytes(); }
  const TensorParams& params() const { return params_; }
  bool empty() const { return rows_ == 0; }
  /// Storage of rows and tensor-wide parameters, in bytes.
  std::size_t memory_bytes() const { return bytes_size_ + S::params_bytes(params_); }
  /// Bits per weight, tensor-wide parameters included.
  double bits_per_weight() const { return rows_ ? 8.0 * double(memory_bytes()) / double(rows_ * cols_) : 0.0; }

  /// Row `r` as floats (scalar reference).
  void dequantize_row(std::size_t r, float* out) const {
    check(r < rows_, S::name, ": row ", r, " out of range for a tensor of ", rows_, " rows");
    S::dequantize_row(row(r), cols_, out, params_, r);
  }
  /// The whole tensor as a row-major rows × cols float matrix (scalar reference).
  std::vector<float> dequantize() const {
    std::vector<float> out(rows_ * cols_);
    for (std::size_t r = 0; r < rows_; ++r) S::dequantize_row(row(r), cols_, out.data() + r * cols_, params_, r);
    return out;
  }

 private:
  // Schemes whose parameters are per row (per-channel scales) check their count here.
  static void validate(const TensorParams& params, std::size_t rows, std::size_t cols) {
    if constexpr (requires { S::validate_params(params, rows, cols); }) S::validate_params(params, rows, cols);
  }

  QuantizedTensor(std::size_t rows, std::size_t cols, const std::uint8_t* data, std::shared_ptr<const void> owner,
                  TensorParams params)
      : rows_(rows), cols_(cols), bytes_size_(rows * qlinear::row_bytes<S>(cols)), data_(data),
        owner_(std::move(owner)), params_(std::move(params)) {}

  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
  std::size_t bytes_size_ = 0;
  const std::uint8_t* data_ = nullptr;
  std::shared_ptr<const void> owner_;
  TensorParams params_{};
};

}  // namespace qlinear
