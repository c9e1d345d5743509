#pragma once
// The data every implementation in qlinear_bench is measured on, and the reference each one's
// output is checked against before it is timed.
//
// Weights look like a trained layer's: Gaussian rows whose scale varies from row to row
// (log-normal), with rare large outliers. Activations look like a transformer's hidden states:
// Gaussian with a handful of "outlier feature" channels several times larger in every row.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <numbers>
#include <string>
#include <vector>

namespace qlinear_bench {

/// A layer shape: N outputs (weight rows) by K inputs.
struct Shape {
  std::size_t n = 0, k = 0;
  std::string str() const { return "N:" + std::to_string(n) + "/K:" + std::to_string(k); }
  friend bool operator==(const Shape&, const Shape&) = default;
};

/// Counter-based normal generator (splitmix64 + Box-Muller): the same seed gives the same data
/// on every machine, so every run measures identical inputs.
class Normal {
 public:
  explicit Normal(std::uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  double uniform() {  // (0, 1)
    return (double(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
  }
  double operator()() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double r = std::sqrt(-2.0 * std::log(uniform())), a = 2.0 * std::numbers::pi * uniform();
    spare_ = r * std::sin(a);
    has_spare_ = true;
    return r * std::cos(a);
  }

 private:
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

/// Row-major N × K weights: row j ~ N(0, σ_j²), σ_j = 0.02·exp(0.3·g), one weight in a
/// thousand multiplied by 6.
inline std::vector<float> random_weights(Shape s, std::uint64_t seed) {
  std::vector<float> w(s.n * s.k);
  Normal g(seed);
  for (std::size_t j = 0; j < s.n; ++j) {
    const double sigma = 0.02 * std::exp(0.3 * g());
    float* row = w.data() + j * s.k;
    for (std::size_t l = 0; l < s.k; ++l) row[l] = float(sigma * g());
  }
  for (std::size_t i = 0, outliers = w.size() / 1000; i < outliers; ++i)
    w[std::size_t(g.uniform() * double(w.size())) % w.size()] *= 6.0f;
  return w;
}

/// Row-major M × K activations: N(0, 1) scaled per row by exp(0.2·g), with 0.5% of the channels
/// (the same in every row) 8 times larger.
inline std::vector<float> random_activations(std::size_t m, std::size_t k, std::uint64_t seed) {
  std::vector<float> x(m * k);
  Normal g(seed);
  std::vector<float> channel(k, 1.0f);
  for (std::size_t i = 0, outliers = std::max<std::size_t>(1, k / 200); i < outliers; ++i)
    channel[std::size_t(g.uniform() * double(k)) % k] = 8.0f;
  for (std::size_t i = 0; i < m; ++i) {
    const double row_scale = std::exp(0.2 * g());
    for (std::size_t l = 0; l < k; ++l) x[i * k + l] = float(row_scale * g() * channel[l]);
  }
  return x;
}

/// The rows of x whose outputs are checked for an M-row call: spread over the whole range and
/// always including the first and the last.
inline std::vector<std::size_t> checked_rows(std::size_t m) {
  std::vector<std::size_t> rows;
  for (std::size_t r : {std::size_t(0), std::size_t(3), std::size_t(7), std::size_t(16), std::size_t(31),
                        std::size_t(100), std::size_t(127), std::size_t(300), std::size_t(511)})
    if (r < m) rows.push_back(r);
  if (rows.back() != m - 1) rows.push_back(m - 1);
  return rows;
}

/// y_ref[j] = Σ_l x[l]·w[j, l] in double for one row x (the reference product).
inline std::vector<double> reference_row(const float* x, const float* w, Shape s) {
  std::vector<double> y(s.n);
  for (std::size_t j = 0; j < s.n; ++j) {
    const float* wj = w + j * s.k;
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    std::size_t l = 0;
    for (; l + 4 <= s.k; l += 4) {
      a0 += double(x[l]) * double(wj[l]);
      a1 += double(x[l + 1]) * double(wj[l + 1]);
      a2 += double(x[l + 2]) * double(wj[l + 2]);
      a3 += double(x[l + 3]) * double(wj[l + 3]);
    }
    for (; l < s.k; ++l) a0 += double(x[l]) * double(wj[l]);
    y[j] = (a0 + a1) + (a2 + a3);
  }
  return y;
}

/// Reference outputs for rows of a fixed activation matrix against fixed (dequantized)
/// weights, computed once per row and kept.
class ReferenceRows {
 public:
  ReferenceRows() = default;
  ReferenceRows(const float* w, Shape s) : w_(w), s_(s) {}
  const std::vector<double>& row(const float* x_row, std::size_t index) {
    auto it = rows_.find(index);
    if (it == rows_.end()) it = rows_.emplace(index, reference_row(x_row, w_, s_)).first;
    return it->second;
  }

 private:
  const float* w_ = nullptr;
  Shape s_;
  std::map<std::size_t, std::vector<double>> rows_;
};

/// ‖y − y_ref‖ / ‖y_ref‖ over the given rows of a row-major M × N output; +inf when y holds a
/// NaN or an infinity.
template <class RefOf>
double relative_error(const std::vector<float>& y, std::size_t n, const std::vector<std::size_t>& rows,
                      RefOf&& ref_of) {
  double err = 0, norm = 0;
  for (std::size_t r : rows) {
    const std::vector<double>& ref = ref_of(r);
    for (std::size_t j = 0; j < n; ++j) {
      const double v = y[r * n + j];
      if (!std::isfinite(v)) return INFINITY;
      err += (v - ref[j]) * (v - ref[j]);
      norm += ref[j] * ref[j];
    }
  }
  return norm > 0 ? std::sqrt(err / norm) : std::sqrt(err);
}

}  // namespace qlinear_bench
