#pragma once
// Device layouts of the 32-weight GGUF blocks: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL. Their
// quants are already in chunk order (byte j: element j low, j + 16 high; Q5's qh bit e is
// element e), so the q and h planes hold them verbatim and the m plane holds d (and m).

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cuda/codec.hpp"
#include "qlinear/schemes/gguf/iq4_nl.hpp"
#include "qlinear/schemes/gguf/q4_0.hpp"
#include "qlinear/schemes/gguf/q4_1.hpp"
#include "qlinear/schemes/gguf/q5_0.hpp"
#include "qlinear/schemes/gguf/q5_1.hpp"
#include "qlinear/schemes/gguf/q8_0.hpp"

namespace qlinear::cuda {

/// The IQ4_NL / IQ4_XS codebook as floats (gguf::kvalues_iq4nl), usable in device code.
QLINEAR_HD constexpr float iq4nl_value(int u) {
  constexpr float values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
  return values[u & 15];
}

namespace detail {
/// A 32-weight GGUF block [meta (Meta bytes) | qh (High bytes) | 16 quant bytes] split into planes.
template <int Meta, int High, int Quant = 16>
struct SplitBlock {
  static void pack(const std::uint8_t* src, std::uint8_t* q, std::uint8_t* h, std::uint8_t* m) {
    std::memcpy(m, src, Meta);
    if constexpr (High > 0) std::memcpy(h, src + Meta, High);
    std::memcpy(q, src + Meta + High, Quant);
  }
  static void unpack(const std::uint8_t* q, const std::uint8_t* h, const std::uint8_t* m, std::uint8_t* dst) {
    std::memcpy(dst, m, Meta);
    if constexpr (High > 0) std::memcpy(dst + Meta, h, High);
    std::memcpy(dst + Meta + High, q, Quant);
  }
};
}  // namespace detail

/// Q4_0 {d, qs[16]}: v = u − 8, a = d.
template <>
struct Codec<Q4_0> : detail::SplitBlock<2, 0> {
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 16, h_bytes = 0, m_bytes = 2, chunks_per_block = 1;
  static constexpr bool has_offset = false, uses_table = false, row_params = false;
  static void pack_block(const std::uint8_t* s, std::uint8_t* q, std::uint8_t* h, std::uint8_t* m) { pack(s, q, h, m); }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t* h, const std::uint8_t* m, std::uint8_t* d) {
    unpack(q, h, m, d);
  }
  struct Raw {
    U32x4 q;
    std::uint32_t d;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    return Raw{load_u32x4(r.q + std::size_t(c) * 16), load_u16(r.m + std::size_t(c) * 2)};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float*, ChunkCodes& out) {
    decode_nibbles(raw.q, 8.0f, out.v);
    out.a[0] = out.a[1] = half_bits_to_float(raw.d);
    out.b[0] = out.b[1] = 0.0f;
  }
};

/// IQ4_NL {d, qs[16]}: v = kvalues_iq4nl[u], a = d.
template <>
struct Codec<IQ4_NL> : detail::SplitBlock<2, 0> {
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 16, h_bytes = 0, m_bytes = 2, chunks_per_block = 1;
  static constexpr bool has_offset = false, uses_table = true, row_params = false;
  QLINEAR_HD static float table_value(int u) { return iq4nl_value(u); }
  static void pack_block(const std::uint8_t* s, std::uint8_t* q, std::uint8_t* h, std::uint8_t* m) { pack(s, q, h, m); }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t* h, const std::uint8_t* m, std::uint8_t* d) {
    unpack(q, h, m, d);
  }
  struct Raw {
    U32x4 q;
    std::uint32_t d;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    return Raw{load_u32x4(r.q + std::size_t(c) * 16), load_u16(r.m + std::size_t(c) * 2)};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float* table, ChunkCodes& out) {
    decode_nibbles_table(raw.q, table, out.v);
    out.a[0] = out.a[1] = half_bits_to_float(raw.d);
    out.b[0] = out.b[1] = 0.0f;
  }
};

