#pragma once
// Layers loaded by tensor name from a GGUF file: an AnyLinear from one weight tensor (its
// scheme taken from the file), a FusedLinear from several sharing K (attn_q/k/v), with the
// `<prefix>.bias` tensor attached when the file has one. The weights are used in place: the
// layers hold the file's mapping alive through its owner, so the GgufFile may go out of scope.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "qlinear/core/error.hpp"
#include "qlinear/io/gguf.hpp"
#include "qlinear/layers/any_linear.hpp"
#include "qlinear/layers/fused_linear.hpp"

namespace qlinear::io {

/// The bias tensor's name for a weight called `<prefix>.weight` (`<prefix>.bias`), or "".
inline std::string bias_name_for(std::string_view weight_name) {
  constexpr std::string_view suffix = ".weight";
  if (weight_name.size() <= suffix.size() || weight_name.substr(weight_name.size() - suffix.size()) != suffix)
    return {};
  return std::string(weight_name.substr(0, weight_name.size() - suffix.size())) + ".bias";
}

/// Throws unless tensor `t` can be the weight [out × in] of a linear layer: 2-D (trailing dims
/// of 1 allowed), rows a whole number of blocks, of a type qlinear implements.
inline void check_linear_weight(const GgufFile& file, const GgufTensor& t) {
  const std::string where = file.name() + ": GGUF tensor '" + t.name + "'";
  std::size_t rank = t.dims.size();
  while (rank > 2 && t.dims[rank - 1] == 1) --rank;
  check(rank == 2, where, " has ", t.dims.size(), " dims; a linear weight has 2 ([in, out] in ggml order)");
  check(t.dims[0] > 0 && t.dims[1] > 0, where, " is empty");
  check(t.rows_whole(), where, ": rows of ", t.dims[0], " elements are not whole ", t.type_name(),
        " blocks (an old file whose blocks straddle rows), so it cannot be a layer");
  check(t.type < 1000 && scheme_known(t.scheme()), where, " is ", t.type_name(),
        ", which qlinear does not implement");
}

/// The bias of `weight_name` as floats, or empty when the file has no `<prefix>.bias`.
/// Throws unless the bias has out_features elements.
inline std::vector<float> load_bias(const GgufFile& file, std::string_view weight_name, std::uint64_t out_features) {
  const std::string name = bias_name_for(weight_name);
  const GgufTensor* b = name.empty() ? nullptr : file.find_tensor(name);
  if (!b) return {};
  check(b->numel() == out_features, file.name(), ": GGUF tensor '", b->name, "' has ", b->numel(),
        " elements, but the weight has ", out_features, " rows");
  return dequantize(*b);
}

/// A layer from the weight tensor `weight_name` (dims {in, out}), in the file's scheme, used in
/// place, with `<prefix>.bias` attached when present.
/// Usage: `auto q = io::load_linear<cpu::ReferenceBackend>(file, "blk.0.attn_q.weight");`
template <class Backend, class List = AllSchemes>
BasicAnyLinear<Backend, List> load_linear(const GgufFile& file, std::string_view weight_name) {
  const GgufTensor& t = file.tensor(weight_name);
  check_linear_weight(file, t);
  const std::size_t in = std::size_t(t.dims[0]), out = std::size_t(t.rows());
  const std::vector<float> bias = load_bias(file, weight_name, out);
  return BasicAnyLinear<Backend, List>::from_bytes(t.scheme(), t.bytes, out, in, file.owner(), bias);
}

/// Several weight tensors sharing in_features as one FusedLinear (outputs concatenated in
/// the order given); each part keeps its own scheme and bias.
/// Usage: `auto qkv = io::load_fused<cpu::ReferenceBackend>(file, {"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight"});`
template <class Backend, class List = AllSchemes>
BasicFusedLinear<Backend, List> load_fused(const GgufFile& file, const std::vector<std::string>& weight_names) {
  check(!weight_names.empty(), file.name(), ": load_fused needs at least one tensor name");
  std::vector<BasicAnyLinear<Backend, List>> parts;
  parts.reserve(weight_names.size());
  for (const auto& name : weight_names) {
    parts.push_back(load_linear<Backend, List>(file, name));
    check(parts.back().in_features() == parts.front().in_features(), file.name(), ": GGUF tensor '", name, "' takes ",
          parts.back().in_features(), " inputs, but '", weight_names.front(), "' takes ", parts.front().in_features(),
          ": fused parts must share K");
  }
  return BasicFusedLinear<Backend, List>(std::move(parts));
}

}  // namespace qlinear::io
