#pragma once
// Device layouts of the element-wise schemes: dense f32/f16/bf16 and the four int8 schemes.
// A row of K elements is stored as it is, in chunks of 32 elements, the last one padded with
// zero bytes (K need not be a multiple of anything for these schemes).

#include <cstddef>
#include <cstdint>

#include "qlinear/backends/cuda/codec.hpp"
#include "qlinear/schemes/dense.hpp"
#include "qlinear/schemes/int8.hpp"

namespace qlinear::cuda {

/// f32, f16, bf16 rows: v = the stored value, a = 1.
template <class Format>
struct Codec<DenseScheme<Format>> {
  using S = DenseScheme<Format>;
  static constexpr bool elementwise = true;
  static constexpr int elem_bytes = int(sizeof(typename S::Bits));
  static constexpr int q_bytes = chunk_weights * elem_bytes, h_bytes = 0, m_bytes = 0, chunks_per_block = 1;
  static constexpr bool has_offset = false, uses_table = false, row_params = false;

  struct Raw {
    U32x4 q[q_bytes / 16];
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    Raw raw;
    const std::uint8_t* p = r.q + std::size_t(c) * q_bytes;
    QLINEAR_UNROLL
    for (int i = 0; i < q_bytes / 16; ++i) raw.q[i] = load_u32x4(p + 16 * i);
    return raw;
  }
  QLINEAR_HD static void decode(const Raw& raw, const float*, ChunkCodes& out) {
    QLINEAR_UNROLL
    for (int e = 0; e < chunk_weights; ++e) {
      if constexpr (elem_bytes == 4) {
        out.v[e] = bits_to_float(raw.q[e >> 2].w[e & 3]);
      } else {
        const std::uint32_t bits = (raw.q[e >> 3].w[(e >> 1) & 3] >> (16 * (e & 1))) & 0xFFFFu;
        out.v[e] = S::id == SchemeId::bf16 ? bf16_bits_to_float(bits) : half_bits_to_float(bits);
      }
    }
    out.a[0] = out.a[1] = 1.0f;
    out.b[0] = out.b[1] = 0.0f;
  }
};

/// int8 rows with a scale (and zero point) per tensor or per row, held as p0 (scale) and p1
/// (zero point) for every row: v = q − zp, a = scale.
template <bool PerChannel, bool Affine>
struct Codec<Int8Scheme<PerChannel, Affine>> {
  using S = Int8Scheme<PerChannel, Affine>;
  static constexpr bool elementwise = true;
  static constexpr int elem_bytes = 1;
  static constexpr int q_bytes = chunk_weights, h_bytes = 0, m_bytes = 0, chunks_per_block = 1;
  static constexpr bool has_offset = false, uses_table = false, row_params = true;

  static void fill_row_params(const typename S::TensorParams& p, std::size_t row, float& p0, float& p1) {
    p0 = S::scale_of(p, row);
    p1 = float(S::zero_point_of(p, row));
  }

  struct Raw {
    U32x4 q[2];
    float scale, zero_point;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    const std::uint8_t* p = r.q + std::size_t(c) * q_bytes;
    return Raw{{load_u32x4(p), load_u32x4(p + 16)}, r.p0, r.p1};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float*, ChunkCodes& out) {
    // (byte ^ 0x80) is the int8 value + 128, so one subtraction of 128 + zp gives q − zp exactly.
    const float bias = 128.0f + raw.zero_point;
    QLINEAR_UNROLL
    for (int e = 0; e < chunk_weights; ++e) {
      const std::uint32_t byte = (raw.q[e >> 4].w[(e >> 2) & 3] >> (8 * (e & 3))) & 0xFFu;
      out.v[e] = small_uint_to_float(byte ^ 0x80u, bias);
    }
    out.a[0] = out.a[1] = raw.scale;
    out.b[0] = out.b[1] = 0.0f;
  }
};

}  // namespace qlinear::cuda