/// Q4_1 {d, m, qs[16]}: v = u, a = d, b = m.
template <>
struct Codec<Q4_1> : detail::SplitBlock<4, 0> {
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 16, h_bytes = 0, m_bytes = 4, chunks_per_block = 1;
  static constexpr bool has_offset = true, uses_table = false, row_params = false;
  static void pack_block(const std::uint8_t* s, std::uint8_t* q, std::uint8_t* h, std::uint8_t* m) { pack(s, q, h, m); }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t* h, const std::uint8_t* m, std::uint8_t* d) {
    unpack(q, h, m, d);
  }
  struct Raw {
    U32x4 q;
    std::uint32_t dm;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    return Raw{load_u32x4(r.q + std::size_t(c) * 16), load_u32(r.m + std::size_t(c) * 4)};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float*, ChunkCodes& out) {
    decode_nibbles(raw.q, 0.0f, out.v);
    out.a[0] = out.a[1] = half_bits_to_float(raw.dm & 0xFFFFu);
    out.b[0] = out.b[1] = half_bits_to_float(raw.dm >> 16);
  }
};

/// Q5_0 {d, qh[4], qs[16]}: v = (u | high bit << 4) − 16, a = d.
template <>
struct Codec<Q5_0> : detail::SplitBlock<2, 4> {
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 16, h_bytes = 4, m_bytes = 2, chunks_per_block = 1;
  static constexpr bool has_offset = false, uses_table = false, row_params = false;
  static void pack_block(const std::uint8_t* s, std::uint8_t* q, std::uint8_t* h, std::uint8_t* m) { pack(s, q, h, m); }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t* h, const std::uint8_t* m, std::uint8_t* d) {
    unpack(q, h, m, d);
  }
  struct Raw {
    U32x4 q;
    std::uint32_t qh, d;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    return Raw{load_u32x4(r.q + std::size_t(c) * 16), load_u32(r.h + std::size_t(c) * 4),
               load_u16(r.m + std::size_t(c) * 2)};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float*, ChunkCodes& out) {
    decode_nibbles_5bit(raw.q, raw.qh, 16.0f, out.v);
    out.a[0] = out.a[1] = half_bits_to_float(raw.d);
    out.b[0] = out.b[1] = 0.0f;
  }
};

/// Q5_1 {d, m, qh[4], qs[16]}: v = u | high bit << 4, a = d, b = m.
template <>
struct Codec<Q5_1> : detail::SplitBlock<4, 4> {
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 16, h_bytes = 4, m_bytes = 4, chunks_per_block = 1;
  static constexpr bool has_offset = true, uses_table = false, row_params = false;
  static void pack_block(const std::uint8_t* s, std::uint8_t* q, std::uint8_t* h, std::uint8_t* m) { pack(s, q, h, m); }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t* h, const std::uint8_t* m, std::uint8_t* d) {
    unpack(q, h, m, d);
  }
  struct Raw {
    U32x4 q;
    std::uint32_t qh, dm;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    return Raw{load_u32x4(r.q + std::size_t(c) * 16), load_u32(r.h + std::size_t(c) * 4),
               load_u32(r.m + std::size_t(c) * 4)};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float*, ChunkCodes& out) {
    decode_nibbles_5bit(raw.q, raw.qh, 0.0f, out.v);
    out.a[0] = out.a[1] = half_bits_to_float(raw.dm & 0xFFFFu);
    out.b[0] = out.b[1] = half_bits_to_float(raw.dm >> 16);
  }
};

/// Q8_0 {d, qs[32]}: v = q (int8), a = d.
template <>
struct Codec<Q8_0> : detail::SplitBlock<2, 0, 32> {
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 32, h_bytes = 0, m_bytes = 2, chunks_per_block = 1;
  static constexpr bool has_offset = false, uses_table = false, row_params = false;
  static void pack_block(const std::uint8_t* s, std::uint8_t* q, std::uint8_t* h, std::uint8_t* m) { pack(s, q, h, m); }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t* h, const std::uint8_t* m, std::uint8_t* d) {
    unpack(q, h, m, d);
  }
  struct Raw {
    U32x4 q[2];
    std::uint32_t d;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    const std::uint8_t* p = r.q + std::size_t(c) * 32;
    return Raw{{load_u32x4(p), load_u32x4(p + 16)}, load_u16(r.m + std::size_t(c) * 2)};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float*, ChunkCodes& out) {
    QLINEAR_UNROLL
    for (int e = 0; e < chunk_weights; ++e) {
      const std::uint32_t byte = (raw.q[e >> 4].w[(e >> 2) & 3] >> (8 * (e & 3))) & 0xFFu;
      out.v[e] = small_uint_to_float(byte ^ 0x80u, 128.0f);
    }
    out.a[0] = out.a[1] = half_bits_to_float(raw.d);
    out.b[0] = out.b[1] = 0.0f;
  }
};

}  // namespace qlinear::cuda
