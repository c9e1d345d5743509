#pragma once
// What every optimizer shares: the parameters it updates, its learning rate and step count.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "qlinear/core/error.hpp"
#include "qlinear/layers/module.hpp"

namespace qlinear::train {

/// Parameters (value and gradient views) an optimizer updates, checked once: each value has a
/// gradient of the same size. The views must stay valid while the optimizer is used (do not
/// delete or resize the adapters they point into).
/// Usage: internal base of SGD and AdamW.
class ParameterSet {
 public:
  ParameterSet(std::vector<Parameter> params, double lr, std::string_view who) : params_(std::move(params)), lr_(lr) {
    check(lr >= 0.0 && std::isfinite(lr), who, ": learning rate must be finite and >= 0, got ", lr);
    for (const auto& p : params_)
      check(p.value.size() == p.grad.size(), who, ": parameter '", p.name, "' has ", p.value.size(),
            " values but ", p.grad.size(), " gradients");
  }

  /// Sets every gradient to zero.
  void zero_grad() {
    for (auto& p : params_) std::fill(p.grad.begin(), p.grad.end(), 0.0f);
  }
  double lr() const { return lr_; }
  void set_lr(double lr) {
    check(lr >= 0.0 && std::isfinite(lr), "optimizer: learning rate must be finite and >= 0, got ", lr);
    lr_ = lr;
  }
  /// Updates made so far.
  std::size_t steps() const { return steps_; }
  const std::vector<Parameter>& parameters() const { return params_; }

 protected:
  std::vector<Parameter> params_;
  double lr_;
  std::size_t steps_ = 0;
};

}  // namespace qlinear::train
