#pragma once
// Device layouts of qlinear's own 4-bit schemes: grouped int4 (symmetric and affine) and NF4
// (with and without double quantization). Their groups pair nibbles as (2j, 2j+1); the q plane
// re-pairs them in chunk order (j, j+16) so every 4-bit scheme decodes with the same code.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cuda/codec.hpp"
#include "qlinear/schemes/int4.hpp"
#include "qlinear/schemes/nf4.hpp"

namespace qlinear::cuda {

namespace detail {
// Group nibbles (element 2j low, 2j+1 high) → chunk-order q bytes, 16 per 32 elements.
inline void pack_group_nibbles(const std::uint8_t* qs, int elems, std::uint8_t* q) {
  std::memset(q, 0, std::size_t(elems / 2));
  for (int e = 0; e < elems; ++e) set_chunk_nibble(q + 16 * (e / 32), e % 32, nibble_at(qs, e));
}
inline void unpack_group_nibbles(const std::uint8_t* q, int elems, std::uint8_t* qs) {
  std::memset(qs, 0, std::size_t(elems / 2));
  for (int e = 0; e < elems; ++e) set_nibble(qs, e, chunk_nibble(q + 16 * (e / 32), e % 32));
}
}  // namespace detail

/// Int4<G>: m = the group's f16 scale d; v = u − 8, a = d.
template <int G>
struct Codec<Int4<G>> {
  using S = Int4<G>;
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 16, h_bytes = 0, m_bytes = 2, chunks_per_block = G / chunk_weights;
  static constexpr bool has_offset = false, uses_table = false, row_params = false;

  static void pack_block(const std::uint8_t* src, std::uint8_t* q, std::uint8_t*, std::uint8_t* m) {
    std::memcpy(m, src, 2);
    detail::pack_group_nibbles(src + 2, G, q);
  }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t*, const std::uint8_t* m, std::uint8_t* dst) {
    std::memcpy(dst, m, 2);
    detail::unpack_group_nibbles(q, G, dst + 2);
  }

  struct Raw {
    U32x4 q;
    std::uint32_t d;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    return Raw{load_u32x4(r.q + std::size_t(c) * 16), load_u16(r.m + std::size_t(c / chunks_per_block) * 2)};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float*, ChunkCodes& out) {
    decode_nibbles(raw.q, 8.0f, out.v);
    out.a[0] = out.a[1] = half_bits_to_float(raw.d);
    out.b[0] = out.b[1] = 0.0f;
  }
};

/// Int4Affine<G>: m = d then the minimum; v = u, a = d, b = minimum.
template <int G>
struct Codec<Int4Affine<G>> {
  using S = Int4Affine<G>;
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 16, h_bytes = 0, m_bytes = 4, chunks_per_block = G / chunk_weights;
  static constexpr bool has_offset = true, uses_table = false, row_params = false;

  static void pack_block(const std::uint8_t* src, std::uint8_t* q, std::uint8_t*, std::uint8_t* m) {
    std::memcpy(m, src, 4);
    detail::pack_group_nibbles(src + 4, G, q);
  }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t*, const std::uint8_t* m, std::uint8_t* dst) {
    std::memcpy(dst, m, 4);
    detail::unpack_group_nibbles(q, G, dst + 4);
  }

  struct Raw {
    U32x4 q;
    std::uint32_t dm;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    return Raw{load_u32x4(r.q + std::size_t(c) * 16), load_u32(r.m + std::size_t(c / chunks_per_block) * 4)};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float*, ChunkCodes& out) {
    decode_nibbles(raw.q, 0.0f, out.v);
    out.a[0] = out.a[1] = half_bits_to_float(raw.dm & 0xFFFFu);
    out.b[0] = out.b[1] = half_bits_to_float(raw.dm >> 16);
  }
};

/// NF4: m = the block's f32 absmax; v = the codebook level, a = absmax.
template <>
struct Codec<NF4> {
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 16, h_bytes = 0, m_bytes = 4, chunks_per_block = 2;
  static constexpr bool has_offset = false, uses_table = true, row_params = false;
  QLINEAR_HD static float table_value(int u) { return nf4_level(std::uint32_t(u)); }

  static void pack_block(const std::uint8_t* src, std::uint8_t* q, std::uint8_t*, std::uint8_t* m) {
    std::memcpy(m, src, 4);
    detail::pack_group_nibbles(src + 4, 64, q);
  }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t*, const std::uint8_t* m, std::uint8_t* dst) {
    std::memcpy(dst, m, 4);
    detail::unpack_group_nibbles(q, 64, dst + 4);
  }

  struct Raw {
    U32x4 q;
    std::uint32_t absmax;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    return Raw{load_u32x4(r.q + std::size_t(c) * 16), load_u32(r.m + std::size_t(c / 2) * 4)};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float* table, ChunkCodes& out) {
    decode_nibbles_table(raw.q, table, out.v);
    out.a[0] = out.a[1] = bits_to_float(raw.absmax);
    out.b[0] = out.b[1] = 0.0f;
  }
};

/// NF4DoubleQuant: m = the absmax code byte; p0 = the tensor's offset, p1 = the row's scale;
/// a = p0 + p1 · (code − 128) (nf4_absmax_decode), v = the codebook level.
template <>
struct Codec<NF4DoubleQuant> {
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 16, h_bytes = 0, m_bytes = 1, chunks_per_block = 2;
  static constexpr bool has_offset = false, uses_table = true, row_params = true;
  QLINEAR_HD static float table_value(int u) { return nf4_level(std::uint32_t(u)); }

  static void fill_row_params(const NF4DoubleParams& p, std::size_t row, float& p0, float& p1) {
    p0 = p.offset;
    p1 = NF4DoubleQuant::scale_of(p, row);
  }
  static void pack_block(const std::uint8_t* src, std::uint8_t* q, std::uint8_t*, std::uint8_t* m) {
    m[0] = src[0];
    detail::pack_group_nibbles(src + 1, 64, q);
  }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t*, const std::uint8_t* m, std::uint8_t* dst) {
    dst[0] = m[0];
    detail::unpack_group_nibbles(q, 64, dst + 1);
  }

  struct Raw {
    U32x4 q;
    std::uint32_t code;
    float offset, scale;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    return Raw{load_u32x4(r.q + std::size_t(c) * 16), load_u8(r.m + std::size_t(c / 2)), r.p0, r.p1};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float* table, ChunkCodes& out) {
    decode_nibbles_table(raw.q, table, out.v);
    out.a[0] = out.a[1] = raw.offset + raw.scale * small_uint_to_float(raw.code, 128.0f);
    out.b[0] = out.b[1] = 0.0f;
  }
};

}  // namespace qlinear::cuda
