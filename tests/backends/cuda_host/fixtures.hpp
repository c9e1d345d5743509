#pragma once
// Test data shared by the CUDA host tests: every scheme as a gtest type list, tensors of any
// scheme from random floats or random bytes, and the columns each scheme accepts.

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "qlinear/backends/cuda/layout.hpp"
#include "qlinear/schemes/registry.hpp"
#include "test_util.hpp"

namespace qlinear::cuda_test {

template <class L>
struct GTestTypes;
template <class... Ts>
struct GTestTypes<TypeList<Ts...>> {
  using type = ::testing::Types<Ts...>;
};
/// Every weight scheme, for TYPED_TEST_SUITE.
using AllSchemeTypes = GTestTypes<AllSchemes>::type;

/// Prints a scheme's name in typed-test names.
struct SchemeName {
  template <class S>
  static std::string GetName(int) {
    return std::string(S::name);
  }
};

/// A column count for scheme S: `blocks` whole blocks, or for element-wise schemes a count that
/// is not a multiple of the 32-weight chunk (so the padded tail is exercised).
template <class S>
std::size_t cols_for(std::size_t blocks) {
  if constexpr (S::block_elems == 1)
    return 32 * blocks + 7;
  else
    return S::block_elems * blocks;
}

/// rows × cols of scheme S quantized from Gaussian floats with outliers.
template <class S>
QuantizedTensor<S> random_tensor(std::size_t rows, std::size_t cols, std::uint32_t seed, float scale = 1.0f) {
  const auto w = test::random_floats(rows * cols, seed, scale);
  return QuantizedTensor<S>::quantize(w.data(), rows, cols);
}

/// rows × cols of scheme S from uniformly random bytes (every bit pattern, NaN scales included),
/// for schemes whose rows carry their own scales; nullopt-like empty tensor otherwise.
template <class S>
QuantizedTensor<S> random_bytes_tensor(std::size_t rows, std::size_t cols, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> bytes(rows * row_bytes<S>(cols));
  for (auto& b : bytes) b = std::uint8_t(rng());
  return QuantizedTensor<S>::copy_of(bytes, rows, cols);
}

/// |a − b| within tol, or both NaN, or both the same infinity.
inline bool close_or_same_nonfinite(double a, double b, double tol) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= tol;
}

}  // namespace qlinear::cuda_test
