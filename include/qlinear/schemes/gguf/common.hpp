#pragma once
// Shared pieces of the GGUF block formats: super-block size and ggml's rounding helpers.
// The helpers reproduce ggml's reference quantizer arithmetic exactly (same operations, same
// order), so our bytes match llama-quantize's wherever the float environment matches.

#include <cmath>
#include <cstdint>
#include <cstring>

#include "qlinear/core/config.hpp"
#include "qlinear/core/half.hpp"
#include "qlinear/schemes/gguf/blocks.hpp"
#include "qlinear/schemes/scheme.hpp"

namespace qlinear::gguf {

inline constexpr float GROUP_MAX_EPS = 1e-15f;  ///< ggml's "all zero" threshold for a group

/// ggml's nearest_int (the 1.5·2^23 trick: rounds to nearest, ties to even),
/// valid for |x| <= 4194303.
QLINEAR_HD int nearest_int(float fval) {
  const float val = fval + 12582912.f;
  std::int32_t i = 0;
  std::memcpy(&i, &val, sizeof(i));
  return (i & 0x007fffff) - 0x00400000;
}

}  // namespace qlinear::gguf
