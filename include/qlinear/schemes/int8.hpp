#pragma once
// int8 weights with an f32 scale (and, for affine schemes, an integer zero point) held beside
// the rows: one per tensor or one per output channel (row).
//
// Row bytes: K int8 values, one per weight, in order. Nothing else is in a row; the scales
// and zero points live in Int8Params (QuantizedTensor::params()).
//   symmetric: q = clamp(round(x / s), -127, 127),         x̂ = s · q
//   affine:    q = clamp(round(x / s) + zp, -128, 127),     x̂ = s · (q − zp)
// The affine range always contains 0, so 0 is exact. Inside the calibrated range the error
// is at most s/2 per element; values outside it (percentile, mse) are clipped.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "qlinear/core/config.hpp"
#include "qlinear/core/error.hpp"
#include "qlinear/schemes/calibration.hpp"
#include "qlinear/schemes/scheme.hpp"

namespace qlinear {

/// Scales and zero points of an int8 tensor: one entry for a per-tensor scheme, one per row
/// for a per-channel scheme; `zero_point` is empty for symmetric schemes.
/// Usage: `float s = Int8PerChannel::scale_of(tensor.params(), row);`
struct Int8Params {
  std::vector<float> scale;
  std::vector<std::int32_t> zero_point;
  friend bool operator==(const Int8Params&, const Int8Params&) = default;
};

/// Decodes one int8 weight: s · (q − zp) (zp = 0 for symmetric schemes). Host and device.
QLINEAR_HD float int8_decode(std::int8_t q, float scale, std::int32_t zero_point) {
  return scale * float(std::int32_t(q) - zero_point);
}

/// The int8 schemes, parameterised by granularity and symmetry; use the aliases below.
/// Usage: `auto t = QuantizedTensor<Int8PerChannel>::quantize(w, n, k, {.calibration = Calibration::mse});`
template <bool PerChannel, bool Affine>
struct Int8Scheme {
  using TensorParams = Int8Params;
  static constexpr SchemeId id = PerChannel ? (Affine ? SchemeId::int8_per_channel_affine : SchemeId::int8_per_channel)
                                            : (Affine ? SchemeId::int8_per_tensor_affine : SchemeId::int8_per_tensor);
  static constexpr std::string_view name =
      PerChannel ? (Affine ? "int8_per_channel_affine" : "int8_per_channel")
                 : (Affine ? "int8_per_tensor_affine" : "int8_per_tensor");
  static constexpr std::size_t block_elems = 1;
  static constexpr std::size_t block_bytes = 1;
  static constexpr bool per_channel = PerChannel;
  static constexpr bool affine = Affine;

  /// Scale that applies to row `row`.
  static float scale_of(const TensorParams& p, std::size_t row) { return p.scale[index_of(p, row)]; }
  /// Zero point that applies to row `row` (0 for symmetric schemes).
  static std::int32_t zero_point_of(const TensorParams& p, std::size_t row) {
    if constexpr (Affine)
      return p.zero_point[index_of(p, row)];
    else
      return (void)index_of(p, row), 0;
  }

  /// Scales (and zero points) for a rows × cols row-major tensor, one per tensor or per row.
  static TensorParams calibrate(const float* w, std::size_t rows, std::size_t cols, const QuantizeOptions& options) {
    calibration::validate(options, name);
    for (std::size_t r = 0; r < rows; ++r) calibration::check_finite(w + r * cols, cols, name, r);
    TensorParams p;
    const std::size_t groups = PerChannel ? rows : 1;
    const std::size_t span = PerChannel ? cols : rows * cols;
    p.scale.resize(groups);
    if constexpr (Affine) p.zero_point.resize(groups);
    for (std::size_t g = 0; g < groups; ++g) {
      const float* x = w + g * span;
      if constexpr (Affine) {
        const auto a = calibration::affine_params(calibration::affine_range(x, span, options));
        p.scale[g] = a.scale;
        p.zero_point[g] = a.zero_point;
      } else {
        p.scale[g] = calibration::symmetric_scale(calibration::symmetric_clip(x, span, options));
      }
    }
    return p;
  }

