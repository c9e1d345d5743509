#pragma once
// How the LoRA mixin sees its base layer: as one or more parts (a FusedLinear's projections),
// each with its own output columns, adapters and weights. Internal to layers/lora.hpp.

#include <concepts>
#include <cstddef>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "qlinear/core/eigen.hpp"
#include "qlinear/core/error.hpp"
#include "qlinear/schemes/dense.hpp"

namespace qlinear {

/// What LoRA<Layer> needs of its base: the layer API QuantizedLinear, AnyLinear and FusedLinear
/// share (forward and backward_input on views and on host Eigen data, shapes, bias, dequantize,
/// with_weights for merging, the dequantization cache).
template <class L>
concept LoraBaseLayer = requires(const L& l, L& ml, typename L::Context& ctx, ConstMatrixView<float> in,
                                 MatrixView<float> out, const RowMatrixXf& m, const float* w) {
  typename L::backend_type;
  { l.forward(ctx, in, out, false) } -> std::same_as<void>;
  { l.forward(ctx, m) } -> std::same_as<RowMatrixXf>;
  { l.backward_input(ctx, in, out, false) } -> std::same_as<void>;
  { l.backward_input(ctx, m) } -> std::same_as<RowMatrixXf>;
  { l.in_features() } -> std::convertible_to<std::size_t>;
  { l.out_features() } -> std::convertible_to<std::size_t>;
  { l.has_bias() } -> std::convertible_to<bool>;
  { l.dequantize() } -> std::same_as<RowMatrixXf>;
  { l.with_weights(w) } -> std::same_as<L>;
  { l.memory_bytes() } -> std::convertible_to<std::size_t>;
  ml.cache_dequantized(true);
};

namespace detail {

/// A layer made of parts sharing K (FusedLinear): num_parts(), part(i), part_offset(i), and a
/// constructor from the parts.
template <class L>
concept MultiPartLayer = requires(const L& l, std::size_t i) {
  typename L::Part;
  { l.num_parts() } -> std::convertible_to<std::size_t>;
  { l.part(i) } -> std::convertible_to<const typename L::Part&>;
  { l.part_offset(i) } -> std::convertible_to<std::size_t>;
} && std::constructible_from<L, std::vector<typename L::Part>>;

/// A single layer is its own only part.
template <class L>
struct LoraParts {
  using Part = L;
  static std::size_t count(const L&) { return 1; }
  static const Part& part(const L& l, std::size_t) { return l; }
  static std::size_t offset(const L&, std::size_t) { return 0; }
  /// The layer with part i replaced by replacement[i] where one is given.
  static L rebuild(const L& l, std::vector<std::optional<Part>> replacement) {
    return replacement[0] ? std::move(*replacement[0]) : l;
  }
};

template <MultiPartLayer L>
struct LoraParts<L> {
  using Part = typename L::Part;
  static std::size_t count(const L& l) { return l.num_parts(); }
  static const Part& part(const L& l, std::size_t i) { return l.part(i); }
  static std::size_t offset(const L& l, std::size_t i) { return l.part_offset(i); }
  static L rebuild(const L& l, std::vector<std::optional<Part>> replacement) {
    std::vector<Part> parts;
    parts.reserve(l.num_parts());
    for (std::size_t i = 0; i < l.num_parts(); ++i)
      parts.push_back(replacement[i] ? std::move(*replacement[i]) : l.part(i));
    return L(std::move(parts));
  }
};

/// The bias of a layer as a vector of out_features floats (zeros where a part has none), or
/// empty when it has none at all.
template <class L>
std::vector<float> bias_vector(const L& l) {
  if (!l.has_bias()) return {};
  const auto b = l.bias();
  return std::vector<float>(b.begin(), b.end());
}

/// Calls f(row, const float* values) for each dequantized weight row of a part, one row at a
/// time where the layer exposes its QuantizedTensor (no N×K temporary), else from dequantize().
template <class L, class F>
void for_each_weight_row(const L& l, F&& f) {
  if constexpr (requires { l.quantized().dequantize_row(std::size_t(0), static_cast<float*>(nullptr)); }) {
    const auto t = l.quantized();
    std::vector<float> row(t.cols());
    for (std::size_t r = 0; r < t.rows(); ++r) {
      t.dequantize_row(r, row.data());
      f(r, static_cast<const float*>(row.data()));
    }
  } else if constexpr (requires { l.template get_if<DenseF32>(); }) {
    l.visit([&](const auto& q) { for_each_weight_row(q, f); });
  } else {
    const RowMatrixXf w = l.dequantize();
    for (Eigen::Index r = 0; r < w.rows(); ++r) f(std::size_t(r), static_cast<const float*>(w.row(r).data()));
  }
}

/// ‖W_j‖² of every weight row, in double.
template <class L>
std::vector<double> weight_row_norms_squared(const L& l) {
  std::vector<double> out(l.out_features(), 0.0);
  const std::size_t k = l.in_features();
  for_each_weight_row(l, [&](std::size_t r, const float* w) {
    double s = 0;
    for (std::size_t i = 0; i < k; ++i) s += double(w[i]) * double(w[i]);
    out[r] = s;
  });
  return out;
}

}  // namespace detail
}  // namespace qlinear
