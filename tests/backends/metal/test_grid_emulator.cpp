// The grid emulator itself: built-in values, phase-by-phase barriers, SIMD-group functions,
// simdgroup matrices, and that every misuse it promises to catch is caught.

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "grid_emulator.hpp"

namespace qlinear::metal::emu {
namespace {

using ::metal::float4;
using ::metal::mem_flags;

// Runs `body` and expects an EmulationError whose message contains `needle`.
template <class F>
void expect_emulation_error(F&& body, const std::string& needle) {
  try {
    body();
    ADD_FAILURE() << "no EmulationError (expected one mentioning '" << needle << "')";
  } catch (const EmulationError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(GridEmulator, BuiltinsOfEveryThread) {
  const Dim3 grid{3, 2, 1}, tg{40, 1, 1};  // 40 threads: a full SIMD group and one of 8 lanes
  std::vector<int> seen(grid.count() * tg.count(), 0);
  const Stats s = launch(grid, tg, 0, [&](const Thread& t) {
    const uint g = t.threadgroup_position_in_grid.y * 3 + t.threadgroup_position_in_grid.x;
    const uint i = t.thread_index_in_threadgroup;
    EXPECT_EQ(t.thread_position_in_threadgroup.x, i);
    EXPECT_EQ(t.simdgroup_index_in_threadgroup, i / 32);
    EXPECT_EQ(t.thread_index_in_simdgroup, i % 32);
    EXPECT_EQ(t.thread_position_in_grid.x, t.threadgroup_position_in_grid.x * 40 + i);
    EXPECT_EQ(t.thread_position_in_grid.y, t.threadgroup_position_in_grid.y);
    EXPECT_EQ(t.threads_per_threadgroup.x, 40u);
    EXPECT_EQ(t.threadgroups_per_grid.y, 2u);
    ++seen[g * 40 + i];
  });
  for (int v : seen) EXPECT_EQ(v, 1);
  EXPECT_EQ(s.threadgroups, 6u);
  EXPECT_EQ(s.threads, 240u);
}

TEST(GridEmulator, ThreeDimensionalThreadgroup) {
  std::vector<int> seen(4 * 2 * 3, 0);
  launch({1, 1, 1}, {4, 2, 3}, 0, [&](const Thread& t) {
    const auto& p = t.thread_position_in_threadgroup;
    EXPECT_EQ(t.thread_index_in_threadgroup, p.x + 4 * p.y + 8 * p.z);
    ++seen[t.thread_index_in_threadgroup];
  });
  for (int v : seen) EXPECT_EQ(v, 1);
}

TEST(GridEmulator, BarrierSeparatesPhases) {
  // Every thread writes its slot, then reads the mirror slot: right only if all writes come first.
  const uint n = 256;
  std::vector<float> out(2 * n);
  const Stats s = launch({2, 1, 1}, {n, 1, 1}, n * sizeof(float), [&](const Thread& t) {
    float* mem = static_cast<float*>(t.threadgroup_memory);
    const uint i = t.thread_index_in_threadgroup;
    mem[i] = float(i);
    ::metal::threadgroup_barrier(mem_flags::mem_threadgroup);
    out[t.threadgroup_position_in_grid.x * n + i] = mem[n - 1 - i];
  });
  for (uint g = 0; g < 2; ++g)
    for (uint i = 0; i < n; ++i) EXPECT_EQ(out[g * n + i], float(n - 1 - i));
  EXPECT_EQ(s.barriers, 2u);
}

TEST(GridEmulator, MissingBarrierShowsAsWrongNumbers) {
  // Without the barrier, threads read memory others have not written yet: the NaN fill shows.
  const uint n = 64;
  std::vector<float> out(2 * n);
  launch({2, 1, 1}, {n, 1, 1}, n * sizeof(float), [&](const Thread& t) {
    float* mem = static_cast<float*>(t.threadgroup_memory);
    const uint i = t.thread_index_in_threadgroup;
    mem[i] = float(i);
    out[t.threadgroup_position_in_grid.x * n + i] = mem[n - 1 - i];
  });
  int nan_reads = 0;
  for (float v : out) nan_reads += std::isnan(v);
  EXPECT_GT(nan_reads, 0) << "both lane orders (ascending, descending) must expose the race";
  // In the ascending threadgroup the first half reads unwritten slots, in the descending one the second half.
  for (uint i = 0; i < n / 2; ++i) EXPECT_TRUE(std::isnan(out[i]));
  for (uint i = n / 2; i < n; ++i) EXPECT_TRUE(std::isnan(out[n + i]));
}

TEST(GridEmulator, TreeReductionOverManyBarriers) {
  const uint n = 512;
  std::vector<float> data(n);
  std::iota(data.begin(), data.end(), 1.0f);
  float result = 0;
  const Stats s = launch({1, 1, 1}, {n, 1, 1}, n * sizeof(float), [&](const Thread& t) {
    float* mem = static_cast<float*>(t.threadgroup_memory);
    const uint i = t.thread_index_in_threadgroup;
    mem[i] = data[i];
    ::metal::threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint half = n / 2; half > 0; half /= 2) {
      if (i < half) mem[i] += mem[i + half];
      ::metal::threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (i == 0) result = mem[0];
  });
  EXPECT_EQ(result, float(n) * (n + 1) / 2);
  EXPECT_EQ(s.barriers, 10u);
}

TEST(GridEmulator, SimdSumOfScalarsAndVectors) {
  std::vector<float> sums(64);
  std::vector<float4> vsums(64);
  std::vector<int> isums(64);
  launch({1, 1, 1}, {64, 1, 1}, 0, [&](const Thread& t) {
    const uint i = t.thread_index_in_threadgroup, lane = t.thread_index_in_simdgroup;
    sums[i] = ::metal::simd_sum(float(lane));
    vsums[i] = ::metal::simd_sum(float4(1.0f, float(lane), -float(lane), 0.5f));
    isums[i] = ::metal::simd_sum(int(lane) - 40);
  });
  for (uint i = 0; i < 64; ++i) {
    EXPECT_EQ(sums[i], 496.0f);
    EXPECT_EQ(vsums[i].x, 32.0f);
    EXPECT_EQ(vsums[i].y, 496.0f);
    EXPECT_EQ(vsums[i].z, -496.0f);
    EXPECT_EQ(vsums[i].w, 16.0f);
    EXPECT_EQ(isums[i], 496 - 40 * 32);
  }
}

TEST(GridEmulator, SimdFunctionsInAPartialSimdGroup) {
  // 40 threads: SIMD group 1 has lanes 0..7 only.
  std::vector<float> sum(40), shuf(40), down(40), x(40);
  launch({1, 1, 1}, {40, 1, 1}, 0, [&](const Thread& t) {
    const uint i = t.thread_index_in_threadgroup, lane = t.thread_index_in_simdgroup;
    const uint width = t.simdgroup_index_in_threadgroup == 0 ? 32 : 8;
    sum[i] = ::metal::simd_sum(1.0f);
    shuf[i] = ::metal::simd_shuffle(float(i), ushort(width - 1 - lane));
    down[i] = ::metal::simd_shuffle_down(float(i), ushort(3));
    x[i] = ::metal::simd_shuffle_xor(float(i), ushort(1));
  });
  for (uint i = 0; i < 40; ++i) {
    const uint base = i < 32 ? 0 : 32, width = i < 32 ? 32 : 8, lane = i - base;
    EXPECT_EQ(sum[i], float(width));
    EXPECT_EQ(shuf[i], float(base + width - 1 - lane));
    EXPECT_EQ(down[i], float(lane + 3 < width ? i + 3 : i)) << i;
    EXPECT_EQ(x[i], float(base + (lane ^ 1)));
  }
}

TEST(GridEmulator, SimdgroupMatrixMultiplyAccumulate) {
  // C = A·B + I, A and B loaded from memory (B transposed), stored through two SIMD groups.
  std::vector<float> a(8 * 8), bt(8 * 10), c(2 * 8 * 12, -1.0f);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto& v : a) v = u(rng);
  for (auto& v : bt) v = u(rng);
  const Stats s = launch({1, 1, 1}, {64, 1, 1}, 0, [&](const Thread& t) {
    const uint sg = t.simdgroup_index_in_threadgroup;
    ::metal::simdgroup_float8x8 ma, mb, acc = ::metal::make_filled_simdgroup_matrix<float, 8, 8>(1.0f);
    ::metal::simdgroup_load(ma, a.data(), 8);
    ::metal::simdgroup_load(mb, bt.data(), 10, ::metal::ulong2(0), true);  // B[k][n] = bt[n * 10 + k]
    ::metal::simdgroup_multiply_accumulate(acc, ma, mb, acc);
    ::metal::simdgroup_store(acc, c.data() + sg * 8 * 12, 12);
  });
  for (uint sg = 0; sg < 2; ++sg)
    for (uint r = 0; r < 8; ++r)
      for (uint col = 0; col < 12; ++col) {
        const float got = c[sg * 96 + r * 12 + col];
        if (col >= 8) {
          EXPECT_EQ(got, -1.0f) << "stored past the 8 columns";
          continue;
        }
        double want = 1.0;
        for (uint k = 0; k < 8; ++k) want += double(a[r * 8 + k]) * bt[col * 10 + k];
        EXPECT_NEAR(got, want, 1e-5);
      }
  EXPECT_EQ(s.matrix_ops, 2u * 5u);  // fill, two loads, multiply-accumulate, store per SIMD group
}

TEST(GridEmulator, SimdgroupBarrierRendezvous) {
  std::vector<float> out(32);
  float shared[32];
  launch({1, 1, 1}, {32, 1, 1}, 0, [&](const Thread& t) {
    const uint lane = t.thread_index_in_simdgroup;
    shared[lane] = float(lane);
    ::metal::simdgroup_barrier(mem_flags::mem_threadgroup);
    out[lane] = shared[31 - lane];
  });
  for (uint i = 0; i < 32; ++i) EXPECT_EQ(out[i], float(31 - i));
}

// ---- misuse ----

TEST(GridEmulatorMisuse, BarrierSkippedByReturningThreads) {
  expect_emulation_error(
      [] {
        launch({1, 1, 1}, {64, 1, 1}, 0, [](const Thread& t) {
          if (t.thread_index_in_threadgroup < 16) return;
          ::metal::threadgroup_barrier(mem_flags::mem_threadgroup);
        });
      },
      "returned");
}

TEST(GridEmulatorMisuse, ThreadsAtDifferentBarriers) {
  expect_emulation_error(
      [] {
        launch({1, 1, 1}, {64, 1, 1}, 0, [](const Thread& t) {
          if (t.thread_index_in_threadgroup % 2)
            ::metal::threadgroup_barrier(mem_flags::mem_threadgroup);
          else
            ::metal::threadgroup_barrier(mem_flags::mem_threadgroup);
        });
      },
      "different threadgroup barriers");
}

TEST(GridEmulatorMisuse, SimdSumInDivergentCode) {
  expect_emulation_error(
      [] {
        launch({1, 1, 1}, {32, 1, 1}, 0, [](const Thread& t) {
          if (t.thread_index_in_simdgroup < 16) (void)::metal::simd_sum(1.0f);
        });
      },
      "simd_sum");
}

TEST(GridEmulatorMisuse, LanesAtDifferentSimdFunctions) {
  expect_emulation_error(
      [] {
        launch({1, 1, 1}, {32, 1, 1}, 0, [](const Thread& t) {
          if (t.thread_index_in_simdgroup == 5)
            (void)::metal::simd_shuffle(1.0f, ushort(0));
          else
            (void)::metal::simd_sum(1.0f);
        });
      },
      "different SIMD-group functions");
}

TEST(GridEmulatorMisuse, SimdSumWhileOthersWaitAtABarrier) {
  expect_emulation_error(
      [] {
        launch({1, 1, 1}, {32, 1, 1}, 0, [](const Thread& t) {
          if (t.thread_index_in_simdgroup == 0)
            ::metal::threadgroup_barrier(mem_flags::mem_threadgroup);
          else
            (void)::metal::simd_sum(1.0f);
        });
      },
      "stuck");
}

TEST(GridEmulatorMisuse, ShuffleFromAMissingLane) {
  expect_emulation_error(
      [] {
        launch({1, 1, 1}, {8, 1, 1}, 0, [](const Thread&) { (void)::metal::simd_shuffle(1.0f, ushort(20)); });
      },
      "reads lane 20");
}

TEST(GridEmulatorMisuse, NonUniformShuffleDelta) {
  expect_emulation_error(
      [] {
        launch({1, 1, 1}, {32, 1, 1}, 0,
               [](const Thread& t) { (void)::metal::simd_shuffle_down(1.0f, ushort(t.thread_index_in_simdgroup % 2)); });
      },
      "must be the same in every lane");
}

TEST(GridEmulatorMisuse, MatrixLoadFromDifferentAddresses) {
  std::vector<float> m(16 * 8, 0.0f);
  expect_emulation_error(
      [&] {
        launch({1, 1, 1}, {32, 1, 1}, 0, [&](const Thread& t) {
          ::metal::simdgroup_float8x8 a;
          ::metal::simdgroup_load(a, m.data() + (t.thread_index_in_simdgroup == 3 ? 64 : 0), 8);
        });
      },
      "another address");
}

TEST(GridEmulatorMisuse, MatrixOperationSkippedByALane) {
  std::vector<float> m(64, 0.0f);
  expect_emulation_error(
      [&] {
        launch({1, 1, 1}, {32, 1, 1}, 0, [&](const Thread& t) {
          ::metal::simdgroup_float8x8 a;
          if (t.thread_index_in_simdgroup != 9) ::metal::simdgroup_load(a, m.data(), 8);
        });
      },
      "every lane of a SIMD group must take part");
}

TEST(GridEmulatorMisuse, DifferentMatricesPerLane) {
  std::vector<float> m(64, 1.0f);
  expect_emulation_error(
      [&] {
        launch({1, 1, 1}, {32, 1, 1}, 0, [&](const Thread& t) {
          ::metal::simdgroup_float8x8 a, b, c = ::metal::make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
          ::metal::simdgroup_load(a, m.data(), 8);
          ::metal::simdgroup_load(b, m.data(), 8);
          // Lane 4 multiplies a·a, the others a·b: the same values, but not the same matrices.
          ::metal::simdgroup_multiply_accumulate(c, a, t.thread_index_in_simdgroup == 4 ? a : b, c);
        });
      },
      "other matrices");
}

TEST(GridEmulatorMisuse, UninitialisedMatrix) {
  std::vector<float> m(64);
  expect_emulation_error(
      [&] {
        launch({1, 1, 1}, {32, 1, 1}, 0, [&](const Thread&) {
          ::metal::simdgroup_float8x8 a;
          ::metal::simdgroup_store(a, m.data(), 8);
        });
      },
      "never filled, loaded or computed");
}

TEST(GridEmulatorMisuse, WritePastThreadgroupMemory) {
  expect_emulation_error(
      [] {
        launch({1, 1, 1}, {32, 1, 1}, 128, [](const Thread& t) {
          static_cast<float*>(t.threadgroup_memory)[t.thread_index_in_threadgroup + 1] = 0.0f;  // one float too far
        });
      },
      "outside its 128 bytes");
}

TEST(GridEmulatorMisuse, KernelExceptionsPropagate) {
  EXPECT_THROW(launch({2, 1, 1}, {64, 1, 1}, 0,
                      [](const Thread& t) {
                        ::metal::threadgroup_barrier(mem_flags::mem_threadgroup);
                        if (t.thread_index_in_threadgroup == 17) throw std::logic_error("from lane 17");
                        ::metal::threadgroup_barrier(mem_flags::mem_threadgroup);
                      }),
               std::logic_error);
  // The emulator is usable again afterwards (the abandoned fibers' stacks are reclaimed).
  float r = 0;
  launch({1, 1, 1}, {32, 1, 1}, 0, [&](const Thread& t) {
    const float s = ::metal::simd_sum(1.0f);
    if (t.thread_index_in_simdgroup == 0) r = s;
  });
  EXPECT_EQ(r, 32.0f);
}

TEST(GridEmulatorMisuse, ThreadgroupSizeLimits) {
  EXPECT_THROW(launch({1, 1, 1}, {1025, 1, 1}, 0, [](const Thread&) {}), EmulationError);
  EXPECT_THROW(launch({1, 1, 1}, {0, 1, 1}, 0, [](const Thread&) {}), EmulationError);
}

TEST(GridEmulatorMisuse, ShimOutsideALaunchAborts) {
  EXPECT_DEATH((void)::metal::simd_sum(1.0f), "outside a grid-emulator launch");
}

}  // namespace
}  // namespace qlinear::metal::emu
