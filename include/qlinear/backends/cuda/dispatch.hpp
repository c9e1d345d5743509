#pragma once
// The host-side orchestration of the CUDA products, host-compilable: which kernels run, in how
// many launches, over which rows and scratch buffers. It is written against a Launcher policy,
// so cuda::Backend runs it with kernel launches and the CPU tests with the kernels' bodies
// over an emulated grid. A Launcher provides:
//   gemv<S, MR>(Launch, GemvArgs), convert(Launch, ConvertArgs), mma<S>(Launch, MmaArgs),
//   transposed<S>(Launch, TransposedArgs), weight_exponents<S>(Launch, TensorRef, int* out),
//   x16_scratch(halves) → std::uint16_t*, exp_scratch(count) → int* (its memory space).

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "qlinear/backends/backend.hpp"
#include "qlinear/backends/cuda/launch.hpp"
#include "qlinear/backends/cuda/prepare.hpp"
#include "qlinear/core/matrix_view.hpp"

namespace qlinear::cuda {

/// Whether rows of a float view can be read as float4 (16-byte aligned rows).
inline bool rows_16_byte_aligned(const float* data, std::size_t stride) {
  return reinterpret_cast<std::uintptr_t>(data) % 16 == 0 && stride % 4 == 0;
}

/// Throws unless the memory of views a and b is disjoint (the kernels read one while writing the other).
inline void check_disjoint(std::string_view who, ConstMatrixView<float> a, ConstMatrixView<float> b) {
  if (a.rows == 0 || b.rows == 0) return;
  const auto begin = [](ConstMatrixView<float> v) { return reinterpret_cast<std::uintptr_t>(v.data); };
  const auto end = [&](ConstMatrixView<float> v) {
    return begin(v) + ((v.rows - 1) * v.stride + v.cols) * sizeof(float);
  };
  check(end(a) <= begin(b) || end(b) <= begin(a), who, ": the input and output views overlap");
}

/// y = x · Wᵀ (+ bias) (+ y) over the device layout w.
template <Scheme S, class Launcher>
void run_gemm(Launcher& launcher, const TensorRef& w, ConstMatrixView<float> x, MatrixView<float> y,
              const Epilogue& e, const GemmOptions& options) {
  const std::size_t m = x.rows;
  if (m == 0) return;
  if (choose_kernel(m, options) == Kernel::gemv) {
    const bool x_vec = rows_16_byte_aligned(x.data, x.stride);
    for (std::size_t i0 = 0; i0 < m;) {
      const std::size_t rows = std::min<std::size_t>(4, m - i0);
      GemvArgs a;
      a.w = w;
      a.x = x.row(i0);
      a.x_stride = x.stride;
      a.x_vec = x_vec;
      a.y = y.row(i0);
      a.y_stride = y.stride;
      a.m = int(rows);
      a.bias = e.bias;
      a.accumulate = e.accumulate;
      if (gemv_rows_per_launch(rows) == 1)
        launcher.template gemv<S, 1>(gemv_launch<S, 1>(w.rows, i0, rows), a);
      else
        launcher.template gemv<S, 4>(gemv_launch<S, 4>(w.rows, i0, rows), a);
      i0 += rows;
    }
    return;
  }
  const std::size_t stride = MmaTile::x16_stride(w.cols);
  std::uint16_t* x16 = launcher.x16_scratch(m * stride);
  int* x_exp = launcher.exp_scratch(m);
  ConvertArgs c;
  c.x = x.data;
  c.x_stride = x.stride;
  c.rows = m;
  c.cols = w.cols;
  c.x16 = x16;
  c.x16_stride = stride;
  c.x_exp = x_exp;
  launcher.convert(convert_launch(m), c);
  for (std::size_t i = 0, count = mma_launch_count(m); i < count; ++i) {
    const Launch l = mma_launch(m, w.rows, i);
    MmaArgs a;
    a.w = w;
    a.x16 = x16 + l.row_begin * stride;
    a.x16_stride = stride;
    a.x_exp = x_exp + l.row_begin;
    a.m = l.row_count;
    a.y = y.row(l.row_begin);
    a.y_stride = y.stride;
    a.bias = e.bias;
    a.accumulate = e.accumulate;
    launcher.template mma<S>(l, a);
  }
}

/// dx (+)= dy · W over the device layout w.
template <Scheme S, class Launcher>
void run_gemm_transposed(Launcher& launcher, const TensorRef& w, ConstMatrixView<float> dy, MatrixView<float> dx,
                         bool accumulate) {
  const std::size_t m = dy.rows;
  for (std::size_t i = 0, count = transposed_launch_count<S>(m); i < count; ++i) {
    const Launch l = transposed_launch<S>(m, w.chunks, i);
    TransposedArgs a;
    a.w = w;
    a.dy = dy.row(l.row_begin);
    a.dy_stride = dy.stride;
    a.dx = dx.row(l.row_begin);
    a.dx_stride = dx.stride;
    a.m = l.row_count;
    a.accumulate = accumulate;
    launcher.template transposed<S>(l, a);
  }
}

/// Fills the f16 exponents of every weight row (once, at upload).
template <Scheme S, class Launcher>
void run_weight_exponents(Launcher& launcher, const TensorRef& w, int* exponents) {
  launcher.template weight_exponents<S>(weight_exponent_launch(w.rows), w, exponents);
}

}  // namespace qlinear::cuda
