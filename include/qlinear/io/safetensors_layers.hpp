#pragma once
// Quantized linear layers in safetensors files, stored under a tensor-name prefix, and loaded
// by that prefix. Shapes are row-major [out, ...] as PyTorch writes them.
//
// The naming (all tensors `<prefix>.<suffix>`; `<prefix>.bias`, F32/F16/BF16 [out], is
// optional in every form):
//
//   dense            .weight       F32 | F16 | BF16 [out, in]
//   int4, symmetric  .weight_4bit  U8  [out, in/2]    two weights a byte, element 2j in the low
//   (Int4G32/64/128)                                  nibble, 2j+1 in the high one; code q in 0..15
//                    .scales_4bit  F16 [out, in/G]    w = scale · (q − 8); G = in / groups
//   other schemes    .qweight, .scales, .zeros, and the metadata entry
//                    "qlinear.scheme.<prefix>" = the scheme's name ("int8_per_channel", "q4_K"):
//     int8_*               .qweight I8 [out, in];  .scales F32 [1] or [out];  .zeros I32 (affine only),
//                          same shape: w = scale · (q − zero)   (without the metadata entry, an I8
//                          qweight is read as int8 with granularity and symmetry from the shapes)
//     int4_g*_affine       .qweight U8 [out, in/2] (nibbles as above); .scales F16 [out, in/G];
//                          .zeros F16 [out, in/G]: w = scale · q + zero   (zero is the group's minimum)
//     nf4                  .qweight U8 [out, in/2]; .scales F32 [out, in/64] (absmax): w = NF4[q] · scale
//     GGUF formats (q4_K, q8_0, ...)  .qweight U8 [out, row bytes]: the GGUF blocks of each row
//                          unchanged (scales live inside them; no .scales/.zeros)
//
// NF4DoubleQuant keeps its second-level scales beside the rows and has no form here (store NF4,
// or a GGUF format). Loading checks every shape against the others and the scheme and throws a
// qlinear::Error naming the tensor. The int4 and NF4 forms are repacked into qlinear's blocks on
// load (a copy); the dense and GGUF forms are used in place.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "qlinear/core/error.hpp"
#include "qlinear/io/safetensors.hpp"
#include "qlinear/layers/any_linear.hpp"
#include "qlinear/schemes/registry.hpp"

