#pragma once
// Target attributes of the x86-64 kernel levels. A kernel and every helper it calls carry the
// attribute of their level, so they compile to that ISA whatever flags the including TU has,
// and never replace another level's code at link time (each level has its own namespace).

#if defined(__x86_64__) || defined(_M_X64)  // empty on other architectures
#include <immintrin.h>

#define QLINEAR_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define QLINEAR_TARGET_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl")))
#define QLINEAR_TARGET_AVX512_VNNI \
  __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))
#define QLINEAR_TARGET_AMX \
  __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,amx-tile,amx-int8,amx-bf16")))
// AMX with AVX512-BF16's conversions, for the bf16 path (every AMX-BF16 processor has them; its
// kernels check both).
#define QLINEAR_TARGET_AMX_BF16 \
  __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx512bf16,amx-tile,amx-int8,amx-bf16")))

// g++ 12's AVX-512 intrinsics start from deliberately undefined registers (`__Y = __Y`) and
// warn -Wuninitialized / -Wmaybe-uninitialized in every function they are inlined into (GCC
// PR105593, fixed in later releases). Kernel headers put their code between these two.
// Fully unrolls a loop over registers (accumulator blocks must live in registers; g++ -O2
// keeps such loops, and the arrays they index, in memory otherwise). g++ and clang both read it.
#define QLINEAR_UNROLL _Pragma("GCC unroll 16")

#if defined(__GNUC__) && !defined(__clang__)
#define QLINEAR_X86_KERNELS_BEGIN                               \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wuninitialized\"") \
      _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define QLINEAR_X86_KERNELS_END _Pragma("GCC diagnostic pop")
#else
#define QLINEAR_X86_KERNELS_BEGIN
#define QLINEAR_X86_KERNELS_END
#endif
#endif
