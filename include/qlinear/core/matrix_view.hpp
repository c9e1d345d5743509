#pragma once
// Non-owning row-major matrix views: activations and outputs cross the API as views, never copies.

#include <cstddef>
#include <type_traits>

#include "qlinear/core/error.hpp"

namespace qlinear {

/// A row-major matrix the library does not own: `rows` × `cols`, rows `stride` elements apart
/// (stride >= cols, so a view can be a column slice of a wider matrix).
/// The pointer lives in the memory space of the backend it is handed to.
/// Usage: `MatrixView<float> y{out.data(), M, N};`
template <class T>
struct MatrixView {
  T* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t stride = 0;

  constexpr MatrixView() = default;
  constexpr MatrixView(T* d, std::size_t r, std::size_t c) : data(d), rows(r), cols(c), stride(c) {}
  constexpr MatrixView(T* d, std::size_t r, std::size_t c, std::size_t s) : data(d), rows(r), cols(c), stride(s) {
    check(s >= c, "MatrixView: stride ", s, " is smaller than the column count ", c);
  }
  /// A const view of mutable data converts implicitly.
  template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
  constexpr MatrixView(const MatrixView<U>& o) : data(o.data), rows(o.rows), cols(o.cols), stride(o.stride) {}

  constexpr T* row(std::size_t r) const { return data + r * stride; }
  constexpr T& operator()(std::size_t r, std::size_t c) const { return data[r * stride + c]; }
  /// Columns [first, first + count) of every row, as a view into the same memory.
  constexpr MatrixView col_slice(std::size_t first, std::size_t count) const {
    check(first + count <= cols, "MatrixView::col_slice: columns [", first, ", ", first + count,
          ") exceed the ", cols, " columns of the view");
    return MatrixView(data + first, rows, count, stride);
  }
  /// Rows [first, first + count), as a view into the same memory.
  constexpr MatrixView row_slice(std::size_t first, std::size_t count) const {
    check(first + count <= rows, "MatrixView::row_slice: rows [", first, ", ", first + count,
          ") exceed the ", rows, " rows of the view");
    return MatrixView(data + first * stride, count, cols, stride);
  }
};

template <class T>
using ConstMatrixView = MatrixView<const T>;

}  // namespace qlinear
