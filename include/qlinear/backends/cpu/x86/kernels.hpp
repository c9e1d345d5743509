#pragma once
// x86-64 kernels of cpu::Backend, one header per (ISA, kernel family). Each defines
// specialisations of the primary templates in kernel_contract.hpp for its ISA level, in
// namespace qlinear::cpu::<isa>, with functions marked by that level's target attribute.

#if defined(__x86_64__) || defined(_M_X64)  // empty on other architectures
#include "qlinear/backends/cpu/x86/target.hpp"
// qlinear's own schemes (int8, int4): integer path
#include "qlinear/backends/cpu/x86/avx2_own_int.hpp"
#include "qlinear/backends/cpu/x86/avx512_own_int.hpp"
#include "qlinear/backends/cpu/x86/avx512_own_quantize.hpp"
#include "qlinear/backends/cpu/x86/avx512_vnni_own_int.hpp"
// AMX: packed layouts (tile order) and their kernels
#include "qlinear/backends/cpu/x86/amx_int8.hpp"
// exact path: f32 tiles and weight-row dequantizers
#include "qlinear/backends/cpu/x86/avx2_f32.hpp"
#include "qlinear/backends/cpu/x86/avx512_dequantize.hpp"
#include "qlinear/backends/cpu/x86/avx512_f32.hpp"
#endif
