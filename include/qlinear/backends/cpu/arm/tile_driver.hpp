#pragma once
// How the Arm dot tiles walk a DotTileArgs tile: level-independent loops (no intrinsics, so no
// target attribute) around a level's micro-kernels, which each compute whole dot products over
// K and return them through a small float array (pointers and scalars only cross here):
//  - K::rows<C>(w, a, a_stride, k, out): one weight row against C = 1..4 activation rows
//    (out[c] = dot(w, a + c·a_stride)): the small-M path; C = 4 decodes each weight block once
//    for four activation rows;
//  - K::pairs<P>(w, w_stride, a, a_stride, k, out): two weight rows against 2P activation rows
//    (out[r·2P + c]), the SMMLA 2×2 row-pair tiles of the larger-M path (neon_i8mm only).
// Loop order: weight rows outer, activation rows inner, so a weight row (the big operand,
// streamed once from memory) is reused from L1 across the tile's activation rows.

#include <cstddef>
#include <cstdint>

#include "qlinear/backends/cpu/kernel_contract.hpp"

namespace qlinear::cpu::arm {

/// The contract's epilogue for y(i, j): (accumulate ? y : 0) + row_scale[i]·dot + bias[j].
inline void store(const DotTileArgs& t, std::size_t i, std::size_t j, float dot) {
  float v = t.row_scale[i] * dot;
  if (t.bias) v += t.bias[j];
  float* y = t.y + i * t.ldy + j;
  *y = t.accumulate ? *y + v : v;
}

/// Weight row j against activation rows [i0, m1), four at a time.
template <class K>
void row_against(const DotTileArgs& t, std::size_t j, std::size_t i0) {
  const std::uint8_t* w = t.w + j * t.w_stride;
  float out[4];
  std::size_t i = i0;
  for (; i + 4 <= t.m1; i += 4) {
    K::template rows<4>(w, t.a + i * t.a_stride, t.a_stride, t.k, out);
    for (int c = 0; c < 4; ++c) store(t, i + std::size_t(c), j, out[c]);
  }
  const std::uint8_t* a = t.a + i * t.a_stride;
  switch (t.m1 - i) {
    case 3: K::template rows<3>(w, a, t.a_stride, t.k, out); break;
    case 2: K::template rows<2>(w, a, t.a_stride, t.k, out); break;
    case 1: K::template rows<1>(w, a, t.a_stride, t.k, out); break;
    default: return;
  }
  for (std::size_t c = 0; c < t.m1 - i; ++c) store(t, i + c, j, out[c]);
}

/// The small-M tile: every weight row against the tile's activation rows, four at a time.
template <class K>
void tile_by_rows(const DotTileArgs& t) {
  for (std::size_t j = t.n0; j < t.n1; ++j) row_against<K>(t, j, t.m0);
}

/// The larger-M tile: pairs of weight rows against groups of four and two activation rows;
/// an odd weight row or activation row left over goes through K::rows.
template <class K>
void tile_by_pairs(const DotTileArgs& t) {
  std::size_t j = t.n0;
  for (; j + 2 <= t.n1; j += 2) {
    const std::uint8_t* w = t.w + j * t.w_stride;
    float out[8];
    std::size_t i = t.m0;
    for (; i + 4 <= t.m1; i += 4) {
      K::template pairs<2>(w, t.w_stride, t.a + i * t.a_stride, t.a_stride, t.k, out);
      for (std::size_t r = 0; r < 2; ++r)
        for (std::size_t c = 0; c < 4; ++c) store(t, i + c, j + r, out[r * 4 + c]);
    }
    if (i + 2 <= t.m1) {
      K::template pairs<1>(w, t.w_stride, t.a + i * t.a_stride, t.a_stride, t.k, out);
      for (std::size_t r = 0; r < 2; ++r)
        for (std::size_t c = 0; c < 2; ++c) store(t, i + c, j + r, out[r * 2 + c]);
      i += 2;
    }
    if (i < t.m1) {
      row_against<K>(t, j, i);
      row_against<K>(t, j + 1, i);
    }
  }
  if (j < t.n1) row_against<K>(t, j, t.m0);
}

}  // namespace qlinear::cpu::arm
