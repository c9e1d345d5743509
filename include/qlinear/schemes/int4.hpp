#pragma once
// Grouped int4 weights with f16 scales: groups of 32, 64 or 128 consecutive weights of a row,
// each group one block, two weights per byte.
//
// Block layouts (little-endian f16, no padding):
//   Int4<G>        { f16 d;          uint8 qs[G/2]; }  x̂ = d · (u − 8),  u in [0, 15]
//   Int4Affine<G>  { f16 d; f16 m;   uint8 qs[G/2]; }  x̂ = d · u + m,    u in [0, 15]
// so Int4<128> costs (2 + 64) · 8 / 128 = 4.125 bits per weight and Int4Affine<128> 4.25.
//
// Nibble order: byte j of qs holds element 2j of the group in its low nibble (bits 0-3) and
// element 2j + 1 in its high nibble (bits 4-7). (ggml's Q4_0 pairs j with j + 16 instead.)
//
// Symmetric quantization follows Q4_0: with v the group's value of largest magnitude (its
// sign kept), d = v / −8, so v lands on −8 exactly and the other side reaches +7·|d|. Values
// are rounded to nearest against the stored (f16) d. The error of an element is therefore at
// most max(|d|/2, |x| − 7·|d|): d/2 on v's side, at most |d| on the other (the one level Q4_0's
// asymmetric grid lacks). Calibration::mse searches, per group, the scales r·v/−8 and r·v/7
// for r on the options' ratio grid and keeps the one of least squared error (minmax's scale
// is one of them, so mse is never worse). Percentile calibration applies to int8 only.
//
// Affine quantization follows Q4_1: m = min, d = (max − min) / 15 (both stored as f16), u =
// clamp(round((x − m) / d), 0, 15). The error is at most d/2 inside [m, m + 15·d] (the grid
// the stored values span). Calibration::mse searches ranges shrunk by r about the middle, from
// the top, and from the bottom.
//
// The f16 scales bound the values: a group whose scale exceeds f16's range (|x| beyond about
// 5.2e5 symmetric, 6.5e4 affine) is rejected with qlinear::Error; scales below f16's smallest
// subnormal round to 0 and the group decodes as zeros (an error of at most that tiny |x|).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>

#include "qlinear/core/config.hpp"
#include "qlinear/core/error.hpp"
#include "qlinear/core/half.hpp"
#include "qlinear/schemes/calibration.hpp"
#include "qlinear/schemes/scheme.hpp"

