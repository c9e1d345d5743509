#pragma once
// The Metal backend's products run through the grid emulator: the weights and per-row parameters
// laid out as metal::Backend puts them in MTLBuffers, the launches planned by the same code
// (qlinear/backends/metal/dispatch.hpp), the kernels from the same headers the embedded source is
// made of. Device buffers sit between guard zones (and so do the gaps of strided matrices):
// a kernel writing where it must not fails the product. Include it after every other header.

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "grid_emulator.hpp"
#include "qlinear/backends/backend.hpp"
#include "qlinear/backends/metal/dispatch.hpp"
#include "qlinear/core/matrix_view.hpp"
#include "qlinear/schemes/quantized_tensor.hpp"
// clang-format off
#include "kernels_as_cpp.hpp"
// clang-format on

namespace qlinear::metal::emu {

/// Memory a kernel may touch, between guard zones that must be unchanged after every launch.
/// Usage: `DeviceBuffer<float> y(n); ... y.check("y");`
template <class T>
class DeviceBuffer {
 public:
  static constexpr std::size_t guard = 64;
  DeviceBuffer() : DeviceBuffer(0) {}
  explicit DeviceBuffer(std::size_t n) : storage_(n + 2 * guard), n_(n) {
    std::memset(storage_.data(), pattern, guard * sizeof(T));
    std::memset(storage_.data() + guard + n, pattern, guard * sizeof(T));
  }
  T* data() { return storage_.data() + guard; }
  const T* data() const { return storage_.data() + guard; }
  std::size_t size() const { return n_; }
  /// Throws EmulationError if anything wrote into a guard zone.
  void check(const std::string& name) const {
    const auto* bytes = reinterpret_cast<const unsigned char*>(storage_.data());
    const std::size_t zone = guard * sizeof(T), tail = (guard + n_) * sizeof(T);
    for (std::size_t i = 0; i < zone; ++i)
      if (bytes[i] != pattern || bytes[tail + i] != pattern)
        throw EmulationError("a kernel wrote outside device buffer " + name + " (" + std::to_string(n_) + " elements)");
  }

