#pragma once
// Clipping-range calibration for qlinear's integer schemes: min/max, percentile and an MSE
// grid search. A calibrator looks at a span of floats (a whole tensor, one row, one group)
// and returns the range the quantizer should cover; values outside it are clipped.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "qlinear/core/error.hpp"
#include "qlinear/schemes/scheme.hpp"

namespace qlinear {

/// A closed clipping range [lo, hi] for affine quantization; always contains 0.
/// Usage: `ClipRange r = calibration::affine_range(x, n, options, "int8");`
struct ClipRange {
  float lo = 0.0f;
  float hi = 0.0f;
  friend bool operator==(const ClipRange&, const ClipRange&) = default;
};

/// The quantizer choices a scheme whose rows carry their own scales (int4, NF4) needs at
/// quantization time. It is held as that scheme's TensorParams but costs no storage and does
/// not affect decoding, so a default-constructed one decodes any bytes.
/// Usage: `Int4G32::quantize_row(x, k, dst, RowQuantizer{.calibration = Calibration::mse}, 0)`
struct RowQuantizer {
  Calibration calibration = Calibration::minmax;
  int mse_grid_points = 100;
  double mse_min_ratio = 0.5;
  /// Rows decode without this: a scheme holding it keeps nothing beside its rows.
  static constexpr bool self_describing_rows = true;
  friend bool operator==(const RowQuantizer&, const RowQuantizer&) = default;
};

namespace calibration {

/// Throws unless `options` is usable: percentile in (50, 100], at least one MSE grid point and
/// an MSE ratio range in (0, 1].
inline void validate(const QuantizeOptions& options, std::string_view scheme) {
  check(options.calibration == Calibration::minmax || options.calibration == Calibration::percentile ||
            options.calibration == Calibration::mse,
        scheme, ": unknown calibration method ", int(options.calibration));
  if (options.calibration == Calibration::percentile)
    check(options.percentile > 50.0 && options.percentile <= 100.0, scheme,
          ": percentile calibration needs QuantizeOptions::percentile in (50, 100], got ", options.percentile);
  if (options.calibration == Calibration::mse) {
    check(options.mse_grid_points >= 1, scheme, ": mse calibration needs mse_grid_points >= 1, got ",
          options.mse_grid_points);
    check(options.mse_min_ratio > 0.0 && options.mse_min_ratio <= 1.0, scheme,
          ": mse calibration needs mse_min_ratio in (0, 1], got ", options.mse_min_ratio);
  }
}

/// Throws qlinear::Error naming the scheme, row, index and value of the first non-finite
/// element of x[0..n) (row `row`, indices counted from `first_index`).
inline void check_finite(const float* x, std::size_t n, std::string_view scheme, std::size_t row,
                         std::size_t first_index = 0) {
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) [[unlikely]]
      fail(scheme, ": row ", row, " index ", first_index + i, " holds ", x[i],
           "; only finite weights can be quantized");
}

/// Clipping ratios the MSE search tries, from 1 (the min/max range) down to min_ratio.
inline double mse_ratio(int i, int points, double min_ratio) {
  return points <= 1 ? 1.0 : 1.0 - (1.0 - min_ratio) * double(i) / double(points - 1);
}

/// Linear-interpolated p-th percentile (p in [0, 100]) of v; reorders v.
inline double percentile_of(std::vector<float>& v, double p) {
  if (v.empty()) return 0.0;
  const double pos = p / 100.0 * double(v.size() - 1);
  const auto i = std::size_t(std::floor(pos));
  const double frac = pos - double(i);
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(i), v.end());
  const double a = v[i];
  if (frac == 0.0 || i + 1 >= v.size()) return a;
  const double b = *std::min_element(v.begin() + std::ptrdiff_t(i) + 1, v.end());
  return a + (b - a) * frac;
}

/// The symmetric int8 scale for clipping at ±c: s = c / 127, or 1 when c is 0 (any positive
/// scale represents an all-zero span exactly; a positive one keeps the parameters valid).
inline float symmetric_scale(double c) {
  const float s = float(c / 127.0);
  return s > 0.0f ? s : 1.0f;
}

/// Symmetric int8 rounding: q = clamp(round(x / s), -127, 127).
inline std::int32_t quantize_symmetric(float x, float s) {
  const double q = std::nearbyint(double(x) / double(s));
  return std::int32_t(std::clamp(q, -127.0, 127.0));
}