namespace qlinear {

/// The 4-bit code of element j in packed nibbles (low nibble = even element). Host and device.
QLINEAR_HD constexpr std::uint32_t nibble_at(const std::uint8_t* qs, int j) {
  return (std::uint32_t(qs[j >> 1]) >> ((j & 1) * 4)) & 0xFu;
}
/// Stores code u (0..15) as element j of packed nibbles; the other nibble of the byte is kept.
QLINEAR_HD constexpr void set_nibble(std::uint8_t* qs, int j, std::uint32_t u) {
  const int shift = (j & 1) * 4;
  qs[j >> 1] = std::uint8_t((qs[j >> 1] & ~(0xFu << shift)) | ((u & 0xFu) << shift));
}

/// One symmetric int4 group: f16 scale, then Group/2 bytes of nibbles. Usage: `BlockInt4<32> b;`
template <int Group>
struct BlockInt4 {
  f16 d;
  std::uint8_t qs[Group / 2];
};
/// One affine int4 group: f16 scale, f16 minimum, then Group/2 bytes. Usage: `BlockInt4Affine<32> b;`
template <int Group>
struct BlockInt4Affine {
  f16 d;
  f16 m;
  std::uint8_t qs[Group / 2];
};
static_assert(sizeof(BlockInt4<32>) == 18 && sizeof(BlockInt4<64>) == 34 && sizeof(BlockInt4<128>) == 66);
static_assert(sizeof(BlockInt4Affine<32>) == 20 && sizeof(BlockInt4Affine<64>) == 36 &&
              sizeof(BlockInt4Affine<128>) == 68);

namespace detail {

template <int Group>
constexpr bool valid_int4_group = Group == 32 || Group == 64 || Group == 128;

template <int Group, bool Affine>
constexpr SchemeId int4_id() {
  if constexpr (Group == 32) return Affine ? SchemeId::int4_g32_affine : SchemeId::int4_g32;
  if constexpr (Group == 64) return Affine ? SchemeId::int4_g64_affine : SchemeId::int4_g64;
  return Affine ? SchemeId::int4_g128_affine : SchemeId::int4_g128;
}
template <int Group, bool Affine>
constexpr std::string_view int4_name() {
  if constexpr (Group == 32) return Affine ? "int4_g32_affine" : "int4_g32";
  if constexpr (Group == 64) return Affine ? "int4_g64_affine" : "int4_g64";
  return Affine ? "int4_g128_affine" : "int4_g128";
}

// Rejects what int4 (and NF4) cannot calibrate with; returns the row quantizer for the options.
inline RowQuantizer row_quantizer(const QuantizeOptions& options, std::string_view scheme) {
  calibration::validate(options, scheme);
  check(options.calibration != Calibration::percentile, scheme,
        ": percentile calibration applies to the int8 schemes only (a group is too small for a percentile); "
        "use Calibration::minmax or Calibration::mse");
  return RowQuantizer{options.calibration, options.mse_grid_points, options.mse_min_ratio};
}

inline void check_row_quantizer(const RowQuantizer& q, std::string_view scheme) {
  QuantizeOptions o;
  o.calibration = q.calibration;
  o.mse_grid_points = q.mse_grid_points;
  o.mse_min_ratio = q.mse_min_ratio;
  (void)row_quantizer(o, scheme);
}

// f16 of a scale, or an Error naming the group when it does not fit.
inline f16 checked_f16(double v, std::string_view scheme, const char* what, std::size_t row, std::size_t index,
                       double extreme) {
  const f16 h = f16::from_float(float(v));
  check(std::isfinite(h.to_float()), scheme, ": row ", row, ", group at index ", index, ": |x| up to ", extreme,
        " needs ", what, " ", v, ", beyond f16's range (65504)");
  return h;
}

}  // namespace detail

/// Symmetric grouped int4 with an f16 scale per group of Group ∈ {32, 64, 128} weights.
/// Usage: `QuantizedLinear<cpu::ReferenceBackend, Int4G128>::from_float(w, n, k)`
template <int Group>
struct Int4 {
  static_assert(detail::valid_int4_group<Group>, "Int4<Group>: the group size must be 32, 64 or 128");
  using Block = BlockInt4<Group>;
  using TensorParams = RowQuantizer;
  static constexpr int group = Group;
  static constexpr SchemeId id = detail::int4_id<Group, false>();
  static constexpr std::string_view name = detail::int4_name<Group, false>();
  static constexpr std::size_t block_elems = std::size_t(Group);
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// Decodes one group (host and device).
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const float d = b.d.to_float();
    for (int j = 0; j < Group; ++j) y[j] = d * float(int(nibble_at(b.qs, j)) - 8);
  }

  /// Encodes x[0..Group) with the stored scale d (codes clamp(round(x / d), −8, 7) + 8), and
  /// returns the squared error.
  static double encode_with(const float* x, f16 d, Block& b) {
    b.d = d;
    const float ds = d.to_float();
    double err = 0.0;
    for (int j = 0; j < Group; ++j) {
      const int q = ds != 0.0f ? int(std::clamp(std::nearbyint(double(x[j]) / double(ds)), -8.0, 7.0)) : 0;
      set_nibble(b.qs, j, std::uint32_t(q + 8));
      const double e = double(x[j]) - double(ds * float(q));
      err += e * e;
    }
    return err;
  }

