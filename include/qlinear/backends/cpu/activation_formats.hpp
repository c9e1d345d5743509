#pragma once
// The activation formats of qlinear's own weight schemes on cpu::Backend's integer path, and the
// pairing of each scheme with one (ActivationFormat<S>). GGUF schemes pair with GGUF's Q8_0 /
// Q8_1 / Q8_K (their ActivationScheme); these are qlinear's choices for the others:
//  - int8 (per tensor / per channel, ± affine)  → I8Row: one scale per activation row, so the
//    whole K of a row is one integer dot product (what AMX and VNNI run at full rate, and what
//    oneDNN does with a per-tensor scale);
//  - int4 groups of G (± affine)                 → Q8Block<G>: int8 blocks of the weights' own
//    group size, so each weight group meets exactly one activation scale;
//  - NF4 (± double quant): no integer path. Its codebook is not integer, so no int8 table gives
//    its products exactly. It runs in bf16 where the processor has AMX-BF16 (kBf16Products:
//    activations and dequantized weights rounded to bf16, products summed in f32, as
//    bitsandbytes computes NF4 layers), for more rows than the exact dot tiles take; on the exact
//    path (SIMD table lookups into f32) otherwise.
//
// Neither format is a storage scheme: they are Scheme-shaped (so row_bytes<A> and the tests'
// dequantize work) but live only in cpu::Context's scratch, one call long.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/schemes/gguf/all.hpp"
#include "qlinear/schemes/int4.hpp"
#include "qlinear/schemes/int8.hpp"
#include "qlinear/schemes/nf4.hpp"
#include "qlinear/schemes/scheme.hpp"

namespace qlinear::cpu {

/// Activation-only formats take ids from 1100 up (never stored, never in the registry).
inline constexpr SchemeId activation_format_id(std::uint32_t n) { return SchemeId(1100 + n); }

/// Activations as int8 codes with one scale per row: q = clamp(nearbyint(x · 127/amax), ±127)
/// where amax is the row's largest |x|. The row holds the K codes only; the scale amax/127
/// travels beside it in QuantizeActivationArgs::row_scale (a row's dequantize_row gives the
/// codes, which row_scale then multiplies). Pairs with the int8 weight schemes.
/// Usage: `using A = activation_scheme_t<Int8PerChannel>;  // I8Row`
struct I8Row {
  using TensorParams = NoTensorParams;
  static constexpr SchemeId id = activation_format_id(0);
  static constexpr std::string_view name = "i8_row";
  static constexpr std::size_t block_elems = 1;
  static constexpr std::size_t block_bytes = 1;

  /// The row's scale (what row_scale receives): amax / 127.
  static float scale_for(float amax) { return amax / 127.0f; }
  /// The codes of x against amax (> 0, finite): nearbyint(x · (127 / amax)) clamped to ±127.
  static void encode(const float* x, std::size_t k, float amax, std::int8_t* q) {
    const float id = 127.0f / amax;
    for (std::size_t l = 0; l < k; ++l) q[l] = std::int8_t(std::clamp(std::nearbyint(x[l] * id), -127.0f, 127.0f));
  }

  static TensorParams calibrate(const float*, std::size_t, std::size_t, const QuantizeOptions&) { return {}; }
  static void quantize_row(const float* x, std::size_t k, std::uint8_t* dst, const TensorParams&, std::size_t) {
    float amax = 0.0f;
    for (std::size_t l = 0; l < k; ++l) amax = std::max(amax, std::fabs(x[l]));
    if (amax == 0.0f || !std::isfinite(amax)) return (void)std::memset(dst, 0, k);
    encode(x, k, amax, reinterpret_cast<std::int8_t*>(dst));
  }
  /// The codes as floats (the row's scale is not in the row).
  static void dequantize_row(const std::uint8_t* src, std::size_t k, float* y, const TensorParams&, std::size_t) {
    for (std::size_t l = 0; l < k; ++l) y[l] = float(std::int8_t(src[l]));
  }
  static std::size_t params_bytes(const TensorParams&) { return 0; }
};
static_assert(Scheme<I8Row>);

/// Activations as int8 blocks of G ∈ {32, 64, 128} values, each with an f32 scale d = amax/127
/// and the sum of its codes (what the 4-bit weights' offsets multiply). A row is planar:
///   int8 q[K] | f32 d[K/G] | int32 sum[K/G]
/// and q is stored in the 4-bit weights' nibble order: within each 64-value chunk the even
/// elements come first, then the odd ones (a trailing 32-value chunk likewise), so the low
/// nibbles of 32 packed weight bytes meet the first 32 codes and the high nibbles the next 32.
/// Codes: nearbyint(x · (127/amax_block)), clamped to ±127; a block whose 127/amax overflows
/// (amax below 3.7e-37 after the row's power-of-two pre-scale, i.e. 2^-130 of the row's
/// largest value) is stored as zeros. Pairs with Int4<G> and Int4Affine<G>.
/// Usage: `using A = activation_scheme_t<Int4G128>;  // Q8Block<128>`
template <int G>
struct Q8Block {
  static_assert(G == 32 || G == 64 || G == 128, "Q8Block<G>: G must be 32, 64 or 128");
  using TensorParams = NoTensorParams;
  static constexpr int group = G;
  static constexpr SchemeId id = activation_format_id(G == 32 ? 1 : G == 64 ? 2 : 3);
  static constexpr std::string_view name = G == 32 ? "q8_b32" : G == 64 ? "q8_b64" : "q8_b128";
  static constexpr std::size_t block_elems = std::size_t(G);
  static constexpr std::size_t block_bytes = std::size_t(G) + 8;

