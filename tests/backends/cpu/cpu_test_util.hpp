#pragma once
// What the cpu::Backend tests share: weights for any scheme, the double-precision products the
// kernels are checked against, and the error measure.

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "qlinear/backends/cpu/backend.hpp"
#include "qlinear/schemes/registry.hpp"
#include "test_util.hpp"

namespace qlinear::test {

/// Weights of shape n × k in scheme S from seeded data with outliers (scaled to what S holds).
template <class S>
QuantizedTensor<S> random_tensor(std::size_t n, std::size_t k, std::uint32_t seed) {
  const auto w = random_floats(n * k, seed, 0.05f);
  return QuantizedTensor<S>::quantize(w.data(), n, k);
}

/// y(i, j) = Σ_l x(i, l)·w(j, l) + bias[j] in double, with Σ_l |x(i, l)·w(j, l)| beside it (the
/// scale float rounding errors are relative to).
struct DoubleProduct {
  std::vector<double> y, magnitude;
};
inline DoubleProduct double_product(const std::vector<float>& x, std::size_t m, const std::vector<float>& w,
                                    std::size_t n, std::size_t k, const std::vector<float>& bias) {
  DoubleProduct p{std::vector<double>(m * n), std::vector<double>(m * n)};
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double s = bias.empty() ? 0.0 : bias[j], a = bias.empty() ? 0.0 : std::fabs(bias[j]);
      for (std::size_t l = 0; l < k; ++l) {
        const double t = double(x[i * k + l]) * double(w[j * k + l]);
        s += t;
        a += std::fabs(t);
      }
      p.y[i * n + j] = s;
      p.magnitude[i * n + j] = a;
    }
  return p;
}

/// Every element of y within rel · magnitude (+ a tiny absolute floor) of the double product;
/// NaN only where the product is NaN. Returns a failure naming the first bad element.
inline ::testing::AssertionResult close_to(const std::vector<float>& y, const DoubleProduct& p, double rel,
                                           const std::string& what) {
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double want = p.y[i], got = y[i];
    if (std::isnan(want) || std::isnan(got)) {
      if (std::isnan(want) && std::isnan(got)) continue;
      return ::testing::AssertionFailure() << what << ": element " << i << " is " << got << ", expected " << want;
    }
    if (std::isinf(want) || std::isinf(got)) {
      if (want == got) continue;
      return ::testing::AssertionFailure() << what << ": element " << i << " is " << got << ", expected " << want;
    }
    const double tol = rel * p.magnitude[i] + 1e-30;
    if (std::fabs(want - got) > tol)
      return ::testing::AssertionFailure() << what << ": element " << i << " is " << got << ", expected " << want
                                           << " (|error| " << std::fabs(want - got) << " > tolerance " << tol << ")";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace qlinear::test
