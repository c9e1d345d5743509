#pragma once
// The Eigen peer: dense f32 y = x·Wᵀ, what a user has without quantization.
//
// Eigen's speed depends on the instruction sets its code is compiled for, so the peer lives in
// its own shared library (eigen_f32.cpp) built with QLINEAR_BENCH_PEER_ARCH_FLAGS (by default
// -march=native: Eigen at its best on the machine that runs it) and OpenMP for its threads.
// Hidden visibility keeps those Eigen instantiations apart from the ones in the benchmark's own
// translation unit (an inline function compiled for two ISAs in two TUs would otherwise resolve
// to whichever the linker saw first). Only this class crosses the boundary.

#include <cstddef>
#include <memory>
#include <string>

#define QLINEAR_BENCH_EIGEN_API __attribute__((visibility("default")))

namespace qlinear_bench::eigen {

/// `copies` copies of a row-major N × K f32 weight matrix; run() computes y = x·Wᵀ with
/// `y.noalias() = x * W.transpose()` on row-major maps, Eigen::setNbThreads(threads).
/// Usage: `F32Gemm g(w, n, k, 1); g.run(x, m, y, 2);`
class QLINEAR_BENCH_EIGEN_API F32Gemm {
 public:
  F32Gemm(const float* w, std::size_t n, std::size_t k, std::size_t copies = 1);
  ~F32Gemm();
  F32Gemm(const F32Gemm&) = delete;
  F32Gemm& operator=(const F32Gemm&) = delete;

  /// y[M×N] = x[M×K]·Wᵀ with weight copy `c`.
  void run(const float* x, std::size_t m, float* y, int threads, std::size_t c = 0) const;
  std::size_t weight_bytes() const;
  std::size_t copies() const;
  /// Eigen's version, the SIMD instruction sets it was compiled for, and its OpenMP threads.
  static std::string build_info();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qlinear_bench::eigen
