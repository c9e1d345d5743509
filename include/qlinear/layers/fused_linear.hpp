#pragma once
// FusedLinear<Backend>: several projections of the same input, each in its own scheme, in one call.

#include <cstddef>
#include <numeric>
#include <utility>
#include <vector>

#include "qlinear/layers/any_linear.hpp"

namespace qlinear {

/// Parts that share in_features K and whose outputs are concatenated along N (q, k, v of an
/// attention block, say q and k in Q4_K and v in Q6_K). One forward writes every part into its
/// column slice of y, so no concatenation copy is made.
/// Usage: `FusedLinear<cpu::Backend> qkv({q, k, v}); RowMatrixXf y = qkv.forward(x);`
template <class Backend, class List = AllSchemes>
class BasicFusedLinear {
 public:
  using Part = BasicAnyLinear<Backend, List>;
  using backend_type = Backend;
  using Context = typename Backend::Context;

  explicit BasicFusedLinear(std::vector<Part> parts) : parts_(std::move(parts)) {
    check(!parts_.empty(), "FusedLinear needs at least one part, got none");
    offsets_.reserve(parts_.size() + 1);
    offsets_.push_back(0);
    for (std::size_t i = 0; i < parts_.size(); ++i) {
      check(parts_[i].in_features() == parts_[0].in_features(), "FusedLinear: part ", i, " takes ",
            parts_[i].in_features(), " input features, part 0 takes ", parts_[0].in_features());
      offsets_.push_back(offsets_.back() + parts_[i].out_features());
    }
  }

  std::size_t num_parts() const { return parts_.size(); }
  const Part& part(std::size_t i) const {
    check(i < parts_.size(), "FusedLinear: part ", i, " out of range (", parts_.size(), " parts)");
    return parts_[i];
  }
  Part& part(std::size_t i) {
    check(i < parts_.size(), "FusedLinear: part ", i, " out of range (", parts_.size(), " parts)");
    return parts_[i];
  }
  /// First output column of part i.
  std::size_t part_offset(std::size_t i) const {
    check(i < parts_.size(), "FusedLinear: part ", i, " out of range (", parts_.size(), " parts)");
    return offsets_[i];
  }

  std::size_t in_features() const { return parts_[0].in_features(); }
  std::size_t out_features() const { return offsets_.back(); }

  void forward(Context& ctx, ConstMatrixView<float> x, MatrixView<float> y, bool accumulate = false) const {
    check(y.cols == out_features(), "FusedLinear: y has ", y.cols, " columns, the parts give ", out_features());
    for (std::size_t i = 0; i < parts_.size(); ++i)
      parts_[i].forward(ctx, x, y.col_slice(offsets_[i], parts_[i].out_features()), accumulate);
  }
  void forward(ConstMatrixView<float> x, MatrixView<float> y) const { forward(Backend::default_context(), x, y); }
  RowMatrixXf forward(Context& ctx, const Eigen::Ref<const RowMatrixXf>& x) const {
    RowMatrixXf y(x.rows(), Eigen::Index(out_features()));
    if constexpr (Backend::host_memory) {
      forward(ctx, const_view(x), view(y));
    } else {
      for (std::size_t i = 0; i < parts_.size(); ++i)
        y.middleCols(Eigen::Index(offsets_[i]), Eigen::Index(parts_[i].out_features())) = parts_[i].forward(ctx, x);
    }
    return y;
  }
  RowMatrixXf forward(const Eigen::Ref<const RowMatrixXf>& x) const { return forward(Backend::default_context(), x); }

  /// dx (+)= Σ_i dy[:, part i]·W_i.
  void backward_input(Context& ctx, ConstMatrixView<float> dy, MatrixView<float> dx, bool accumulate = false) const {
    check(dy.cols == out_features(), "FusedLinear: dy has ", dy.cols, " columns, the parts give ", out_features());
    for (std::size_t i = 0; i < parts_.size(); ++i)
      parts_[i].backward_input(ctx, dy.col_slice(offsets_[i], parts_[i].out_features()), dx, accumulate || i > 0);
  }
  /// backward_input on host Eigen data; returns dx [M × in_features].
  RowMatrixXf backward_input(Context& ctx, const Eigen::Ref<const RowMatrixXf>& dy) const {
    check(std::size_t(dy.cols()) == out_features(), "FusedLinear: dy has ", dy.cols(), " columns, the parts give ",
          out_features());
    RowMatrixXf dx(dy.rows(), Eigen::Index(in_features()));
    if constexpr (Backend::host_memory) {
      backward_input(ctx, const_view(dy), view(dx));
    } else {
      dx.setZero();
      for (std::size_t i = 0; i < parts_.size(); ++i)
        dx += parts_[i].backward_input(
            ctx, dy.middleCols(Eigen::Index(offsets_[i]), Eigen::Index(parts_[i].out_features())));
    }
    return dx;
  }
  RowMatrixXf backward_input(const Eigen::Ref<const RowMatrixXf>& dy) const {
    return backward_input(Backend::default_context(), dy);
  }

  bool has_bias() const {
    for (const auto& p : parts_)
      if (p.has_bias()) return true;
    return false;
  }
  /// The concatenated bias (zeros for parts without one); empty when no part has a bias.
  std::vector<float> bias() const {
    if (!has_bias()) return {};
    std::vector<float> b(out_features(), 0.0f);
    for (std::size_t i = 0; i < parts_.size(); ++i) {
      const auto pb = parts_[i].bias();
      std::copy(pb.begin(), pb.end(), b.begin() + std::ptrdiff_t(offsets_[i]));
    }
    return b;
  }
  std::size_t memory_bytes() const {
    std::size_t total = 0;
    for (const auto& p : parts_) total += p.memory_bytes();
    return total;
  }
  std::size_t memory_savings_bytes() const {
    std::size_t total = 0;
    for (const auto& p : parts_) total += p.memory_savings_bytes();
    return total;
  }
  /// Weighted by each part's weight count.
  double bits_per_weight() const {
    double bits = 0;
    for (const auto& p : parts_) bits += p.bits_per_weight() * double(p.out_features() * p.in_features());
    return bits / double(out_features() * in_features());
  }
  void dequantize(float* out) const {
    for (std::size_t i = 0; i < parts_.size(); ++i) parts_[i].dequantize(out + offsets_[i] * in_features());
  }
  RowMatrixXf dequantize() const {
    RowMatrixXf w(static_cast<Eigen::Index>(out_features()), static_cast<Eigen::Index>(in_features()));
    dequantize(w.data());
    return w;
  }
  /// New weights for every part from the full concatenated [out_features × in_features] matrix.
  BasicFusedLinear with_weights(const float* w, const QuantizeOptions& options = {}) const {
    std::vector<Part> parts;
    parts.reserve(parts_.size());
    for (std::size_t i = 0; i < parts_.size(); ++i)
      parts.push_back(parts_[i].with_weights(w + offsets_[i] * in_features(), options));
    return BasicFusedLinear(std::move(parts));
  }
  void cache_dequantized(bool on) {
    for (auto& p : parts_) p.cache_dequantized(on);
  }
  bool dequantized_cached() const { return parts_[0].dequantized_cached(); }

 private:
  std::vector<Part> parts_;
  std::vector<std::size_t> offsets_;
};

template <class Backend>
using FusedLinear = BasicFusedLinear<Backend, AllSchemes>;

}  // namespace qlinear
