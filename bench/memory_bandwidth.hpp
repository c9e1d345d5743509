#pragma once
// The machine's memory-read bandwidth, measured in the same run as the cold (beyond the
// last-level cache) decode benchmarks, so their GB/s read as a fraction of what the memory gives.

#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace qlinear_bench {

namespace detail {
// Eight independent sums keep enough loads in flight; the compiler vectorises the loop.
template <class Word>
inline std::uint64_t sum_words(const Word* p, std::size_t n) {
  Word s[8] = {};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += p[i + j];
  for (; i < n; ++i) s[0] += p[i];
  Word t = 0;
  for (Word v : s) t += v;
  return std::uint64_t(t);
}
#if defined(__x86_64__)
__attribute__((target("avx2"))) inline std::uint64_t sum_avx2(const std::uint64_t* p, std::size_t n) {
  return sum_words(p, n);
}
#endif
inline std::uint64_t sum_bytes(const std::uint8_t* p, std::size_t bytes) {
  const auto* w = reinterpret_cast<const std::uint64_t*>(p);
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return sum_avx2(w, bytes / 8);
#endif
  return sum_words(w, bytes / 8);
}
}  // namespace detail

/// Reads every byte of `bytes` (split evenly over `threads` threads) and returns a checksum
/// so the reads cannot be optimised away.
inline std::uint64_t read_all(const std::vector<std::uint64_t>& words, int threads) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(words.data());
  const std::size_t bytes = words.size() * 8;
  if (threads <= 1) return detail::sum_bytes(p, bytes);
  std::vector<std::uint64_t> sums(std::size_t(threads), 0);
  std::vector<std::thread> pool;
  const std::size_t part = bytes / std::size_t(threads) / 64 * 64;
  for (int t = 0; t < threads; ++t) {
    const std::size_t begin = std::size_t(t) * part, len = t == threads - 1 ? bytes - begin : part;
    pool.emplace_back([&sums, p, begin, len, t] { sums[std::size_t(t)] = detail::sum_bytes(p + begin, len); });
  }
  std::uint64_t total = 0;
  for (int t = 0; t < threads; ++t) {
    pool[std::size_t(t)].join();
    total += sums[std::size_t(t)];
  }
  return total;
}

}  // namespace qlinear_bench
