#pragma once
// Every kernel cpu::Backend can dispatch to: the scalar level, then each ISA's headers (each in
// its own namespace, compiled with target attributes, present only on its architecture).

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/scalar/kernels.hpp"
#include "qlinear/backends/cpu/scalar/own_schemes.hpp"

// With QLINEAR_CPU_PREBUILT_KERNELS (kernel_contract.hpp: qlinear's own test builds only) the
// selectors are declarations and the SIMD levels' kernels live in one prebuilt library, so
// their headers are not needed here. The scalar level stays: it says which schemes have an
// integer path.
#if defined(QLINEAR_X86_64) && !defined(QLINEAR_CPU_PREBUILT_KERNELS)
#include "qlinear/backends/cpu/x86/kernels.hpp"
#endif
#if defined(QLINEAR_AARCH64) && !defined(QLINEAR_CPU_PREBUILT_KERNELS)
#include "qlinear/backends/cpu/arm/kernels.hpp"
#endif
