#pragma once
// The names of qlinear's Metal kernels, built on the host exactly as the kernel source spells them
// (qlinear/backends/metal/kernels/instances.hpp): the string is the contract between the host and
// the GPU code. Plain C++, so it is compiled and tested everywhere.

#include <string>
#include <string_view>

#include "qlinear/backends/metal/kernels/tiles.hpp"
#include "qlinear/schemes/scheme.hpp"

namespace qlinear::metal {

/// The three kernels every scheme has. Usage: `kernel_name<Q4_K>(KernelKind::decode)`
enum class KernelKind {
  decode,    ///< small M: SIMD-group reductions over weight rows (kernels/gemv.hpp)
  prefill,   ///< large M: simdgroup-matrix tiles over dequantized weights (kernels/gemm.hpp)
  backward,  ///< dx = dy · W (kernels/gemm_transposed.hpp)
};

/// "decode", "prefill" or "backward".
constexpr std::string_view kernel_kind_name(KernelKind kind) {
  switch (kind) {
    case KernelKind::decode: return "decode";
    case KernelKind::prefill: return "prefill";
    case KernelKind::backward: return "backward";
  }
  return "?";
}

/// The tile part of a kernel name: the shape the kernel was instantiated with (kernels/tiles.hpp).
constexpr std::string_view kernel_tile(KernelKind kind) {
  switch (kind) {
    case KernelKind::decode: return QLINEAR_METAL_DECODE_TILE;
    case KernelKind::prefill: return QLINEAR_METAL_PREFILL_TILE;
    case KernelKind::backward: return QLINEAR_METAL_BACKWARD_TILE;
  }
  return "?";
}

/// qlinear_<kind>_<scheme>_<tile>, e.g. "qlinear_decode_q4_K_nr4_nsg2_mx4".
inline std::string kernel_name(KernelKind kind, std::string_view scheme_name) {
  std::string name = "qlinear_";
  name += kernel_kind_name(kind);
  name += '_';
  name += scheme_name;
  name += '_';
  name += kernel_tile(kind);
  return name;
}

/// The name of scheme S's kernel of this kind. Usage: `kernel_name<Q6_K>(KernelKind::prefill)`
template <Scheme S>
std::string kernel_name(KernelKind kind) {
  return kernel_name(kind, S::name);
}

}  // namespace qlinear::metal
