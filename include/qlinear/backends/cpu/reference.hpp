#pragma once
// cpu::ReferenceBackend: simple and exactly right; the oracle every fast kernel is tested against.

#include <cstddef>
#include <span>
#include <vector>

#include "qlinear/backends/backend.hpp"

namespace qlinear::cpu {

/// Scalar CPU backend: dequantizes one weight row at a time and accumulates in double, so its
/// output equals a float64 dense product over the dequantized weights, rounded once to float.
/// Runs every scheme. Usage: `QuantizedLinear<cpu::ReferenceBackend, Q4_K> layer = ...;`
struct ReferenceBackend {
  static constexpr bool host_memory = true;

  /// No state: the reference runs on the calling thread.
  struct Context {};

  template <Scheme S>
  struct Weights {
    QuantizedTensor<S> tensor;
    std::size_t rows() const { return tensor.rows(); }
    std::size_t cols() const { return tensor.cols(); }
    std::size_t memory_bytes() const { return tensor.memory_bytes(); }
  };

  using Buffer = std::vector<float>;

  static Context& default_context() {
    thread_local Context ctx;
    return ctx;
  }

  template <Scheme S>
  static Weights<S> upload(QuantizedTensor<S> t) {
    return Weights<S>{std::move(t)};
  }
  template <Scheme S>
  static QuantizedTensor<S> download(const Weights<S>& w) {
    return w.tensor;
  }
  static Buffer upload_floats(std::span<const float> v) { return Buffer(v.begin(), v.end()); }
  static const float* data(const Buffer& b) { return b.data(); }
  static void synchronize(Context&) {}

  template <Scheme S>
  static void gemm(Context&, const Weights<S>& w, ConstMatrixView<float> x, MatrixView<float> y, Epilogue e = {}) {
    const std::size_t n = w.rows(), k = w.cols();
    detail::check_gemm_shapes("ReferenceBackend::gemm", n, k, x, y);
    std::vector<float> wrow(k);
    for (std::size_t j = 0; j < n; ++j) {
      w.tensor.dequantize_row(j, wrow.data());
      for (std::size_t i = 0; i < x.rows; ++i) {
        const float* xi = x.row(i);
        double acc = 0.0;
        for (std::size_t l = 0; l < k; ++l) acc += double(xi[l]) * double(wrow[l]);
        if (e.bias) acc += double(e.bias[j]);
        if (e.accumulate) acc += double(y(i, j));
        y(i, j) = float(acc);
      }
    }
  }

  template <Scheme S>
  static void gemm_transposed(Context&, const Weights<S>& w, ConstMatrixView<float> dy, MatrixView<float> dx,
                              bool accumulate = false) {
    const std::size_t n = w.rows(), k = w.cols();
    detail::check_gemm_transposed_shapes("ReferenceBackend::gemm_transposed", n, k, dy, dx);
    std::vector<double> acc(dx.rows * k, 0.0);
    std::vector<float> wrow(k);
    for (std::size_t j = 0; j < n; ++j) {
      w.tensor.dequantize_row(j, wrow.data());
      for (std::size_t i = 0; i < dy.rows; ++i) {
        const double g = dy(i, j);
        double* a = acc.data() + i * k;
        for (std::size_t l = 0; l < k; ++l) a[l] += g * double(wrow[l]);
      }
    }
    for (std::size_t i = 0; i < dx.rows; ++i)
      for (std::size_t l = 0; l < k; ++l) dx(i, l) = float(acc[i * k + l] + (accumulate ? double(dx(i, l)) : 0.0));
  }
};

}  // namespace qlinear::cpu
