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
#endif
