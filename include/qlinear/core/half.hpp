#pragma once
// IEEE binary16 and bfloat16 conversions, bit-exact with ggml's (round to nearest even).
// Written with integer tricks so they are constexpr and usable on host and device.

#include <bit>
#include <cstdint>

#include "qlinear/core/bit_cast.hpp"
#include "qlinear/core/config.hpp"

namespace qlinear {

/// IEEE-754 binary16 stored as its bits (the GGUF `ggml_half`). Usage: `f16 h = f16::from_float(x);`
struct f16 {
  std::uint16_t bits = 0;
  QLINEAR_HD static constexpr f16 from_bits(std::uint16_t b) { return f16{b}; }
  QLINEAR_HD static constexpr f16 from_float(float x);
  QLINEAR_HD constexpr float to_float() const;
};
static_assert(sizeof(f16) == 2);

/// bfloat16 stored as its bits. Usage: `float x = bf16::from_float(y).to_float();`
struct bf16 {
  std::uint16_t bits = 0;
  QLINEAR_HD static constexpr bf16 from_bits(std::uint16_t b) { return bf16{b}; }
  QLINEAR_HD static constexpr bf16 from_float(float x);
  QLINEAR_HD constexpr float to_float() const { return qlinear::bit_cast<float>(std::uint32_t(bits) << 16); }
};
static_assert(sizeof(bf16) == 2);

/// binary16 bits -> float, exact for every input (subnormals, inf, NaN).
QLINEAR_HD constexpr float f16_to_f32(std::uint16_t h) {
  const std::uint32_t w = std::uint32_t(h) << 16;
  const std::uint32_t sign = w & 0x80000000u;
  const std::uint32_t two_w = w + w;
  const std::uint32_t exp_offset = 0xE0u << 23;
  const float normalized = qlinear::bit_cast<float>((two_w >> 4) + exp_offset) * 0x1.0p-112f;
  const float denormalized = qlinear::bit_cast<float>((two_w >> 17) | (126u << 23)) - 0.5f;
  const std::uint32_t denormalized_cutoff = 1u << 27;
  const std::uint32_t result =
      sign | (two_w < denormalized_cutoff ? qlinear::bit_cast<std::uint32_t>(denormalized)
                                          : qlinear::bit_cast<std::uint32_t>(normalized));
  return qlinear::bit_cast<float>(result);
}

/// float -> binary16 bits, round to nearest even; NaN stays NaN, overflow gives inf.
QLINEAR_HD constexpr std::uint16_t f32_to_f16(float f) {
  const std::uint32_t w = qlinear::bit_cast<std::uint32_t>(f);
  const float abs_f = qlinear::bit_cast<float>(w & 0x7FFFFFFFu);
  float base = (abs_f * 0x1.0p+112f) * 0x1.0p-110f;
  const std::uint32_t shl1_w = w + w;
  const std::uint32_t sign = w & 0x80000000u;
  std::uint32_t bias = shl1_w & 0xFF000000u;
  if (bias < 0x71000000u) bias = 0x71000000u;
  base = qlinear::bit_cast<float>((bias >> 1) + 0x07800000u) + base;
  const std::uint32_t bits = qlinear::bit_cast<std::uint32_t>(base);
  const std::uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
  const std::uint32_t mantissa_bits = bits & 0x00000FFFu;
  const std::uint32_t nonsign = exp_bits + mantissa_bits;
  return std::uint16_t((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

/// float -> bfloat16 bits, round to nearest even, NaN forced quiet (as ggml does).
QLINEAR_HD constexpr std::uint16_t f32_to_bf16(float f) {
  const std::uint32_t u = qlinear::bit_cast<std::uint32_t>(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return std::uint16_t((u >> 16) | 64u);
  return std::uint16_t((u + (0x7FFFu + ((u >> 16) & 1u))) >> 16);
}

QLINEAR_HD constexpr float bf16_to_f32(std::uint16_t b) { return qlinear::bit_cast<float>(std::uint32_t(b) << 16); }

QLINEAR_HD constexpr f16 f16::from_float(float x) { return f16{f32_to_f16(x)}; }
QLINEAR_HD constexpr float f16::to_float() const { return f16_to_f32(bits); }
QLINEAR_HD constexpr bf16 bf16::from_float(float x) { return bf16{f32_to_bf16(x)}; }

}  // namespace qlinear
