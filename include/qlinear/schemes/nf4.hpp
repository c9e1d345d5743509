#pragma once
// NF4: QLoRA's 4-bit NormalFloat. Blocks of 64 weights, each weight the nearest of 16 fixed
// levels in [−1, 1] (bitsandbytes' NF4 codebook, `nf4_level` below) times the block's
// absmax (largest |x|).
//
// Block layouts (little-endian, no padding):
//   NF4             { f32 absmax;         uint8 qs[32]; }   36 bytes / 64 weights = 4.5 bits
//   NF4DoubleQuant  { uint8 absmax_code;  uint8 qs[32]; }   33 bytes / 64 weights = 4.125 bits
// Nibble order is Int4's: byte j holds element 2j in its low nibble and 2j + 1 in its high
// nibble. (bitsandbytes packs element 2j in the HIGH nibble; its bytes need swapping.)
//
// Double quantization (after QLoRA, simplified to one level): a block's absmax is stored as an
// int8 code c (held as the byte c + 128) with absmax̂ = offset + scale_row · c, where `offset` is
// the tensor's mean absmax and `scale_row` = max over the row's blocks of |absmax − offset| / 127.
// Both live in NF4DoubleParams beside the rows: 4 + 4·rows bytes, about 32/K bits per weight.
// bitsandbytes instead quantizes absmax in chunks of 256 with an 8-bit dynamic code; these
// bytes are not interchangeable with its.
//
// Quantization: u = the index of the codebook level nearest x / absmax̂ (ties to the lower
// index). The error of an element is at most half the largest codebook gap (0.1519) × absmax̂,
// plus, under double quantization, the clipping of |x| beyond absmax̂ (at most scale_row / 2).
// NF4 also takes Calibration::mse: a per-block search over scales r · absmax that may clip
// the block's largest values for a finer grid elsewhere (never a larger squared error).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "qlinear/core/config.hpp"
#include "qlinear/core/error.hpp"
#include "qlinear/schemes/calibration.hpp"
#include "qlinear/schemes/int4.hpp"
#include "qlinear/schemes/scheme.hpp"

namespace qlinear {

/// Level u (0..15) of bitsandbytes' NF4 codebook (csrc/kernels.cu), ascending; level 7 is exactly 0.
/// Host and device: the table is local, so device code needs no global array.
QLINEAR_HD constexpr float nf4_level(std::uint32_t u) {
  constexpr float levels[16] = {-1.0f,
                                -0.6961928009986877f,
                                -0.5250730514526367f,
                                -0.39491748809814453f,
                                -0.28444138169288635f,
                                -0.18477343022823334f,
                                -0.09105003625154495f,
                                0.0f,
                                0.07958029955625534f,
                                0.16093020141124725f,
                                0.24611230194568634f,
                                0.33791524171829224f,
                                0.44070982933044434f,
                                0.5626170039176941f,
                                0.7229568362236023f,
                                1.0f};
  return levels[u & 0xFu];
}

/// Half the widest gap between neighbouring NF4 levels (between −1 and −0.696): the bound on
/// |x/absmax − level| for the nearest level.
inline constexpr float nf4_max_half_gap = (1.0f - 0.6961928009986877f) / 2.0f;

/// Index of the NF4 level nearest v (v is x / absmax, in [−1, 1]; ties go to the lower index).
QLINEAR_HD constexpr std::uint32_t nf4_nearest(float v) {
  std::uint32_t u = 0;
  // Levels ascend, so the nearest is the last one whose midpoint with its predecessor is below v.
  for (std::uint32_t i = 1; i < 16; ++i)
    if (v > 0.5f * (nf4_level(i - 1) + nf4_level(i))) u = i;
  return u;
}

/// One NF4 block: f32 absmax, then 32 bytes of nibbles. Usage: `BlockNF4 b;`
struct BlockNF4 {
  float absmax;
  std::uint8_t qs[32];
};
/// One double-quantized NF4 block: the absmax code (int8 + 128), then 32 bytes of nibbles.
struct BlockNF4DoubleQuant {
  std::uint8_t absmax_code;
  std::uint8_t qs[32];
};
static_assert(sizeof(BlockNF4) == 36);
static_assert(sizeof(BlockNF4DoubleQuant) == 33);

/// Decodes 64 NF4 codes with absmax `a` (host and device).
QLINEAR_HD void nf4_decode_codes(const std::uint8_t* qs, float a, float* y) {
  for (int j = 0; j < 64; ++j) y[j] = nf4_level(nibble_at(qs, j)) * a;
}

namespace detail {
// Encodes x[0..64) against absmax a (a <= 0 or tiny encodes every element as level 0.0).
inline void nf4_encode_codes(const float* x, float a, std::uint8_t* qs) {
  for (int j = 0; j < 64; ++j) {
    const std::uint32_t u = a > 0.0f ? nf4_nearest(std::clamp(float(double(x[j]) / double(a)), -1.0f, 1.0f)) : 7u;
    set_nibble(qs, j, u);
  }
}
inline void nf4_double_quant_options(const QuantizeOptions& options, std::string_view scheme) {
  calibration::validate(options, scheme);
  check(options.calibration == Calibration::minmax, scheme,
        ": double quantization stores each block's absmax (Calibration::minmax); percentile applies to the int8 "
        "schemes and mse to int8, int4 and single-quantized NF4");
}
}  // namespace detail

/// NF4 (QLoRA normal-float 4-bit), blocks of 64 with an f32 absmax each: 4.5 bits per weight.
/// Calibration::mse searches, per block, scales r · absmax (r on the options' ratio grid) for
/// the least squared error; values beyond the chosen scale clip to ±1 · scale.
/// Usage: `QuantizedLinear<cpu::ReferenceBackend, NF4>::from_float(w, n, k)`
struct NF4 {
  using Block = BlockNF4;
  using TensorParams = RowQuantizer;
  static constexpr SchemeId id = SchemeId::nf4;
  static constexpr std::string_view name = "nf4";
  static constexpr std::size_t block_elems = 64;
  static constexpr std::size_t block_bytes = sizeof(Block);

