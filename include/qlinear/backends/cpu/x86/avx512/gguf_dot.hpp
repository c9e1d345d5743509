#pragma once
// cpu::Backend's integer-path kernels for every GGUF weight format at the avx512 level
// (AVX-512 (F/BW/DQ/VL): 512-bit vectors, vpmaddubsw/vpmaddwd dot products, 32 registers).
// The kernels are the shared body x86/gguf_dot.inc compiled for this level, in namespace
// qlinear::cpu::avx512::gguf_dot, with this level's building blocks (x86/avx512/simd.hpp).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/x86/avx512/simd.hpp"
#include "qlinear/schemes/gguf/all.hpp"

#if defined(__x86_64__) || defined(_M_X64)

namespace qlinear::cpu::avx512 {

#define QLINEAR_X86_FN QLINEAR_TARGET_AVX512 inline __attribute__((always_inline))
#define QLINEAR_X86_KERNEL QLINEAR_TARGET_AVX512 inline __attribute__((noinline))
#define QLINEAR_X86_LAMBDA QLINEAR_TARGET_AVX512 __attribute__((always_inline))
#include "qlinear/backends/cpu/x86/gguf_dot.inc"
#undef QLINEAR_X86_FN
#undef QLINEAR_X86_KERNEL
#undef QLINEAR_X86_LAMBDA

/// Micro-kernel shapes at this level (activation rows × weight rows; see gguf_dot::tile):
/// up to kSmallM activation rows run as one block against kSmallNR<m> weight rows at a time.
struct GgufTiles {
  static constexpr std::size_t kSmallM = 4;
  static constexpr int kSmallNR1 = 4, kSmallNR2 = 4, kSmallNR3 = 2, kSmallNR4 = 2;
  static constexpr int kLargeMR = 6, kLargeNR = 2;
};

/// The tile kernel of GGUF format S at this level.
template <class S>
QLINEAR_TARGET_AVX512 inline void gguf_dot_tile(const DotTileArgs& a) {
  gguf_dot::tile<typename gguf_dot::KernelOf<S>::type, GgufTiles>(a);
}

}  // namespace qlinear::cpu::avx512

namespace qlinear::cpu {

template <class S>
  requires requires { typename avx512::gguf_dot::KernelOf<S>::type; }
struct DotTile<S, Isa::avx512> {
  static void tile(const DotTileArgs& a) { avx512::gguf_dot_tile<S>(a); }
};

}  // namespace qlinear::cpu

#endif
