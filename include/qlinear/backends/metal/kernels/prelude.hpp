#pragma once
// The environment every Metal kernel header starts from. This folder is Metal Shading Language
// source (the C++14 subset Apple's compiler accepts: no std, no exceptions, no double) that also
// compiles as plain C++ in the tests:
//  - under Apple's compiler (__METAL_VERSION__) it is <metal_stdlib>;
//  - as C++ it needs tests/backends/metal/msl_shim.hpp included first: the shim defines the
//    Metal names these kernels use (uchar, float2, half, as_type, simd_sum, simdgroup_float8x8,
//    threadgroup_barrier, ...) and the address-space words (`device`, `threadgroup`, `thread`,
//    `constant`, `kernel`) as macros that expand to nothing (`constant` to `const`).
// Kernel bodies therefore read like MSL; parameter attributes such as [[buffer(0)]] are MSL's
// own and a C++ compiler ignores them (the shim silences that warning); the one exception is
// [[threadgroup(N)]], written QLINEAR_THREADGROUP_BUFFER(N).

#if defined(__METAL_VERSION__)
#include <metal_stdlib>
using namespace metal;
// One explicit instantiation of a kernel template under the name the host looks up.
#define QLINEAR_KERNEL_INSTANCE(NAME, TYPE, ...) template [[host_name(NAME)]] kernel TYPE __VA_ARGS__;
// [[threadgroup(N)]] on a kernel parameter, spelled through a macro because in C++ the shim's
// `threadgroup` macro would rewrite the attribute.
#define QLINEAR_THREADGROUP_BUFFER(N) [[threadgroup(N)]]
#elif defined(QLINEAR_MSL_SHIM)
// C++: the same instantiation, recorded in the shim's list of kernel names.
#define QLINEAR_THREADGROUP_BUFFER(N)
#define QLINEAR_MSL_CAT_(a, b) a##b
#define QLINEAR_MSL_CAT(a, b) QLINEAR_MSL_CAT_(a, b)
#define QLINEAR_KERNEL_INSTANCE(NAME, TYPE, ...) \
  template TYPE __VA_ARGS__;                     \
  static const bool QLINEAR_MSL_CAT(qlinear_kernel_registered_, __COUNTER__) = qlinear_msl_register_kernel(NAME);
#else
#error "qlinear/backends/metal/kernels/ holds Metal source: Apple's Metal compiler builds it (embedded in qlinear/backends/metal/metal_source.hpp); as C++ it compiles only after tests/backends/metal/msl_shim.hpp"
#endif
