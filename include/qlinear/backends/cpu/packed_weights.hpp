#pragma once
// Weights repacked at upload into a PackedLayout (kernel_contract.hpp): the packed bytes, the
// layout's entry points, the tensor-wide parameters, and the way back to canonical rows.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/core/aligned_buffer.hpp"
#include "qlinear/schemes/int8.hpp"
#include "qlinear/schemes/nf4.hpp"
#include "qlinear/schemes/quantized_tensor.hpp"

namespace qlinear::cpu {

/// An n × k tensor of scheme S in the packed layout of one ISA level. Empty (false) when the
/// tensor was not packed. Copies share the bytes.
/// Usage: `if (auto p = PackedWeights<Int8PerChannel>::pack(t, Isa::amx)) ...`
template <Scheme S>
struct PackedWeights {
  PackedKernels kernels;
  std::shared_ptr<const AlignedBuffer<std::uint8_t>> bytes;
  std::size_t rows = 0, cols = 0;
  typename S::TensorParams params{};

  explicit operator bool() const { return bool(kernels); }
  const std::uint8_t* data() const { return bytes->data(); }
  std::size_t memory_bytes() const { return bytes->size() + S::params_bytes(params); }

  /// t in the layout of the best level at or below `ceiling` that has one for S and t's shape;
  /// empty when none has.
  static PackedWeights pack(const QuantizedTensor<S>& t, Isa ceiling) {
    PackedWeights p;
    const PackedKernels k = select_packed_layout<S>(ceiling, t.rows(), t.cols());
    if (!k) return p;
    const std::size_t size = k.bytes(t.rows(), t.cols());
    check(size <= t.bytes().size(), S::name, ": a packed layout may not take more memory than the rows (", size,
          " > ", t.bytes().size(), " bytes)");
    auto buffer = std::make_shared<AlignedBuffer<std::uint8_t>>(size);
    k.pack(t.bytes().data(), t.row_bytes(), t.rows(), t.cols(), buffer->data());
    p.kernels = k;
    p.bytes = std::move(buffer);
    p.rows = t.rows();
    p.cols = t.cols();
    p.params = t.params();
    return p;
  }

  /// Canonical bytes of rows [r0, r0 + count) (multiples of the layout's row group), row_bytes apart.
  void unpack_rows(std::size_t r0, std::size_t count, std::uint8_t* out) const {
    kernels.unpack(data(), rows, cols, r0, count, out);
  }

  /// The canonical tensor, bytes restored.
  QuantizedTensor<S> restore() const {
    AlignedBuffer<std::uint8_t> canonical(rows * row_bytes<S>(cols));
    unpack_rows(0, rows, canonical.data());
    return QuantizedTensor<S>::copy_of(std::span<const std::uint8_t>(canonical.data(), canonical.size()), rows, cols,
                                       params);
  }
};

/// The parameters of rows [r0, r0 + count) of a tensor, as a tensor of just those rows would
/// have them: per-row entries sliced into `storage` (returned), tensor-wide ones as they are.
/// What a canonical dot tile needs when it runs on rows restored from a packed layout.
template <Scheme S>
const typename S::TensorParams& params_of_rows(const typename S::TensorParams& p, std::size_t r0, std::size_t count,
                                               typename S::TensorParams& storage) {
  if constexpr (std::is_same_v<typename S::TensorParams, Int8Params>) {
    if (!S::per_channel) return p;
    storage.scale.assign(p.scale.begin() + std::ptrdiff_t(r0), p.scale.begin() + std::ptrdiff_t(r0 + count));
    if (!p.zero_point.empty())
      storage.zero_point.assign(p.zero_point.begin() + std::ptrdiff_t(r0),
                                p.zero_point.begin() + std::ptrdiff_t(r0 + count));
    return storage;
  } else if constexpr (std::is_same_v<typename S::TensorParams, NF4DoubleParams>) {
    storage.offset = p.offset;
    storage.scale.assign(p.scale.begin() + std::ptrdiff_t(r0), p.scale.begin() + std::ptrdiff_t(r0 + count));
    return storage;
  } else {
    static_assert(SelfDescribingRows<S>, "params_of_rows: slice this scheme's per-row parameters");
    (void)r0, (void)count, (void)storage;
    return p;
  }
}

}  // namespace qlinear::cpu