  /// Throws unless `p` has the right number of finite positive scales (and in-range zero
  /// points) for a rows × cols tensor. QuantizedTensor::adopt calls it.
  static void validate_params(const TensorParams& p, std::size_t rows, std::size_t cols) {
    const std::size_t want = PerChannel ? rows : 1;
    check(p.scale.size() == want, name, ": a ", rows, " x ", cols, " tensor needs ", want, " scale(s), got ",
          p.scale.size());
    check(p.zero_point.size() == (Affine ? want : 0), name, ": a ", rows, " x ", cols, " tensor needs ",
          Affine ? want : 0, " zero point(s), got ", p.zero_point.size());
    for (std::size_t i = 0; i < p.scale.size(); ++i)
      check(std::isfinite(p.scale[i]) && p.scale[i] > 0.0f, name, ": scale ", i,
            " must be finite and positive, got ", p.scale[i]);
    for (std::size_t i = 0; i < p.zero_point.size(); ++i)
      check(p.zero_point[i] >= -128 && p.zero_point[i] <= 127, name, ": zero point ", i,
            " must be in [-128, 127], got ", p.zero_point[i]);
  }

  static void quantize_row(const float* x, std::size_t k, std::uint8_t* dst, const TensorParams& p, std::size_t row) {
    (void)row_bytes<Int8Scheme>(k);
    calibration::check_finite(x, k, name, row);
    const float s = scale_of(p, row);
    check(std::isfinite(s) && s > 0.0f, name, ": row ", row, " has scale ", s, ", expected finite and positive");
    if constexpr (Affine) {
      const calibration::AffineParams a{s, zero_point_of(p, row)};
      for (std::size_t i = 0; i < k; ++i) dst[i] = std::uint8_t(std::int8_t(calibration::quantize_affine(x[i], a)));
    } else {
      for (std::size_t i = 0; i < k; ++i) dst[i] = std::uint8_t(std::int8_t(calibration::quantize_symmetric(x[i], s)));
    }
  }

  static void dequantize_row(const std::uint8_t* src, std::size_t k, float* y, const TensorParams& p,
                             std::size_t row) {
    (void)row_bytes<Int8Scheme>(k);
    const float s = scale_of(p, row);
    const std::int32_t zp = zero_point_of(p, row);
    for (std::size_t i = 0; i < k; ++i) {
      std::int8_t q;
      std::memcpy(&q, src + i, 1);
      y[i] = int8_decode(q, s, zp);
    }
  }

  static std::size_t params_bytes(const TensorParams& p) {
    return p.scale.size() * sizeof(float) + p.zero_point.size() * sizeof(std::int32_t);
  }

 private:
  static std::size_t index_of(const TensorParams& p, std::size_t row) {
    const std::size_t i = PerChannel ? row : 0;
    check(i < p.scale.size() && (!Affine || i < p.zero_point.size()), name, ": no scale for row ", row, " (",
          p.scale.size(), " scales, ", p.zero_point.size(), " zero points)");
    return i;
  }
};

/// int8, one symmetric scale for the whole tensor (8 bits + 32 bits per tensor).
/// Usage: `QuantizedTensor<Int8PerTensor>::quantize(w, n, k)`
using Int8PerTensor = Int8Scheme<false, false>;
/// int8, one scale and zero point for the whole tensor.
/// Usage: `QuantizedTensor<Int8PerTensorAffine>::quantize(w, n, k)`
using Int8PerTensorAffine = Int8Scheme<false, true>;
/// int8, one symmetric scale per row (8 bits + 32 bits per row).
/// Usage: `QuantizedTensor<Int8PerChannel>::quantize(w, n, k)`
using Int8PerChannel = Int8Scheme<true, false>;
/// int8, one scale and zero point per row.
/// Usage: `QuantizedTensor<Int8PerChannelAffine>::quantize(w, n, k)`
using Int8PerChannelAffine = Int8Scheme<true, true>;

static_assert(Scheme<Int8PerTensor>);
static_assert(Scheme<Int8PerTensorAffine>);
static_assert(Scheme<Int8PerChannel>);
static_assert(Scheme<Int8PerChannelAffine>);

}  // namespace qlinear