  /// Quantizes one group (minmax or mse as `rq` says); row and index only name it in errors.
  static void quantize_block(const float* x, Block& b, const RowQuantizer& rq, std::size_t row = 0,
                             std::size_t index = 0) {
    float vmax = 0.0f, amax = 0.0f;
    for (int j = 0; j < Group; ++j)
      if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), vmax = x[j];
    const f16 d0 = detail::checked_f16(double(vmax) / -8.0, name, "scale", row, index, amax);
    double best = encode_with(x, d0, b);
    if (rq.calibration != Calibration::mse || amax == 0.0f) return;
    Block trial;
    f16 best_d = d0;
    for (int i = 0; i < rq.mse_grid_points; ++i) {
      const double r = calibration::mse_ratio(i, rq.mse_grid_points, rq.mse_min_ratio);
      for (const double d : {r * double(vmax) / -8.0, r * double(vmax) / 7.0}) {
        const f16 h = f16::from_float(float(d));
        if (!std::isfinite(h.to_float())) continue;
        const double err = encode_with(x, h, trial);
        if (err < best) best = err, best_d = h;
      }
    }
    encode_with(x, best_d, b);
  }

  static TensorParams calibrate(const float*, std::size_t, std::size_t, const QuantizeOptions& options) {
    return detail::row_quantizer(options, name);
  }

  static void quantize_row(const float* x, std::size_t k, std::uint8_t* dst, const TensorParams& rq, std::size_t row) {
    const std::size_t nb = row_bytes<Int4>(k) / block_bytes;
    detail::check_row_quantizer(rq, name);
    calibration::check_finite(x, k, name, row);
    for (std::size_t i = 0; i < nb; ++i) {
      Block b{};
      quantize_block(x + i * block_elems, b, rq, row, i * block_elems);
      std::memcpy(dst + i * block_bytes, &b, block_bytes);
    }
  }
  static void dequantize_row(const std::uint8_t* src, std::size_t k, float* y, const TensorParams&, std::size_t) {
    const std::size_t nb = row_bytes<Int4>(k) / block_bytes;
    for (std::size_t i = 0; i < nb; ++i) {
      Block b;
      std::memcpy(&b, src + i * block_bytes, block_bytes);
      dequantize_block(b, y + i * block_elems);
    }
  }
  static std::size_t params_bytes(const TensorParams&) { return 0; }
};

/// Affine grouped int4 (x̂ = d·u + m) with f16 scale and minimum per group of Group ∈ {32, 64, 128}.
/// Usage: `QuantizedLinear<cpu::ReferenceBackend, Int4G64Affine>::from_float(w, n, k)`
template <int Group>
struct Int4Affine {
  static_assert(detail::valid_int4_group<Group>, "Int4Affine<Group>: the group size must be 32, 64 or 128");
  using Block = BlockInt4Affine<Group>;
  using TensorParams = RowQuantizer;
  static constexpr int group = Group;
  static constexpr SchemeId id = detail::int4_id<Group, true>();
  static constexpr std::string_view name = detail::int4_name<Group, true>();
  static constexpr std::size_t block_elems = std::size_t(Group);
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// Decodes one group (host and device).
  QLINEAR_HD static void dequantize_block(const Block& b, float* y) {
    const float d = b.d.to_float(), m = b.m.to_float();
    for (int j = 0; j < Group; ++j) y[j] = d * float(nibble_at(b.qs, j)) + m;
  }

  /// Encodes x[0..Group) with the stored d and m, returning the squared error.
  static double encode_with(const float* x, f16 d, f16 m, Block& b) {
    b.d = d;
    b.m = m;
    const float ds = d.to_float(), ms = m.to_float();
    double err = 0.0;
    for (int j = 0; j < Group; ++j) {
      const int u =
          ds != 0.0f ? int(std::clamp(std::nearbyint((double(x[j]) - double(ms)) / double(ds)), 0.0, 15.0)) : 0;
      set_nibble(b.qs, j, std::uint32_t(u));
      const double e = double(x[j]) - double(ds * float(u) + ms);
      err += e * e;
    }
    return err;
  }

