#pragma once
// What the running processor (and the operating system) let qlinear's CPU kernels use. Detected
// once, on first use, and cached in a function-local static.

#include <cstdint>
#include <string>

#if defined(__x86_64__) || defined(_M_X64)
#define QLINEAR_X86_64 1
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#elif defined(__aarch64__)
#define QLINEAR_AARCH64 1
#if defined(__linux__)
#include <sys/auxv.h>
#endif
#endif

namespace qlinear {

/// Instruction-set extensions the CPU has and the OS has enabled (register state saved on
/// context switch; AMX tile data permitted for this process).
/// Usage: `if (cpu_features().avx512_vnni) ...`
struct CpuFeatures {
  // x86-64
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_vnni = false, avx512_bf16 = false, avx512_fp16 = false, avx_vnni = false;
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;
  // aarch64
  bool neon = false, dotprod = false, i8mm = false, fp16 = false, sve = false;

  /// A space-separated list of the features present, for logs and benchmark labels.
  std::string describe() const {
    std::string s;
    auto add = [&](bool on, const char* n) {
      if (!on) return;
      if (!s.empty()) s += ' ';
      s += n;
    };
    add(avx2, "avx2");
    add(fma, "fma");
    add(f16c, "f16c");
    add(avx512f, "avx512f");
    add(avx512bw, "avx512bw");
    add(avx512vl, "avx512vl");
    add(avx512dq, "avx512dq");
    add(avx512_vnni, "avx512_vnni");
    add(avx512_bf16, "avx512_bf16");
    add(avx512_fp16, "avx512_fp16");
    add(avx_vnni, "avx_vnni");
    add(amx_tile, "amx_tile");
    add(amx_int8, "amx_int8");
    add(amx_bf16, "amx_bf16");
    add(neon, "neon");
    add(dotprod, "dotprod");
    add(i8mm, "i8mm");
    add(fp16, "fp16");
    add(sve, "sve");
    return s.empty() ? std::string("none") : s;
  }
};

namespace detail {

#if defined(QLINEAR_X86_64)
inline std::uint64_t xgetbv0() {
  std::uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (std::uint64_t(hi) << 32) | lo;
}

// Linux hands out AMX tile data (a 8 KiB register state) only to processes that ask for it.
inline bool request_amx_permission() {
#if defined(__linux__)
  constexpr long ARCH_GET_XCOMP_PERM = 0x1022, ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18;
  if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) return false;
  unsigned long bitmask = 0;
  if (syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &bitmask) != 0) return false;
  return (bitmask & (1ul << XFEATURE_XTILEDATA)) != 0;
#else
  return false;
#endif
}

inline CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
  const unsigned max_leaf = a;
  __cpuid(1, a, b, c, d);
  const bool osxsave = (c >> 27) & 1;
  if (!osxsave) return f;
  const std::uint64_t xcr0 = xgetbv0();
  const bool os_avx = (xcr0 & 0x6) == 0x6;            // XMM and YMM state
  const bool os_avx512 = os_avx && (xcr0 & 0xE0) == 0xE0;  // opmask, ZMM_Hi256, Hi16_ZMM
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;   // XTILECFG and XTILEDATA
  const bool avx = os_avx && ((c >> 28) & 1);
  f.fma = avx && ((c >> 12) & 1);
  f.f16c = avx && ((c >> 29) & 1);
  if (max_leaf < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  const unsigned ebx7 = b, ecx7 = c, edx7 = d, max_sub7 = a;
  f.avx2 = avx && ((ebx7 >> 5) & 1);
  f.avx512f = os_avx512 && ((ebx7 >> 16) & 1);
  f.avx512dq = f.avx512f && ((ebx7 >> 17) & 1);
  f.avx512bw = f.avx512f && ((ebx7 >> 30) & 1);
  f.avx512vl = f.avx512f && ((ebx7 >> 31) & 1);
  f.avx512_vnni = f.avx512f && ((ecx7 >> 11) & 1);
  f.avx512_fp16 = f.avx512f && ((edx7 >> 23) & 1);
  const bool amx_tile = os_amx && ((edx7 >> 24) & 1);
  if (amx_tile && request_amx_permission()) {
    f.amx_tile = true;
    f.amx_int8 = (edx7 >> 25) & 1;
    f.amx_bf16 = (edx7 >> 22) & 1;
  }
  if (max_sub7 >= 1) {
    __cpuid_count(7, 1, a, b, c, d);
    f.avx_vnni = avx && ((a >> 4) & 1);
    f.avx512_bf16 = f.avx512f && ((a >> 5) & 1);
  }
  return f;
}
#elif defined(QLINEAR_AARCH64)
inline CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  f.neon = true;  // Advanced SIMD is mandatory on AArch64
#if defined(__linux__)
  const unsigned long hwcap = getauxval(AT_HWCAP), hwcap2 = getauxval(AT_HWCAP2);
  f.fp16 = (hwcap >> 10) & 1;     // HWCAP_ASIMDHP
  f.dotprod = (hwcap >> 20) & 1;  // HWCAP_ASIMDDP
  f.sve = (hwcap >> 22) & 1;      // HWCAP_SVE
  f.i8mm = (hwcap2 >> 13) & 1;    // HWCAP2_I8MM
#elif defined(__APPLE__)
  f.fp16 = f.dotprod = true;  // every Apple-silicon core has them
#endif
  return f;
}
#else
inline CpuFeatures detect_cpu_features() { return {}; }
#endif

}  // namespace detail

/// The running processor's features, detected on first call (thread-safe) and cached. On
/// x86-64 Linux the first call also asks the kernel for permission to use AMX tiles.
inline const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detail::detect_cpu_features();
  return features;
}

}  // namespace qlinear
