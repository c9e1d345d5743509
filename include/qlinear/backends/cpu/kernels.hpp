#pragma once
// Every kernel cpu::Backend can dispatch to: the scalar level, then each ISA's headers (each in
// its own namespace, compiled with target attributes, present only on its architecture).

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/scalar/kernels.hpp"

#if defined(QLINEAR_X86_64)
#include "qlinear/backends/cpu/x86/kernels.hpp"
#endif
#if defined(QLINEAR_AARCH64)
#include "qlinear/backends/cpu/arm/kernels.hpp"
#endif