 private:
  static constexpr unsigned char pattern = 0xA7;
  std::vector<T> storage_;
  std::size_t n_;
};

/// metal::Backend::Weights<S> as the emulator holds them: the rows' bytes as uploaded, and the
/// float2 per row the int8 and NF4-double-quant kernels read (empty otherwise).
template <Scheme S>
struct EmulatedWeights {
  QuantizedTensor<S> tensor;
  DeviceBuffer<std::uint8_t> rows;
  DeviceBuffer<float> row_params;
};

template <Scheme S>
EmulatedWeights<S> upload(const QuantizedTensor<S>& t) {
  EmulatedWeights<S> w{t, DeviceBuffer<std::uint8_t>(t.bytes().size()), DeviceBuffer<float>(0)};
  std::memcpy(w.rows.data(), t.bytes().data(), t.bytes().size());
  const std::vector<float> rp = row_params(t);
  w.row_params = DeviceBuffer<float>(rp.size());
  if (!rp.empty()) std::memcpy(w.row_params.data(), rp.data(), rp.size() * sizeof(float));
  return w;
}

/// Runs one planned launch of scheme S's kernels on device pointers (a, b: x and y for gemm,
/// dy and dx for backward).
template <Scheme S>
Stats run(const EmulatedWeights<S>& w, const Launch& l, const float* a, float* b, const float* bias) {
  using D = kernels::Dec<unsigned(S::id)>;
  static_assert(sizeof(::metal::float2) == 2 * sizeof(float), "float2 buffers hold two floats per row");
  const std::uint8_t* rows = w.rows.data();
  const auto* rowp = w.row_params.size() ? reinterpret_cast<const ::metal::float2*>(w.row_params.data()) : nullptr;
  const kernels::GemmArgs args = l.args;
  const Dim3 grid{l.grid[0], l.grid[1], l.grid[2]}, tg{l.threads, 1, 1};
  Stats s;
  switch (l.kind) {
    case KernelKind::decode:
      s = launch(grid, tg, l.threadgroup_bytes, [&](const Thread& t) {
        kernels::qlinear_decode<D>(rows, rowp, a, b, bias, args, t.threadgroup_position_in_grid,
                                   t.simdgroup_index_in_threadgroup, t.thread_index_in_simdgroup);
      });
      break;
    case KernelKind::prefill:
      s = launch(grid, tg, l.threadgroup_bytes, [&](const Thread& t) {
        kernels::qlinear_prefill<D>(rows, rowp, a, b, bias, args, static_cast<float*>(t.threadgroup_memory),
                                    t.threadgroup_position_in_grid, ushort(t.thread_index_in_threadgroup),
                                    t.simdgroup_index_in_threadgroup);
      });
      break;
    case KernelKind::backward:
      s = launch(grid, tg, l.threadgroup_bytes, [&](const Thread& t) {
        kernels::qlinear_backward<D>(rows, rowp, a, b, args, t.threadgroup_position_in_grid,
                                     ushort(t.thread_index_in_threadgroup));
      });
      break;
  }
  w.rows.check("weights");
  w.row_params.check("row parameters");
  return s;
}

namespace detail {
// A strided host matrix copied to device memory (the gaps between rows too, as a sentinel).
inline DeviceBuffer<float> to_device(ConstMatrixView<float> m, float gap) {
  DeviceBuffer<float> d(m.rows * m.stride);
  for (std::size_t i = 0; i < d.size(); ++i) d.data()[i] = gap;
  for (std::size_t r = 0; r < m.rows; ++r) std::memcpy(d.data() + r * m.stride, m.row(r), m.cols * sizeof(float));
  return d;
}
inline void from_device(const DeviceBuffer<float>& d, MatrixView<float> m, float gap, const char* name) {
  d.check(name);
  for (std::size_t r = 0; r < m.rows; ++r) {
    std::memcpy(m.row(r), d.data() + r * m.stride, m.cols * sizeof(float));
    for (std::size_t c = m.cols; c < m.stride && r * m.stride + c < d.size(); ++c)
      if (std::memcmp(&d.data()[r * m.stride + c], &gap, sizeof(float)) != 0)
        throw EmulationError(std::string("a kernel wrote into the gap after row ") + std::to_string(r) + " of " + name);
  }
}
constexpr float gap_value = -12345.0f;
}  // namespace detail

/// metal::Backend::gemm through the emulator: y = x·Wᵀ (+ bias) (+ y), host views in and out.
/// `force` picks the kernel instead of the backend's choice by M.
template <Scheme S>
Stats gemm(const EmulatedWeights<S>& w, ConstMatrixView<float> x, MatrixView<float> y, Epilogue e = {},
           std::optional<KernelKind> force = std::nullopt) {
  const Launch l = plan_gemm<S>(w.tensor.rows(), w.tensor.cols(), x.rows, x.stride, y.stride, e.bias != nullptr,
                                e.accumulate, force);
  DeviceBuffer<float> dx = detail::to_device(x, detail::gap_value);
  DeviceBuffer<float> dy = detail::to_device(y, detail::gap_value);
  DeviceBuffer<float> dbias(e.bias ? w.tensor.rows() : 0);
  if (e.bias) std::memcpy(dbias.data(), e.bias, w.tensor.rows() * sizeof(float));
  const Stats s = run(w, l, dx.data(), dy.data(), e.bias ? dbias.data() : nullptr);
  dx.check("x");
  dbias.check("bias");
  detail::from_device(dy, y, detail::gap_value, "y");
  return s;
}

/// metal::Backend::gemm_transposed through the emulator: dx (+)= dy·W.
template <Scheme S>
Stats gemm_transposed(const EmulatedWeights<S>& w, ConstMatrixView<float> dy, MatrixView<float> dx, bool accumulate) {
  const Launch l = plan_gemm_transposed<S>(w.tensor.rows(), w.tensor.cols(), dy.rows, dx.stride, dy.stride, accumulate);
  DeviceBuffer<float> ddy = detail::to_device(dy, detail::gap_value);
  DeviceBuffer<float> ddx = detail::to_device(dx, detail::gap_value);
  const Stats s = run(w, l, ddy.data(), ddx.data(), nullptr);
  ddy.check("dy");
  detail::from_device(ddx, dx, detail::gap_value, "dx");
  return s;
}

}  // namespace qlinear::metal::emu
