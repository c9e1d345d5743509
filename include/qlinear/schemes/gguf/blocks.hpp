#pragma once
// Every GGUF block struct, byte for byte as ggml-common.h lays them out (one header for all, as
// ggml does), each with a static_assert on its size: bytes read from a file are used in place.

#include <cstdint>

#include "qlinear/core/half.hpp"

namespace qlinear::gguf {

inline constexpr int QK4_0 = 32, QK4_1 = 32, QK5_0 = 32, QK5_1 = 32, QK8_0 = 32, QK8_1 = 32, QK4_NL = 32;
inline constexpr int QK_K = 256;  ///< elements per k-quant super-block
inline constexpr int K_SCALE_SIZE = 12;

struct BlockQ4_0 {
  f16 d;                       // delta
  std::uint8_t qs[QK4_0 / 2];  // nibbles: element j in the low half of byte j, element j+16 in the high half
};
static_assert(sizeof(BlockQ4_0) == 18);

struct BlockQ4_1 {
  f16 d;  // delta
  f16 m;  // min
  std::uint8_t qs[QK4_1 / 2];
};
static_assert(sizeof(BlockQ4_1) == 20);

struct BlockQ5_0 {
  f16 d;
  std::uint8_t qh[4];  // 5th bit of each element
  std::uint8_t qs[QK5_0 / 2];
};
static_assert(sizeof(BlockQ5_0) == 22);

struct BlockQ5_1 {
  f16 d;
  f16 m;
  std::uint8_t qh[4];
  std::uint8_t qs[QK5_1 / 2];
};
static_assert(sizeof(BlockQ5_1) == 24);

struct BlockQ8_0 {
  f16 d;
  std::int8_t qs[QK8_0];
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ8_1 {
  f16 d;  // delta
  f16 s;  // d * sum(qs)
  std::int8_t qs[QK8_1];
};
static_assert(sizeof(BlockQ8_1) == 36);

struct BlockQ2_K {
  std::uint8_t scales[QK_K / 16];  // 4-bit scales and mins
  std::uint8_t qs[QK_K / 4];       // 2-bit quants
  f16 d;                           // super-block scale for scales
  f16 dmin;                        // super-block scale for mins
};
static_assert(sizeof(BlockQ2_K) == 84);

struct BlockQ3_K {
  std::uint8_t hmask[QK_K / 8];  // high bit of each quant
  std::uint8_t qs[QK_K / 4];     // low 2 bits
  std::uint8_t scales[12];       // 16 6-bit scales
  f16 d;
};
static_assert(sizeof(BlockQ3_K) == 110);

struct BlockQ4_K {
  f16 d;
  f16 dmin;
  std::uint8_t scales[K_SCALE_SIZE];  // 8 6-bit scales and 8 6-bit mins
  std::uint8_t qs[QK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

struct BlockQ5_K {
  f16 d;
  f16 dmin;
  std::uint8_t scales[K_SCALE_SIZE];
  std::uint8_t qh[QK_K / 8];
  std::uint8_t qs[QK_K / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);

struct BlockQ6_K {
  std::uint8_t ql[QK_K / 2];      // low 4 bits
  std::uint8_t qh[QK_K / 4];      // high 2 bits
  std::int8_t scales[QK_K / 16];  // 8-bit scales
  f16 d;
};
static_assert(sizeof(BlockQ6_K) == 210);

struct BlockQ8_K {
  float d;
  std::int8_t qs[QK_K];
  std::int16_t bsums[QK_K / 16];  // sums of groups of 16 quants
};
static_assert(sizeof(BlockQ8_K) == 292);

struct BlockIQ4_NL {
  f16 d;
  std::uint8_t qs[QK4_NL / 2];
};
static_assert(sizeof(BlockIQ4_NL) == 18);

struct BlockIQ4_XS {
  f16 d;
  std::uint16_t scales_h;
  std::uint8_t scales_l[QK_K / 64];
  std::uint8_t qs[QK_K / 2];
};
static_assert(sizeof(BlockIQ4_XS) == 136);

/// The IQ4_NL / IQ4_XS non-linear codebook.
inline constexpr std::int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                                  1,    13,   25,  38,  53,  69,  89,  113};

}  // namespace qlinear::gguf
