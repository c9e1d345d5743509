#pragma once
// The machine's arithmetic ceilings, measured in the same run as everything else so that every
// GFLOP/s figure can be read as a fraction of what the core can do: f32 FMA (AVX-512), int8
// dot products (AVX-512 VNNI vpdpbusd) and AMX int8 tiles (tdpbssd). Each loop runs independent
// accumulators from registers or tiles only (no memory traffic), long enough to hide latency.
//
// Each function returns the operations performed (2 per multiply-add) and a value derived from
// the accumulators, so nothing can be optimised away; callers divide by the elapsed time.

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace qlinear_bench::ceilings {

struct Result {
  double ops = 0;
  double sink = 0;
};

#if defined(__x86_64__)
inline bool has_avx512f() { return __builtin_cpu_supports("avx512f"); }
inline bool has_avx512vnni() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni"); }
inline bool has_amx_int8() { return __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-int8"); }

// Twelve named accumulators (an array would be kept in memory) and an empty asm that claims to
// change them all each iteration, so the compiler keeps every chain and every instruction.
#define QLB_ACC12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define QLB_CLOBBER12(a)                                                                                 \
  __asm__ volatile("" : "+v"(a##0), "+v"(a##1), "+v"(a##2), "+v"(a##3), "+v"(a##4), "+v"(a##5), "+v"(a##6), \
                   "+v"(a##7), "+v"(a##8), "+v"(a##9), "+v"(a##10), "+v"(a##11))

/// f32 FMA: 12 independent zmm accumulators, 16 lanes × 2 operations per instruction.
__attribute__((target("avx512f"))) inline Result fma_f32(std::size_t iterations) {
#define QLB_DECL(i) __m512 acc##i = _mm512_set1_ps(float(i) * 1e-3f);
  QLB_ACC12(QLB_DECL)
#undef QLB_DECL
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (std::size_t it = 0; it < iterations; ++it) {
#define QLB_STEP(i) acc##i = _mm512_fmadd_ps(acc##i, a, b);
    QLB_ACC12(QLB_STEP)
#undef QLB_STEP
    QLB_CLOBBER12(acc);
  }
  __m512 s = _mm512_setzero_ps();
#define QLB_SUM(i) s = _mm512_add_ps(s, acc##i);
  QLB_ACC12(QLB_SUM)
#undef QLB_SUM
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  return {double(iterations) * 12 * 16 * 2, double(lanes[0])};
}

/// int8 dot products: 12 independent vpdpbusd zmm accumulators, 64 multiply-adds per instruction.
__attribute__((target("avx512f,avx512vnni"))) inline Result vnni_int8(std::size_t iterations) {
#define QLB_DECL(i) __m512i acc##i = _mm512_set1_epi32(i);
  QLB_ACC12(QLB_DECL)
#undef QLB_DECL
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  for (std::size_t it = 0; it < iterations; ++it) {
#define QLB_STEP(i) acc##i = _mm512_dpbusd_epi32(acc##i, a, b);
    QLB_ACC12(QLB_STEP)
#undef QLB_STEP
    QLB_CLOBBER12(acc);
  }
  __m512i s = _mm512_setzero_si512();
#define QLB_SUM(i) s = _mm512_add_epi32(s, acc##i);
  QLB_ACC12(QLB_SUM)
#undef QLB_SUM
  alignas(64) std::int32_t lanes[16];
  _mm512_store_si512(lanes, s);
  return {double(iterations) * 12 * 64 * 2, double(lanes[0])};
}
#undef QLB_ACC12
#undef QLB_CLOBBER12

/// Asks the kernel for the AMX tile state (once per process); false where it refuses.
inline bool amx_permitted() {
  static const bool ok = [] {
    if (!has_amx_int8()) return false;
    constexpr long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
    return syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
  }();
  return ok;
}

/// AMX int8: 4 accumulator tiles (16 × 16 int32) fed by 2 A tiles (16 × 64 int8) and 2 B tiles,
/// 16·16·64 multiply-adds per tdpbssd. The tile configuration is written through a volatile
/// pointer: g++ 12 has been seen to drop plain stores to a struct only ldtilecfg reads.
__attribute__((target("amx-tile,amx-int8"))) inline Result amx_int8(std::size_t iterations) {
  alignas(64) unsigned char config[64];
  volatile unsigned char* cfg = config;
  for (int i = 0; i < 64; ++i) cfg[i] = 0;
  cfg[0] = 1;  // palette 1
  for (int t = 0; t < 8; ++t) {
    cfg[16 + 2 * t] = 64;  // bytes per row (low byte of colsb[t])
    cfg[48 + t] = 16;      // rows
  }
  _tile_loadconfig(config);
  alignas(64) std::int8_t a[16 * 64], b[16 * 64];
  for (int i = 0; i < 16 * 64; ++i) {
    a[i] = std::int8_t(i % 7 - 3);
    b[i] = std::int8_t(i % 5 - 2);
  }
  _tile_loadd(4, a, 64);
  _tile_loadd(5, a, 64);
  _tile_loadd(6, b, 64);
  _tile_loadd(7, b, 64);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (std::size_t it = 0; it < iterations; ++it) {
    _tile_dpbssd(0, 4, 6);
    _tile_dpbssd(1, 4, 7);
    _tile_dpbssd(2, 5, 6);
    _tile_dpbssd(3, 5, 7);
  }
  alignas(64) std::int32_t c[16 * 16];
  _tile_stored(0, c, 64);
  _tile_release();
  return {double(iterations) * 4 * 16 * 16 * 64 * 2, double(c[0])};
}
#endif

}  // namespace qlinear_bench::ceilings
