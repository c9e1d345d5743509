#pragma once
// The tensor-core (prefill) kernel's body, host-compilable apart from the warp-level matrix
// instructions, which come in through an `Ops` policy (ldmatrix + mma.sync on the GPU, an
// emulation of their PTX-specified fragment layouts in the CPU tests).
//
// A block of 128 threads computes a 64 × 64 tile of y over K in steps of 64 (two chunks):
//   fetch  each thread loads four 16-byte pieces of the f16 activation tile and the raw bytes
//          of one weight chunk (row tid/2, chunk tid%2) into registers;
//   store  it decodes the chunk in registers, scales it by its row's 2^−e, rounds to f16 and
//          writes both into shared memory (double-buffered: the next tile's loads are issued
//          before the current tile's multiplies and stored after them);
//   mma    each warp multiplies a 32 × 32 sub-tile: per 16-wide K step, two ldmatrix.x4 for A,
//          two for B, eight mma.m16n8k16 (f16 in, f32 accumulate);
//   epilogue  y = 2^(e_x + e_w) · acc (+ bias) (+ y), masked at the edges of M and N.

#include <cstddef>
#include <cstdint>

#include "qlinear/backends/cuda/codec.hpp"
#include "qlinear/backends/cuda/layout.hpp"
#include "qlinear/backends/cuda/portable.hpp"

namespace qlinear::cuda {

/// One launch of the tensor-core kernel: y[i, n] (+)= 2^(x_exp[i] + e_n) · Σ_k x16[i, k] · w16[n, k] + bias[n].
struct MmaArgs {
  TensorRef w;
  const std::uint16_t* x16 = nullptr;  ///< activations as f16 bits, rows x16_stride halves apart
  std::size_t x16_stride = 0;
  const int* x_exp = nullptr;
  std::size_t m = 0;
  float* y = nullptr;
  std::size_t y_stride = 0;
  const float* bias = nullptr;
  bool accumulate = false;
  const float* table = nullptr;
};

/// Tile geometry of the tensor-core kernel (shared by every scheme).
struct MmaTile {
  static constexpr int bm = 64, bn = 64, bk = 64;  ///< block tile: rows of x, rows of W, K
  static constexpr int threads = 128, warps = 4;
  static constexpr int warp_m = 32, warp_n = 32;   ///< warps are arranged 2 × 2
  static constexpr int m_frags = warp_m / 16, n_frags = warp_n / 8, k_steps = bk / 16;
  /// Shared-memory row stride in halves: 144 bytes, so the 8 rows an ldmatrix reads fall in
  /// 8 distinct groups of 4 banks (no conflicts), and every row stays 16-byte aligned.
  static constexpr int lds = bk + 8;
  static constexpr int tile_halves = bm * lds;  ///< one A or B buffer (bm == bn)
  static_assert(bm == bn && bk == 2 * chunk_weights && threads == bn * 2, "one chunk decode per thread per tile");

  /// Halves per row of the converted activations: cols rounded up to a whole K step.
  QLINEAR_HD static constexpr std::size_t x16_stride(std::size_t cols) { return (cols + bk - 1) / bk * bk; }
  /// K steps over a row of `chunks` chunks.
  QLINEAR_HD static constexpr int k_tiles(int chunks) { return (chunks + 1) / 2; }

  // Fragment maps (the PTX ISA's layouts for ldmatrix.x4 and mma.m16n8k16.row.col):
  /// Row and column (in halves) of the A sub-tile whose address lane `lane` gives ldmatrix.x4:
  /// matrices 0..3 = (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15).
  QLINEAR_HD static int a_row(int lane) { return lane % 16; }
  QLINEAR_HD static int a_col(int lane) { return (lane / 16) * 8; }
  /// The same for B (rows are output features n, stored with k contiguous): matrices
  /// (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15) = b0 b1 of two n8 tiles.
  QLINEAR_HD static int b_row(int lane) { return (lane / 16) * 8 + lane % 8; }
  QLINEAR_HD static int b_col(int lane) { return ((lane / 8) % 2) * 8; }
  /// Row and column in the 16 × 8 accumulator tile of accumulator register q (0..3) of `lane`.
  QLINEAR_HD static int c_row(int lane, int q) { return lane / 4 + (q >= 2 ? 8 : 0); }
  QLINEAR_HD static int c_col(int lane, int q) { return 2 * (lane % 4) + (q & 1); }
};

/// The tensor-core kernel's per-thread phases for scheme S.
template <class S>
struct Mma {
  using C = Codec<S>;
  using T = MmaTile;

  /// What a thread holds in registers between fetch and store.
  struct Fetch {
    U32x4 a[4];
    typename C::Raw raw;
    bool b_valid;
  };

  /// 2^−e of the weight row this thread decodes in every K step of the tile at n0.
  QLINEAR_HD static float weight_inv_scale(const MmaArgs& p, std::size_t n0, int tid) {
    const std::size_t n = n0 + std::size_t(tid / 2);
    return n < p.w.rows ? pow2(-p.w.f16_exp[n]) : 1.0f;
  }