  /// Where element l of a row of k values is stored among the codes.
  static constexpr std::size_t position(std::size_t l, std::size_t k) {
    const std::size_t full = k / 64 * 64;
    const std::size_t chunk = l < full ? 64 : 32, base = l < full ? l / 64 * 64 : full, e = l - base;
    return base + ((e & 1) ? chunk / 2 + e / 2 : e / 2);
  }
  static const std::int8_t* codes(const std::uint8_t* row) { return reinterpret_cast<const std::int8_t*>(row); }
  static float scale(const std::uint8_t* row, std::size_t k, std::size_t b) {
    float d;
    std::memcpy(&d, row + k + 4 * b, 4);
    return d;
  }
  static std::int32_t sum(const std::uint8_t* row, std::size_t k, std::size_t b) {
    std::int32_t s;
    std::memcpy(&s, row + k + 4 * (k / G) + 4 * b, 4);
    return s;
  }

  static TensorParams calibrate(const float*, std::size_t, std::size_t, const QuantizeOptions&) { return {}; }
  /// Quantizes k values (k a multiple of G) into one row.
  static void quantize_row(const float* x, std::size_t k, std::uint8_t* dst, const TensorParams&, std::size_t) {
    const std::size_t nb = row_bytes<Q8Block>(k) / block_bytes;
    auto* q = reinterpret_cast<std::int8_t*>(dst);
    for (std::size_t b = 0; b < nb; ++b) {
      const float* xb = x + b * G;
      float amax = 0.0f;
      for (int l = 0; l < G; ++l) amax = std::max(amax, std::fabs(xb[l]));
      const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
      const bool zero = !(id <= 3.4e38f) || id == 0.0f;  // also catches NaN
      const float d = zero ? 0.0f : amax / 127.0f;
      std::int32_t s = 0;
      for (int l = 0; l < G; ++l) {
        const std::size_t at = b * G + std::size_t(l);
        const std::int8_t c = zero ? std::int8_t(0) : std::int8_t(std::clamp(std::nearbyint(xb[l] * id), -127.0f, 127.0f));
        q[position(at, k)] = c;
        s += c;
      }
      std::memcpy(dst + k + 4 * b, &d, 4);
      std::memcpy(dst + k + 4 * nb + 4 * b, &s, 4);
    }
  }
  static void dequantize_row(const std::uint8_t* src, std::size_t k, float* y, const TensorParams&, std::size_t) {
    const std::size_t nb = row_bytes<Q8Block>(k) / block_bytes;
    for (std::size_t b = 0; b < nb; ++b) {
      const float d = scale(src, k, b);
      for (int l = 0; l < G; ++l) {
        const std::size_t at = b * G + std::size_t(l);
        y[at] = float(codes(src)[position(at, k)]) * d;
      }
    }
  }
  static std::size_t params_bytes(const TensorParams&) { return 0; }
};
static_assert(Scheme<Q8Block<32>> && Scheme<Q8Block<64>> && Scheme<Q8Block<128>>);

template <bool PerChannel, bool Affine>
struct ActivationFormat<Int8Scheme<PerChannel, Affine>> {
  using type = I8Row;
};
template <int G>
struct ActivationFormat<Int4<G>> {
  using type = Q8Block<G>;
};
template <int G>
struct ActivationFormat<Int4Affine<G>> {
  using type = Q8Block<G>;
};

/// Whether cpu::Backend computes S in bf16 in ActivationMode::quantized (on the processors with
/// a bf16 path; see the top of this file). The bf16 driver dequantizes rows a K slice of whole
/// blocks at a time, so S's blocks must decode on their own (per-row parameters at most).
template <class S>
inline constexpr bool kBf16Products = false;
template <>
inline constexpr bool kBf16Products<NF4> = true;
template <>
inline constexpr bool kBf16Products<NF4DoubleQuant> = true;

/// From how many activation rows the quantized mode computes a scheme that has an integer path
/// in bf16 instead (on processors with the bf16 path; 0: never), as llama.cpp's CUDA backend
/// turns to dequantized f16 GEMMs for large batches. Activations and the dequantized weights
/// are then rounded to bf16 (8 significant bits each, where the integer path's Q8 activations
/// keep 8 bits per block and the weights exact), and the products are summed in f32 over all
/// of K in the tiles and K blocks. Measured against the integer kernels (GFLOP/s, 1 thread,
/// 4096² / 11008×4096, integer → bf16, the AMX layouts decoded straight to bf16 panels):
///  - AMX integer kernels, whose blocks of 32 (Q6_K: scales per 16) take the products out of the
///    tiles every 32 (16) values: Q8_0 M = 32 365 → 422 / 261 → 276, M = 64 324 → 533 / 335 →
///    498, M = 128 443 → 627 / 490 → 665; Q4_0 M = 32 413 → 438 / 333 → 356, M = 64 380 → 632 /
///    388 → 570, M = 128 517 → 779 / 537 → 775; Q6_K M = 32 243 → 204 / 236 → 200, M = 64 280 →
///    346 / 266 → 353, M = 128 368 → 535 / 382 → 547. Q4_K / Q5_K fold their scales into the
///    tiles, and at M = 32 still win: Q4_K M = 32 419 → 389 / 287 → 287, M = 64 367 → 490 /
///    340 → 452, M = 128 412 → 620 / 406 → 626; Q5_K M = 64 315 → 388 / 293 → 388, M = 128 380 →
///    556 / 378 → 571.
///  - AVX-512 VNNI kernels (no AMX layout), with AVX-512 dequantizers (4096²), M = 17 / 32 / 64 /
///    128: Q4_1 95 → 138 / 98 → 244 / 97 → 426 / 99 → 626; Q5_0 96 → 142 / 96 → 257 / 95 → 435 /
///    102 → 662; Q5_1 82 → 126 / 80 → 218 / 76 → 391 / 82 → 638; IQ4_NL 102 → 152 / 110 → 310 /
///    108 → 507 / 111 → 747; IQ4_XS 134 → 132 / 123 → 269 / 125 → 434 / 130 → 610. Q2_K / Q3_K
///    M = 17 / 32 / 64 / 128: Q2_K 124 → 102 / 121 → 162 / 119 → 243 / 120 → 396; Q3_K 110 → 62 /
///    107 → 108 / 111 → 186 / 113 → 306 (their scalar dequantizers gave 249 / 211 at M = 128).
/// int8 and int4 groups stay integer (their AMX kernels run 2-3× the bf16 path).
template <class S>
inline constexpr std::size_t kBf16FromRows = 0;
template <>
inline constexpr std::size_t kBf16FromRows<Q8_0> = 32;
template <>
inline constexpr std::size_t kBf16FromRows<Q4_0> = 32;
template <>
inline constexpr std::size_t kBf16FromRows<Q6_K> = 64;
template <>
inline constexpr std::size_t kBf16FromRows<Q4_K> = 64;
template <>
inline constexpr std::size_t kBf16FromRows<Q5_K> = 64;
template <>
inline constexpr std::size_t kBf16FromRows<Q4_1> = 17;
template <>
inline constexpr std::size_t kBf16FromRows<Q5_0> = 17;
template <>
inline constexpr std::size_t kBf16FromRows<Q5_1> = 17;
template <>
inline constexpr std::size_t kBf16FromRows<IQ4_NL> = 17;
template <>
inline constexpr std::size_t kBf16FromRows<IQ4_XS> = 32;
template <>
inline constexpr std::size_t kBf16FromRows<Q2_K> = 32;
template <>
inline constexpr std::size_t kBf16FromRows<Q3_K> = 64;

}  // namespace qlinear::cpu
