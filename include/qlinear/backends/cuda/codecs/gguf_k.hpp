#pragma once
// Device layouts of the 256-weight GGUF super-blocks: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS.
// Their quants interleave sub-blocks (Q4_K's 32-byte groups hold two sub-blocks in the low and
// high nibbles; Q2_K/Q3_K pack four sub-blocks per byte; Q6_K splits each weight over ql and
// qh), so the q and h planes regroup them per 32-weight chunk c (chunk c = weights
// [32c, 32c + 32) of the super-block). The m plane keeps the scale fields verbatim:
//   Q2_K  scales[16] d dmin        20 bytes   chunk c uses scales[2c], scales[2c+1]
//   Q3_K  scales[12] d             14 bytes   6-bit scales 2c, 2c+1
//   Q4_K  d dmin scales[12]        16 bytes   6-bit scale/min of sub-block c
//   Q5_K  d dmin scales[12]        16 bytes   (and its qh bits in the h plane)
//   Q6_K  scales[16] d             18 bytes   int8 scales 2c, 2c+1 (one per 16 weights)
//   IQ4_XS d scales_h scales_l[4]   8 bytes   6-bit scale of sub-block c

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cuda/codec.hpp"
#include "qlinear/backends/cuda/codecs/gguf_legacy.hpp"
#include "qlinear/schemes/gguf/iq4_xs.hpp"
#include "qlinear/schemes/gguf/q2_k.hpp"
#include "qlinear/schemes/gguf/q3_k.hpp"
#include "qlinear/schemes/gguf/q4_k.hpp"
#include "qlinear/schemes/gguf/q5_k.hpp"
#include "qlinear/schemes/gguf/q6_k.hpp"

namespace qlinear::cuda {

namespace detail {
// Offsets of the fields in the GGUF super-block structs (static_asserts below keep them honest).
inline constexpr int q2k_scales = 0, q2k_qs = 16, q2k_d = 80;
inline constexpr int q3k_hmask = 0, q3k_qs = 32, q3k_scales = 96, q3k_d = 108;
inline constexpr int q4k_meta = 0, q4k_qs = 16;
inline constexpr int q5k_meta = 0, q5k_qh = 16, q5k_qs = 48;
inline constexpr int q6k_ql = 0, q6k_qh = 128, q6k_scales = 192, q6k_d = 208;
inline constexpr int iq4xs_meta = 0, iq4xs_qs = 8;
static_assert(offsetof(gguf::BlockQ2_K, qs) == q2k_qs && offsetof(gguf::BlockQ2_K, d) == q2k_d);
static_assert(offsetof(gguf::BlockQ3_K, qs) == q3k_qs && offsetof(gguf::BlockQ3_K, scales) == q3k_scales &&
              offsetof(gguf::BlockQ3_K, d) == q3k_d);
static_assert(offsetof(gguf::BlockQ4_K, qs) == q4k_qs);
static_assert(offsetof(gguf::BlockQ5_K, qh) == q5k_qh && offsetof(gguf::BlockQ5_K, qs) == q5k_qs);
static_assert(offsetof(gguf::BlockQ6_K, qh) == q6k_qh && offsetof(gguf::BlockQ6_K, scales) == q6k_scales &&
              offsetof(gguf::BlockQ6_K, d) == q6k_d);
static_assert(offsetof(gguf::BlockIQ4_XS, qs) == iq4xs_qs);

// Q4_K / Q5_K qs: 32-byte group g holds sub-block 2g (low nibbles) and 2g + 1 (high nibbles),
// element l of each in byte l. Chunk c gets sub-block c in chunk order.
inline void pack_k4_nibbles(const std::uint8_t* qs, std::uint8_t* q) {
  std::memset(q, 0, 128);
  for (int c = 0; c < 8; ++c)
    for (int l = 0; l < 32; ++l) {
      const std::uint8_t byte = qs[32 * (c / 2) + l];
      set_chunk_nibble(q + 16 * c, l, c % 2 ? byte >> 4 : byte & 0xFu);
    }
}
inline void unpack_k4_nibbles(const std::uint8_t* q, std::uint8_t* qs) {
  std::memset(qs, 0, 128);
  for (int c = 0; c < 8; ++c)
    for (int l = 0; l < 32; ++l)
      qs[32 * (c / 2) + l] = std::uint8_t(qs[32 * (c / 2) + l] | (chunk_nibble(q + 16 * c, l) << (4 * (c % 2))));
}
// Q2_K / Q3_K qs: element 32j + i of 128-weight half n is bits 2j of qs[32n + i]; chunk
// c = 4n + j gets its 32 crumbs as two words (elements 0..15, 16..31).
inline void pack_k2_crumbs(const std::uint8_t* qs, std::uint8_t* q) {
  std::memset(q, 0, 64);
  for (int c = 0; c < 8; ++c)
    for (int i = 0; i < 32; ++i) set_crumb(q + 8 * c, i, qs[32 * (c / 4) + i] >> (2 * (c % 4)));
}
inline void unpack_k2_crumbs(const std::uint8_t* q, std::uint8_t* qs) {
  std::memset(qs, 0, 64);
  for (int c = 0; c < 8; ++c)
    for (int i = 0; i < 32; ++i)
      qs[32 * (c / 4) + i] = std::uint8_t(qs[32 * (c / 4) + i] | (get_crumb(q + 8 * c, i) << (2 * (c % 4))));
}
// Q3_K hmask / Q5_K qh: bit c of byte i is the high bit of element i of chunk c; the h plane
// keeps chunk c's 32 bits as one word.
inline void pack_bit_columns(const std::uint8_t* bytes, std::uint8_t* h) {
  std::memset(h, 0, 32);
  for (int c = 0; c < 8; ++c)
    for (int i = 0; i < 32; ++i) set_bit(h + 4 * c, i, bytes[i] >> c);
}
inline void unpack_bit_columns(const std::uint8_t* h, std::uint8_t* bytes) {
  std::memset(bytes, 0, 32);
  for (int c = 0; c < 8; ++c)
    for (int i = 0; i < 32; ++i) bytes[i] = std::uint8_t(bytes[i] | (get_bit(h + 4 * c, i) << c));
}
}  // namespace detail

/// Q2_K: v = 2-bit q, a = d · (scale & 15), b = −dmin · (scale >> 4), per 16 weights.
template <>
struct Codec<Q2_K> {
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 8, h_bytes = 0, m_bytes = 20, chunks_per_block = 8;
  static constexpr bool has_offset = true, uses_table = false, row_params = false;

