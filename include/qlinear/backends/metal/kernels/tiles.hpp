#pragma once
// Tile shapes of the Metal kernels. Host and GPU code both read these numbers: they are part of
// each kernel's name (qlinear_<kind>_<scheme>_<tile>), the string the host looks a pipeline up by.
// Plain macros so this header is valid MSL, C++ and preprocessor input for string literals.

// decode (GEMV, small M): a threadgroup of DECODE_NSG SIMD groups; each SIMD group computes
// DECODE_NR output rows (weight rows) for up to DECODE_MX activation rows, so every weight byte is
// read once per DECODE_MX activation rows.
#define QLINEAR_METAL_DECODE_NR 4
#define QLINEAR_METAL_DECODE_NSG 2
#define QLINEAR_METAL_DECODE_MX 4
#define QLINEAR_METAL_DECODE_TILE "nr4_nsg2_mx4"

// prefill (GEMM): a BM x BN output tile per threadgroup of PREFILL_THREADS threads (4 SIMD groups
// in a 2 x 2 grid, each a 16 x 16 block of 8 x 8 simdgroup matrices), K in steps of BK.
#define QLINEAR_METAL_PREFILL_BM 32
#define QLINEAR_METAL_PREFILL_BN 32
#define QLINEAR_METAL_PREFILL_BK 32
#define QLINEAR_METAL_PREFILL_THREADS 128
#define QLINEAR_METAL_PREFILL_TILE "bm32_bn32_bk32"

// backward (dx = dy·W): one thread per 16 input features for up to BACKWARD_MX rows of dy.
#define QLINEAR_METAL_BACKWARD_THREADS 64
#define QLINEAR_METAL_BACKWARD_MX 4
#define QLINEAR_METAL_BACKWARD_TILE "t64_mx4"

// Every decoder produces weights in pieces of this many consecutive elements of a row.
#define QLINEAR_METAL_PIECE 16
