#pragma once
// QuantizedLinear<Backend, Scheme>: y = x·Wᵀ + b with W stored in a quantized scheme.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "qlinear/backends/backend.hpp"
#include "qlinear/core/eigen.hpp"
#include "qlinear/core/error.hpp"
#include "qlinear/schemes/dense.hpp"
#include "qlinear/schemes/quantized_tensor.hpp"

namespace qlinear {

/// A linear layer whose weights [out_features × in_features] are stored in scheme S and run by
/// Backend. The layer owns weights and an optional f32 bias, and no kernels: forward hands both to
/// the backend. Copies share the (immutable) weight bytes. forward is const and may be called from
/// several threads at once, each with its own Backend::Context.
/// Usage:
///   auto layer = QuantizedLinear<cpu::ReferenceBackend, Q4_K>::from_float(w.data(), 4096, 4096);
///   RowMatrixXf y = layer.forward(x);   // x is [M × 4096]
template <class Backend, Scheme S>
  requires BackendFor<Backend, S>
class QuantizedLinear {
 public:
  using backend_type = Backend;
  using scheme_type = S;
  using Context = typename Backend::Context;
  using Weights = typename Backend::template Weights<S>;
  static constexpr SchemeId scheme_id = S::id;

  /// Takes quantized weights and an optional bias (empty span: no bias).
  explicit QuantizedLinear(QuantizedTensor<S> w, std::span<const float> bias = {})
      : weights_(Backend::upload(std::move(w))), out_(weights_.rows()), in_(weights_.cols()) {
    set_bias(bias);
  }

  /// Quantizes a row-major float weight matrix [out_features × in_features].
  static QuantizedLinear from_float(const float* w, std::size_t out_features, std::size_t in_features,
                                    std::span<const float> bias = {}, const QuantizeOptions& options = {}) {
    return QuantizedLinear(QuantizedTensor<S>::quantize(w, out_features, in_features, options), bias);
  }

  /// Quantizes an Eigen weight matrix [out_features × in_features] (any layout) and optional bias.
  static QuantizedLinear from_linear(const Eigen::Ref<const RowMatrixXf>& w, const Eigen::VectorXf* bias = nullptr,
                                     const QuantizeOptions& options = {}) {
    std::span<const float> b;
    if (bias) b = std::span<const float>(bias->data(), std::size_t(bias->size()));
    return QuantizedLinear(QuantizedTensor<S>::quantize(w.data(), std::size_t(w.rows()), std::size_t(w.cols()),
                                                        options, std::size_t(w.outerStride())),
                           b);
  }

  /// Adopts GGUF-layout bytes ([out_features rows] of in_features weights). With an `owner`
  /// (say, the mapped file) the bytes are used in place; without one they are copied.
  static QuantizedLinear from_gguf_bytes(std::span<const std::uint8_t> bytes, std::size_t out_features,
                                         std::size_t in_features, std::shared_ptr<const void> owner = nullptr,
                                         std::span<const float> bias = {}) {
    if constexpr (!SelfDescribingRows<S>) {
      fail(S::name, " keeps tensor parameters beside its rows, so raw bytes cannot describe it: ",
           "build it from a QuantizedTensor");
    } else {
      auto t = owner ? QuantizedTensor<S>::adopt(bytes, out_features, in_features, std::move(owner))
                     : QuantizedTensor<S>::copy_of(bytes, out_features, in_features);
      return QuantizedLinear(std::move(t), bias);
    }
  }

  /// y[M×N] = x[M×K]·Wᵀ + b (with `accumulate`, y += x·Wᵀ + b). Views in the backend's memory.
  void forward(Context& ctx, ConstMatrixView<float> x, MatrixView<float> y, bool accumulate = false) const {
    const Epilogue e{bias_.empty() ? nullptr : Backend::data(bias_device_), accumulate};
    if (cache_) {
      Backend::gemm(ctx, *cache_, x, y, e);
    } else {
      Backend::gemm(ctx, weights_, x, y, e);
    }
  }
  /// forward on the backend's default context for this thread.
  void forward(ConstMatrixView<float> x, MatrixView<float> y) const { forward(Backend::default_context(), x, y); }

  /// forward on host Eigen data; returns y [M × out_features].
  RowMatrixXf forward(Context& ctx, const Eigen::Ref<const RowMatrixXf>& x) const {
    RowMatrixXf y(x.rows(), Eigen::Index(out_));
    if constexpr (Backend::host_memory) {
      forward(ctx, const_view(x), view(y));
    } else {
      const Epilogue e{bias_.empty() ? nullptr : Backend::data(bias_device_), false};
      if (cache_) {
        Backend::gemm_host(ctx, *cache_, const_view(x), view(y), e);
      } else {
        Backend::gemm_host(ctx, weights_, const_view(x), view(y), e);
      }
    }
    return y;
  }
  RowMatrixXf forward(const Eigen::Ref<const RowMatrixXf>& x) const { return forward(Backend::default_context(), x); }

