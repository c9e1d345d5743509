#pragma once
// AArch64 kernels of cpu::Backend, one header per (ISA, kernel family): NEON, dotprod, i8mm.
// Each defines specialisations of the primary templates in kernel_contract.hpp for its level,
// in namespace qlinear::cpu::<isa>, with functions marked by that level's target attribute.

#if defined(__aarch64__)  // empty on other architectures
#include "qlinear/backends/cpu/arm/target.hpp"
#endif
