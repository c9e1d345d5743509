#pragma once
// Target attributes of the AArch64 kernel levels (see x86/target.hpp for why every kernel and
// helper carries its level's attribute), and the few dotprod / i8mm instructions the kernels
// use, wrapped so that g++ and clang both compile them without any -march flag.
// Advanced SIMD is part of the AArch64 baseline: QLINEAR_TARGET_NEON adds nothing.
//
// Why the attributes differ by compiler:
//  - g++ 12 declares vdotq_s32 / vmmlaq_s32 under `#pragma GCC target("arch=armv8.2-a+dotprod")`
//    (resp. "+i8mm"), and inlines an intrinsic only into a function whose ISA includes the
//    intrinsic's: so the levels say "arch=armv8.2-a+dotprod[+i8mm]" (a bare "+dotprod" on an
//    Armv8.0 TU would be Armv8.0+dotprod, which does not include Armv8.2-A). When the TU is
//    already built for dotprod (Armv8.2-A or later), the dotprod level takes the TU's own ISA
//    and the i8mm level adds "+i8mm" to it, so each level's ISA includes the TU's and the lower
//    level's, however far the consumer's -march goes.
//  - clang 14 ignores "arch=..." in a target attribute on AArch64 (it warns and drops it) and
//    declares the dotprod / i8mm intrinsics only under __ARM_FEATURE_DOTPROD /
//    __ARM_FEATURE_MATMUL_INT8; it takes target("dotprod") and lets a function so marked call
//    the builtins behind the intrinsics (__builtin_neon_vdotq_v, __builtin_neon_vmmlaq_v).

#if defined(__aarch64__)  // empty on other architectures
#include <arm_neon.h>

#define QLINEAR_TARGET_NEON

#if defined(__clang__)
#define QLINEAR_TARGET_NEON_DOTPROD __attribute__((target("dotprod")))
#define QLINEAR_TARGET_NEON_I8MM __attribute__((target("dotprod,i8mm")))
#elif defined(__ARM_FEATURE_DOTPROD)
// The TU is built for Armv8.2-A+dotprod or later already: its own ISA is the dotprod level's.
#define QLINEAR_TARGET_NEON_DOTPROD
#if defined(__ARM_FEATURE_MATMUL_INT8)
#define QLINEAR_TARGET_NEON_I8MM
#else
#define QLINEAR_TARGET_NEON_I8MM __attribute__((target("+i8mm")))
#endif
#else
#define QLINEAR_TARGET_NEON_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define QLINEAR_TARGET_NEON_I8MM __attribute__((target("arch=armv8.2-a+dotprod+i8mm")))
#endif

/// A kernel's helper of its own level (or of a level its target includes): always inlined,
/// since the hot loops pass register arrays through them.
#define QLINEAR_ARM_INLINE inline __attribute__((always_inline))

/// Before a loop over a kernel's register arrays (activation rows of a tile, sub-blocks): fully
/// unrolled, the arrays stay in registers; g++ 12 does not unroll such loops of 4 on its own once
/// the body is large, and then keeps the accumulators on the stack.
#define QLINEAR_ARM_UNROLL _Pragma("GCC unroll 16")

// g++ 12 on AArch64 keeps the ISA of the last function it parsed in its global option state
// (aarch64_set_current_function does not switch back when a function ends), and
// `#pragma GCC push_options` saves that state: after a function with a target attribute, a
// later push/pop pair (the exact-FP regions of qlinear's headers, or the consumer's own) makes
// every function declared after it Armv8.2-A+dotprod+i8mm code: in the thread pool that was
// LSE atomics, SIGILL on a Cortex-A53. Parsing any function without the attribute switches
// g++ back, so every header that defines attributed functions ends with
// QLINEAR_ARM_TARGET_RESET(unique_tag), a plain empty function.
#define QLINEAR_ARM_TARGET_RESET(tag) \
  namespace qlinear::cpu::arm::detail {  \
  inline void target_reset_##tag() {}    \
  }

namespace qlinear::cpu::neon_dotprod {
/// SDOT: acc[l] += Σ_{t<4} a[4l+t]·b[4l+t] (int8 × int8 → int32, four lanes).
QLINEAR_TARGET_NEON_DOTPROD QLINEAR_ARM_INLINE int32x4_t sdot(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(__clang__) && !defined(__ARM_FEATURE_DOTPROD)
  return int32x4_t(__builtin_neon_vdotq_v(int8x16_t(acc), a, b, 34));
#else
  return vdotq_s32(acc, a, b);
#endif
}
}  // namespace qlinear::cpu::neon_dotprod

namespace qlinear::cpu::neon_i8mm {
/// SMMLA: acc (2×2 int32, row-major) += A·Bᵀ with A, B 2×8 int8 matrices (row r = bytes 8r..8r+7).
QLINEAR_TARGET_NEON_I8MM QLINEAR_ARM_INLINE int32x4_t smmla(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(__clang__) && !defined(__ARM_FEATURE_MATMUL_INT8)
  return int32x4_t(__builtin_neon_vmmlaq_v(int8x16_t(acc), a, b, 34));
#else
  return vmmlaq_s32(acc, a, b);
#endif
}
}  // namespace qlinear::cpu::neon_i8mm
QLINEAR_ARM_TARGET_RESET(target)
#endif