  /// Quantizes one group (minmax or mse as `rq` says); row and index only name it in errors.
  static void quantize_block(const float* x, Block& b, const RowQuantizer& rq, std::size_t row = 0,
                             std::size_t index = 0) {
    float mn = x[0], mx = x[0];
    for (int j = 1; j < Group; ++j) mn = std::min(mn, x[j]), mx = std::max(mx, x[j]);
    const double extreme = std::max(std::fabs(double(mn)), std::fabs(double(mx)));
    const f16 m0 = detail::checked_f16(mn, name, "minimum", row, index, extreme);
    const f16 d0 = detail::checked_f16((double(mx) - double(mn)) / 15.0, name, "scale", row, index, extreme);
    double best = encode_with(x, d0, m0, b);
    if (rq.calibration != Calibration::mse || mx == mn) return;
    Block trial;
    f16 best_d = d0, best_m = m0;
    const double w = double(mx) - double(mn), mid = 0.5 * (double(mx) + double(mn));
    for (int i = 0; i < rq.mse_grid_points; ++i) {
      const double r = calibration::mse_ratio(i, rq.mse_grid_points, rq.mse_min_ratio);
      const double los[3] = {mid - 0.5 * r * w, double(mn), double(mx) - r * w};
      for (const double lo : los) {
        const f16 d = f16::from_float(float(r * w / 15.0)), m = f16::from_float(float(lo));
        if (!std::isfinite(d.to_float()) || !std::isfinite(m.to_float())) continue;
        const double err = encode_with(x, d, m, trial);
        if (err < best) best = err, best_d = d, best_m = m;
      }
    }
    encode_with(x, best_d, best_m, b);
  }

  static TensorParams calibrate(const float*, std::size_t, std::size_t, const QuantizeOptions& options) {
    return detail::row_quantizer(options, name);
  }

  static void quantize_row(const float* x, std::size_t k, std::uint8_t* dst, const TensorParams& rq, std::size_t row) {
    const std::size_t nb = row_bytes<Int4Affine>(k) / block_bytes;
    detail::check_row_quantizer(rq, name);
    calibration::check_finite(x, k, name, row);
    for (std::size_t i = 0; i < nb; ++i) {
      Block b{};
      quantize_block(x + i * block_elems, b, rq, row, i * block_elems);
      std::memcpy(dst + i * block_bytes, &b, block_bytes);
    }
  }
  static void dequantize_row(const std::uint8_t* src, std::size_t k, float* y, const TensorParams&, std::size_t) {
    const std::size_t nb = row_bytes<Int4Affine>(k) / block_bytes;
    for (std::size_t i = 0; i < nb; ++i) {
      Block b;
      std::memcpy(&b, src + i * block_bytes, block_bytes);
      dequantize_block(b, y + i * block_elems);
    }
  }
  static std::size_t params_bytes(const TensorParams&) { return 0; }
};

/// Symmetric int4, f16 scale per 32 weights (4.5 bits). Usage: `QuantizedTensor<Int4G32>::quantize(w, n, k)`
using Int4G32 = Int4<32>;
/// Symmetric int4, f16 scale per 64 weights (4.25 bits). Usage: `QuantizedTensor<Int4G64>::quantize(w, n, k)`
using Int4G64 = Int4<64>;
/// Symmetric int4, f16 scale per 128 weights (4.125 bits). Usage: `QuantizedTensor<Int4G128>::quantize(w, n, k)`
using Int4G128 = Int4<128>;
/// Affine int4 per 32 weights (5 bits). Usage: `QuantizedTensor<Int4G32Affine>::quantize(w, n, k)`
using Int4G32Affine = Int4Affine<32>;
/// Affine int4 per 64 weights (4.5 bits). Usage: `QuantizedTensor<Int4G64Affine>::quantize(w, n, k)`
using Int4G64Affine = Int4Affine<64>;
/// Affine int4 per 128 weights (4.25 bits). Usage: `QuantizedTensor<Int4G128Affine>::quantize(w, n, k)`
using Int4G128Affine = Int4Affine<128>;

static_assert(Scheme<Int4G32> && Scheme<Int4G64> && Scheme<Int4G128>);
static_assert(Scheme<Int4G32Affine> && Scheme<Int4G64Affine> && Scheme<Int4G128Affine>);

}  // namespace qlinear
