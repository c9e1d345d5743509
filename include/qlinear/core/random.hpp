#pragma once
// Counter-based random numbers: the value at (key, counter) is a pure function of both, so a
// dropout mask can be regenerated in backward instead of stored, and the same seed gives the
// same numbers on every compiler and platform (std:: distributions are implementation-defined).

#include <cmath>
#include <cstdint>
#include <string_view>

namespace qlinear {

namespace detail {
/// SplitMix64's finaliser: a bijection on 64-bit words with full avalanche.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace detail

/// FNV-1a hash of a string (stable across runs and platforms), for deriving keys from names.
constexpr std::uint64_t stable_hash(std::string_view s) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (char c : s) h = (h ^ std::uint64_t(static_cast<unsigned char>(c))) * 0x100000001B3ull;
  return h;
}

/// A stream of random numbers addressed by counter: `bits(i)` is the i-th 64-bit word of the
/// stream `key`. Streams with different keys are independent for practical purposes.
/// Usage: `CounterRng rng(CounterRng::key(seed, stable_hash("lora_A"))); float u = rng.uniform(7);`
struct CounterRng {
  std::uint64_t key_ = 0;

  constexpr explicit CounterRng(std::uint64_t key) : key_(detail::mix64(key)) {}

  /// Combines words into one key (order matters).
  template <class... W>
  static constexpr std::uint64_t key(std::uint64_t first, W... rest) {
    std::uint64_t k = detail::mix64(first);
    ((k = detail::mix64(k ^ detail::mix64(std::uint64_t(rest) + 0x632BE59BD9B4E019ull))), ...);
    return k;
  }

  constexpr std::uint64_t bits(std::uint64_t counter) const { return detail::mix64(key_ ^ detail::mix64(counter)); }
  /// Uniform in [0, 1) with 24 bits: exactly representable as float.
  constexpr float uniform(std::uint64_t counter) const { return float(bits(counter) >> 40) * 0x1.0p-24f; }
  /// Uniform in [0, 1) with 53 bits.
  constexpr double uniform_double(std::uint64_t counter) const { return double(bits(counter) >> 11) * 0x1.0p-53; }
  /// Standard normal (Box–Muller over counters 2i and 2i+1).
  double normal(std::uint64_t counter) const {
    const double u1 = 1.0 - uniform_double(2 * counter);  // (0, 1]: log is finite
    const double u2 = uniform_double(2 * counter + 1);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925 * u2);
  }
};

}  // namespace qlinear
