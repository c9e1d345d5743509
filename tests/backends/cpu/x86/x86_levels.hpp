#pragma once
// The x86 kernel levels of the GGUF integer path, for the focused x86 tests: each level's
// own kernels (the selection at that ceiling, never a fallback), for the levels this processor
// runs.

#include <string>
#include <string_view>
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
/// The kernel a selection gave for the ceiling `level`, checked to be that level's own.
template <class Fn>
Fn at_level(cpu::Selected<Fn> sel, cpu::Isa level, std::string_view what) {
  if (sel.isa != level)
    throw Error("no " + std::string(what) + " at " + std::string(cpu::isa_name(level)) + " (selected " +
                std::string(cpu::isa_name(sel.isa)) + ")");
  return sel.fn;
}
/// The dot tile of scheme S written for `level` itself (no fallback to a lower level).
template <class S>
cpu::DotTileFn dot_tile_at(cpu::Isa level) {
  return at_level(cpu::select_dot_tile<S>(level), level, "dot tile of " + std::string(S::name));
}
/// The activation quantizer into A written for `level` itself.
template <class A>
cpu::QuantizeActivationsFn quantizer_at(cpu::Isa level) {
  return at_level(cpu::select_quantize_activations<A>(level), level, "quantizer of " + std::string(A::name));
}
#endif

}  // namespace qlinear::test
