#pragma once
// Software prefetch of a weight stream read once per call (a lone activation row against packed
// panels), in namespace qlinear::cpu::x86.
//
// A lone row does little work per weight byte, so its speed is the rate at which the weights
// arrive. Measured on the AMX machine (Q4_K / Q5_K, 4096², M = 1, beyond the last-level cache):
// with the hardware prefetchers alone one panel stream reads at 5.7-7.7 GB/s, against 11.8 for a
// plain sequential read; asking for the bytes 12 KiB ahead into L2 brings it to 10-12.6 GB/s. Nearer
// (4-8 KiB) leaves part of the latency exposed, farther (24 KiB) was slower again; into L1 the
// in-cache case measured up to 15% slower (near this VM's run-to-run noise, so L2 it is). On
// int4's four-panel stream the same prefetch measured slower, and it is not used there; on NF4's
// four canonical rows (avx512/nf4_exact.hpp) it took the lone row from 7.3 to 11.5 GB/s.

#if defined(__x86_64__) || defined(_M_X64)
#include <cstddef>
#include <cstdint>
#include <immintrin.h>

namespace qlinear::cpu::x86 {

/// How far ahead of the bytes being read the stream is prefetched.
inline constexpr std::size_t kStreamAheadBytes = 12 * 1024;

/// Prefetches into L2 the `Bytes` bytes that lie kStreamAheadBytes past `at` (the block about to
/// be read): called once per block, the stream stays that far ahead. Prefetches never fault, so
/// the end of the stream needs no care; the address is formed as an integer, since a pointer
/// past the end of the weights would be undefined behaviour even unread.
/// Usage: `x86::prefetch_ahead<P::sb_bytes>(block);`
template <std::size_t Bytes>
inline void prefetch_ahead(const std::uint8_t* at) {
  const std::uintptr_t ahead = reinterpret_cast<std::uintptr_t>(at) + kStreamAheadBytes;
  for (std::size_t off = 0; off < Bytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(ahead + off), _MM_HINT_T1);
}

}  // namespace qlinear::cpu::x86
#endif
