#pragma once
// AnyLinear<Backend>: a QuantizedLinear whose scheme is known only at run time (a GGUF tensor's type).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "qlinear/core/type_list.hpp"
#include "qlinear/layers/quantized_linear.hpp"
#include "qlinear/schemes/registry.hpp"

namespace qlinear {

namespace detail {
template <class Backend, class S>
constexpr bool backend_supports() {
  if constexpr (requires { Backend::template supports<S>; }) {
    return Backend::template supports<S>;
  } else {
    return BackendFor<Backend, S>;
  }
}
}  // namespace detail

/// The schemes of List that Backend can run (all of them for the CPU backends).
template <class Backend, class List = AllSchemes>
struct SupportedSchemes {
  template <class S>
  struct pred : std::bool_constant<detail::backend_supports<Backend, S>()> {};
  using type = filter_t<pred, List>;
};

/// QuantizedLinear over a scheme chosen at run time, from the schemes in List that Backend runs.
/// Same API as QuantizedLinear, plus scheme_id()/scheme_name()/visit().
/// Usage: `auto layer = AnyLinear<cpu::Backend>::from_bytes(SchemeId::q4_K, bytes, n, k, file);`
template <class Backend, class List = AllSchemes>
class BasicAnyLinear {
  using Schemes = typename SupportedSchemes<Backend, List>::type;
  template <class S>
  using Layer = QuantizedLinear<Backend, S>;
  using Variant = variant_of_t<Layer, Schemes>;

 public:
  using backend_type = Backend;
  using Context = typename Backend::Context;

  template <Scheme S>
  BasicAnyLinear(QuantizedLinear<Backend, S> layer) : layer_(std::move(layer)) {}  // NOLINT: implicit by design

  /// Quantizes row-major float weights [out × in] into the scheme `id`.
  static BasicAnyLinear from_float(SchemeId id, const float* w, std::size_t out_features, std::size_t in_features,
                                   std::span<const float> bias = {}, const QuantizeOptions& options = {}) {
    return make(id, [&]<class S>(std::type_identity<S>) -> BasicAnyLinear {
      return Layer<S>::from_float(w, out_features, in_features, bias, options);
    });
  }

  /// Adopts GGUF-layout bytes of scheme `id` (zero-copy when `owner` keeps them alive).
  static BasicAnyLinear from_bytes(SchemeId id, std::span<const std::uint8_t> bytes, std::size_t out_features,
                                   std::size_t in_features, std::shared_ptr<const void> owner = nullptr,
                                   std::span<const float> bias = {}) {
    return make(id, [&]<class S>(std::type_identity<S>) -> BasicAnyLinear {
      return Layer<S>::from_gguf_bytes(bytes, out_features, in_features, owner, bias);
    });
  }

  SchemeId scheme_id() const {
    return std::visit([](const auto& l) { return std::decay_t<decltype(l)>::scheme_id; }, layer_);
  }
  std::string_view scheme_name() const {
    return std::visit([](const auto& l) { return std::string_view(std::decay_t<decltype(l)>::scheme_type::name); },
                      layer_);
  }
  /// Calls f(const QuantizedLinear<Backend, S>&) with the layer inside.
  template <class F>
  decltype(auto) visit(F&& f) const {
    return std::visit(std::forward<F>(f), layer_);
  }
  template <class F>
  decltype(auto) visit(F&& f) {
    return std::visit(std::forward<F>(f), layer_);
  }

  void forward(Context& ctx, ConstMatrixView<float> x, MatrixView<float> y, bool accumulate = false) const {
    visit([&](const auto& l) { l.forward(ctx, x, y, accumulate); });
  }
  void forward(ConstMatrixView<float> x, MatrixView<float> y) const { forward(Backend::default_context(), x, y); }
  RowMatrixXf forward(Context& ctx, const Eigen::Ref<const RowMatrixXf>& x) const {
    return visit([&](const auto& l) { return l.forward(ctx, x); });
  }
  RowMatrixXf forward(const Eigen::Ref<const RowMatrixXf>& x) const { return forward(Backend::default_context(), x); }
  void backward_input(Context& ctx, ConstMatrixView<float> dy, MatrixView<float> dx, bool accumulate = false) const {
    visit([&](const auto& l) { l.backward_input(ctx, dy, dx, accumulate); });
  }
  /// backward_input on host Eigen data; returns dx [M × in_features].
  RowMatrixXf backward_input(Context& ctx, const Eigen::Ref<const RowMatrixXf>& dy) const {
    return visit([&](const auto& l) { return l.backward_input(ctx, dy); });
  }
  RowMatrixXf backward_input(const Eigen::Ref<const RowMatrixXf>& dy) const {
    return backward_input(Backend::default_context(), dy);
  }

  std::size_t in_features() const { return visit([](const auto& l) { return l.in_features(); }); }
  std::size_t out_features() const { return visit([](const auto& l) { return l.out_features(); }); }
  bool has_bias() const { return visit([](const auto& l) { return l.has_bias(); }); }
  std::span<const float> bias() const { return visit([](const auto& l) { return l.bias(); }); }
  void set_bias(std::span<const float> b) {
    visit([&](auto& l) { l.set_bias(b); });
  }
  std::size_t memory_bytes() const { return visit([](const auto& l) { return l.memory_bytes(); }); }
  std::size_t memory_savings_bytes() const { return visit([](const auto& l) { return l.memory_savings_bytes(); }); }
  double bits_per_weight() const { return visit([](const auto& l) { return l.bits_per_weight(); }); }
  void dequantize(float* out) const {
    visit([&](const auto& l) { l.dequantize(out); });
  }
  RowMatrixXf dequantize() const { return visit([](const auto& l) { return l.dequantize(); }); }
  BasicAnyLinear with_weights(const float* w, const QuantizeOptions& options = {}) const {
    return visit([&](const auto& l) -> BasicAnyLinear { return l.with_weights(w, options); });
  }
  void cache_dequantized(bool on) {
    visit([&](auto& l) { l.cache_dequantized(on); });
  }
  bool dequantized_cached() const { return visit([](const auto& l) { return l.dequantized_cached(); }); }

  /// The layer as QuantizedLinear<Backend, S>, or nullptr when it holds another scheme.
  template <Scheme S>
  const QuantizedLinear<Backend, S>* get_if() const {
    return std::get_if<QuantizedLinear<Backend, S>>(&layer_);
  }

 private:
  template <class Make>
  static BasicAnyLinear make(SchemeId id, Make&& make_layer) {
    std::optional<BasicAnyLinear> out;
    const bool found = for_first(
        Schemes{}, [&]<class S>(std::type_identity<S>) { return S::id == id; },
        [&]<class S>(std::type_identity<S> t) { out.emplace(make_layer(t)); });
    if (!found) fail("AnyLinear: scheme ", qlinear::scheme_name(id), " (id ", std::uint32_t(id), ") is not supported by this backend");
    return std::move(*out);
  }

  Variant layer_;
};

/// AnyLinear over every scheme the backend supports.
template <class Backend>
using AnyLinear = BasicAnyLinear<Backend, AllSchemes>;

}  // namespace qlinear
