#pragma once
// The __global__ kernels: thin shells around the host-compilable bodies (gemv.hpp, gemm_mma.hpp,
// transposed.hpp, prepare.hpp) that add what only the GPU has — thread indices, shared memory,
// warp shuffles, ldmatrix and mma.sync — and the Launcher that dispatch.hpp drives.

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "qlinear/backends/cuda/check.cuh"
#include "qlinear/backends/cuda/context.cuh"
#include "qlinear/backends/cuda/dispatch.hpp"
#include "qlinear/backends/cuda/gemm_mma.hpp"
#include "qlinear/backends/cuda/gemv.hpp"
#include "qlinear/backends/cuda/prepare.hpp"
#include "qlinear/backends/cuda/transposed.hpp"

namespace qlinear::cuda {
namespace kernels {

/// Stages scheme S's codebook in shared memory (all threads of the block must call it).
template <class S>
__device__ const float* stage_table(float* shared) {
  if constexpr (Codec<S>::uses_table) {
    if (threadIdx.x < 16) shared[threadIdx.x] = Codec<S>::table_value(int(threadIdx.x));
    __syncthreads();
    return shared;
  } else {
    return nullptr;
  }
}

__device__ inline float warp_sum(float v) {
#pragma unroll
  for (int offset = warp_size / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xFFFFFFFFu, v, offset);
  return v;
}
__device__ inline float warp_max(float v) {
#pragma unroll
  for (int offset = warp_size / 2; offset > 0; offset /= 2) v = max_combine(v, __shfl_xor_sync(0xFFFFFFFFu, v, offset));
  return v;
}

template <class S, int MR>
__global__ void __launch_bounds__(Gemv<S, MR>::threads) gemv(GemvArgs a) {
  using G = Gemv<S, MR>;
  __shared__ float table[16];
  a.table = stage_table<S>(table);
  const int lane = int(threadIdx.x) % warp_size;
  const std::size_t row0 = G::first_row(blockIdx.x, int(threadIdx.x) / warp_size);
  float acc[G::rows_per_warp][MR];
  G::lane_partial(a, row0, lane, acc);  // every lane reaches the shuffles, valid rows or not
#pragma unroll
  for (int r = 0; r < G::rows_per_warp; ++r) {
#pragma unroll
    for (int i = 0; i < MR; ++i) acc[r][i] = warp_sum(acc[r][i]);
  }
  if (lane == 0) G::store(a, row0, acc);
}

// A template (of nothing) so that every TU including this header shares one definition.
template <int Threads = convert_threads>
__global__ void __launch_bounds__(Threads) convert_to_f16(ConvertArgs a) {
  const std::size_t row = std::size_t(blockIdx.x) * (convert_threads / warp_size) + threadIdx.x / warp_size;
  if (row >= a.rows) return;  // whole warps leave together
  const int lane = int(threadIdx.x) % warp_size;
  convert_lane_write(a, row, lane, warp_max(convert_lane_max(a, row, lane)));
}

template <class S>
__global__ void __launch_bounds__(convert_threads) weight_exponents(TensorRef w, int* out) {
  __shared__ float table[16];
  const float* t = stage_table<S>(table);
  const std::size_t row = std::size_t(blockIdx.x) * (convert_threads / warp_size) + threadIdx.x / warp_size;
  if (row >= w.rows) return;
  const float m = warp_max(weight_lane_max<S>(w, row, int(threadIdx.x) % warp_size, t));
  if (threadIdx.x % warp_size == 0) out[row] = f16_row_exponent(m);
}

template <class S>
__global__ void __launch_bounds__(Transposed<S>::threads) transposed(TransposedArgs a) {
  __shared__ float table[16];
  a.table = stage_table<S>(table);
  Transposed<S>::run(a, int(blockIdx.x * blockDim.x + threadIdx.x), blockIdx.y);
}

/// ldmatrix.x4 and mma.m16n8k16 for one lane (the Ops policy of Mma<S>::warp_step).
struct DeviceMmaOps {
  struct A {
    std::uint32_t r[4];
  };
  struct B {
    std::uint32_t r[2];
  };
  using Acc = float[MmaTile::m_frags][MmaTile::n_frags][4];
  int lane;

  __device__ static void ldmatrix_x4(std::uint32_t (&r)[4], const std::uint16_t* p) {
    const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(p));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr)
                 : "memory");
  }
  template <class Offset>
  __device__ void load_a(A& a, const std::uint16_t* base, Offset offset) {
    ldmatrix_x4(a.r, base + offset(lane));
  }
  template <class Offset>
  __device__ void load_b2(B& b0, B& b1, const std::uint16_t* base, Offset offset) {
    std::uint32_t r[4];
    ldmatrix_x4(r, base + offset(lane));
    b0.r[0] = r[0], b0.r[1] = r[1], b1.r[0] = r[2], b1.r[1] = r[3];
  }
  __device__ void mma(Acc& acc, int mt, int nt, const A& a, const B& b) {
    float* c = acc[mt][nt];
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a.r[0]), "r"(a.r[1]), "r"(a.r[2]), "r"(a.r[3]), "r"(b.r[0]), "r"(b.r[1]));
  }
};

