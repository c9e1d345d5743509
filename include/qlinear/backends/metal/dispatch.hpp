#pragma once
// How the Metal backend launches its kernels: which kernel runs a product, its grid, threadgroup
// size, threadgroup memory and arguments, and the per-row parameters it reads. Plain C++ shared by
// the Objective-C++ host glue (backend.hpp) and the grid emulator in the tests, so the geometry
// the GPU receives is the geometry the tests run.

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "qlinear/backends/metal/kernel_names.hpp"
#include "qlinear/backends/metal/kernels/args.hpp"
#include "qlinear/backends/metal/kernels/tiles.hpp"
#include "qlinear/core/error.hpp"
#include "qlinear/schemes/quantized_tensor.hpp"
#include "qlinear/schemes/registry.hpp"

namespace qlinear::metal {

namespace detail {
template <class S, class List>
struct in_list;
template <class S, class... Ts>
struct in_list<S, TypeList<Ts...>> : std::bool_constant<(std::is_same_v<S, Ts> || ...)> {};
}  // namespace detail

/// Whether qlinear's Metal kernels run scheme S: every scheme of AllSchemes (the activation-only
/// formats Q8_1 and Q8_K have none). Usage: `static_assert(metal::supports<Q4_K>);`
template <class S>
inline constexpr bool supports = detail::in_list<S, AllSchemes>::value;

/// The largest M the decode kernel runs; larger products take the prefill kernel. A first guess
/// from the kernels' shapes (decode reads W once per 4 rows of x, prefill once per 32): the
/// cross-over has not been measured on Apple hardware yet.
inline constexpr std::size_t decode_max_rows = 8;

/// One kernel launch: the kernel's name, the grid in threadgroups, threads per threadgroup (a
/// 1-D threadgroup), threadgroup memory at [[threadgroup(0)]] and the `constant` arguments.
struct Launch {
  KernelKind kind = KernelKind::decode;
  std::string kernel;
  std::array<std::uint32_t, 3> grid{1, 1, 1};
  std::uint32_t threads = 0;
  std::uint32_t threadgroup_bytes = 0;
  kernels::GemmArgs args{};
};

namespace detail {
inline std::uint32_t u32(std::size_t v, const char* what) {
  check(v <= std::numeric_limits<std::uint32_t>::max(), "metal::Backend: ", what, " = ", v,
        " does not fit the kernels' 32-bit arguments");
  return std::uint32_t(v);
}
inline std::uint32_t ceil_div(std::size_t a, std::size_t b, const char* what) { return u32((a + b - 1) / b, what); }
}  // namespace detail

/// The launch computing y[M x N] = x[M x K] · Wᵀ (+ bias) (+ y) for an N x K tensor of scheme S:
/// decode for M <= decode_max_rows, prefill above (or `force`'s kind). ldx, ldy: row strides in
/// floats. M must be at least 1. Usage: `auto l = plan_gemm<Q4_K>(n, k, m, k, n, false, false);`
template <Scheme S>
Launch plan_gemm(std::size_t N, std::size_t K, std::size_t M, std::size_t ldx, std::size_t ldy, bool has_bias,
                 bool accumulate, std::optional<KernelKind> force = std::nullopt) {
  static_assert(supports<S>, "qlinear's Metal kernels do not run this scheme (activation-only format)");
  check(M >= 1 && N >= 1 && K >= 1, "metal::plan_gemm: empty product (M ", M, ", N ", N, ", K ", K, ")");
  check(ldx >= K && ldy >= N, "metal::plan_gemm: row strides ", ldx, " (x) and ", ldy, " (y) are below K ", K,
        " and N ", N);
  Launch l;
  l.kind = force.value_or(M <= decode_max_rows ? KernelKind::decode : KernelKind::prefill);
  check(l.kind != KernelKind::backward, "metal::plan_gemm: the backward kernel computes dy·W, not x·Wᵀ");
  l.kernel = kernel_name<S>(l.kind);
  l.args.M = detail::u32(M, "M");
  l.args.N = detail::u32(N, "N");
  l.args.K = detail::u32(K, "K");
  l.args.ldx = detail::u32(ldx, "the row stride of x");
  l.args.ldy = detail::u32(ldy, "the row stride of y");
  l.args.row_bytes = detail::u32(row_bytes<S>(K), "the bytes of a weight row");
  l.args.flags = (has_bias ? kernels::gemm_has_bias : 0u) | (accumulate ? kernels::gemm_accumulate : 0u);
  if (l.kind == KernelKind::decode) {
    l.grid = {detail::ceil_div(N, QLINEAR_METAL_DECODE_NR * QLINEAR_METAL_DECODE_NSG, "decode threadgroups along N"),
              detail::ceil_div(M, QLINEAR_METAL_DECODE_MX, "decode threadgroups along M"), 1};
    l.threads = 32 * QLINEAR_METAL_DECODE_NSG;
    l.threadgroup_bytes = 0;
  } else {
    l.grid = {detail::ceil_div(N, QLINEAR_METAL_PREFILL_BN, "prefill threadgroups along N"),
              detail::ceil_div(M, QLINEAR_METAL_PREFILL_BM, "prefill threadgroups along M"), 1};
    l.threads = QLINEAR_METAL_PREFILL_THREADS;
    l.threadgroup_bytes =
        (QLINEAR_METAL_PREFILL_BM * QLINEAR_METAL_PREFILL_BK + QLINEAR_METAL_PREFILL_BK * QLINEAR_METAL_PREFILL_BN) * 4;
  }
  return l;
}

/// The launch computing dx[M x K] (+)= dy[M x N] · W. ldx, ldy: row strides of dx and dy.
template <Scheme S>
Launch plan_gemm_transposed(std::size_t N, std::size_t K, std::size_t M, std::size_t ldx, std::size_t ldy,
                            bool accumulate) {
  static_assert(supports<S>, "qlinear's Metal kernels do not run this scheme (activation-only format)");
  check(M >= 1 && N >= 1 && K >= 1, "metal::plan_gemm_transposed: empty product (M ", M, ", N ", N, ", K ", K, ")");
  check(ldx >= K && ldy >= N, "metal::plan_gemm_transposed: row strides ", ldx, " (dx) and ", ldy,
        " (dy) are below K ", K, " and N ", N);
  Launch l;
  l.kind = KernelKind::backward;
  l.kernel = kernel_name<S>(l.kind);
  l.args.M = detail::u32(M, "M");
  l.args.N = detail::u32(N, "N");
  l.args.K = detail::u32(K, "K");
  l.args.ldx = detail::u32(ldx, "the row stride of dx");
  l.args.ldy = detail::u32(ldy, "the row stride of dy");
  l.args.row_bytes = detail::u32(row_bytes<S>(K), "the bytes of a weight row");
  l.args.flags = accumulate ? kernels::gemm_accumulate : 0u;
  const std::size_t pieces = (K + QLINEAR_METAL_PIECE - 1) / QLINEAR_METAL_PIECE;
  l.grid = {detail::ceil_div(pieces, QLINEAR_METAL_BACKWARD_THREADS, "backward threadgroups along K"),
            detail::ceil_div(M, QLINEAR_METAL_BACKWARD_MX, "backward threadgroups along M"), 1};
  l.threads = QLINEAR_METAL_BACKWARD_THREADS;
  return l;
}

/// Whether S's kernels read per-row parameters (the int8 schemes and NF4 double quantization).
template <Scheme S>
constexpr bool has_row_params() {
  return S::id == SchemeId::int8_per_tensor || S::id == SchemeId::int8_per_tensor_affine ||
         S::id == SchemeId::int8_per_channel || S::id == SchemeId::int8_per_channel_affine ||
         S::id == SchemeId::nf4_double_quant;
}

/// The per-row parameter pairs S's kernels read, two floats per row (a float2 on the GPU):
/// int8 (scale, zero point), per-tensor ones repeated on every row; NF4DoubleQuant (offset, row
/// scale). Empty for schemes whose rows carry their own scales.
/// Usage: `std::vector<float> rp = metal::row_params(tensor);`
template <Scheme S>
std::vector<float> row_params(const QuantizedTensor<S>& t) {
  std::vector<float> rp;
  if constexpr (has_row_params<S>()) {
    rp.resize(2 * t.rows());
    for (std::size_t r = 0; r < t.rows(); ++r) {
      if constexpr (S::id == SchemeId::nf4_double_quant) {
        rp[2 * r] = t.params().offset;
        rp[2 * r + 1] = S::scale_of(t.params(), r);
      } else {
        rp[2 * r] = S::scale_of(t.params(), r);
        rp[2 * r + 1] = float(S::zero_point_of(t.params(), r));
      }
    }
  }
  return rp;
}

}  // namespace qlinear::metal
