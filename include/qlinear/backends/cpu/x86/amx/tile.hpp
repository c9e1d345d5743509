#pragma once
// AMX tile configuration, in namespace qlinear::cpu::amx: the 64-byte palette-1 structure that
// ldtilecfg reads, and loading it so that no compiler can drop the stores that fill it.
//
// g++ 12 has been seen to treat the stores filling the configuration as dead and delete them:
// its _tile_loadconfig builtin is not known to read the structure. load_tile_config therefore
// first passes the structure's address to an empty asm statement that clobbers memory: the
// compiler must assume that statement reads every byte of it, so every store happens before
// it, and ldtilecfg (which comes after, and cannot move above a volatile asm) sees them. The
// tests load a configuration and read it back with sttilecfg, under g++ and under clang.
//
// Kernels read the thread's configuration first and give it back at the end (restore_tiles), so
// that a caller's own tile configuration survives a call into qlinear.

#if defined(__x86_64__) || defined(_M_X64)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/backends/cpu/kernel_contract.hpp"
#include "qlinear/backends/cpu/x86/target.hpp"

QLINEAR_X86_KERNELS_BEGIN
namespace qlinear::cpu::amx {

/// The AMX tile configuration (palette 1): per tile, rows and bytes per row.
/// Usage: `TileConfig c; c.set(0, 16, 64); load_tile_config(c);`
struct alignas(64) TileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};

  /// Tile t holds `r` rows of `bytes` bytes (at most 16 rows of 64 bytes). A tile without rows
  /// is unused and must have no bytes either (ldtilecfg faults otherwise).
  void set(int t, int r, int bytes) {
    rows[t] = std::uint8_t(r);
    colsb[t] = std::uint16_t(r > 0 ? bytes : 0);
  }
};
static_assert(sizeof(TileConfig) == 64);

/// Loads `cfg` into the tile configuration register (see above for why the asm statement).
QLINEAR_TARGET_AMX inline void load_tile_config(const TileConfig& cfg) {
  __asm__ __volatile__("" : : "r"(&cfg) : "memory");
  _tile_loadconfig(&cfg);
}

/// The configuration the processor holds (what the tests compare with what was loaded).
QLINEAR_TARGET_AMX inline TileConfig stored_tile_config() {
  TileConfig cfg;
  std::memset(static_cast<void*>(&cfg), 0xFF, sizeof cfg);
  _tile_storeconfig(&cfg);
  __asm__ __volatile__("" : : "r"(&cfg) : "memory");
  return cfg;
}

/// Transposes a 16 × 16 matrix of 32-bit elements held one row per register: afterwards r[c]
/// holds column c. (Restores canonical rows from tile layouts: a B tile row holds 4 bytes of
/// each of 16 weight rows.)
QLINEAR_TARGET_AMX inline void transpose_dwords(__m512i* r) {
  __m512i t[16];
  QLINEAR_UNROLL
  for (int i = 0; i < 16; i += 2) t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]), t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  QLINEAR_UNROLL
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  QLINEAR_UNROLL
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xDD);
    t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xDD);
  }
  QLINEAR_UNROLL
  for (int i = 0; i < 8; ++i) r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88), r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xDD);
}

