#pragma once
// Target attributes of the AArch64 kernel levels (see x86/target.hpp for why every kernel and
// helper carries its level's attribute). Advanced SIMD is part of the AArch64 baseline.

#if defined(__aarch64__)  // empty on other architectures
#include <arm_neon.h>

#define QLINEAR_TARGET_NEON
#define QLINEAR_TARGET_NEON_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define QLINEAR_TARGET_NEON_I8MM __attribute__((target("arch=armv8.2-a+dotprod+i8mm")))
#endif