  QLINEAR_HD static void dequantize_block(const Block& b, float* y) { nf4_decode_codes(b.qs, b.absmax, y); }

  /// Quantizes one block with absmax scale (minmax) or the best of the ratio grid (mse).
  static void quantize_block(const float* x, Block& b, const RowQuantizer& rq = {}) {
    float a = 0.0f;
    for (int j = 0; j < 64; ++j) a = std::max(a, std::fabs(x[j]));
    b.absmax = a;
    detail::nf4_encode_codes(x, a, b.qs);
    if (rq.calibration != Calibration::mse || a == 0.0f) return;
    double best = sse(x, b);
    Block trial;
    for (int i = 1; i < rq.mse_grid_points; ++i) {
      trial.absmax = float(double(a) * calibration::mse_ratio(i, rq.mse_grid_points, rq.mse_min_ratio));
      detail::nf4_encode_codes(x, trial.absmax, trial.qs);
      const double err = sse(x, trial);
      if (err < best) best = err, b = trial;
    }
  }

  static TensorParams calibrate(const float*, std::size_t, std::size_t, const QuantizeOptions& options) {
    return detail::row_quantizer(options, name);
  }
  static void quantize_row(const float* x, std::size_t k, std::uint8_t* dst, const TensorParams& rq, std::size_t row) {
    const std::size_t nb = row_bytes<NF4>(k) / block_bytes;
    detail::check_row_quantizer(rq, name);
    calibration::check_finite(x, k, name, row);
    for (std::size_t i = 0; i < nb; ++i) {
      Block b{};
      quantize_block(x + i * block_elems, b, rq);
      std::memcpy(dst + i * block_bytes, &b, block_bytes);
    }
  }
  static void dequantize_row(const std::uint8_t* src, std::size_t k, float* y, const TensorParams&, std::size_t) {
    const std::size_t nb = row_bytes<NF4>(k) / block_bytes;
    for (std::size_t i = 0; i < nb; ++i) {
      Block b;
      std::memcpy(&b, src + i * block_bytes, block_bytes);
      dequantize_block(b, y + i * block_elems);
    }
  }
  static std::size_t params_bytes(const TensorParams&) { return 0; }

 private:
  static double sse(const float* x, const Block& b) {
    float y[64];
    dequantize_block(b, y);
    double s = 0.0;
    for (int j = 0; j < 64; ++j) s += (double(x[j]) - y[j]) * (double(x[j]) - y[j]);
    return s;
  }
};
static_assert(Scheme<NF4>);

/// The second-level parameters of NF4DoubleQuant: the tensor's mean absmax and one scale per row.
/// Usage: `float a = NF4DoubleQuant::absmax_of(t.params(), row, code);`
struct NF4DoubleParams {
  float offset = 0.0f;
  std::vector<float> scale;
  friend bool operator==(const NF4DoubleParams&, const NF4DoubleParams&) = default;
};

/// Decodes an absmax code byte: offset + scale · (code − 128). Host and device.
/// Two roundings, never one fused multiply-add: compilers contract a·b + c into an FMA where the
/// target has one (clang in an AVX-512 kernel, nvcc everywhere), and every kernel must give the
/// reference's bits.
QLINEAR_HD float nf4_absmax_decode(std::uint8_t code, float offset, float scale) {
#ifdef __CUDA_ARCH__
  return offset + __fmul_rn(scale, float(int(code) - 128));
#else
  volatile float step = scale * float(int(code) - 128);
  return offset + step;
#endif
}

/// NF4 with double quantization of the block absmax to int8 (4.125 bits + ~32/K per weight).
/// Usage: `auto t = QuantizedTensor<NF4DoubleQuant>::quantize(w, n, k);`
struct NF4DoubleQuant {
  using Block = BlockNF4DoubleQuant;
  using TensorParams = NF4DoubleParams;
  static constexpr SchemeId id = SchemeId::nf4_double_quant;
  static constexpr std::string_view name = "nf4_double_quant";
  static constexpr std::size_t block_elems = 64;
  static constexpr std::size_t block_bytes = sizeof(Block);

