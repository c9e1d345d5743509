#pragma once
// AVX-512 (F/BW/DQ/VL, no VNNI: vpdpbusd emulated by vpmaddubsw + vpmaddwd) integer kernels of qlinear's own schemes: int8 (per tensor / per
// channel, ± affine) against I8Row activations and int4 groups (± affine) against Q8Block<G>,
// on the schemes' own row bytes. The code is shared with the other AVX-512 level through
// own_int.inc, compiled here in namespace qlinear::cpu::avx512::own.

#if defined(__x86_64__) || defined(_M_X64)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/activation_formats.hpp"
#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/x86/target.hpp"

QLINEAR_X86_KERNELS_BEGIN
namespace qlinear::cpu {
namespace avx512::own {
#define QLINEAR_OWN_TARGET QLINEAR_TARGET_AVX512
#define QLINEAR_OWN_VNNI 0
#include "qlinear/backends/cpu/x86/own_int.inc"
#undef QLINEAR_OWN_VNNI
#undef QLINEAR_OWN_TARGET
}  // namespace avx512::own

template <bool PerChannel, bool Affine>
struct DotTile<Int8Scheme<PerChannel, Affine>, Isa::avx512> {
  static void tile(const DotTileArgs& a) { avx512::own::int8_tile<PerChannel, Affine>(a); }
};
template <int G>
struct DotTile<Int4<G>, Isa::avx512> {
  static void tile(const DotTileArgs& a) { avx512::own::int4_tile<G, false>(a); }
};
template <int G>
struct DotTile<Int4Affine<G>, Isa::avx512> {
  static void tile(const DotTileArgs& a) { avx512::own::int4_tile<G, true>(a); }
};

}  // namespace qlinear::cpu
QLINEAR_X86_KERNELS_END
#endif
