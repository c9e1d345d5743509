#pragma once
// Gradient clipping by global norm.

#include <cmath>
#include <cstddef>
#include <vector>

#include "qlinear/core/error.hpp"
#include "qlinear/layers/module.hpp"

namespace qlinear::train {

/// Scales every gradient by min(1, max_norm / (‖g‖ + 1e-6)), where ‖g‖ is the L2 norm of all
/// gradients together (torch.nn.utils.clip_grad_norm_), and returns ‖g‖ before clipping.
/// A non-finite norm throws qlinear::Error naming the first parameter with a non-finite
/// gradient (unless error_if_nonfinite is false; then the gradients are left as they are).
/// Usage: `double norm = train::clip_grad_norm(params, 1.0);`
inline double clip_grad_norm(std::vector<Parameter>& params, double max_norm, bool error_if_nonfinite = true) {
  check(max_norm > 0.0 && std::isfinite(max_norm), "clip_grad_norm: max_norm must be finite and > 0, got ",
        max_norm);
  double sq = 0.0;
  for (const auto& p : params)
    for (float g : p.grad) sq += double(g) * double(g);
  const double norm = std::sqrt(sq);
  if (!std::isfinite(norm)) {
    if (!error_if_nonfinite) return norm;
    for (const auto& p : params)
      for (std::size_t i = 0; i < p.grad.size(); ++i)
        check(std::isfinite(p.grad[i]), "clip_grad_norm: gradient of '", p.name, "' holds ", p.grad[i], " at index ",
              i);
    fail("clip_grad_norm: the gradient norm overflowed (", norm, ")");
  }
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0)
    for (auto& p : params)
      for (float& g : p.grad) g = float(double(g) * coef);
  return norm;
}

}  // namespace qlinear::train
