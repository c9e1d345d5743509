#pragma once
// The device image of a QuantizedTensor: where each plane lies in one allocation, how rows are
// repacked into it on upload and back into GGUF-layout bytes on download (host-compilable, so
// the CPU tests check the round trip and the kernels' view of it).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "qlinear/backends/cuda/codec.hpp"
#include "qlinear/backends/cuda/codecs/dense_int8.hpp"
#include "qlinear/backends/cuda/codecs/gguf_k.hpp"
#include "qlinear/backends/cuda/codecs/gguf_legacy.hpp"
#include "qlinear/backends/cuda/codecs/int4_nf4.hpp"
#include "qlinear/core/error.hpp"
#include "qlinear/schemes/quantized_tensor.hpp"

namespace qlinear::cuda {

/// A tensor in the device layout as the kernels see it: plane pointers, pitches, shape and the
/// per-row arrays. Trivially copyable: it is passed to kernels by value.
/// Usage: `TensorRef t = Geometry::of<Q4_K>(n, k).ref(device_base);  RowRef r = t.row(j);`
struct TensorRef {
  const std::uint8_t* q = nullptr;
  const std::uint8_t* h = nullptr;
  const std::uint8_t* m = nullptr;
  const float* p0 = nullptr;     ///< per-row parameter 0 (null when the scheme has none)
  const float* p1 = nullptr;     ///< per-row parameter 1
  const int* f16_exp = nullptr;  ///< per-row exponent of the f16 tiles of the tensor-core path
  std::size_t q_pitch = 0, h_pitch = 0, m_pitch = 0;
  std::size_t rows = 0, cols = 0;
  int chunks = 0;  ///< 32-weight chunks per row: ceil(cols / 32)

  QLINEAR_HD RowRef row(std::size_t r) const {
    RowRef ref;
    ref.q = q + r * q_pitch;
    ref.h = h ? h + r * h_pitch : nullptr;
    ref.m = m ? m + r * m_pitch : nullptr;
    ref.p0 = p0 ? p0[r] : 0.0f;
    ref.p1 = p1 ? p1[r] : 0.0f;
    return ref;
  }
};

/// Byte offsets of the planes and per-row arrays of a rows × cols tensor of scheme S in one
/// allocation (each part 256-byte aligned). Usage: `auto g = Geometry::of<Q4_K>(n, k);`
struct Geometry {
  std::size_t rows = 0, cols = 0;
  int chunks = 0;
  std::size_t q_pitch = 0, h_pitch = 0, m_pitch = 0;
  std::size_t q_offset = 0, h_offset = 0, m_offset = 0, p0_offset = 0, p1_offset = 0, exp_offset = 0;
  std::size_t total_bytes = 0;
  bool has_h = false, has_m = false, has_params = false;

  template <Scheme S>
  static Geometry of(std::size_t rows, std::size_t cols) {
    using C = Codec<S>;
    (void)row_bytes<S>(cols);  // throws unless cols is a whole number of blocks
    check(rows > 0, S::name, ": a device tensor needs at least one row");
    const std::size_t chunks = (cols + chunk_weights - 1) / chunk_weights;
    check(chunks <= std::size_t(1) << 30, S::name, ": rows of ", cols, " weights are too long for the CUDA kernels");
    Geometry g;
    g.rows = rows;
    g.cols = cols;
    g.chunks = int(chunks);
    g.q_pitch = chunks * C::q_bytes;
    g.h_pitch = chunks * C::h_bytes;
    g.m_pitch = chunks / C::chunks_per_block * C::m_bytes;
    g.has_h = C::h_bytes > 0;
    g.has_m = C::m_bytes > 0;
    g.has_params = C::row_params;
    std::size_t at = 0;
    const auto part = [&](std::size_t pitch, std::size_t count) {
      const std::size_t offset = at;
      check(count == 0 || pitch <= (SIZE_MAX - 256 - at) / count, S::name, ": ", rows, " x ", cols,
            " weights overflow the address space");
      at = (at + pitch * count + 255) / 256 * 256;
      return offset;
    };
    g.q_offset = part(g.q_pitch, rows);
    g.h_offset = part(g.h_pitch, g.has_h ? rows : 0);
    g.m_offset = part(g.m_pitch, g.has_m ? rows : 0);
    g.p0_offset = part(sizeof(float), g.has_params ? rows : 0);
    g.p1_offset = part(sizeof(float), g.has_params ? rows : 0);
    g.exp_offset = part(sizeof(int), rows);
    g.total_bytes = at;
    return g;
  }

