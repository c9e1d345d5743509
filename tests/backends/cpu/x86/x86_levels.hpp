#pragma once
// The x86 kernel levels of the GGUF integer path, for the focused x86 tests: each level's
// kernels called directly (not through the backend's selection), for the levels this
// processor runs.

#include <string>
#include <vector>

#include "qlinear/backends/cpu/backend.hpp"

namespace qlinear::test {

/// The x86 SIMD levels that have GGUF dot tiles, those this processor runs.
inline std::vector<cpu::Isa> x86_gguf_levels() {
  std::vector<cpu::Isa> out;
#if defined(__x86_64__)
  for (cpu::Isa i : {cpu::Isa::avx2, cpu::Isa::avx512, cpu::Isa::avx512_vnni})
    if (cpu::isa_supported(i)) out.push_back(i);
#endif
  return out;
}

/// The x86 levels that have their own activation quantizers (VNNI and AMX use AVX-512's).
inline std::vector<cpu::Isa> x86_quantizer_levels() {
  std::vector<cpu::Isa> out;
#if defined(__x86_64__)
  for (cpu::Isa i : {cpu::Isa::avx2, cpu::Isa::avx512})
    if (cpu::isa_supported(i)) out.push_back(i);
#endif
  return out;
}

#if defined(__x86_64__)
/// The dot tile of scheme S written for `level` itself (no fallback to a lower level).
template <class S>
cpu::DotTileFn dot_tile_at(cpu::Isa level) {
  switch (level) {
    case cpu::Isa::scalar: return &cpu::DotTile<S, cpu::Isa::scalar>::tile;
    case cpu::Isa::avx2: return &cpu::DotTile<S, cpu::Isa::avx2>::tile;
    case cpu::Isa::avx512: return &cpu::DotTile<S, cpu::Isa::avx512>::tile;
    case cpu::Isa::avx512_vnni: return &cpu::DotTile<S, cpu::Isa::avx512_vnni>::tile;
    default: return nullptr;
  }
}
template <class A>
cpu::QuantizeActivationsFn quantizer_at(cpu::Isa level) {
  switch (level) {
    case cpu::Isa::scalar: return &cpu::QuantizeActivations<A, cpu::Isa::scalar>::rows;
    case cpu::Isa::avx2: return &cpu::QuantizeActivations<A, cpu::Isa::avx2>::rows;
    case cpu::Isa::avx512: return &cpu::QuantizeActivations<A, cpu::Isa::avx512>::rows;
    default: return nullptr;
  }
}
#endif

}  // namespace qlinear::test
