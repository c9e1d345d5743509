#pragma once
// x86-64 kernels of cpu::Backend, one header per (ISA, kernel family). Each defines
// specialisations of the primary templates in kernel_contract.hpp for its ISA level, in
// namespace qlinear::cpu::<isa>, with functions marked by that level's target attribute.

#if defined(__x86_64__) || defined(_M_X64)  // empty on other architectures
#include "qlinear/backends/cpu/x86/target.hpp"
#endif
