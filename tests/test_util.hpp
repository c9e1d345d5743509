#pragma once
// Helpers shared by the test binaries: seeded random data and the shared fixtures folder.

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace qlinear::test {

/// Root of ../shared (test vectors, GGUF samples), as configured by CMake.
inline std::filesystem::path shared_dir() { return std::filesystem::path(QLINEAR_SHARED_DIR); }

/// Gaussian data with a few large outliers, seeded for reproducibility.
inline std::vector<float> random_floats(std::size_t n, std::uint32_t seed, float scale = 1.0f,
                                        float outlier_rate = 0.01f, float outlier_scale = 20.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) {
    x = normal(rng);
    if (uni(rng) < outlier_rate) x *= outlier_scale;
  }
  return v;
}

/// Root mean square of a - b.
inline double rmse(const float* a, const float* b, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return n ? std::sqrt(s / double(n)) : 0.0;
}

}  // namespace qlinear::test
