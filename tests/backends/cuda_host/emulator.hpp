#pragma once
// A CPU emulation of the CUDA grid for the kernels' bodies: blocks and warps run one after the
// other, the lanes of a warp phase by phase; shuffles are the same butterfly the GPU runs, and
// the tensor-core instructions (ldmatrix.x4, mma.m16n8k16.row.col f16→f32) follow the
// fragment layouts of the PTX ISA, written here independently of the kernel's own index maps.
// EmulatedLauncher is the Launcher policy of backends/cuda/dispatch.hpp over host memory.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "qlinear/backends/cuda/dispatch.hpp"
#include "qlinear/backends/cuda/prepare.hpp"

namespace qlinear::cuda_test {

using namespace qlinear::cuda;

/// The butterfly of __shfl_xor_sync over 32 lanes: after it every lane holds combine over all.
template <class T, class F>
void warp_butterfly(T (&lanes)[warp_size], F combine) {
  for (int offset = warp_size / 2; offset > 0; offset /= 2) {
    T before[warp_size];
    std::copy(std::begin(lanes), std::end(lanes), std::begin(before));
    for (int l = 0; l < warp_size; ++l) lanes[l] = combine(before[l], before[l ^ offset]);
  }
}

/// Warp-wide tensor-core operations on 32 lanes' registers at once (the Ops policy of Mma<S>).
struct EmulatedMmaOps {
  struct A {
    std::uint32_t r[warp_size][4];
  };
  struct B {
    std::uint32_t r[warp_size][2];
  };
  using Acc = float[warp_size][MmaTile::m_frags][MmaTile::n_frags][4];

  // ldmatrix.sync.aligned.m8n8.x4.shared.b16: lane 8j + r gives the address of row r of
  // matrix j; lane L receives, in register j, elements 2·(L%4) and 2·(L%4)+1 of row L/4.
  template <class Offset>
  static void ldmatrix_x4(std::uint32_t (&out)[warp_size][4], const std::uint16_t* base, Offset offset) {
    for (int lane = 0; lane < warp_size; ++lane)
      for (int j = 0; j < 4; ++j) {
        const std::uint16_t* row = base + offset(8 * j + lane / 4);
        out[lane][j] = std::uint32_t(row[2 * (lane % 4)]) | (std::uint32_t(row[2 * (lane % 4) + 1]) << 16);
      }
  }
  template <class Offset>
  void load_a(A& a, const std::uint16_t* base, Offset offset) {
    ldmatrix_x4(a.r, base, offset);
  }
  template <class Offset>
  void load_b2(B& b0, B& b1, const std::uint16_t* base, Offset offset) {
    std::uint32_t r[warp_size][4];
    ldmatrix_x4(r, base, offset);
    for (int lane = 0; lane < warp_size; ++lane) {
      b0.r[lane][0] = r[lane][0], b0.r[lane][1] = r[lane][1];
      b1.r[lane][0] = r[lane][2], b1.r[lane][1] = r[lane][3];
    }
  }

  // mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32, with groupID g = lane/4, t = lane%4:
  //   A: a0,a1 (row g, col 2t, 2t+1), a2,a3 (row g+8), a4,a5 (row g, col 2t+8, 2t+9), a6,a7 (row g+8)
  //   B: b0,b1 (row k = 2t, 2t+1, col g), b2,b3 (k = 2t+8, 2t+9)
  //   C/D: c0,c1 (row g, col 2t, 2t+1), c2,c3 (row g+8)
  void mma(Acc& acc, int mt, int nt, const A& a, const B& b) {
    float am[16][16], bm[16][8], cm[16][8];
    const auto lo = [](std::uint32_t v) { return f16_to_f32(std::uint16_t(v & 0xFFFFu)); };
    const auto hi = [](std::uint32_t v) { return f16_to_f32(std::uint16_t(v >> 16)); };
    for (int lane = 0; lane < warp_size; ++lane) {
      const int g = lane / 4, t = lane % 4;
      const std::uint32_t* ar = a.r[lane];
      am[g][2 * t] = lo(ar[0]), am[g][2 * t + 1] = hi(ar[0]);
      am[g + 8][2 * t] = lo(ar[1]), am[g + 8][2 * t + 1] = hi(ar[1]);
      am[g][2 * t + 8] = lo(ar[2]), am[g][2 * t + 9] = hi(ar[2]);
      am[g + 8][2 * t + 8] = lo(ar[3]), am[g + 8][2 * t + 9] = hi(ar[3]);
      bm[2 * t][g] = lo(b.r[lane][0]), bm[2 * t + 1][g] = hi(b.r[lane][0]);
      bm[2 * t + 8][g] = lo(b.r[lane][1]), bm[2 * t + 9][g] = hi(b.r[lane][1]);
      const float* c = acc[lane][mt][nt];
      cm[g][2 * t] = c[0], cm[g][2 * t + 1] = c[1], cm[g + 8][2 * t] = c[2], cm[g + 8][2 * t + 1] = c[3];
    }
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 8; ++j) {
        float s = cm[i][j];
        for (int k = 0; k < 16; ++k) s += am[i][k] * bm[k][j];
        cm[i][j] = s;
      }
    for (int lane = 0; lane < warp_size; ++lane) {
      const int g = lane / 4, t = lane % 4;
      float* c = acc[lane][mt][nt];
      c[0] = cm[g][2 * t], c[1] = cm[g][2 * t + 1], c[2] = cm[g + 8][2 * t], c[3] = cm[g + 8][2 * t + 1];
    }
  }
};

/// Runs the kernels' bodies over host memory, grid by grid, as the GPU would.
class EmulatedLauncher {
 public:
  std::size_t launches = 0;  ///< kernels "launched" (the tests check the orchestration)

  template <class S, int MR>
  void gemv(const Launch& l, GemvArgs a) {
    ++launches;
    const CodeTable<S> table;
    a.table = table.value;
    using G = Gemv<S, MR>;
    EXPECT_EQ(l.threads, G::threads);
    EXPECT_LE(std::size_t(a.m), std::size_t(MR));
    for (std::size_t block = 0; block < l.grid_x; ++block)
      for (int warp = 0; warp < G::warps_per_block; ++warp) {
        const std::size_t row0 = G::first_row(block, warp);
        struct Sums {
          float v[G::rows_per_warp][MR];
        } lanes[warp_size];
        for (int lane = 0; lane < warp_size; ++lane) G::lane_partial(a, row0, lane, lanes[lane].v);
        warp_butterfly(lanes, [](const Sums& x, const Sums& y) {
          Sums s;
          for (int r = 0; r < G::rows_per_warp; ++r)
            for (int i = 0; i < MR; ++i) s.v[r][i] = x.v[r][i] + y.v[r][i];
          return s;
        });
        G::store(a, row0, lanes[0].v);
      }
  }

  void convert(const Launch& l, const ConvertArgs& a) {
    ++launches;
    const int warps = l.threads / warp_size;
    for (std::size_t block = 0; block < l.grid_x; ++block)
      for (int warp = 0; warp < warps; ++warp) {
        const std::size_t row = block * std::size_t(warps) + std::size_t(warp);
        if (row >= a.rows) continue;
        float lanes[warp_size];
        for (int lane = 0; lane < warp_size; ++lane) lanes[lane] = convert_lane_max(a, row, lane);
        warp_butterfly(lanes, max_combine);
        for (int lane = 0; lane < warp_size; ++lane) convert_lane_write(a, row, lane, lanes[lane]);
      }
  }

  template <class S>
  void weight_exponents(const Launch& l, const TensorRef& w, int* out) {
    ++launches;
    const CodeTable<S> table;
    const int warps = l.threads / warp_size;
    for (std::size_t block = 0; block < l.grid_x; ++block)
      for (int warp = 0; warp < warps; ++warp) {
        const std::size_t row = block * std::size_t(warps) + std::size_t(warp);
        if (row >= w.rows) continue;
        float lanes[warp_size];
        for (int lane = 0; lane < warp_size; ++lane) lanes[lane] = weight_lane_max<S>(w, row, lane, table.value);
        warp_butterfly(lanes, max_combine);
        out[row] = f16_row_exponent(lanes[0]);
      }
  }