namespace qlinear::io {

/// The metadata key naming the scheme of the layer stored under `prefix`.
inline std::string scheme_metadata_key(std::string_view prefix) { return "qlinear.scheme." + std::string(prefix); }

namespace detail {

// Blocks of [scale][zero][payload] bytes, the layout of Int4, Int4Affine and NF4.
struct BlockFields {
  std::size_t scale_bytes, zero_bytes, payload_bytes;
};
template <class S>
constexpr BlockFields block_fields() {
  if constexpr (requires { S::group; }) {
    constexpr bool affine = S::block_bytes == 4 + std::size_t(S::group) / 2;
    return {2, affine ? 2u : 0u, std::size_t(S::group) / 2};
  } else {
    return {4, 0, 32};  // NF4: f32 absmax
  }
}
template <class T, class... Ts>
constexpr bool in_list(TypeList<Ts...>) {
  return (std::is_same_v<T, Ts> || ...);
}
template <class S>
constexpr bool is_int4 = S::id >= SchemeId::int4_g32 && S::id <= SchemeId::int4_g128_affine;
template <class S>
constexpr bool is_int8 = S::id >= SchemeId::int8_per_tensor && S::id <= SchemeId::int8_per_channel_affine;

inline std::vector<float> bias_floats(const SafetensorsFile& f, const std::string& prefix, std::size_t out) {
  const auto* b = f.find(prefix + ".bias");
  if (!b) return {};
  check(b->dtype == Dtype::F32 || b->dtype == Dtype::F16 || b->dtype == Dtype::BF16, f.file().name(),
        ": safetensors tensor '", b->name, "' is ", dtype_name(b->dtype), "; a bias is F32, F16 or BF16");
  check(b->numel() == out, f.file().name(), ": safetensors tensor '", b->name, "' has ", b->numel(),
        " elements, the weight has ", out, " rows");
  return b->to_floats();
}

inline const SafetensorsTensor& expect(const SafetensorsFile& f, const std::string& name, Dtype dtype,
                                       std::vector<std::uint64_t> shape) {
  const auto& t = f.tensor(name);
  check(t.dtype == dtype, f.file().name(), ": safetensors tensor '", name, "' is ", dtype_name(t.dtype), ", expected ",
        dtype_name(dtype));
  auto show = [](const std::vector<std::uint64_t>& s) {
    std::string o = "[";
    for (std::size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
    return o + "]";
  };
  check(t.shape == shape, f.file().name(), ": safetensors tensor '", name, "' has shape ", show(t.shape), ", expected ",
        show(shape));
  return t;
}

inline std::vector<std::uint64_t> dims2(const SafetensorsTensor& t, const std::string& src) {
  check(t.shape.size() == 2 && t.shape[0] > 0 && t.shape[1] > 0, src, ": safetensors tensor '", t.name,
        "' must be a non-empty 2-D [out, ...] tensor");
  return t.shape;
}

// Gathers blocks from scale/zero/payload tensors (row-major, `blocks` per row) into rows.
inline std::vector<std::uint8_t> join_blocks(BlockFields f, std::size_t rows, std::size_t blocks,
                                             const std::uint8_t* scales, const std::uint8_t* zeros,
                                             const std::uint8_t* payload) {
  const std::size_t bb = f.scale_bytes + f.zero_bytes + f.payload_bytes;
  std::vector<std::uint8_t> out(rows * blocks * bb);
  for (std::size_t i = 0; i < rows * blocks; ++i) {
    std::uint8_t* b = out.data() + i * bb;
    std::memcpy(b, scales + i * f.scale_bytes, f.scale_bytes);
    if (f.zero_bytes) std::memcpy(b + f.scale_bytes, zeros + i * f.zero_bytes, f.zero_bytes);
    std::memcpy(b + f.scale_bytes + f.zero_bytes, payload + i * f.payload_bytes, f.payload_bytes);
  }
  return out;
}

}  // namespace detail

/// Stores `layer` under `prefix` in the naming above (its bias too), recording the scheme in
/// the metadata. Usage: `io::SafetensorsWriter w; io::save_linear(w, "model.layers.0.q_proj", layer);`
template <class Backend, Scheme S>
void save_linear(SafetensorsWriter& w, const std::string& prefix, const QuantizedLinear<Backend, S>& layer) {
  const QuantizedTensor<S> t = layer.quantized();
  const std::uint64_t out = t.rows(), in = t.cols();
  if (layer.has_bias()) w.add(prefix + ".bias", {out}, std::vector<float>(layer.bias().begin(), layer.bias().end()));
  if constexpr (S::id == SchemeId::f32 || S::id == SchemeId::f16 || S::id == SchemeId::bf16) {
    const Dtype d = S::id == SchemeId::f32 ? Dtype::F32 : S::id == SchemeId::f16 ? Dtype::F16 : Dtype::BF16;
    w.add(prefix + ".weight", d, {out, in}, t.bytes());
    return;
  } else if constexpr (detail::is_int8<S>) {
    w.set_metadata(scheme_metadata_key(prefix), std::string(S::name));
    w.add(prefix + ".qweight", Dtype::I8, {out, in}, t.bytes());
    const auto& p = t.params();
    w.add(prefix + ".scales", {std::uint64_t(p.scale.size())}, p.scale);
    if (S::affine) w.add(prefix + ".zeros", {std::uint64_t(p.zero_point.size())}, p.zero_point);
    return;
  } else if constexpr (detail::is_int4<S> || S::id == SchemeId::nf4) {
    constexpr auto f = detail::block_fields<S>();
    const std::size_t blocks = std::size_t(in) / S::block_elems, n = std::size_t(out) * blocks;
    std::vector<std::uint8_t> scales(n * f.scale_bytes), zeros(n * f.zero_bytes), payload(n * f.payload_bytes);
    const std::uint8_t* src = t.bytes().data();
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint8_t* b = src + i * S::block_bytes;
      std::memcpy(scales.data() + i * f.scale_bytes, b, f.scale_bytes);
      if (f.zero_bytes) std::memcpy(zeros.data() + i * f.zero_bytes, b + f.scale_bytes, f.zero_bytes);
      std::memcpy(payload.data() + i * f.payload_bytes, b + f.scale_bytes + f.zero_bytes, f.payload_bytes);
    }
    const Dtype sd = f.scale_bytes == 2 ? Dtype::F16 : Dtype::F32;
    if (S::id >= SchemeId::int4_g32 && S::id <= SchemeId::int4_g128) {  // symmetric int4: the 4-bit naming
      w.add(prefix + ".weight_4bit", Dtype::U8, {out, in / 2}, payload);
      w.add(prefix + ".scales_4bit", sd, {out, blocks}, scales);
      return;
    }
    w.set_metadata(scheme_metadata_key(prefix), std::string(S::name));
    w.add(prefix + ".qweight", Dtype::U8, {out, in / 2}, payload);
    w.add(prefix + ".scales", sd, {out, blocks}, scales);
    if (f.zero_bytes) w.add(prefix + ".zeros", Dtype::F16, {out, blocks}, zeros);
    return;
  } else if constexpr (std::uint32_t(S::id) < 1000) {  // GGUF blocks, unchanged
    w.set_metadata(scheme_metadata_key(prefix), std::string(S::name));
    w.add(prefix + ".qweight", Dtype::U8, {out, t.row_bytes()}, t.bytes());
    return;
  } else {
    fail("save_linear: ", S::name, " has no safetensors form (store nf4 or a GGUF format instead)");
  }
}

/// The same for a layer whose scheme is known at run time.
template <class Backend, class List>
void save_linear(SafetensorsWriter& w, const std::string& prefix, const BasicAnyLinear<Backend, List>& layer) {
  layer.visit([&](const auto& l) { save_linear(w, prefix, l); });
}

/// Loads the layer stored under `prefix` in any form above.
/// Usage: `auto q = io::load_linear<cpu::ReferenceBackend>(file, "model.layers.0.self_attn.q_proj");`
template <class Backend, class List = AllSchemes>
BasicAnyLinear<Backend, List> load_linear(const SafetensorsFile& f, std::string_view prefix_view) {
  using Any = BasicAnyLinear<Backend, List>;
  const std::string prefix(prefix_view), src = f.file().name();
  // Dense.
  if (const auto* w = f.find(prefix + ".weight"); w && !f.contains(prefix + ".qweight")) {
    const auto d = detail::dims2(*w, src);
    const SchemeId id = w->dtype == Dtype::F32 ? SchemeId::f32 : w->dtype == Dtype::F16 ? SchemeId::f16
                        : w->dtype == Dtype::BF16 ? SchemeId::bf16 : SchemeId(0xFFFFFFFFu);
    check(id != SchemeId(0xFFFFFFFFu), src, ": safetensors tensor '", w->name, "' is ", dtype_name(w->dtype),
          "; a dense weight is F32, F16 or BF16");
    const auto bias = detail::bias_floats(f, prefix, std::size_t(d[0]));
    return Any::from_bytes(id, w->bytes, std::size_t(d[0]), std::size_t(d[1]), f.owner(), bias);
  }
  // Symmetric int4, the 4-bit naming.
  if (const auto* q = f.find(prefix + ".weight_4bit")) {
    const auto d = detail::dims2(*q, src);
    check(q->dtype == Dtype::U8, src, ": safetensors tensor '", q->name, "' is ", dtype_name(q->dtype), ", expected U8");
    const auto& s = f.tensor(prefix + ".scales_4bit");
    const std::uint64_t out = d[0], in = d[1] * 2;
    check(s.shape.size() == 2 && s.shape[1] > 0, src, ": safetensors tensor '", s.name, "' must be [out, groups]");
    const std::uint64_t groups = s.shape[1];
    check(in % groups == 0 && (in / groups == 32 || in / groups == 64 || in / groups == 128), src,
          ": safetensors '", prefix, "': ", in, " inputs in ", groups, " groups is not a group size of 32, 64 or 128");
    detail::expect(f, s.name, Dtype::F16, {out, groups});
    const SchemeId id = in / groups == 32 ? SchemeId::int4_g32 : in / groups == 64 ? SchemeId::int4_g64 : SchemeId::int4_g128;
    const auto rows = detail::join_blocks({2, 0, std::size_t(in / groups / 2)}, std::size_t(out), std::size_t(groups),
                                          s.bytes.data(), nullptr, q->bytes.data());
    return Any::from_bytes(id, rows, std::size_t(out), std::size_t(in), nullptr,
                           detail::bias_floats(f, prefix, std::size_t(out)));
  }
  // qweight / scales / zeros.
  const auto* q = f.find(prefix + ".qweight");
  check(q != nullptr, src, ": no layer under '", prefix, "' (none of ", prefix, ".weight, .weight_4bit, .qweight)");
  const auto d = detail::dims2(*q, src);
  const std::size_t out = std::size_t(d[0]);
  const auto bias = detail::bias_floats(f, prefix, out);
  SchemeId id;
  if (auto it = f.metadata().find(scheme_metadata_key(prefix)); it != f.metadata().end()) {
    try {
      id = scheme_from_name(it->second);
    } catch (const Error& e) {
      fail(src, ": safetensors metadata '", it->first, "': ", e.what());
    }
  } else {
    check(q->dtype == Dtype::I8, src, ": safetensors '", prefix, "': a ", dtype_name(q->dtype),
          " qweight needs the metadata entry '", scheme_metadata_key(prefix), "' naming its scheme");
    const auto& s = f.tensor(prefix + ".scales");
    const bool per_channel = s.numel() != 1 || out == 1;
    const bool affine = f.contains(prefix + ".zeros");
    id = per_channel ? (affine ? SchemeId::int8_per_channel_affine : SchemeId::int8_per_channel)
                     : (affine ? SchemeId::int8_per_tensor_affine : SchemeId::int8_per_tensor);
  }
  std::optional<Any> result;
  visit_scheme(id, [&]<class S>(std::type_identity<S>) {
    if constexpr (!detail::in_list<S>(typename SupportedSchemes<Backend, List>::type{})) {
      fail(src, ": safetensors '", prefix, "': ", S::name, " is not supported by this backend");
    } else if constexpr (detail::is_int8<S>) {
      const std::size_t in = std::size_t(d[1]);
      detail::expect(f, q->name, Dtype::I8, {d[0], d[1]});
      const std::uint64_t groups = S::per_channel ? d[0] : 1;
      Int8Params p;
      p.scale = detail::expect(f, prefix + ".scales", Dtype::F32, {groups}).values<float>();
      if constexpr (S::affine) p.zero_point = detail::expect(f, prefix + ".zeros", Dtype::I32, {groups}).values<std::int32_t>();
      auto t = QuantizedTensor<S>::adopt(q->bytes, out, in, f.owner(), std::move(p));
      result.emplace(QuantizedLinear<Backend, S>(std::move(t), bias));
    } else if constexpr (detail::is_int4<S> || S::id == SchemeId::nf4) {
      constexpr auto bf = detail::block_fields<S>();
      const std::uint64_t in = d[1] * 2;
      check(in % S::block_elems == 0, src, ": safetensors '", prefix, "': ", in, " inputs are not whole ",
            S::block_elems, "-weight groups of ", S::name);
      const std::uint64_t groups = in / S::block_elems;
      detail::expect(f, q->name, Dtype::U8, {d[0], d[1]});
      const auto& s = detail::expect(f, prefix + ".scales", bf.scale_bytes == 2 ? Dtype::F16 : Dtype::F32, {d[0], groups});
      const SafetensorsTensor* z = bf.zero_bytes ? &detail::expect(f, prefix + ".zeros", Dtype::F16, {d[0], groups}) : nullptr;
      const auto rows = detail::join_blocks(bf, out, std::size_t(groups), s.bytes.data(), z ? z->bytes.data() : nullptr,
                                            q->bytes.data());
      result.emplace(QuantizedLinear<Backend, S>::from_gguf_bytes(rows, out, std::size_t(in), nullptr, bias));
    } else if constexpr (std::uint32_t(S::id) < 1000 && SelfDescribingRows<S>) {
      detail::expect(f, q->name, Dtype::U8, {d[0], d[1]});
      check(d[1] % S::block_bytes == 0, src, ": safetensors tensor '", q->name, "': rows of ", d[1],
            " bytes are not whole ", S::name, " blocks of ", S::block_bytes, " bytes");
      const std::size_t in = std::size_t(d[1] / S::block_bytes * S::block_elems);
      result.emplace(QuantizedLinear<Backend, S>::from_gguf_bytes(q->bytes, out, in, f.owner(), bias));
    } else {
      fail(src, ": safetensors '", prefix, "': ", S::name, " has no qweight form");
    }
  });
  return std::move(*result);
}

/// A layer quantized into scheme `id` from the float weight `<prefix>.weight` (F32, F16 or BF16
/// [out, in], as checkpoints hold it), bias attached when present.
/// Usage: `auto q = io::quantize_linear<cpu::ReferenceBackend>(file, "lm_head", SchemeId::q4_K);`
template <class Backend, class List = AllSchemes>
BasicAnyLinear<Backend, List> quantize_linear(const SafetensorsFile& f, std::string_view prefix_view, SchemeId id,
                                              const QuantizeOptions& options = {}) {
  const std::string prefix(prefix_view), src = f.file().name();
  const auto& w = f.tensor(prefix + ".weight");
  const auto d = detail::dims2(w, src);
  check(w.dtype == Dtype::F32 || w.dtype == Dtype::F16 || w.dtype == Dtype::BF16, src, ": safetensors tensor '",
        w.name, "' is ", dtype_name(w.dtype), "; quantize_linear takes F32, F16 or BF16 weights");
  const auto values = w.to_floats();
  return BasicAnyLinear<Backend, List>::from_float(id, values.data(), std::size_t(d[0]), std::size_t(d[1]),
                                                   detail::bias_floats(f, prefix, std::size_t(d[0])), options);
}

}  // namespace qlinear::io