  /// dx[M×K] (+)= dy[M×N]·W over the stored weights: the input gradient training needs.
  void backward_input(Context& ctx, ConstMatrixView<float> dy, MatrixView<float> dx, bool accumulate = false) const {
    if (cache_) {
      Backend::gemm_transposed(ctx, *cache_, dy, dx, accumulate);
    } else {
      Backend::gemm_transposed(ctx, weights_, dy, dx, accumulate);
    }
  }

  /// backward_input on host Eigen data; returns dx [M × in_features]. A backend whose memory is
  /// not host memory stages through `Backend::gemm_transposed_host`.
  RowMatrixXf backward_input(Context& ctx, const Eigen::Ref<const RowMatrixXf>& dy) const {
    RowMatrixXf dx(dy.rows(), Eigen::Index(in_));
    if constexpr (Backend::host_memory) {
      backward_input(ctx, const_view(dy), view(dx));
    } else {
      static_assert(HasGemmTransposedHost<Backend, S> && HasGemmTransposedHost<Backend, DenseF32>,
                    "this backend keeps weights off the host and has no gemm_transposed_host: "
                    "backward_input on host data needs it");
      if (cache_) {
        Backend::gemm_transposed_host(ctx, *cache_, const_view(dy), view(dx), false);
      } else {
        Backend::gemm_transposed_host(ctx, weights_, const_view(dy), view(dx), false);
      }
    }
    return dx;
  }
  RowMatrixXf backward_input(const Eigen::Ref<const RowMatrixXf>& dy) const {
    return backward_input(Backend::default_context(), dy);
  }

  std::size_t in_features() const { return in_; }
  std::size_t out_features() const { return out_; }
  bool has_bias() const { return !bias_.empty(); }
  /// Host copy of the bias (empty when there is none).
  std::span<const float> bias() const { return bias_; }
  /// Replaces the bias (empty span: none). Throws unless it has out_features values.
  void set_bias(std::span<const float> bias) {
    check(bias.empty() || bias.size() == out_, S::name, " layer: bias has ", bias.size(), " values, expected ", out_,
          " (out_features)");
    bias_.assign(bias.begin(), bias.end());
    bias_device_ = Backend::upload_floats(bias_);
  }

  /// Bytes this layer keeps: weights (with their tensor parameters), bias, dequantized cache.
  std::size_t memory_bytes() const {
    return weights_.memory_bytes() + bias_.size() * sizeof(float) + (cache_ ? cache_->memory_bytes() : 0);
  }
  /// Bytes saved against the same layer in f32 (negative would mean it costs more: clamped to 0).
  std::size_t memory_savings_bytes() const {
    const std::size_t dense = (out_ * in_ + bias_.size()) * sizeof(float);
    return dense > memory_bytes() ? dense - memory_bytes() : 0;
  }
  /// Bits per weight of the weight storage, tensor parameters included.
  double bits_per_weight() const { return 8.0 * double(weights_.memory_bytes()) / double(out_ * in_); }

  /// The weights as a QuantizedTensor (GGUF-layout bytes), whatever layout the backend keeps.
  QuantizedTensor<S> quantized() const { return Backend::download(weights_); }
  /// The weights dequantized into row-major out × in floats.
  void dequantize(float* out) const {
    const auto t = quantized();
    for (std::size_t r = 0; r < out_; ++r) t.dequantize_row(r, out + r * in_);
  }
  RowMatrixXf dequantize() const {
    RowMatrixXf w(static_cast<Eigen::Index>(out_), static_cast<Eigen::Index>(in_));
    dequantize(w.data());
    return w;
  }

  /// The same layer (scheme, bias) over new float weights [out × in], quantized afresh.
  QuantizedLinear with_weights(const float* w, const QuantizeOptions& options = {}) const {
    QuantizedLinear out(QuantizedTensor<S>::quantize(w, out_, in_, options), bias_);
    if (cache_) out.cache_dequantized(true);
    return out;
  }

  /// Keeps an f32 copy of the dequantized weights that forward uses instead: faster for some
  /// shapes at 32 bits per weight more memory (the speed/memory trade-off, off by default).
  void cache_dequantized(bool on) {
    if (!on) {
      cache_.reset();
      return;
    }
    if (cache_) return;
    std::vector<float> w(out_ * in_);
    dequantize(w.data());
    cache_.emplace(Backend::upload(QuantizedTensor<DenseF32>::quantize(w.data(), out_, in_)));
  }
  bool dequantized_cached() const { return cache_.has_value(); }

  const Weights& weights() const { return weights_; }

 private:
  Weights weights_;
  std::size_t out_ = 0, in_ = 0;
  std::vector<float> bias_;
  typename Backend::Buffer bias_device_{};
  std::optional<typename Backend::template Weights<DenseF32>> cache_;
};

}  // namespace qlinear