  /// Decodes one block given its row's second-level parameters (host and device).
  QLINEAR_HD static void dequantize_block(const Block& b, float offset, float scale, float* y) {
    nf4_decode_codes(b.qs, nf4_absmax_decode(b.absmax_code, offset, scale), y);
  }

  static float scale_of(const TensorParams& p, std::size_t row) {
    check(row < p.scale.size(), name, ": no scale for row ", row, " (", p.scale.size(), " scales)");
    return p.scale[row];
  }

  /// Offset = mean block absmax of the tensor; per row, scale = max |absmax − offset| / 127.
  static TensorParams calibrate(const float* w, std::size_t rows, std::size_t cols, const QuantizeOptions& options) {
    detail::nf4_double_quant_options(options, name);
    const std::size_t nb = row_bytes<NF4DoubleQuant>(cols) / block_bytes;
    for (std::size_t r = 0; r < rows; ++r) calibration::check_finite(w + r * cols, cols, name, r);
    std::vector<double> absmax(rows * nb);
    double sum = 0.0;
    for (std::size_t i = 0; i < rows * nb; ++i) sum += absmax[i] = calibration::absmax(w + i * block_elems, block_elems);
    TensorParams p;
    p.offset = rows * nb != 0 ? float(sum / double(rows * nb)) : 0.0f;
    p.scale.resize(rows);
    for (std::size_t r = 0; r < rows; ++r) {
      double dev = 0.0;
      for (std::size_t i = 0; i < nb; ++i) dev = std::max(dev, std::fabs(absmax[r * nb + i] - double(p.offset)));
      const float s = float(dev / 127.0);
      p.scale[r] = s > 0.0f && std::isfinite(s) ? s : 1.0f;
    }
    return p;
  }

  /// Throws unless `p` has one finite positive scale per row and a finite, non-negative offset.
  static void validate_params(const TensorParams& p, std::size_t rows, std::size_t cols) {
    check(p.scale.size() == rows, name, ": a ", rows, " x ", cols, " tensor needs ", rows, " row scales, got ",
          p.scale.size());
    check(std::isfinite(p.offset) && p.offset >= 0.0f, name, ": the absmax offset must be finite and >= 0, got ",
          p.offset);
    for (std::size_t i = 0; i < p.scale.size(); ++i)
      check(std::isfinite(p.scale[i]) && p.scale[i] > 0.0f, name, ": row scale ", i,
            " must be finite and positive, got ", p.scale[i]);
  }

  static void quantize_row(const float* x, std::size_t k, std::uint8_t* dst, const TensorParams& p, std::size_t row) {
    const std::size_t nb = row_bytes<NF4DoubleQuant>(k) / block_bytes;
    calibration::check_finite(x, k, name, row);
    const float s = scale_of(p, row);
    check(std::isfinite(s) && s > 0.0f && std::isfinite(p.offset), name, ": row ", row, " has scale ", s,
          " and offset ", p.offset, ", expected finite values and a positive scale");
    for (std::size_t i = 0; i < nb; ++i) {
      const float* xb = x + i * block_elems;
      const double a = calibration::absmax(xb, block_elems);
      Block b{};
      const double c = std::clamp(std::nearbyint((a - double(p.offset)) / double(s)), -128.0, 127.0);
      b.absmax_code = std::uint8_t(int(c) + 128);
      detail::nf4_encode_codes(xb, nf4_absmax_decode(b.absmax_code, p.offset, s), b.qs);
      std::memcpy(dst + i * block_bytes, &b, block_bytes);
    }
  }
  static void dequantize_row(const std::uint8_t* src, std::size_t k, float* y, const TensorParams& p,
                             std::size_t row) {
    const std::size_t nb = row_bytes<NF4DoubleQuant>(k) / block_bytes;
    const float s = scale_of(p, row);
    for (std::size_t i = 0; i < nb; ++i) {
      Block b;
      std::memcpy(&b, src + i * block_bytes, block_bytes);
      dequantize_block(b, p.offset, s, y + i * block_elems);
    }
  }
  static std::size_t params_bytes(const TensorParams& p) { return sizeof(float) + p.scale.size() * sizeof(float); }
};
static_assert(Scheme<NF4DoubleQuant>);

}  // namespace qlinear
