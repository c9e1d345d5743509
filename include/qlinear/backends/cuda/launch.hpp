#pragma once
// Launch configuration of the CUDA kernels, host-compilable: which kernel a product runs, how
// its rows split into launches, and the grid of each launch.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "qlinear/backends/cuda/gemm_mma.hpp"
#include "qlinear/backends/cuda/gemv.hpp"
#include "qlinear/backends/cuda/transposed.hpp"
#include "qlinear/core/error.hpp"

namespace qlinear::cuda {

/// Which kernel a gemm runs. `automatic` takes the decode kernel up to
/// `GemmOptions::gemv_max_rows` rows of x and the tensor-core kernel above; the others force
/// one (the tests run both on every shape; the benchmark measures the cross-over).
enum class Kernel { automatic, gemv, mma };

/// Name of a kernel choice, for messages and benchmark labels.
constexpr std::string_view kernel_name(Kernel k) {
  return k == Kernel::gemv ? "gemv" : k == Kernel::mma ? "mma" : "automatic";
}

/// How a gemm is run. Usage: `ctx.options().kernel = cuda::Kernel::mma;`
struct GemmOptions {
  Kernel kernel = Kernel::automatic;
  /// Largest M the automatic choice sends to the decode kernel. The decode kernel reads the
  /// weights once per 4 rows of x, the tensor-core one once per 64; the value should come from
  /// the benchmark's qlinear_gemv / qlinear_mma rows on the target GPU (not yet measured).
  std::size_t gemv_max_rows = 4;
};

/// The kernel a product over m rows of x runs.
constexpr Kernel choose_kernel(std::size_t m, const GemmOptions& o) {
  if (o.kernel != Kernel::automatic) return o.kernel;
  return m <= o.gemv_max_rows ? Kernel::gemv : Kernel::mma;
}

/// Activation rows per decode launch (the kernel's MR): 1 for a single row, else 4 (fewer
/// rows run masked: two instantiations per scheme keep nvcc's build time down).
constexpr int gemv_rows_per_launch(std::size_t remaining) { return remaining == 1 ? 1 : 4; }

/// The largest grid dimension y (and the x limit for 1-D grids) the kernels use.
inline constexpr std::size_t max_grid_y = 65535;
inline constexpr std::size_t max_grid_x = 2147483647;

/// One launch: grid (x, y), threads per block, and the rows of x (or dy) it covers.
/// Usage: `const Launch l = mma_launch(m, n, 0);  kernel<<<dim3(l.grid_x, l.grid_y), l.threads>>>(...);`
struct Launch {
  std::size_t grid_x = 1, grid_y = 1;
  int threads = 0;
  std::size_t row_begin = 0, row_count = 0;
};

/// Blocks of the decode kernel over n output features.
template <class S, int MR>
Launch gemv_launch(std::size_t n, std::size_t row_begin, std::size_t rows) {
  Launch l;
  l.grid_x = (n + Gemv<S, MR>::rows_per_block - 1) / Gemv<S, MR>::rows_per_block;
  check(l.grid_x <= max_grid_x, S::name, ": ", n, " output features are too many for one decode launch");
  l.threads = Gemv<S, MR>::threads;
  l.row_begin = row_begin;
  l.row_count = rows;
  return l;
}

/// The tensor-core launches over m rows of x and n outputs: tiles of 64 × 64, at most
/// max_grid_y row tiles per launch.
inline std::size_t mma_launch_count(std::size_t m) {
  const std::size_t rows_per_launch = max_grid_y * MmaTile::bm;
  return (m + rows_per_launch - 1) / rows_per_launch;
}
inline Launch mma_launch(std::size_t m, std::size_t n, std::size_t index) {
  const std::size_t rows_per_launch = max_grid_y * MmaTile::bm;
  Launch l;
  l.row_begin = index * rows_per_launch;
  l.row_count = std::min(rows_per_launch, m - l.row_begin);
  l.grid_x = (n + MmaTile::bn - 1) / MmaTile::bn;
  l.grid_y = (l.row_count + MmaTile::bm - 1) / MmaTile::bm;
  l.threads = MmaTile::threads;
  check(l.grid_x <= max_grid_x, "cuda: ", n, " output features are too many for one tensor-core launch");
  return l;
}

/// The conversion of m activation rows to f16 (one warp per row, 4 warps per block).
inline constexpr int convert_threads = 128;
inline Launch convert_launch(std::size_t m) {
  Launch l;
  l.grid_x = (m + convert_threads / warp_size - 1) / (convert_threads / warp_size);
  check(l.grid_x <= max_grid_x, "cuda: ", m, " rows are too many for one conversion launch");
  l.threads = convert_threads;
  l.row_count = m;
  return l;
}

/// The transposed product's launches over m rows of dy: chunk columns along x, pairs of rows
/// along y, at most max_grid_y pairs per launch.
template <class S>
std::size_t transposed_launch_count(std::size_t m) {
  const std::size_t rows_per_launch = max_grid_y * Transposed<S>::rows_per_thread;
  return (m + rows_per_launch - 1) / rows_per_launch;
}
template <class S>
Launch transposed_launch(std::size_t m, int chunks, std::size_t index) {
  const std::size_t rows_per_launch = max_grid_y * Transposed<S>::rows_per_thread;
  Launch l;
  l.row_begin = index * rows_per_launch;
  l.row_count = std::min(rows_per_launch, m - l.row_begin);
  l.grid_x = (std::size_t(chunks) + Transposed<S>::threads - 1) / Transposed<S>::threads;
  l.grid_y = (l.row_count + Transposed<S>::rows_per_thread - 1) / Transposed<S>::rows_per_thread;
  l.threads = Transposed<S>::threads;
  return l;
}

/// The f16 exponents of n weight rows (one warp per row, 4 warps per block).
inline Launch weight_exponent_launch(std::size_t n) {
  Launch l = convert_launch(n);
  l.row_count = n;
  return l;
}

}  // namespace qlinear::cuda
