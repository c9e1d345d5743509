#pragma once
// AdamW: Adam with bias correction and decoupled weight decay, with PyTorch's update rule.

#include <cmath>
#include <cstddef>
#include <vector>

#include "qlinear/train/parameter_set.hpp"

namespace qlinear::train {

/// AdamW (Loshchilov & Hutter), as torch.optim.AdamW: at step t,
/// p ← p·(1 − lr·wd); m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
/// p ← p − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε). Arithmetic in double, state in float.
/// Usage: `train::AdamW opt(lora.parameters(), {.lr = 1e-3, .weight_decay = 0.01}); opt.step();`
class AdamW : public ParameterSet {
 public:
  struct Options {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 1e-2;
  };

  AdamW(std::vector<Parameter> params, const Options& options)
      : ParameterSet(std::move(params), options.lr, "AdamW"), o_(options) {
    check(o_.beta1 >= 0.0 && o_.beta1 < 1.0, "AdamW: beta1 must be in [0, 1), got ", o_.beta1);
    check(o_.beta2 >= 0.0 && o_.beta2 < 1.0, "AdamW: beta2 must be in [0, 1), got ", o_.beta2);
    check(o_.eps > 0.0 && std::isfinite(o_.eps), "AdamW: eps must be finite and > 0, got ", o_.eps);
    check(o_.weight_decay >= 0.0 && std::isfinite(o_.weight_decay),
          "AdamW: weight_decay must be finite and >= 0, got ", o_.weight_decay);
    for (const auto& p : params_) {
      m_.emplace_back(p.size(), 0.0f);
      v_.emplace_back(p.size(), 0.0f);
    }
  }

  /// One update of every parameter from its gradient.
  void step() {
    ++steps_;
    const double t = double(steps_);
    const double bc1 = 1.0 - std::pow(o_.beta1, t), bc2 = 1.0 - std::pow(o_.beta2, t);
    const double decay = 1.0 - lr_ * o_.weight_decay, step_size = lr_ / bc1, sqrt_bc2 = std::sqrt(bc2);
    for (std::size_t i = 0; i < params_.size(); ++i) {
      auto& p = params_[i];
      for (std::size_t j = 0; j < p.size(); ++j) {
        const double g = p.grad[j];
        const double m = o_.beta1 * double(m_[i][j]) + (1.0 - o_.beta1) * g;
        const double v = o_.beta2 * double(v_[i][j]) + (1.0 - o_.beta2) * g * g;
        m_[i][j] = float(m);
        v_[i][j] = float(v);
        const double denom = std::sqrt(v) / sqrt_bc2 + o_.eps;
        p.value[j] = float(double(p.value[j]) * decay - step_size * m / denom);
      }
    }
  }

  const Options& options() const { return o_; }

 private:
  Options o_;
  std::vector<std::vector<float>> m_, v_;
};

}  // namespace qlinear::train
