#pragma once
// The Backend contract: a backend owns weight placement and kernels; layers only hand it work.

#include <concepts>
#include <cstddef>
#include <span>

#include "qlinear/core/matrix_view.hpp"
#include "qlinear/schemes/quantized_tensor.hpp"
#include "qlinear/schemes/scheme.hpp"

namespace qlinear {

/// What a backend does after the main loop of a GEMM (CUTLASS calls it the epilogue):
/// y = (accumulate ? y : 0) + x·Wᵀ + bias. `bias` points into the backend's memory space.
struct Epilogue {
  const float* bias = nullptr;
  bool accumulate = false;
};

/// A backend B runs scheme S when it provides:
///  - `B::Context`: per-caller execution state (thread pool, stream, command queue); one
///    context is used by one thread at a time;
///  - `B::Weights<S>`: the tensor as the backend keeps it (repacked, on a device);
///  - `B::upload(QuantizedTensor<S>)` and `B::download(weights)` (back to GGUF-layout bytes);
///  - `B::gemm(ctx, w, x, y, epilogue)`: y[M×N] = x[M×K]·Wᵀ (+ bias), pointers in the
///    backend's memory space;
///  - `B::gemm_transposed(ctx, w, dy, dx, accumulate)`: dx[M×K] (+)= dy[M×N]·W, the product
///    training needs, over the quantized weights without materialising W;
///  - `Weights<S>::rows()`, `cols()`, `memory_bytes()`: shape and the bytes it occupies;
///  - `B::Buffer` + `B::upload_floats(span)` + `B::data(buffer)`: a float vector (bias) in its memory;
///  - `B::synchronize(ctx)`: waits for queued work;
///  - `B::host_memory`: whether views may point at ordinary host memory. A backend whose memory is
///    not host memory also provides `B::gemm_host(ctx, w, x_host, y_host, epilogue)`, which stages
///    host activations through its memory (the layers' Eigen overloads use it), and, for training,
///    `B::gemm_transposed_host(ctx, w, dy_host, dx_host, accumulate)` likewise (optional: the
///    layers' Eigen backward_input needs it and says so at compile time when it is missing);
///  - optionally `B::supports<S>` (a constexpr bool): the schemes AnyLinear may hold on it.
/// A backend that cannot run S must make `B::Weights<S>` fail to compile with a static_assert.
template <class B, class S>
concept BackendFor =
    Scheme<S> && requires(typename B::Context& ctx, const typename B::template Weights<S>& w, QuantizedTensor<S> t,
                          ConstMatrixView<float> in, MatrixView<float> out, std::span<const float> v,
                          const typename B::Buffer& buffer, Epilogue e) {
      { B::upload(t) } -> std::same_as<typename B::template Weights<S>>;
      { B::download(w) } -> std::same_as<QuantizedTensor<S>>;
      { B::gemm(ctx, w, in, out, e) } -> std::same_as<void>;
      { B::gemm_transposed(ctx, w, in, out, e.accumulate) } -> std::same_as<void>;
      { w.rows() } -> std::convertible_to<std::size_t>;
      { w.cols() } -> std::convertible_to<std::size_t>;
      { w.memory_bytes() } -> std::convertible_to<std::size_t>;
      { B::upload_floats(v) } -> std::same_as<typename B::Buffer>;
      { B::data(buffer) } -> std::same_as<const float*>;
      { B::synchronize(ctx) } -> std::same_as<void>;
      { B::host_memory } -> std::convertible_to<bool>;
    };

/// Whether B stages dx (+)= dy·W through its memory from host dy/dx (device backends, for training).
template <class B, class S>
concept HasGemmTransposedHost = requires(typename B::Context& ctx, const typename B::template Weights<S>& w,
                                         ConstMatrixView<float> in, MatrixView<float> out) {
  { B::gemm_transposed_host(ctx, w, in, out, false) } -> std::same_as<void>;
};

namespace detail {
/// Shape checks every backend's gemm performs before touching memory.
inline void check_gemm_shapes(std::string_view who, std::size_t n, std::size_t k, ConstMatrixView<float> x,
                              MatrixView<float> y) {
  check(x.cols == k, who, ": x has ", x.cols, " columns, the layer takes ", k, " input features");
  check(y.cols == n, who, ": y has ", y.cols, " columns, the layer gives ", n, " output features");
  check(x.rows == y.rows, who, ": x has ", x.rows, " rows but y has ", y.rows);
  check(x.rows == 0 || (x.data != nullptr && y.data != nullptr), who, ": null data pointer in x or y");
}
inline void check_gemm_transposed_shapes(std::string_view who, std::size_t n, std::size_t k,
                                         ConstMatrixView<float> dy, MatrixView<float> dx) {
  check(dy.cols == n, who, ": dy has ", dy.cols, " columns, the layer gives ", n, " output features");
  check(dx.cols == k, who, ": dx has ", dx.cols, " columns, the layer takes ", k, " input features");
  check(dy.rows == dx.rows, who, ": dy has ", dy.rows, " rows but dx has ", dx.rows);
  check(dy.rows == 0 || (dy.data != nullptr && dx.data != nullptr), who, ": null data pointer in dy or dx");
}
}  // namespace detail

}  // namespace qlinear