  /// The kernels' view of an image of this geometry starting at `base`.
  TensorRef ref(const std::uint8_t* base) const {
    TensorRef t;
    t.q = base + q_offset;
    t.h = has_h ? base + h_offset : nullptr;
    t.m = has_m ? base + m_offset : nullptr;
    t.p0 = has_params ? reinterpret_cast<const float*>(base + p0_offset) : nullptr;
    t.p1 = has_params ? reinterpret_cast<const float*>(base + p1_offset) : nullptr;
    t.f16_exp = reinterpret_cast<const int*>(base + exp_offset);
    t.q_pitch = q_pitch;
    t.h_pitch = h_pitch;
    t.m_pitch = m_pitch;
    t.rows = rows;
    t.cols = cols;
    t.chunks = chunks;
    return t;
  }
};

/// Repacks row `r` of GGUF-layout bytes into the planes of an image of geometry g.
template <Scheme S>
void pack_row(const Geometry& g, const std::uint8_t* src, std::size_t r, std::uint8_t* image) {
  using C = Codec<S>;
  std::uint8_t* q = image + g.q_offset + r * g.q_pitch;
  std::uint8_t* h = g.has_h ? image + g.h_offset + r * g.h_pitch : nullptr;
  std::uint8_t* m = g.has_m ? image + g.m_offset + r * g.m_pitch : nullptr;
  if constexpr (C::elementwise) {
    const std::size_t bytes = g.cols * std::size_t(C::elem_bytes);
    std::memcpy(q, src, bytes);
    std::memset(q + bytes, 0, g.q_pitch - bytes);  // the padded tail of the last chunk
  } else {
    const std::size_t blocks = std::size_t(g.chunks) / C::chunks_per_block;
    for (std::size_t b = 0; b < blocks; ++b)
      C::pack_block(src + b * S::block_bytes, q + b * C::chunks_per_block * C::q_bytes,
                    h ? h + b * C::chunks_per_block * C::h_bytes : nullptr, m ? m + b * C::m_bytes : nullptr);
  }
}

/// Rebuilds row `r` of GGUF-layout bytes from an image of geometry g.
template <Scheme S>
void unpack_row(const Geometry& g, const std::uint8_t* image, std::size_t r, std::uint8_t* dst) {
  using C = Codec<S>;
  const std::uint8_t* q = image + g.q_offset + r * g.q_pitch;
  const std::uint8_t* h = g.has_h ? image + g.h_offset + r * g.h_pitch : nullptr;
  const std::uint8_t* m = g.has_m ? image + g.m_offset + r * g.m_pitch : nullptr;
  if constexpr (C::elementwise) {
    std::memcpy(dst, q, g.cols * std::size_t(C::elem_bytes));
  } else {
    const std::size_t blocks = std::size_t(g.chunks) / C::chunks_per_block;
    for (std::size_t b = 0; b < blocks; ++b)
      C::unpack_block(q + b * C::chunks_per_block * C::q_bytes, h ? h + b * C::chunks_per_block * C::h_bytes : nullptr,
                      m ? m + b * C::m_bytes : nullptr, dst + b * S::block_bytes);
  }
}

/// The whole device image of a tensor (planes and per-row parameters; the f16 exponents are
/// computed on the device and left zero here). Usage: `auto img = pack_image(g, tensor);`
template <Scheme S>
std::vector<std::uint8_t> pack_image(const Geometry& g, const QuantizedTensor<S>& t) {
  check(t.rows() == g.rows && t.cols() == g.cols, S::name, ": tensor of ", t.rows(), " x ", t.cols(),
        " does not match the layout's ", g.rows, " x ", g.cols);
  std::vector<std::uint8_t> image(g.total_bytes, 0);
  for (std::size_t r = 0; r < g.rows; ++r) pack_row<S>(g, t.row(r), r, image.data());
  if constexpr (Codec<S>::row_params) {
    float* p0 = reinterpret_cast<float*>(image.data() + g.p0_offset);
    float* p1 = reinterpret_cast<float*>(image.data() + g.p1_offset);
    for (std::size_t r = 0; r < g.rows; ++r) Codec<S>::fill_row_params(t.params(), r, p0[r], p1[r]);
  }
  return image;
}

/// GGUF-layout bytes (rows × row_bytes) rebuilt from a device image.
template <Scheme S>
std::vector<std::uint8_t> unpack_image(const Geometry& g, const std::uint8_t* image) {
  const std::size_t rb = row_bytes<S>(g.cols);
  std::vector<std::uint8_t> bytes(g.rows * rb);
  for (std::size_t r = 0; r < g.rows; ++r) unpack_row<S>(g, image, r, bytes.data() + r * rb);
  return bytes;
}

/// The codebook a scheme's codes index (zeros for schemes without one), for kernels to stage in
/// shared memory and for CPU emulation. Usage: `const CodeTable<NF4> t; Codec<NF4>::decode(raw, t.value, c);`
template <Scheme S>
struct CodeTable {
  float value[16] = {};
  CodeTable() {
    if constexpr (Codec<S>::uses_table)
      for (int u = 0; u < 16; ++u) value[u] = Codec<S>::table_value(u);
  }
};

}  // namespace qlinear::cuda
