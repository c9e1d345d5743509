#pragma once
// The instruction-set levels cpu::Backend has kernels for, which of them this processor runs,
// and how a kernel is chosen: the best level at or below a ceiling (the processor's best, or
// one a user or test forces) that has a kernel for the scheme.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "qlinear/core/cpu_features.hpp"
#include "qlinear/core/error.hpp"

namespace qlinear::cpu {

/// A kernel level. x86 levels include the ones before them, as do Arm levels:
///  - avx2: AVX2 + FMA + F16C (Haswell and later, Zen);
///  - avx512: AVX-512 F/BW/DQ/VL (Skylake-X);
///  - avx512_vnni: + VNNI (Cascade Lake, Ice Lake, Zen 4);
///  - amx: + AMX-TILE/INT8 (Sapphire Rapids and later), OS permission granted;
///  - neon: Armv8 Advanced SIMD; neon_dotprod: + SDOT/UDOT; neon_i8mm: + SMMLA/USMMLA.
/// `best` asks for the best level the processor runs.
/// Usage: `cpu::Backend::Context ctx(2, cpu::Isa::avx2);  // at most AVX2 kernels`
enum class Isa : std::uint8_t {
  scalar = 0,
  avx2 = 1,
  avx512 = 2,
  avx512_vnni = 3,
  amx = 4,
  neon = 16,
  neon_dotprod = 17,
  neon_i8mm = 18,
  best = 255,
};

inline constexpr std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::avx512_vnni: return "avx512_vnni";
    case Isa::amx: return "amx";
    case Isa::neon: return "neon";
    case Isa::neon_dotprod: return "neon_dotprod";
    case Isa::neon_i8mm: return "neon_i8mm";
    case Isa::best: return "best";
  }
  return "unknown";
}

/// The level named `name` (as isa_name prints it); throws for an unknown name.
inline Isa isa_from_name(std::string_view name) {
  for (Isa i : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::avx512_vnni, Isa::amx, Isa::neon, Isa::neon_dotprod,
                Isa::neon_i8mm, Isa::best})
    if (isa_name(i) == name) return i;
  fail("unknown instruction-set level '", name,
       "' (expected scalar, avx2, avx512, avx512_vnni, amx, neon, neon_dotprod, neon_i8mm or best)");
}

/// Whether this processor (and OS) runs kernels of level `isa`.
inline bool isa_supported(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::scalar: return true;
#if defined(QLINEAR_X86_64)
    case Isa::avx2: return f.avx2 && f.fma && f.f16c;
    case Isa::avx512: return isa_supported(Isa::avx2) && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl;
    case Isa::avx512_vnni: return isa_supported(Isa::avx512) && f.avx512_vnni;
    case Isa::amx: return isa_supported(Isa::avx512_vnni) && f.amx_tile && f.amx_int8;
#endif
#if defined(QLINEAR_AARCH64)
    case Isa::neon: return f.neon;
    case Isa::neon_dotprod: return f.neon && f.dotprod;
    case Isa::neon_i8mm: return f.neon && f.dotprod && f.i8mm;
#endif
    default: return false;
  }
}

/// The levels of this build's architecture, lowest first (scalar first).
inline std::span<const Isa> isa_ladder() {
#if defined(QLINEAR_X86_64)
  static constexpr std::array<Isa, 5> ladder{Isa::scalar, Isa::avx2, Isa::avx512, Isa::avx512_vnni, Isa::amx};
#elif defined(QLINEAR_AARCH64)
  static constexpr std::array<Isa, 4> ladder{Isa::scalar, Isa::neon, Isa::neon_dotprod, Isa::neon_i8mm};
#else
  static constexpr std::array<Isa, 1> ladder{Isa::scalar};
#endif
  return ladder;
}

/// The best level this processor runs.
inline Isa best_isa() {
  static const Isa best = [] {
    Isa b = Isa::scalar;
    for (Isa i : isa_ladder())
      if (isa_supported(i)) b = i;
    return b;
  }();
  return best;
}

/// Every level this processor runs, lowest first: what the tests sweep.
inline std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa i : isa_ladder())
    if (isa_supported(i)) out.push_back(i);
  return out;
}

/// Resolves a requested ceiling: `best` becomes best_isa(); a level this processor cannot run
/// is an error (forcing AMX on a machine without it must not silently run something else).
inline Isa resolve_isa(Isa requested) {
  if (requested == Isa::best) return best_isa();
  check(isa_supported(requested), "cpu::Backend: instruction-set level ", isa_name(requested),
        " is not supported by this processor/build (it has: ", cpu_features().describe(), ")");
  return requested;
}

}  // namespace qlinear::cpu
