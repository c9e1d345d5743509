#pragma once
// One copy of cpu::Backend's kernels for qlinear's own tests, examples and tool (the CMake option
// QLINEAR_PREBUILT_CPU_KERNELS; kernel_contract.hpp says why): explicit instantiations of the
// kernel selectors, which instantiate every ISA level's kernels of a scheme. Each of the
// cpu_kernels_*.cpp units takes a share of the schemes, so that a 2-core build compiles them
// side by side. The library itself stays header-only: nothing here is installed.
#include "qlinear/backends/cpu/backend.hpp"
#include "qlinear/backends/cpu/activation_formats.hpp"
#include "qlinear/schemes/registry.hpp"

#if defined(QLINEAR_CPU_PREBUILT_KERNELS)
#error "prebuilt/: the kernels' own units must see the selectors' definitions"
#endif

// The selectors a weight scheme S reaches through cpu::Backend.
#define QLINEAR_PREBUILD_WEIGHT_KERNELS(S)                                                          \
  template Selected<DotTileFn> select_dot_tile<S>(Isa);                                             \
  template Selected<ExactDotTileFn> select_exact_dot_tile<S>(Isa);                                  \
  template Selected<DequantizeRowsFn> select_dequantize_rows<S>(Isa);                               \
  template PackedKernels select_packed_layout<S>(Isa, std::size_t, std::size_t)

// The quantizer into activation format A (shared by several weight schemes: one unit each).
#define QLINEAR_PREBUILD_ACTIVATION_KERNELS(A) \
  template Selected<QuantizeActivationsFn> select_quantize_activations<A>(Isa)
