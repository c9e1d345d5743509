// The Eigen peer's implementation, compiled into its own shared library with the peer's ISA flags
// (see eigen.hpp for why).
#include "eigen.hpp"

#include <Eigen/Core>

#include <cstring>
#include <vector>

namespace qlinear_bench::eigen {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct F32Gemm::Impl {
  std::size_t n, k;
  std::vector<RowMatrix> w;
};

F32Gemm::F32Gemm(const float* w, std::size_t n, std::size_t k, std::size_t copies) : impl_(new Impl{n, k, {}}) {
  impl_->w.reserve(copies);
  for (std::size_t c = 0; c < copies; ++c) {
    impl_->w.emplace_back(Eigen::Index(n), Eigen::Index(k));
    std::memcpy(impl_->w.back().data(), w, n * k * sizeof(float));
  }
}
F32Gemm::~F32Gemm() = default;

void F32Gemm::run(const float* x, std::size_t m, float* y, int threads, std::size_t c) const {
  Eigen::setNbThreads(threads);
  Eigen::Map<const RowMatrix> xm(x, Eigen::Index(m), Eigen::Index(impl_->k));
  Eigen::Map<RowMatrix> ym(y, Eigen::Index(m), Eigen::Index(impl_->n));
  ym.noalias() = xm * impl_->w[c].transpose();
}

std::size_t F32Gemm::weight_bytes() const { return impl_->n * impl_->k * sizeof(float); }
std::size_t F32Gemm::copies() const { return impl_->w.size(); }

std::string F32Gemm::build_info() {
  std::string s = "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                  std::to_string(EIGEN_MINOR_VERSION) + ", SIMD " + Eigen::SimdInstructionSetsInUse();
#ifdef EIGEN_HAS_OPENMP
  s += ", OpenMP";
#else
  s += ", no OpenMP";
#endif
  return s;
}

}  // namespace qlinear_bench::eigen
