#pragma once
// The contract between a scheme's device layout and the CUDA kernels (host-compilable).
//
// On the device a tensor is split into planes, each row-contiguous, so that every load is
// aligned and coalesced whatever the GGUF block size (18, 84, 110, 210 bytes...):
//   q plane: the low bits of each 32-weight chunk, repacked so one 16-byte load (4-bit
//            formats) holds the whole chunk: byte j = element j (low nibble), j + 16 (high);
//   h plane: high bits (5th bit of Q5_*, top two of Q6_K, Q3_K's hmask), per chunk;
//   m plane: the block's scale bytes (d, dmin, packed sub-block scales), verbatim, per block;
//   per-row parameters p0, p1 (int8 scale and zero point; NF4DoubleQuant offset and scale).
// A kernel loads a chunk's bytes into registers (`Codec<S>::load`, a Raw struct) and decodes
// them there (`Codec<S>::decode`): weight e of the chunk is a[e/16] · v[e] + b[e/16], the same
// arithmetic as the scheme's scalar dequantize_block, so the CPU tests can compare bit for bit.

#include <cstddef>
#include <cstdint>

#include "qlinear/backends/cuda/portable.hpp"
#include "qlinear/core/config.hpp"
#include "qlinear/schemes/scheme.hpp"

namespace qlinear::cuda {

/// One row of a tensor in the device layout: where its bytes are in each plane, and its
/// per-row parameters. Pointers are into whatever memory holds the layout (device memory on
/// the GPU, a host image in the tests). Usage: `auto raw = Codec<Q4_K>::load(tensor.row(n), c);`
struct RowRef {
  const std::uint8_t* q = nullptr;
  const std::uint8_t* h = nullptr;
  const std::uint8_t* m = nullptr;
  float p0 = 0.0f;
  float p1 = 0.0f;
};

/// A decoded chunk of 32 weights: weight e = a[e / 16] · v[e] + b[e / 16] (b is 0 unless the
/// codec has offsets). The kernels fold a and b in per half-chunk, after the dot product.
/// Usage: `ChunkCodes c; Codec<S>::decode(raw, table, c);`
struct ChunkCodes {
  float v[chunk_weights];
  float a[2];
  float b[2];
};

/// The device layout of scheme S. Each specialisation provides:
///  - `q_bytes`, `h_bytes` (per chunk), `m_bytes` (per block), `chunks_per_block`;
///  - `has_offset` (b ≠ 0), `uses_table` (codes index a 16-entry table: `table_value(u)`),
///    `row_params` (p0/p1 used; then `fill_row_params(params, row, p0, p1)`);
///  - `Raw`, `load(RowRef, chunk)` (the loads) and `decode(raw, table, codes)` (register maths);
///  - `pack_block` / `unpack_block` for block schemes (`elementwise` = false), or
///    `elem_bytes` for dense and int8 rows (`elementwise` = true: chunks of 32 elements, the
///    last one padded with zero bytes).
/// The primary template rejects schemes without a layout at compile time.
template <class S>
struct Codec {
  static_assert(sizeof(S) == 0,
                "cuda::Backend has no device layout for this scheme (the activation formats Q8_1 and Q8_K "
                "are not weight schemes): see backends/cuda/codecs/");
};

// ---- decoding helpers shared by the codecs --------------------------------------------------

/// Byte j (0..15) of a 16-byte chunk held in registers.
QLINEAR_HD std::uint32_t chunk_byte(const U32x4& q, int j) { return (q.w[j >> 2] >> (8 * (j & 3))) & 0xFFu; }

/// v[e] = nibble e − bias, nibbles in chunk order (byte j: element j low, element j + 16 high).
QLINEAR_HD void decode_nibbles(const U32x4& q, float bias, float* v) {
  QLINEAR_UNROLL
  for (int j = 0; j < 16; ++j) {
    const std::uint32_t byte = chunk_byte(q, j);
    v[j] = small_uint_to_float(byte & 0xFu, bias);
    v[j + 16] = small_uint_to_float(byte >> 4, bias);
  }
}

/// v[e] = (nibble e | bit e of qh << 4) − bias: the 5-bit formats (Q5_0, Q5_1, Q5_K).
QLINEAR_HD void decode_nibbles_5bit(const U32x4& q, std::uint32_t qh, float bias, float* v) {
  QLINEAR_UNROLL
  for (int j = 0; j < 16; ++j) {
    const std::uint32_t byte = chunk_byte(q, j);
    v[j] = small_uint_to_float((byte & 0xFu) | (((qh >> j) & 1u) << 4), bias);
    v[j + 16] = small_uint_to_float((byte >> 4) | (((qh >> (j + 16)) & 1u) << 4), bias);
  }
}

/// v[e] = table[nibble e] (IQ4_NL, IQ4_XS, NF4 codebooks).
QLINEAR_HD void decode_nibbles_table(const U32x4& q, const float* table, float* v) {
  QLINEAR_UNROLL
  for (int j = 0; j < 16; ++j) {
    const std::uint32_t byte = chunk_byte(q, j);
    v[j] = table[byte & 0xFu];
    v[j + 16] = table[byte >> 4];
  }
}

/// The 2-bit field of element e (0..31) in a chunk's two words (word e/16, bits 2·(e%16)).
QLINEAR_HD std::uint32_t crumb(const U32x2& q, int e) { return (q.w[e >> 4] >> (2 * (e & 15))) & 3u; }

// ---- packing helpers (host only) -------------------------------------------------------------

/// Nibble of element e (0..31) in chunk order.
constexpr std::uint32_t chunk_nibble(const std::uint8_t* q, int e) {
  return e < 16 ? (q[e] & 0xFu) : (q[e - 16] >> 4);
}
/// Sets the nibble of element e in chunk order (q must start zeroed or hold the other nibble).
constexpr void set_chunk_nibble(std::uint8_t* q, int e, std::uint32_t u) {
  if (e < 16)
    q[e] = std::uint8_t((q[e] & 0xF0u) | (u & 0xFu));
  else
    q[e - 16] = std::uint8_t((q[e - 16] & 0x0Fu) | ((u & 0xFu) << 4));
}
/// Sets the 2-bit field of element e in 8 bytes holding two little-endian words.
constexpr void set_crumb(std::uint8_t* q, int e, std::uint32_t u) {
  const int bit = 32 * (e >> 4) + 2 * (e & 15);
  q[bit >> 3] = std::uint8_t((q[bit >> 3] & ~(3u << (bit & 7))) | ((u & 3u) << (bit & 7)));
}
constexpr std::uint32_t get_crumb(const std::uint8_t* q, int e) {
  const int bit = 32 * (e >> 4) + 2 * (e & 15);
  return (q[bit >> 3] >> (bit & 7)) & 3u;
}
/// Bit e of little-endian bytes.
constexpr std::uint32_t get_bit(const std::uint8_t* p, int e) { return (p[e >> 3] >> (e & 7)) & 1u; }
constexpr void set_bit(std::uint8_t* p, int e, std::uint32_t b) {
  p[e >> 3] = std::uint8_t((p[e >> 3] & ~(1u << (e & 7))) | ((b & 1u) << (e & 7)));
}

}  // namespace qlinear::cuda
