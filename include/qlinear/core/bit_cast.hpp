#pragma once
// qlinear::bit_cast: std::bit_cast for host and device code alike. nvcc treats std::bit_cast as
// a host function and rejects it in __host__ __device__ code; the compiler builtin behind it
// (GCC 11+, clang 9+, MSVC 19.27+, nvcc) is usable in both and still constexpr.

#include "qlinear/core/config.hpp"

namespace qlinear {

/// The object representation of `from` as a To. Usage: `auto bits = qlinear::bit_cast<std::uint32_t>(1.0f);`
template <class To, class From>
QLINEAR_HD constexpr To bit_cast(const From& from) noexcept {
  static_assert(sizeof(To) == sizeof(From), "bit_cast: the types differ in size");
  return __builtin_bit_cast(To, from);
}

}  // namespace qlinear
