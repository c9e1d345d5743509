#pragma once
// The shim of the Metal standard library under which Metal kernel source compiles as C++14:
// msl_types.hpp's names made visible as <metal_stdlib> does (`using namespace metal`), and the
// address-space and function qualifiers as macros: `device`, `thread`, `threadgroup` and `kernel`
// vanish, `constant` becomes `const`. Unknown attributes ([[buffer(0)]], [[host_name("...")]]) are
// MSL's own; the warning a C++ compiler gives for them is silenced until msl_shim_end.hpp.
// Include it after every other header (the macros would rewrite them) and end with
// msl_shim_end.hpp. Usage: see kernels_as_cpp.hpp.

#include "msl_types.hpp"

#define QLINEAR_MSL_SHIM 1

using namespace metal;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wattributes"
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wunknown-attributes"
#endif

#define device
#define thread
#define threadgroup
#define constant const
#define kernel
