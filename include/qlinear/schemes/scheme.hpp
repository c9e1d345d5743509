#pragma once
// The Scheme contract: how one row of K weights becomes bytes and back.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "qlinear/core/error.hpp"

namespace qlinear {

/// Run-time identity of a storage scheme. Values below 1000 are GGUF's `ggml_type` numbers;
/// qlinear's own schemes live at 1000 and above. Usage: `if (id == SchemeId::q4_K) ...`
enum class SchemeId : std::uint32_t {
  f32 = 0,
  f16 = 1,
  q4_0 = 2,
  q4_1 = 3,
  q5_0 = 6,
  q5_1 = 7,
  q8_0 = 8,
  q8_1 = 9,
  q2_K = 10,
  q3_K = 11,
  q4_K = 12,
  q5_K = 13,
  q6_K = 14,
  q8_K = 15,
  iq4_nl = 20,
  iq4_xs = 23,
  bf16 = 30,
  // qlinear's own schemes (not GGUF types).
  int8_per_tensor = 1000,
  int8_per_tensor_affine = 1001,
  int8_per_channel = 1002,
  int8_per_channel_affine = 1003,
  int4_g32 = 1010,
  int4_g64 = 1011,
  int4_g128 = 1012,
  int4_g32_affine = 1013,
  int4_g64_affine = 1014,
  int4_g128_affine = 1015,
  nf4 = 1020,
  nf4_double_quant = 1021,
};

/// How a scheme picks the clipping range of a tensor (int8) or a group (int4, NF4).
enum class Calibration {
  minmax,      ///< the full range of the data: nothing is clipped
  percentile,  ///< the range holding `QuantizeOptions::percentile` % of |values| (int8 only)
  mse,         ///< a grid search over clipping ratios minimising mean squared error
};

/// Options for quantizing floats into a scheme. Usage: `QuantizeOptions{.calibration = Calibration::mse}`
struct QuantizeOptions {
  Calibration calibration = Calibration::minmax;
  double percentile = 99.99;        ///< for Calibration::percentile, in (50, 100]
  int mse_grid_points = 100;        ///< for Calibration::mse: clipping ratios tried in [mse_min_ratio, 1]
  double mse_min_ratio = 0.5;
};

/// Tensor-wide parameters of schemes whose rows are self-describing (all GGUF formats).
struct NoTensorParams {
  friend bool operator==(const NoTensorParams&, const NoTensorParams&) = default;
};

/// A storage scheme: a compile-time policy describing the bytes of one row and its scalar
/// reference conversions.
///  - `id`, `name`: run-time identity; `block_elems` weights take `block_bytes` bytes and a
///    row of K weights takes K / block_elems blocks (K must be a multiple of block_elems).
///  - `TensorParams`: what is held beside the rows (per-tensor or per-row scales); empty for
///    formats whose blocks carry their own scales.
///  - `calibrate(w, rows, K, options)` computes TensorParams from the whole float tensor;
///    `quantize_row` / `dequantize_row` convert row `row` using them.
///  - `params_bytes(params)` is the storage the parameters cost (for memory accounting).
template <class S>
concept Scheme = requires(const float* x, float* y, const std::uint8_t* src, std::uint8_t* dst, std::size_t n,
                          const QuantizeOptions& options, const typename S::TensorParams& params) {
  { S::id } -> std::convertible_to<SchemeId>;
  { S::name } -> std::convertible_to<std::string_view>;
  { S::block_elems } -> std::convertible_to<std::size_t>;
  { S::block_bytes } -> std::convertible_to<std::size_t>;
  { S::calibrate(x, n, n, options) } -> std::same_as<typename S::TensorParams>;
  { S::quantize_row(x, n, dst, params, n) } -> std::same_as<void>;
  { S::dequantize_row(src, n, y, params, n) } -> std::same_as<void>;
  { S::params_bytes(params) } -> std::convertible_to<std::size_t>;
};

/// Bytes one row of `k` weights takes in scheme S; throws unless k is a whole number of blocks.
template <Scheme S>
constexpr std::size_t row_bytes(std::size_t k) {
  check(k > 0 && k % S::block_elems == 0, S::name, ": a row of ", k, " weights is not a whole number of ",
        S::block_elems, "-weight blocks");
  return k / S::block_elems * S::block_bytes;
}

/// Nominal bits per weight of the row storage alone (GGUF's figure: Q4_K 4.5, Q6_K 6.5625).
template <Scheme S>
constexpr double nominal_bits_per_weight() {
  return double(S::block_bytes) * 8.0 / double(S::block_elems);
}

/// A scheme whose rows decode with nothing held beside them (GGUF, dense, int4, NF4): its
/// TensorParams is NoTensorParams or a zero-cost holder of quantizer choices (RowQuantizer)
/// that a default-constructed value stands in for when decoding raw bytes.
/// Usage: `if constexpr (SelfDescribingRows<S>) ... S::dequantize_row(src, k, y, {}, r);`
template <class S>
concept SelfDescribingRows = Scheme<S> && (std::same_as<typename S::TensorParams, NoTensorParams> ||
                                           requires { requires S::TensorParams::self_describing_rows; });

}  // namespace qlinear