  static void pack_block(const std::uint8_t* src, std::uint8_t* q, std::uint8_t*, std::uint8_t* m) {
    std::memcpy(m, src + detail::q2k_scales, 16);
    std::memcpy(m + 16, src + detail::q2k_d, 4);
    detail::pack_k2_crumbs(src + detail::q2k_qs, q);
  }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t*, const std::uint8_t* m, std::uint8_t* dst) {
    std::memcpy(dst + detail::q2k_scales, m, 16);
    std::memcpy(dst + detail::q2k_d, m + 16, 4);
    detail::unpack_k2_crumbs(q, dst + detail::q2k_qs);
  }

  struct Raw {
    U32x2 q;
    std::uint32_t scales, d_dmin;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    const std::uint8_t* m = r.m + std::size_t(c / 8) * 20;
    return Raw{load_u32x2(r.q + std::size_t(c) * 8), load_u16(m + 2 * (c % 8)), load_u32(m + 16)};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float*, ChunkCodes& out) {
    const float d = half_bits_to_float(raw.d_dmin & 0xFFFFu), dmin = half_bits_to_float(raw.d_dmin >> 16);
    QLINEAR_UNROLL
    for (int h = 0; h < 2; ++h) {
      const std::uint32_t sc = (raw.scales >> (8 * h)) & 0xFFu;
      out.a[h] = d * small_uint_to_float(sc & 0xFu);
      out.b[h] = -(dmin * small_uint_to_float(sc >> 4));
    }
    QLINEAR_UNROLL
    for (int e = 0; e < chunk_weights; ++e) out.v[e] = small_uint_to_float(crumb(raw.q, e));
  }
};

/// Q3_K: v = 2-bit q + 4 · hmask bit − 4, a = d · (6-bit scale − 32), per 16 weights.
template <>
struct Codec<Q3_K> {
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 8, h_bytes = 4, m_bytes = 14, chunks_per_block = 8;
  static constexpr bool has_offset = false, uses_table = false, row_params = false;