  template <class S>
  void mma(const Launch& l, MmaArgs a) {
    ++launches;
    using K = Mma<S>;
    using T = MmaTile;
    const CodeTable<S> table;
    a.table = table.value;
    std::vector<std::uint16_t> smem(4 * T::tile_halves);
    std::uint16_t* As[2] = {smem.data(), smem.data() + T::tile_halves};
    std::uint16_t* Bs[2] = {smem.data() + 2 * T::tile_halves, smem.data() + 3 * T::tile_halves};
    std::vector<typename K::Fetch> fetch(T::threads);
    std::vector<float> inv(T::threads);
    auto acc = std::make_unique<EmulatedMmaOps::Acc[]>(T::warps);
    EmulatedMmaOps ops;
    const int k_tiles = T::k_tiles(a.w.chunks);
    for (std::size_t by = 0; by < l.grid_y; ++by)
      for (std::size_t bx = 0; bx < l.grid_x; ++bx) {
        const std::size_t m0 = by * T::bm, n0 = bx * T::bn;
        // Poison shared memory: a fragment read before it is written shows as NaN.
        std::fill(smem.begin(), smem.end(), std::uint16_t(0x7E00));
        for (int t = 0; t < T::threads; ++t) inv[t] = K::weight_inv_scale(a, n0, t);
        for (int t = 0; t < T::threads; ++t) K::fetch(a, m0, n0, 0, t, fetch[t]);
        for (int t = 0; t < T::threads; ++t) K::store(a, fetch[t], t, inv[t], As[0], Bs[0]);
        std::memset(acc.get(), 0, sizeof(EmulatedMmaOps::Acc) * T::warps);
        for (int kt = 0; kt < k_tiles; ++kt) {
          const int buf = kt & 1;
          if (kt + 1 < k_tiles)
            for (int t = 0; t < T::threads; ++t) K::fetch(a, m0, n0, kt + 1, t, fetch[t]);
          for (int w = 0; w < T::warps; ++w) K::warp_step(ops, acc[w], As[buf], Bs[buf], w);
          if (kt + 1 < k_tiles)
            for (int t = 0; t < T::threads; ++t) K::store(a, fetch[t], t, inv[t], As[buf ^ 1], Bs[buf ^ 1]);
        }
        for (int w = 0; w < T::warps; ++w)
          for (int lane = 0; lane < warp_size; ++lane) K::epilogue(a, m0, n0, w, lane, acc[w][lane]);
      }
  }

  template <class S>
  void transposed(const Launch& l, TransposedArgs a) {
    ++launches;
    const CodeTable<S> table;
    a.table = table.value;
    for (std::size_t by = 0; by < l.grid_y; ++by)
      for (std::size_t bx = 0; bx < l.grid_x; ++bx)
        for (int t = 0; t < l.threads; ++t) Transposed<S>::run(a, int(bx) * l.threads + t, by);
  }

  std::uint16_t* x16_scratch(std::size_t halves) {
    x16_.assign(halves, 0xFFFFu);  // garbage (NaN) where the conversion does not write
    return x16_.data();
  }
  int* exp_scratch(std::size_t count) {
    exp_.assign(count, 9999);
    return exp_.data();
  }

 private:
  std::vector<std::uint16_t> x16_;
  std::vector<int> exp_;
};

/// A tensor's device image in host memory with its f16 exponents computed by the emulated
/// kernel, as cuda::Backend::upload builds it on the GPU.
template <class S>
struct EmulatedWeights {
  Geometry geometry;
  std::vector<std::uint8_t> image;
  TensorRef ref;

  EmulatedWeights(const EmulatedWeights&) = delete;
  EmulatedWeights& operator=(const EmulatedWeights&) = delete;
  explicit EmulatedWeights(const QuantizedTensor<S>& t)
      : geometry(Geometry::of<S>(t.rows(), t.cols())), image(pack_image(geometry, t)), ref(geometry.ref(image.data())) {
    EmulatedLauncher launcher;
    run_weight_exponents<S>(launcher, ref, reinterpret_cast<int*>(image.data() + geometry.exp_offset));
  }
};

}  // namespace qlinear::cuda_test