/// The bf16 path's panels decoded straight from int8 tile layouts (PackedKernels::bf16_panel):
/// an int8 B tile row r holds values 4r..4r + 3 of each of 16 weight rows (lane c = row c);
/// the bf16 B tile wants pairs, rows 2r (values 4r, 4r + 1) and 2r + 1 (4r + 2, 4r + 3).
/// f[u] lane c: value 4r + u of weight row c, in f32; rounded to nearest even (vcvtne2ps2bf16,
/// as Bf16Tile::pack rounds) into tile rows 2r and 2r + 1 (32 bf16 each).
QLINEAR_TARGET_AMX_BF16 inline void store_bf16_quad_row(std::uint16_t* tile, int r, const __m512* f) {
  // vpermw order interleaving cvtne2ps's low and high 16 values: lane c = (low c, high c).
  alignas(64) static constexpr std::uint16_t kPairs[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                                           8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i pairs = _mm512_load_si512(kPairs);
  _mm512_storeu_si512(tile + 64 * r, _mm512_permutexvar_epi16(pairs, (__m512i)_mm512_cvtne2ps_pbh(f[1], f[0])));
  _mm512_storeu_si512(tile + 64 * r + 32, _mm512_permutexvar_epi16(pairs, (__m512i)_mm512_cvtne2ps_pbh(f[3], f[2])));
}
/// A bf16 B tile of zeros (the rows of a panel past the weights).
QLINEAR_TARGET_AMX inline void zero_bf16_tile(std::uint16_t* tile) {
  QLINEAR_UNROLL
  for (int r = 0; r < 16; ++r) _mm512_storeu_si512(tile + 32 * r, _mm512_setzero_si512());
}
/// Whether half `half` (weight rows 16·half onwards) of a bf16 panel of `rows` rows holds
/// weights; if not, its B tile in each of `chunks` chunks (1024 values apart from `tile`) is
/// zeroed, so that the decoders only decode the halves that exist.
QLINEAR_TARGET_AMX inline bool bf16_half_present(std::uint16_t* tile, std::size_t rows, std::size_t half,
                                                 std::size_t chunks) {
  if (16 * half < rows) return true;
  for (std::size_t c = 0; c < chunks; ++c) zero_bf16_tile(tile + 1024 * c);
  return false;
}
/// Byte u of each 32-bit lane of v (bits 8u + shift onwards), masked to `mask`.
QLINEAR_TARGET_AMX inline __m512i lane_byte_bits(__m512i v, int shift, __m512i mask) {
  return _mm512_and_si512(_mm512_srli_epi32(v, unsigned(shift)), mask);
}

/// The exact tiles on packed layouts (PackedKernels::exact_tile): a tile row's quad decoded to
/// f[u], lane c = value l + u of weight row c, meets activation value l + u of each of MR rows
/// (broadcast, an FMA's memory operand): s[i][u % C] += f[u]·x_i[l + u]. With few rows the sums
/// run in C chains (kExactChains) so that the FMAs' latency stays hidden.
template <int MR>
inline constexpr int kExactChains = MR == 1 ? 4 : MR <= 3 ? 2 : 1;
template <int MR, int C>
QLINEAR_TARGET_AMX inline void exact_fma_quad(__m512 (&s)[MR][C], const __m512* f, const float* const* xr,
                                              std::size_t l) {
  QLINEAR_UNROLL
  for (int u = 0; u < 4; ++u)
    QLINEAR_UNROLL
    for (int i = 0; i < MR; ++i) s[i][u % C] = _mm512_fmadd_ps(f[u], _mm512_set1_ps(xr[i][l + std::size_t(u)]), s[i][u % C]);
}
template <int MR, int C>
QLINEAR_TARGET_AMX inline void exact_zero(__m512 (&s)[MR][C]) {
  QLINEAR_UNROLL
  for (int i = 0; i < MR; ++i)
    QLINEAR_UNROLL
    for (int c = 0; c < C; ++c) s[i][c] = _mm512_setzero_ps();
}
/// Row i's chains summed.
template <int MR, int C>
QLINEAR_TARGET_AMX inline __m512 exact_chain_sum(const __m512 (&s)[MR][C], int i) {
  __m512 v = s[i][0];
  QLINEAR_UNROLL
  for (int c = 1; c < C; ++c) v = _mm512_add_ps(v, s[i][c]);
  return v;
}
/// y of activation rows [i0, i0 + MR) at weight rows 16p..16p + 15 from their sums (+ bias, + y
/// with accumulate).
template <int MR, int C>
QLINEAR_TARGET_AMX inline void exact_store(const ExactDotArgs& t, std::size_t i0, std::size_t p,
                                           const __m512 (&acc)[MR][C]) {
  QLINEAR_UNROLL
  for (int i = 0; i < MR; ++i) {
    __m512 v = exact_chain_sum(acc, i);
    if (t.bias) v = _mm512_add_ps(v, _mm512_loadu_ps(t.bias + 16 * p));
    float* y = t.y + (i0 + std::size_t(i)) * t.ldy + 16 * p;
    if (t.accumulate) v = _mm512_add_ps(_mm512_loadu_ps(y), v);
    _mm512_storeu_ps(y, v);
  }
}
/// An exact tile over all its activation rows, 8 at a time: K::rows<MR>(t, i0, xr) takes rows
/// [i0, i0 + MR) (xr[i] their activations) against panels [n0 / 16, n1 / 16).
template <class K>
QLINEAR_TARGET_AMX inline void exact_passes(const ExactDotArgs& t) {
  for (std::size_t i0 = t.m0; i0 < t.m1; i0 += 8) {
    const float* xr[8];
    const std::size_t mr = std::min<std::size_t>(8, t.m1 - i0);
    for (std::size_t i = 0; i < mr; ++i) xr[i] = t.x + (i0 + i) * t.ldx;
    switch (mr) {
      case 1: K::template rows<1>(t, i0, xr); break;
      case 2: K::template rows<2>(t, i0, xr); break;
      case 3: K::template rows<3>(t, i0, xr); break;
      case 4: K::template rows<4>(t, i0, xr); break;
      case 5: K::template rows<5>(t, i0, xr); break;
      case 6: K::template rows<6>(t, i0, xr); break;
      case 7: K::template rows<7>(t, i0, xr); break;
      default: K::template rows<8>(t, i0, xr); break;
    }
  }
}

/// Ends this thread's use of the tiles (their state returns to INIT, cheap to context-switch).
QLINEAR_TARGET_AMX inline void release_tiles() { _tile_release(); }

/// Ends a kernel's use of the tiles, leaving the thread's tile state as the kernel found it
/// (`before`, read with stored_tile_config() before its first ldtilecfg): a configuration
/// another library had loaded is loaded again, otherwise the tiles are released. ggml, for one,
/// loads its configuration once per thread and never again, so releasing under it would make its
/// next tile instruction fault (#UD) in a process that runs both on one thread.
QLINEAR_TARGET_AMX inline void restore_tiles(const TileConfig& before) {
  if (before.palette != 0)
    load_tile_config(before);
  else
    release_tiles();
}

}  // namespace qlinear::cpu::amx
QLINEAR_X86_KERNELS_END
#endif
