#pragma once
// AArch64 kernels of cpu::Backend, one header per (ISA, kernel family): NEON, dotprod, i8mm.
// Each defines specialisations of the primary templates in kernel_contract.hpp for its level,
// in namespace qlinear::cpu::<isa>, with functions marked by that level's target attribute.
//  - neon_quantize.hpp: QuantizeActivations<Q8_0 | Q8_1 | Q8_K, neon> (the higher levels select it);
//  - neon_dot.hpp, dotprod_dot.hpp: DotTile<S, level> for every GGUF weight scheme; i8mm_dot.hpp:
//    SMMLA pair tiles for the 32-weight-block schemes (decoders shared from neon_decode.hpp,
//    tile loops from tile_driver.hpp);
//  - neon_own.hpp, dotprod_own.hpp: qlinear's own schemes (int8 × I8Row, int4 groups × Q8Block<G>):
//    quantizers and dot tiles;
//  - neon_exact.hpp: F32Tile<neon> and DequantizeRows<S, neon> for the exact path.

#if defined(__aarch64__)  // empty on other architectures
#include "qlinear/backends/cpu/arm/dotprod_dot.hpp"
#include "qlinear/backends/cpu/arm/dotprod_own.hpp"
#include "qlinear/backends/cpu/arm/i8mm_dot.hpp"
#include "qlinear/backends/cpu/arm/neon_dot.hpp"
#include "qlinear/backends/cpu/arm/neon_exact.hpp"
#include "qlinear/backends/cpu/arm/neon_own.hpp"
#include "qlinear/backends/cpu/arm/neon_quantize.hpp"
#include "qlinear/backends/cpu/arm/target.hpp"
#endif