  /// Global → registers for K step kt of the tile at (m0, n0).
  QLINEAR_HD static void fetch(const MmaArgs& p, std::size_t m0, std::size_t n0, int kt, int tid, Fetch& f) {
    QLINEAR_UNROLL
    for (int j = 0; j < 4; ++j) {
      const int idx = tid + T::threads * j;
      const int row = idx / 8, seg = idx % 8;  // 64 rows × eight 16-byte segments
      if (m0 + std::size_t(row) < p.m) {
        const std::uint16_t* src = p.x16 + (m0 + std::size_t(row)) * p.x16_stride + std::size_t(kt) * T::bk + 8 * seg;
        f.a[j] = load_u32x4(reinterpret_cast<const std::uint8_t*>(src));
      } else {
        f.a[j] = U32x4{{0, 0, 0, 0}};
      }
    }
    const std::size_t n = n0 + std::size_t(tid / 2);
    const int chunk = 2 * kt + tid % 2;
    f.b_valid = n < p.w.rows && chunk < p.w.chunks;
    if (f.b_valid) f.raw = C::load(p.w.row(n), chunk);
  }

  /// Registers → shared memory (As, Bs: T::tile_halves halves each), decoding the weights.
  QLINEAR_HD static void store(const MmaArgs& p, const Fetch& f, int tid, float inv_w, std::uint16_t* As,
                               std::uint16_t* Bs) {
    QLINEAR_UNROLL
    for (int j = 0; j < 4; ++j) {
      const int idx = tid + T::threads * j;
      const int row = idx / 8, seg = idx % 8;
      store_u32x4(reinterpret_cast<std::uint8_t*>(As + row * T::lds + 8 * seg), f.a[j]);
    }
    std::uint32_t packed[chunk_weights / 2];
    if (f.b_valid) {
      ChunkCodes codes;
      C::decode(f.raw, p.table, codes);
      QLINEAR_UNROLL
      for (int e = 0; e < chunk_weights; e += 2) {
        const float w0 = (codes.a[e / 16] * codes.v[e] + codes.b[e / 16]) * inv_w;
        const float w1 = (codes.a[e / 16] * codes.v[e + 1] + codes.b[e / 16]) * inv_w;
        packed[e / 2] = float_to_half_bits(w0) | (float_to_half_bits(w1) << 16);
      }
    } else {
      QLINEAR_UNROLL
      for (int e = 0; e < chunk_weights / 2; ++e) packed[e] = 0;
    }
    std::uint16_t* dst = Bs + (tid / 2) * T::lds + (tid % 2) * chunk_weights;
    QLINEAR_UNROLL
    for (int q = 0; q < 4; ++q)
      store_u32x4(reinterpret_cast<std::uint8_t*>(dst + 8 * q),
                  U32x4{{packed[4 * q], packed[4 * q + 1], packed[4 * q + 2], packed[4 * q + 3]}});
  }

  /// One K step of warp `warp` on the tiles in shared memory: Ops provides fragment types,
  /// `load_a(A&, base, offset_of_lane)`, `load_b2(B&, B&, base, offset_of_lane)` (ldmatrix.x4)
  /// and `mma(acc, mt, nt, A, B)`.
  QLINEAR_HD_TEMPLATE
  template <class Ops>
  QLINEAR_HD static void warp_step(Ops& ops, typename Ops::Acc& acc, const std::uint16_t* As, const std::uint16_t* Bs,
                                   int warp) {
    const int wm = warp / 2, wn = warp % 2;
    QLINEAR_UNROLL
    for (int ks = 0; ks < T::k_steps; ++ks) {
      typename Ops::A a[T::m_frags];
      typename Ops::B b[T::n_frags];
      QLINEAR_UNROLL
      for (int mt = 0; mt < T::m_frags; ++mt)
        ops.load_a(a[mt], As, [=](int lane) {
          return (wm * T::warp_m + mt * 16 + T::a_row(lane)) * T::lds + ks * 16 + T::a_col(lane);
        });
      QLINEAR_UNROLL
      for (int np = 0; np < T::n_frags / 2; ++np)
        ops.load_b2(b[2 * np], b[2 * np + 1], Bs, [=](int lane) {
          return (wn * T::warp_n + np * 16 + T::b_row(lane)) * T::lds + ks * 16 + T::b_col(lane);
        });
      QLINEAR_UNROLL
      for (int mt = 0; mt < T::m_frags; ++mt) {
        QLINEAR_UNROLL
        for (int nt = 0; nt < T::n_frags; ++nt) ops.mma(acc, mt, nt, a[mt], b[nt]);
      }
    }
  }

  /// The epilogue of one lane: its accumulators acc[mt][nt][q] → y.
  QLINEAR_HD static void epilogue(const MmaArgs& p, std::size_t m0, std::size_t n0, int warp, int lane,
                                  const float (&acc)[T::m_frags][T::n_frags][4]) {
    const int wm = warp / 2, wn = warp % 2;
    QLINEAR_UNROLL
    for (int mt = 0; mt < T::m_frags; ++mt) {
      QLINEAR_UNROLL
      for (int nt = 0; nt < T::n_frags; ++nt) {
        QLINEAR_UNROLL
        for (int q = 0; q < 4; ++q) {
          const std::size_t i = m0 + std::size_t(wm * T::warp_m + mt * 16 + T::c_row(lane, q));
          const std::size_t n = n0 + std::size_t(wn * T::warp_n + nt * 8 + T::c_col(lane, q));
          if (i >= p.m || n >= p.w.rows) continue;
          float v = scale_by_pow2(acc[mt][nt][q], p.x_exp[i] + p.w.f16_exp[n]);
          if (p.bias) v += p.bias[n];
          float* out = p.y + i * p.y_stride + n;
          *out = p.accumulate ? *out + v : v;
        }
      }
    }
  }
};

}  // namespace qlinear::cuda