/// The affine int8 scale and zero point covering [lo, hi] (lo <= 0 <= hi): s = (hi - lo) / 255,
/// zp = round(-128 - lo / s), so that q = zp decodes to exactly 0.
struct AffineParams {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};
inline AffineParams affine_params(ClipRange r) {
  const double width = double(r.hi) - double(r.lo);
  AffineParams p;
  p.scale = float(width / 255.0);
  if (!(p.scale > 0.0f)) p.scale = 1.0f;
  const double zp = std::nearbyint(-128.0 - double(r.lo) / double(p.scale));
  p.zero_point = std::int32_t(std::clamp(zp, -128.0, 127.0));
  return p;
}

/// Affine int8 rounding: q = clamp(round(x / s) + zp, -128, 127).
inline std::int32_t quantize_affine(float x, AffineParams p) {
  const double q = std::nearbyint(double(x) / double(p.scale)) + double(p.zero_point);
  return std::int32_t(std::clamp(q, -128.0, 127.0));
}

/// Largest |x| over x[0..n).
inline double absmax(const float* x, std::size_t n) {
  double m = 0.0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, double(std::fabs(x[i])));
  return m;
}

/// The symmetric clipping bound c >= 0 (the quantizer covers [-c, c]) for x[0..n), chosen by
/// options.calibration: minmax → max |x|; percentile → that percentile of |x|; mse → the
/// ratio r · max |x| over the grid that minimises the squared int8 quantization error (ties go
/// to the larger ratio, so mse is never worse than minmax).
inline double symmetric_clip(const float* x, std::size_t n, const QuantizeOptions& options) {
  const double amax = absmax(x, n);
  switch (options.calibration) {
    case Calibration::minmax:
      return amax;
    case Calibration::percentile: {
      std::vector<float> a(x, x + n);
      for (auto& v : a) v = std::fabs(v);
      return percentile_of(a, options.percentile);
    }
    case Calibration::mse: {
      double best_c = amax, best_err = std::numeric_limits<double>::infinity();
      for (int i = 0; i < options.mse_grid_points; ++i) {
        const double c = amax * mse_ratio(i, options.mse_grid_points, options.mse_min_ratio);
        const float s = symmetric_scale(c);
        double err = 0.0;
        for (std::size_t j = 0; j < n; ++j) {
          const double d = double(x[j]) - double(s * float(quantize_symmetric(x[j], s)));
          err += d * d;
        }
        if (err < best_err) best_err = err, best_c = c;
      }
      return best_c;
    }
  }
  fail("unknown calibration method ", int(options.calibration));
}

/// The affine clipping range for x[0..n) (always widened to contain 0, so 0 is exact):
/// minmax → [min, max]; percentile → [(100 − p)-th, p-th] percentiles; mse → the min/max range
/// with both ends, the top or the bottom scaled by r over the ratio grid, minimising the squared
/// int8 affine error (min/max is tried first and kept on ties, so mse is never worse).
/// Costs 3 · mse_grid_points passes over the data.
inline ClipRange affine_range(const float* x, std::size_t n, const QuantizeOptions& options) {
  double lo = 0.0, hi = 0.0;
  for (std::size_t i = 0; i < n; ++i) lo = std::min(lo, double(x[i])), hi = std::max(hi, double(x[i]));
  switch (options.calibration) {
    case Calibration::minmax:
      return {float(lo), float(hi)};
    case Calibration::percentile: {
      std::vector<float> a(x, x + n);
      const double plo = std::min(0.0, percentile_of(a, 100.0 - options.percentile));
      const double phi = std::max(0.0, percentile_of(a, options.percentile));
      return {float(plo), float(phi)};
    }
    case Calibration::mse: {
      ClipRange best{float(lo), float(hi)};
      double best_err = std::numeric_limits<double>::infinity();
      for (int i = 0; i < options.mse_grid_points; ++i) {
        const double r = mse_ratio(i, options.mse_grid_points, options.mse_min_ratio);
        // Shrink both ends, only the top, or only the bottom: outliers are often one-sided.
        const ClipRange cands[3] = {{float(lo * r), float(hi * r)}, {float(lo), float(hi * r)}, {float(lo * r), float(hi)}};
        for (const ClipRange& cand : cands) {
          const AffineParams p = affine_params(cand);
          double err = 0.0;
          for (std::size_t j = 0; j < n; ++j) {
            const double d = double(x[j]) - double(p.scale * float(quantize_affine(x[j], p) - p.zero_point));
            err += d * d;
          }
          if (err < best_err) best_err = err, best = cand;
        }
      }
      return best;
    }
  }
  fail("unknown calibration method ", int(options.calibration));
}

}  // namespace calibration
}  // namespace qlinear