  static void pack_block(const std::uint8_t* src, std::uint8_t* q, std::uint8_t* h, std::uint8_t* m) {
    std::memcpy(m, src + detail::q3k_scales, 12);
    std::memcpy(m + 12, src + detail::q3k_d, 2);
    detail::pack_k2_crumbs(src + detail::q3k_qs, q);
    detail::pack_bit_columns(src + detail::q3k_hmask, h);
  }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t* h, const std::uint8_t* m, std::uint8_t* dst) {
    std::memcpy(dst + detail::q3k_scales, m, 12);
    std::memcpy(dst + detail::q3k_d, m + 12, 2);
    detail::unpack_k2_crumbs(q, dst + detail::q3k_qs);
    detail::unpack_bit_columns(h, dst + detail::q3k_hmask);
  }

  // Scales 2c and 2c+1 take their low nibbles from bytes (2c) % 8 and +1 (the high nibbles
  // when 2c >= 8) and their top two bits from bytes 8 + (2c) % 4 and +1, shifted by 2 · (c / 2).
  struct Raw {
    U32x2 q;
    std::uint32_t hbits, low, high, d;
    int c;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    const int sub = c % 8;
    const std::uint8_t* m = r.m + std::size_t(c / 8) * 14;
    return Raw{load_u32x2(r.q + std::size_t(c) * 8), load_u32(r.h + std::size_t(c) * 4),
               load_u16(m + (2 * sub) % 8), load_u16(m + 8 + (2 * sub) % 4), load_u16(m + 12), sub};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float*, ChunkCodes& out) {
    const float d = half_bits_to_float(raw.d);
    const int nibble_shift = raw.c < 4 ? 0 : 4, high_shift = 2 * (raw.c / 2);
    QLINEAR_UNROLL
    for (int h = 0; h < 2; ++h) {
      const std::uint32_t low = ((raw.low >> (8 * h)) >> nibble_shift) & 0xFu;
      const std::uint32_t high = ((raw.high >> (8 * h)) >> high_shift) & 3u;
      out.a[h] = d * small_uint_to_float(low | (high << 4), 32.0f);
      out.b[h] = 0.0f;
    }
    QLINEAR_UNROLL
    for (int e = 0; e < chunk_weights; ++e)
      out.v[e] = small_uint_to_float(crumb(raw.q, e) | (((raw.hbits >> e) & 1u) << 2), 4.0f);
  }
};

namespace detail {
// Q4_K / Q5_K: the 6-bit scale and min of sub-block j from the 12 packed bytes in w[0..2]
// (get_scale_min_k4 with register-held bytes).
QLINEAR_HD void k4_scale_min(const std::uint32_t (&w)[3], int j, std::uint32_t& sc, std::uint32_t& mn) {
  if (j < 4) {
    sc = byte_of(w, j) & 63u;
    mn = byte_of(w, j + 4) & 63u;
  } else {
    sc = (byte_of(w, j + 4) & 0xFu) | ((byte_of(w, j - 4) >> 6) << 4);
    mn = (byte_of(w, j + 4) >> 4) | ((byte_of(w, j) >> 6) << 4);
  }
}
}  // namespace detail

/// Q4_K: v = u, a = d · sc, b = −dmin · m for sub-block c.
template <>
struct Codec<Q4_K> {
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 16, h_bytes = 0, m_bytes = 16, chunks_per_block = 8;
  static constexpr bool has_offset = true, uses_table = false, row_params = false;

