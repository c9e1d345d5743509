#pragma once
// x86-64 kernels of cpu::Backend, one header per (ISA, kernel family). Each defines
// specialisations of the primary templates in kernel_contract.hpp for its ISA level, in
// namespace qlinear::cpu::<isa>, with functions marked by that level's target attribute.

#if defined(__x86_64__) || defined(_M_X64)  // empty on other architectures
#include "qlinear/backends/cpu/x86/target.hpp"
// GGUF formats, integer path: dot tiles and the Q8_0 / Q8_1 / Q8_K activation quantizers.
#include "qlinear/backends/cpu/x86/avx2/gguf_dot.hpp"
#include "qlinear/backends/cpu/x86/avx2/quantize_q8.hpp"
#include "qlinear/backends/cpu/x86/avx512/gguf_dot.hpp"
#include "qlinear/backends/cpu/x86/avx512/quantize_q8.hpp"
#include "qlinear/backends/cpu/x86/avx512_vnni/gguf_dot.hpp"
// qlinear's own schemes (int8, int4): integer path
#include "qlinear/backends/cpu/x86/avx2/own_int.hpp"
#include "qlinear/backends/cpu/x86/avx512/own_int.hpp"
#include "qlinear/backends/cpu/x86/avx512/quantize_own.hpp"
#include "qlinear/backends/cpu/x86/avx512_vnni/own_int.hpp"
// AMX: packed layouts (tile order) and their kernels
#include "qlinear/backends/cpu/x86/amx/bf16.hpp"
#include "qlinear/backends/cpu/x86/amx/int4.hpp"
#include "qlinear/backends/cpu/x86/amx/int8.hpp"
#include "qlinear/backends/cpu/x86/amx/kquants.hpp"
#include "qlinear/backends/cpu/x86/amx/q32.hpp"
// exact path: f32 tiles and weight-row dequantizers
#include "qlinear/backends/cpu/x86/avx2/f32_tile.hpp"
#include "qlinear/backends/cpu/x86/avx512/dequantize.hpp"
#include "qlinear/backends/cpu/x86/avx512/f32_tile.hpp"
#include "qlinear/backends/cpu/x86/avx512/nf4_exact.hpp"
#endif
