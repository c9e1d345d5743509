#pragma once
// Eigen at the public API: row-major matrix types the layers accept and return.

#include <Eigen/Core>

#include "qlinear/core/matrix_view.hpp"

namespace qlinear {

/// Row-major dynamic float matrix: activations are [M × K], outputs [M × N], weights [N × K].
/// Usage: `RowMatrixXf x = RowMatrixXf::Random(4, 4096);`
using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// A const view of a row-major Eigen matrix (no copy).
inline ConstMatrixView<float> const_view(const Eigen::Ref<const RowMatrixXf>& m) {
  return ConstMatrixView<float>(m.data(), std::size_t(m.rows()), std::size_t(m.cols()), std::size_t(m.outerStride()));
}
/// A mutable view of a row-major Eigen matrix (no copy).
inline MatrixView<float> view(Eigen::Ref<RowMatrixXf> m) {
  return MatrixView<float>(m.data(), std::size_t(m.rows()), std::size_t(m.cols()), std::size_t(m.outerStride()));
}

}  // namespace qlinear
