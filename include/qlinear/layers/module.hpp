#pragma once
// The module API's vocabulary: trainable parameters (value + gradient views) and state dicts.

#include <cstddef>
#include <iterator>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace qlinear {

/// A trainable tensor as optimizers see it: its values and its gradient, both views into the
/// layer that owns them (valid while that layer lives and the adapter is not deleted), plus the
/// name and shape the layer gives it.
/// Usage: `for (Parameter& p : lora.parameters()) for (std::size_t i = 0; i < p.size(); ++i) p.value[i] -= lr * p.grad[i];`
struct Parameter {
  std::string name;
  std::span<float> value;
  std::span<float> grad;
  std::vector<std::size_t> shape;

  std::size_t size() const { return value.size(); }
};

/// A row-major float tensor held by value (what state_dict() returns and load_state_dict() takes).
/// Usage: `Tensor t{{8, 4096}, std::vector<float>(8 * 4096)};`
struct Tensor {
  std::vector<std::size_t> shape;
  std::vector<float> data;

  std::size_t numel() const {
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  friend bool operator==(const Tensor&, const Tensor&) = default;
};

/// Named tensors, ordered by name. Usage: `StateDict sd = lora.state_dict(); lora.load_state_dict(sd);`
using StateDict = std::map<std::string, Tensor>;

/// Appends `more` to `params` (collecting the parameters of several layers for one optimizer).
/// Usage: `auto params = l1.parameters(); append(params, l2.parameters());`
inline void append(std::vector<Parameter>& params, std::vector<Parameter> more) {
  params.insert(params.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}

}  // namespace qlinear
