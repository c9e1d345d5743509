// Launch configuration of the CUDA kernels on the CPU: kernel choice, grids, the split of very
// large M into launches within the grid limits, the f16 scaling exponents and small-integer
// conversions the kernels rely on.

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "qlinear/backends/cuda/launch.hpp"
#include "qlinear/backends/cuda/portable.hpp"
#include "qlinear/schemes/registry.hpp"

namespace {

using namespace qlinear;
using namespace qlinear::cuda;

TEST(CudaLaunch, KernelChoiceFollowsTheOptions) {
  GemmOptions o;
  EXPECT_EQ(choose_kernel(1, o), Kernel::gemv);
  EXPECT_EQ(choose_kernel(o.gemv_max_rows, o), Kernel::gemv);
  EXPECT_EQ(choose_kernel(o.gemv_max_rows + 1, o), Kernel::mma);
  o.kernel = Kernel::gemv;
  EXPECT_EQ(choose_kernel(100000, o), Kernel::gemv);
  o.kernel = Kernel::mma;
  EXPECT_EQ(choose_kernel(1, o), Kernel::mma);
  EXPECT_EQ(gemv_rows_per_launch(1), 1);
  for (std::size_t m = 2; m < 10; ++m) EXPECT_EQ(gemv_rows_per_launch(m), 4) << m;
}

TEST(CudaLaunch, GemvGridCoversEveryOutputRow) {
  using G = Gemv<Q4_K, 4>;
  for (const std::size_t n : {1, 7, 8, 9, 4096, 14336, 100003}) {
    const Launch l = gemv_launch<Q4_K, 4>(n, 0, 4);
    EXPECT_EQ(l.threads, 128);
    EXPECT_GE(l.grid_x * G::rows_per_block, n);
    EXPECT_LT((l.grid_x - 1) * G::rows_per_block, n);
    // Warps own consecutive pairs of rows; the last warp ends at the grid's last row.
    EXPECT_EQ(G::first_row(l.grid_x - 1, 3) + 2, l.grid_x * 8);
  }
}

TEST(CudaLaunch, TensorCoreLaunchesSplitHugeM) {
  const std::size_t per_launch = max_grid_y * MmaTile::bm;
  EXPECT_EQ(mma_launch_count(1), 1u);
  EXPECT_EQ(mma_launch_count(per_launch), 1u);
  EXPECT_EQ(mma_launch_count(per_launch + 1), 2u);
  const std::size_t m = 2 * per_launch + 100, n = 4097;
  std::size_t covered = 0;
  for (std::size_t i = 0; i < mma_launch_count(m); ++i) {
    const Launch l = mma_launch(m, n, i);
    EXPECT_EQ(l.row_begin, covered);
    EXPECT_LE(l.grid_y, max_grid_y);
    EXPECT_GE(l.grid_y * MmaTile::bm, l.row_count);
    EXPECT_EQ(l.grid_x, (n + 63) / 64);
    covered += l.row_count;
  }
  EXPECT_EQ(covered, m);
}

TEST(CudaLaunch, TransposedLaunchesSplitHugeM) {
  const std::size_t per_launch = max_grid_y * Transposed<Q8_0>::rows_per_thread;
  const std::size_t m = per_launch * 3 + 1;
  std::size_t covered = 0;
  for (std::size_t i = 0; i < transposed_launch_count<Q8_0>(m); ++i) {
    const Launch l = transposed_launch<Q8_0>(m, 130, i);
    EXPECT_EQ(l.row_begin, covered);
    EXPECT_LE(l.grid_y, max_grid_y);
    EXPECT_EQ(l.grid_x, 2u);  // 130 chunks, 128 threads a block
    covered += l.row_count;
  }
  EXPECT_EQ(covered, m);
  EXPECT_EQ(transposed_launch_count<Q8_0>(0), 0u);
}

TEST(CudaLaunch, ActivationRowsPadToWholeTiles) {
  EXPECT_EQ(MmaTile::x16_stride(1), 64u);
  EXPECT_EQ(MmaTile::x16_stride(64), 64u);
  EXPECT_EQ(MmaTile::x16_stride(65), 128u);
  EXPECT_EQ(MmaTile::k_tiles(1), 1);
  EXPECT_EQ(MmaTile::k_tiles(2), 1);
  EXPECT_EQ(MmaTile::k_tiles(3), 2);
  EXPECT_EQ(convert_launch(5).grid_x, 2u);  // 4 rows (warps) a block
}

TEST(CudaPortable, SmallIntegersConvertExactly) {
  for (std::uint32_t v = 0; v < 70000; v += 7) EXPECT_EQ(small_uint_to_float(v), float(v));
  EXPECT_EQ(small_uint_to_float(0, 8.0f), -8.0f);
  EXPECT_EQ(small_uint_to_float(15, 8.0f), 7.0f);
  EXPECT_EQ(small_uint_to_float((0xFFu ^ 0x80u), 128.0f), -1.0f);  // int8 −1
  EXPECT_EQ(small_uint_to_float((0x80u ^ 0x80u), 128.0f), -128.0f);
  for (std::uint32_t h = 0; h < 0x10000; h += 13) {
    const float f = half_bits_to_float(h);
    if (std::isnan(f)) continue;
    EXPECT_EQ(float_to_half_bits(f), h) << h;
  }
}

TEST(CudaPortable, RowExponentsKeepF16InRange) {
  EXPECT_EQ(f16_row_exponent(0.0f), 0);
  EXPECT_EQ(f16_row_exponent(std::numeric_limits<float>::infinity()), 0);
  EXPECT_EQ(f16_row_exponent(std::numeric_limits<float>::quiet_NaN()), 0);
  for (const float amax : {1e-45f, 1e-38f, 1e-30f, 3e-5f, 1.0f, 16384.0f, 65504.0f, 1e10f, 3.4e38f}) {
    const int e = f16_row_exponent(amax);
    EXPECT_GE(e, -126);
    EXPECT_LE(e, 126);
    EXPECT_EQ(pow2(e) * pow2(-e), 1.0f);
    const float scaled = amax * pow2(-e);
    if (amax >= 1e-37f) {
      EXPECT_GE(scaled, 16384.0f) << amax;
      EXPECT_LT(scaled, 32768.0f) << amax;
    }
    EXPECT_LT(scaled, 65504.0f) << amax;
    EXPECT_TRUE(std::isfinite(half_bits_to_float(float_to_half_bits(scaled)))) << amax;
  }
  EXPECT_EQ(scale_by_pow2(3.0f, 200 - 100), std::ldexp(3.0f, 100));
  EXPECT_EQ(scale_by_pow2(1.5f, -140), std::ldexp(1.5f, -140));  // subnormal, rounded once
}

TEST(CudaPortable, ByteSelectionWithoutIndexing) {
  const std::uint32_t w[3] = {0x03020100u, 0x07060504u, 0x0B0A0908u};
  for (int i = 0; i < 12; ++i) EXPECT_EQ(byte_of(w, i), std::uint32_t(i));
}

}  // namespace