  static void pack_block(const std::uint8_t* src, std::uint8_t* q, std::uint8_t*, std::uint8_t* m) {
    std::memcpy(m, src + detail::q4k_meta, 16);
    detail::pack_k4_nibbles(src + detail::q4k_qs, q);
  }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t*, const std::uint8_t* m, std::uint8_t* dst) {
    std::memcpy(dst + detail::q4k_meta, m, 16);
    detail::unpack_k4_nibbles(q, dst + detail::q4k_qs);
  }

  struct Raw {
    U32x4 q, meta;
    int c;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    return Raw{load_u32x4(r.q + std::size_t(c) * 16), load_u32x4(r.m + std::size_t(c / 8) * 16), c % 8};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float*, ChunkCodes& out) {
    const std::uint32_t scales[3] = {raw.meta.w[1], raw.meta.w[2], raw.meta.w[3]};
    std::uint32_t sc = 0, mn = 0;
    detail::k4_scale_min(scales, raw.c, sc, mn);
    const float d = half_bits_to_float(raw.meta.w[0] & 0xFFFFu), dmin = half_bits_to_float(raw.meta.w[0] >> 16);
    out.a[0] = out.a[1] = d * small_uint_to_float(sc);
    out.b[0] = out.b[1] = -(dmin * small_uint_to_float(mn));
    decode_nibbles(raw.q, 0.0f, out.v);
  }
};

/// Q5_K: as Q4_K with a fifth bit per weight from the h plane.
template <>
struct Codec<Q5_K> {
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 16, h_bytes = 4, m_bytes = 16, chunks_per_block = 8;
  static constexpr bool has_offset = true, uses_table = false, row_params = false;

  static void pack_block(const std::uint8_t* src, std::uint8_t* q, std::uint8_t* h, std::uint8_t* m) {
    std::memcpy(m, src + detail::q5k_meta, 16);
    detail::pack_k4_nibbles(src + detail::q5k_qs, q);
    detail::pack_bit_columns(src + detail::q5k_qh, h);
  }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t* h, const std::uint8_t* m, std::uint8_t* dst) {
    std::memcpy(dst + detail::q5k_meta, m, 16);
    detail::unpack_k4_nibbles(q, dst + detail::q5k_qs);
    detail::unpack_bit_columns(h, dst + detail::q5k_qh);
  }

  struct Raw {
    U32x4 q, meta;
    std::uint32_t qh;
    int c;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    return Raw{load_u32x4(r.q + std::size_t(c) * 16), load_u32x4(r.m + std::size_t(c / 8) * 16),
               load_u32(r.h + std::size_t(c) * 4), c % 8};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float*, ChunkCodes& out) {
    const std::uint32_t scales[3] = {raw.meta.w[1], raw.meta.w[2], raw.meta.w[3]};
    std::uint32_t sc = 0, mn = 0;
    detail::k4_scale_min(scales, raw.c, sc, mn);
    const float d = half_bits_to_float(raw.meta.w[0] & 0xFFFFu), dmin = half_bits_to_float(raw.meta.w[0] >> 16);
    out.a[0] = out.a[1] = d * small_uint_to_float(sc);
    out.b[0] = out.b[1] = -(dmin * small_uint_to_float(mn));
    decode_nibbles_5bit(raw.q, raw.qh, 0.0f, out.v);
  }
};

/// Q6_K: v = (low 4 bits | top 2 bits << 4) − 32, a = d · scale (int8 per 16 weights).
/// Element i of chunk c = 4n + t: low bits from ql[64n + 32·(t % 2) + i] (high nibble when
/// t >= 2), top bits from qh[32n + i] >> 2t.
template <>
struct Codec<Q6_K> {
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 16, h_bytes = 8, m_bytes = 18, chunks_per_block = 8;
  static constexpr bool has_offset = false, uses_table = false, row_params = false;

