#pragma once
// Learning-rate schedule: linear warm-up, then cosine decay.

#include <cmath>
#include <cstddef>

#include "qlinear/core/error.hpp"

namespace qlinear::train {

/// The learning rate of update t (t = 0 for the first): base·(t + 1)/warmup for t < warmup (the
/// first update already moves), then min + (base − min)·½(1 + cos(π·(t − warmup)/(total − warmup)))
/// down to min at t = total, and min after. (Hugging Face's cosine-with-warm-up counts from a
/// zero learning rate at t = 0; this one starts one warm-up step further.)
/// Usage: `train::WarmupCosine lr{.base_lr = 1e-3, .warmup_steps = 10, .total_steps = 100};
///         opt.set_lr(lr(step));`
struct WarmupCosine {
  double base_lr = 1e-3;
  std::size_t warmup_steps = 0;
  std::size_t total_steps = 1;
  double min_lr = 0.0;

  double operator()(std::size_t t) const {
    check(std::isfinite(base_lr) && base_lr >= 0.0 && std::isfinite(min_lr) && min_lr >= 0.0 && min_lr <= base_lr,
          "WarmupCosine: need 0 <= min_lr <= base_lr (finite), got min_lr ", min_lr, ", base_lr ", base_lr);
    check(warmup_steps <= total_steps && total_steps > 0, "WarmupCosine: need 0 < total_steps and warmup_steps <= ",
          "total_steps, got warmup ", warmup_steps, ", total ", total_steps);
    if (t < warmup_steps) return base_lr * double(t + 1) / double(warmup_steps);
    if (t >= total_steps) return min_lr;
    const double span = double(total_steps - warmup_steps);
    const double progress = double(t - warmup_steps) / span;
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * progress));
  }
};

}  // namespace qlinear::train
