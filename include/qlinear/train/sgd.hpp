#pragma once
// SGD with momentum (optionally Nesterov) and L2 weight decay, with PyTorch's update rule.

#include <cmath>
#include <cstddef>
#include <vector>

#include "qlinear/train/parameter_set.hpp"

namespace qlinear::train {

/// Stochastic gradient descent, as torch.optim.SGD: g ← grad + wd·p; with momentum μ,
/// b ← g on the first step and μ·b + (1 − dampening)·g after, then g ← b (Nesterov: g + μ·b);
/// p ← p − lr·g. Arithmetic in double, state in float.
/// Usage: `train::SGD opt(lora.parameters(), {.lr = 0.01, .momentum = 0.9}); opt.step(); opt.zero_grad();`
class SGD : public ParameterSet {
 public:
  struct Options {
    double lr = 1e-2;
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;
    bool nesterov = false;
  };

  SGD(std::vector<Parameter> params, const Options& options)
      : ParameterSet(std::move(params), options.lr, "SGD"), o_(options) {
    check(o_.momentum >= 0.0 && o_.momentum < 1.0, "SGD: momentum must be in [0, 1), got ", o_.momentum);
    check(o_.dampening >= 0.0 && o_.dampening <= 1.0, "SGD: dampening must be in [0, 1], got ", o_.dampening);
    check(o_.weight_decay >= 0.0 && std::isfinite(o_.weight_decay), "SGD: weight_decay must be finite and >= 0, got ",
          o_.weight_decay);
    check(!o_.nesterov || (o_.momentum > 0.0 && o_.dampening == 0.0),
          "SGD: Nesterov momentum needs momentum > 0 and dampening 0, got momentum ", o_.momentum, ", dampening ",
          o_.dampening);
    if (o_.momentum > 0.0)
      for (const auto& p : params_) buffers_.emplace_back(p.size(), 0.0f);
  }

  /// One update of every parameter from its gradient.
  void step() {
    const double mu = o_.momentum, damp = 1.0 - o_.dampening, wd = o_.weight_decay;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      auto& p = params_[i];
      for (std::size_t j = 0; j < p.size(); ++j) {
        double g = double(p.grad[j]) + wd * double(p.value[j]);
        if (mu > 0.0) {
          float& b = buffers_[i][j];
          const double nb = steps_ == 0 ? g : mu * double(b) + damp * g;
          b = float(nb);
          g = o_.nesterov ? g + mu * nb : nb;
        }
        p.value[j] = float(double(p.value[j]) - lr_ * g);
      }
    }
    ++steps_;
  }

  const Options& options() const { return o_; }

 private:
  Options o_;
  std::vector<std::vector<float>> buffers_;
};

}  // namespace qlinear::train
