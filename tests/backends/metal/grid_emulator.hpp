#pragma once
// A grid emulator for Metal compute kernels compiled as C++ (under msl_shim.hpp): it runs every
// thread of a threadgroup as a fiber on the calling thread and switches between them only where
// Metal threads meet, so kernels run exactly as written and in phases:
//  - threadgroup_barrier: every thread runs until it reaches the barrier; once all threads of the
//    threadgroup wait at the same barrier (same call site) they all go on. Threadgroup memory is
//    filled with NaN bytes before each threadgroup, and threads run in ascending lane order in
//    even threadgroups and descending in odd ones, so a missing barrier shows as wrong numbers.
//  - simd_sum / simd_shuffle / simd_shuffle_down / simd_shuffle_xor / simdgroup_barrier: the
//    32 lanes of a SIMD group rendezvous, values are exchanged, all go on.
//  - simdgroup matrices (make_filled_simdgroup_matrix, simdgroup_load / _store /
//    _multiply_accumulate): the first lane to reach an operation performs it for the SIMD group
//    (as the hardware does, at one instant); the others must reach the same operation with the
//    same arguments and the same input matrices, checked by tags, and share the result.
// Misuse is an EmulationError, never a silent pass: a barrier some threads skip or return before,
// threads waiting at different barriers, SIMD-group functions not called by every lane of the
// SIMD group (stricter than Metal, which would use the active lanes: qlinear's kernels never
// diverge there), lanes disagreeing about a matrix operation, a matrix used before it was loaded
// or filled, a shuffle from a lane that does not exist, writes past threadgroup memory.
// Usage:
//   emu::launch({gx, gy, 1}, {64, 1, 1}, 0, [&](const emu::Thread& t) {
//     my_kernel(..., t.threadgroup_position_in_grid, t.simdgroup_index_in_threadgroup, ...);
//   });

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include "msl_types.hpp"

namespace qlinear::metal::emu {

/// A grid or threadgroup size.
struct Dim3 {
  std::uint32_t x = 1, y = 1, z = 1;
  std::uint64_t count() const { return std::uint64_t(x) * y * z; }
};

/// The built-in values ([[thread_position_in_grid]] and friends) of one emulated thread, plus
/// its threadgroup's memory (what [[threadgroup(0)]] points at).
struct Thread {
  ::metal::uint3 threadgroup_position_in_grid;
  ::metal::uint3 threadgroups_per_grid;
  ::metal::uint3 thread_position_in_threadgroup;
  ::metal::uint3 threads_per_threadgroup;
  ::metal::uint3 thread_position_in_grid;
  uint thread_index_in_threadgroup;
  ushort simdgroup_index_in_threadgroup;
  ushort thread_index_in_simdgroup;
  ushort threads_per_simdgroup;
  void* threadgroup_memory;
};

/// What a launch did, for tests that a kernel really used barriers, SIMD functions or matrices.
struct Stats {
  std::uint64_t threadgroups = 0;
  std::uint64_t threads = 0;
  std::uint64_t barriers = 0;    ///< threadgroup barriers passed (once per threadgroup and barrier)
  std::uint64_t simd_ops = 0;    ///< SIMD-group rendezvous (once per SIMD group and call)
  std::uint64_t matrix_ops = 0;  ///< simdgroup-matrix operations (once per SIMD group and call)
  std::uint64_t switches = 0;    ///< fiber switches
};

/// A kernel broke a rule of Metal's execution model (or one the emulator enforces).
class EmulationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr unsigned simd_width = 32;
inline constexpr std::uint64_t max_threads_per_threadgroup = 1024;

/// Runs `kernel` once per thread of a grid of `grid` threadgroups of `threadgroup` threads, with
/// `threadgroup_bytes` of threadgroup memory each; threadgroups run one after another. Throws
/// EmulationError on misuse, or what the kernel threw.
Stats launch(Dim3 grid, Dim3 threadgroup, std::size_t threadgroup_bytes,
             const std::function<void(const Thread&)>& kernel);

}  // namespace qlinear::metal::emu