template <class S>
__global__ void __launch_bounds__(MmaTile::threads) mma(MmaArgs a) {
  using K = Mma<S>;
  using T = MmaTile;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  __trap();  // mma.m16n8k16 needs sm_80; the backend refuses older devices before launching
#else
  __shared__ __align__(16) std::uint16_t smem[4 * T::tile_halves];
  __shared__ float table[16];
  a.table = stage_table<S>(table);
  // Buffers: A0 A1 B0 B1, picked by arithmetic (an array of pointers indexed at run time would
  // live in local memory).
  const auto As = [&](int buf) { return smem + buf * T::tile_halves; };
  const auto Bs = [&](int buf) { return smem + (2 + buf) * T::tile_halves; };
  const int tid = int(threadIdx.x), warp = tid / warp_size, lane = tid % warp_size;
  const std::size_t m0 = std::size_t(blockIdx.y) * T::bm, n0 = std::size_t(blockIdx.x) * T::bn;
  const float inv = K::weight_inv_scale(a, n0, tid);
  const int k_tiles = T::k_tiles(a.w.chunks);

  typename K::Fetch f;
  K::fetch(a, m0, n0, 0, tid, f);
  K::store(a, f, tid, inv, As(0), Bs(0));
  __syncthreads();
  DeviceMmaOps ops{lane};
  float acc[T::m_frags][T::n_frags][4] = {};
  for (int kt = 0; kt < k_tiles; ++kt) {
    const int buf = kt & 1;
    if (kt + 1 < k_tiles) K::fetch(a, m0, n0, kt + 1, tid, f);  // in flight during the multiplies
    K::warp_step(ops, acc, As(buf), Bs(buf), warp);
    if (kt + 1 < k_tiles) K::store(a, f, tid, inv, As(buf ^ 1), Bs(buf ^ 1));
    __syncthreads();
  }
  K::epilogue(a, m0, n0, warp, lane, acc);
#endif
}

}  // namespace kernels

/// The Launcher of dispatch.hpp on a real GPU: launches on the context's stream and checks
/// every launch. Usage: `DeviceLauncher l(ctx);  run_gemm<Q4_K>(l, w.ref(), x, y, {}, ctx.options());`
class DeviceLauncher {
 public:
  explicit DeviceLauncher(Context& ctx) : ctx_(ctx) {}

  template <class S, int MR>
  void gemv(const Launch& l, const GemvArgs& a) {
    kernels::gemv<S, MR><<<dim3(unsigned(l.grid_x)), l.threads, 0, ctx_.stream()>>>(a);
    QLINEAR_CUDA_CHECK_LAUNCH("cuda::kernels::gemv");
  }
  void convert(const Launch& l, const ConvertArgs& a) {
    kernels::convert_to_f16<><<<dim3(unsigned(l.grid_x)), l.threads, 0, ctx_.stream()>>>(a);
    QLINEAR_CUDA_CHECK_LAUNCH("cuda::kernels::convert_to_f16");
  }
  template <class S>
  void weight_exponents(const Launch& l, const TensorRef& w, int* out) {
    kernels::weight_exponents<S><<<dim3(unsigned(l.grid_x)), l.threads, 0, ctx_.stream()>>>(w, out);
    QLINEAR_CUDA_CHECK_LAUNCH("cuda::kernels::weight_exponents");
  }
  template <class S>
  void mma(const Launch& l, const MmaArgs& a) {
    kernels::mma<S><<<dim3(unsigned(l.grid_x), unsigned(l.grid_y)), l.threads, 0, ctx_.stream()>>>(a);
    QLINEAR_CUDA_CHECK_LAUNCH("cuda::kernels::mma");
  }
  template <class S>
  void transposed(const Launch& l, const TransposedArgs& a) {
    kernels::transposed<S><<<dim3(unsigned(l.grid_x), unsigned(l.grid_y)), l.threads, 0, ctx_.stream()>>>(a);
    QLINEAR_CUDA_CHECK_LAUNCH("cuda::kernels::transposed");
  }
  std::uint16_t* x16_scratch(std::size_t halves) {
    return static_cast<std::uint16_t*>(ctx_.scratch(Context::x16_slot, halves * sizeof(std::uint16_t)));
  }
  int* exp_scratch(std::size_t count) {
    return static_cast<int*>(ctx_.scratch(Context::exp_slot, count * sizeof(int)));
  }

 private:
  Context& ctx_;
};

}  // namespace qlinear::cuda