  static void pack_block(const std::uint8_t* src, std::uint8_t* q, std::uint8_t* h, std::uint8_t* m) {
    std::memcpy(m, src + detail::q6k_scales, 16);
    std::memcpy(m + 16, src + detail::q6k_d, 2);
    std::memset(q, 0, 128);
    std::memset(h, 0, 64);
    const std::uint8_t* ql = src + detail::q6k_ql;
    const std::uint8_t* qh = src + detail::q6k_qh;
    for (int c = 0; c < 8; ++c) {
      const int n = c / 4, t = c % 4;
      for (int i = 0; i < 32; ++i) {
        const std::uint8_t l = ql[64 * n + 32 * (t % 2) + i];
        set_chunk_nibble(q + 16 * c, i, t >= 2 ? l >> 4 : l & 0xFu);
        set_crumb(h + 8 * c, i, qh[32 * n + i] >> (2 * t));
      }
    }
  }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t* h, const std::uint8_t* m, std::uint8_t* dst) {
    std::memcpy(dst + detail::q6k_scales, m, 16);
    std::memcpy(dst + detail::q6k_d, m + 16, 2);
    std::uint8_t* ql = dst + detail::q6k_ql;
    std::uint8_t* qh = dst + detail::q6k_qh;
    std::memset(ql, 0, 128);
    std::memset(qh, 0, 64);
    for (int c = 0; c < 8; ++c) {
      const int n = c / 4, t = c % 4;
      for (int i = 0; i < 32; ++i) {
        std::uint8_t& l = ql[64 * n + 32 * (t % 2) + i];
        l = std::uint8_t(l | (chunk_nibble(q + 16 * c, i) << (t >= 2 ? 4 : 0)));
        qh[32 * n + i] = std::uint8_t(qh[32 * n + i] | (get_crumb(h + 8 * c, i) << (2 * t)));
      }
    }
  }

  struct Raw {
    U32x4 q;
    U32x2 qh;
    std::uint32_t scales, d;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    const std::uint8_t* m = r.m + std::size_t(c / 8) * 18;
    return Raw{load_u32x4(r.q + std::size_t(c) * 16), load_u32x2(r.h + std::size_t(c) * 8),
               load_u16(m + 2 * (c % 8)), load_u16(m + 16)};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float*, ChunkCodes& out) {
    const float d = half_bits_to_float(raw.d);
    QLINEAR_UNROLL
    for (int h = 0; h < 2; ++h) {
      // int8 scale: (byte ^ 0x80) − 128.
      out.a[h] = d * small_uint_to_float(((raw.scales >> (8 * h)) & 0xFFu) ^ 0x80u, 128.0f);
      out.b[h] = 0.0f;
    }
    QLINEAR_UNROLL
    for (int j = 0; j < 16; ++j) {
      const std::uint32_t byte = chunk_byte(raw.q, j);
      out.v[j] = small_uint_to_float((byte & 0xFu) | (crumb(raw.qh, j) << 4), 32.0f);
      out.v[j + 16] = small_uint_to_float((byte >> 4) | (crumb(raw.qh, j + 16) << 4), 32.0f);
    }
  }
};

/// IQ4_XS: v = kvalues_iq4nl[u], a = d · (6-bit scale − 32) for sub-block c.
template <>
struct Codec<IQ4_XS> {
  static constexpr bool elementwise = false;
  static constexpr int q_bytes = 16, h_bytes = 0, m_bytes = 8, chunks_per_block = 8;
  static constexpr bool has_offset = false, uses_table = true, row_params = false;
  QLINEAR_HD static float table_value(int u) { return iq4nl_value(u); }

  static void pack_block(const std::uint8_t* src, std::uint8_t* q, std::uint8_t*, std::uint8_t* m) {
    std::memcpy(m, src + detail::iq4xs_meta, 8);
    std::memcpy(q, src + detail::iq4xs_qs, 128);
  }
  static void unpack_block(const std::uint8_t* q, const std::uint8_t*, const std::uint8_t* m, std::uint8_t* dst) {
    std::memcpy(dst + detail::iq4xs_meta, m, 8);
    std::memcpy(dst + detail::iq4xs_qs, q, 128);
  }

  struct Raw {
    U32x4 q;
    U32x2 meta;
    int c;
  };
  QLINEAR_HD static Raw load(const RowRef& r, int c) {
    return Raw{load_u32x4(r.q + std::size_t(c) * 16), load_u32x2(r.m + std::size_t(c / 8) * 8), c % 8};
  }
  QLINEAR_HD static void decode(const Raw& raw, const float* table, ChunkCodes& out) {
    const float d = half_bits_to_float(raw.meta.w[0] & 0xFFFFu);
    const std::uint32_t scales_h = raw.meta.w[0] >> 16, scales_l = raw.meta.w[1];
    const std::uint32_t ls =
        ((scales_l >> (8 * (raw.c / 2) + 4 * (raw.c % 2))) & 0xFu) | (((scales_h >> (2 * raw.c)) & 3u) << 4);
    out.a[0] = out.a[1] = d * small_uint_to_float(ls, 32.0f);
    out.b[0] = out.b[1] = 0.0f;
    decode_nibbles_table(raw.q, table, out.v);
  }
};

}  // namespace qlinear::cuda
