#pragma once
// The seam between cpu::Backend's drivers (threads, tiling, scratch, the epilogue) and its
// per-ISA kernels. A kernel is a static member of a specialisation of one of the primary
// templates below, for one (scheme, ISA) pair, in that ISA's namespace and header, compiled
// with a target attribute; only pointers and scalars cross this seam (never vector types, never
// Eigen), so one TU's flags can't change another's kernels.
//
// Kernel families:
//  - DotTile<S, I>::tile(const DotTileArgs&): the integer path. Weight rows of scheme S against
//    activation rows quantized (by QuantizeActivations<A, I>) into S's activation format
//    A = activation_scheme_t<S> (GGUF's Q8_0 / Q8_1 / Q8_K pairing; qlinear's own schemes pick
//    their own). Its scalar specialisation is the oracle: the scheme's own vec_dot.
//  - DequantizeRows<S, I>::rows(...): weight rows to f32, for the exact path (f32
//    activations). Its scalar specialisation is S::dequantize_row.
//  - F32Tile<I>::tile(const F32TileArgs&): y tile = x · panelᵀ over a dequantized f32 panel.
//  - ExactDotTile<S, I>::tile(const ExactDotArgs&) (optional): the exact path for few activation
//    rows straight from S's rows, decoding weights in registers (no f32 panel in memory).
//  - Bf16Tile<I> (optional, AMX-BF16): the bf16 path of the schemes cpu::Backend computes in
//    bf16 in the quantized mode (kBf16Products<S>): activations rounded to bf16 once per call,
//    dequantized weight panels rounded to bf16, products summed in f32.
//  - PackedLayout<S, I>: weights repacked at upload into the layout level I's microkernels
//    want (AMX tiles), with the integer-path tile that reads it; see its comment for the rule
//    that lets every other level (and the exact path) still run on such weights.
// The selection (select_*) takes the best ISA at or below the context's ceiling that has a
// specialisation, and reports which one it took.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <string>

#include "qlinear/backends/cpu/isa.hpp"
#include "qlinear/schemes/scheme.hpp"

namespace qlinear::cpu {

/// One tile of the integer path: y(i, j) for activation rows i in [m0, m1) and weight rows
/// j in [n0, n1):  y(i, j) = (accumulate ? y(i, j) : 0) + row_scale[i] · dot(w_j, a_i) + bias[j].
/// `row_scale` is never null (the activation quantizer's per-row power-of-two pre-scale, undone
/// here); `bias` may be null. Weight row j starts at w + j·w_stride; activation row i at
/// a + i·a_stride; y(i, j) is y[i·ldy + j].
struct DotTileArgs {
  const std::uint8_t* w = nullptr;
  std::size_t w_stride = 0;
  const std::uint8_t* a = nullptr;
  std::size_t a_stride = 0;
  std::size_t k = 0;
  std::size_t m0 = 0, m1 = 0, n0 = 0, n1 = 0;
  float* y = nullptr;
  std::size_t ldy = 0;
  const float* row_scale = nullptr;
  const float* bias = nullptr;
  bool accumulate = false;
  /// Tensor-wide parameters of the weights (per-channel scales ...), or null: `const S::TensorParams*`.
  const void* params = nullptr;
  /// Per-thread workspace of scratch_bytes bytes (64-byte aligned), for kernels that ask for one
  /// (PackedLayout::scratch_bytes); null otherwise.
  std::uint8_t* scratch = nullptr;
  std::size_t scratch_bytes = 0;
};

/// One tile of the exact path: y(i, j) for i in [m0, m1), j in [0, n) from f32 activations and
/// an f32 panel of n dequantized weight rows (row j at panel + j·k):
/// y(i, j) = (accumulate ? y(i, j) : 0) + Σ_l x(i, l) · panel(j, l) + bias[j].
/// x(i, l) is x[i·ldx + l]; y(i, j) is y[i·ldy + j] (y and bias already offset to the panel's first row).
struct F32TileArgs {
  const float* x = nullptr;
  std::size_t ldx = 0;
  const float* panel = nullptr;
  std::size_t k = 0;
  std::size_t m0 = 0, m1 = 0, n = 0;
  float* y = nullptr;
  std::size_t ldy = 0;
  const float* bias = nullptr;
  bool accumulate = false;
};

/// One tile of the exact path read straight from the weights' rows (decoded in registers, never
/// written out): y(i, j) for i in [m0, m1), j in [n0, n1):
/// y(i, j) = (accumulate ? y(i, j) : 0) + Σ_l x(i, l) · ŵ(j, l) + bias[j], with ŵ = S's dequantize_row.
/// Weight row j at w + j·w_stride; x(i, l) is x[i·ldx + l]; y(i, j) is y[i·ldy + j].
/// For small M only: the driver uses it for at most kExactDotMaxRows activation rows.
struct ExactDotArgs {
  const std::uint8_t* w = nullptr;
  std::size_t w_stride = 0;
  const float* x = nullptr;
  std::size_t ldx = 0;
  std::size_t k = 0;
  std::size_t m0 = 0, m1 = 0, n0 = 0, n1 = 0;
  float* y = nullptr;
  std::size_t ldy = 0;
  const float* bias = nullptr;
  bool accumulate = false;
  const void* params = nullptr;
};
/// Activation rows up to which the exact path uses an ExactDotTile (where one exists).
inline constexpr std::size_t kExactDotMaxRows = 16;

/// Quantizes activation rows [m0, m1) of x (row i at x + i·ldx, k values) into scheme A's row
/// format at out + i·out_stride. Each row is first multiplied by a power of two 2^e chosen so
/// that its largest magnitude lies in [2^9, 2^10): exact, and it keeps GGUF's f16 block scales
/// (and Q8_1's f16 sums) far from overflow and underflow whatever the activations' magnitude.
/// row_scale[i] = 2^-e. A row holding NaN or ±Inf, or whose largest magnitude is below
/// 2^-100 (where 2^e would overflow and f32 results are subnormal anyway), is not quantized:
/// exact[i] = 1, and the driver computes that row on the exact path, so the output carries IEEE
/// semantics (NaN and Inf propagate) and tiny rows keep their precision.
struct QuantizeActivationArgs {
  const float* x = nullptr;
  std::size_t ldx = 0;
  std::size_t k = 0;
  std::size_t m0 = 0, m1 = 0;
  std::uint8_t* out = nullptr;
  std::size_t out_stride = 0;
  float* row_scale = nullptr;
  std::uint8_t* exact = nullptr;
  /// Scratch for k floats (the scaled row).
  float* scratch = nullptr;
};

/// The bf16 path's activation layout: groups of 32 rows, each group chunk after chunk of 32
/// values of K, a chunk's 32 rows × 32 values contiguous (row r of the group at r·32), so that
/// every AMX A tile (16 rows × 32 values, rows 16-31 of the group at +512) is one contiguous
/// kilobyte: tile loads at a row stride of K·2 bytes (8 KiB for K = 4096, one L1 set) ran 25%
/// slower. kp: K padded to a multiple of 32.
inline constexpr std::size_t kBf16GroupRows = 32;
inline constexpr std::size_t bf16_chunk_values() { return kBf16GroupRows * 32; }
inline constexpr std::size_t bf16_group_values(std::size_t kp) { return kBf16GroupRows * kp; }
inline constexpr std::size_t bf16_act_index(std::size_t i, std::size_t l, std::size_t kp) {
  return i / kBf16GroupRows * bf16_group_values(kp) + l / 32 * bf16_chunk_values() + i % kBf16GroupRows * 32 + l % 32;
}

/// The bf16 path's unit of weight decoding: whole blocks of S and whole chunks of 32 values,
/// about 256 values (32 rows of it in f32 stay in L1).
template <class S>
constexpr std::size_t bf16_slice_values() {
  const std::size_t unit = std::lcm<std::size_t>(S::block_elems, 32);
  return std::max<std::size_t>(1, 256 / unit) * unit;
}
/// The bf16 path's K block for mp activation rows: the activations' slice (mp rows × the block,
/// bf16) within 1 MiB, so that it stays in L2 while a task's panels pass over it; a multiple of
/// the slice, all of K where that fits.
inline std::size_t bf16_k_block(std::size_t mp, std::size_t k, std::size_t slice) {
  constexpr std::size_t kActivationBlockBytes = std::size_t(1) << 20;
  const std::size_t fit = kActivationBlockBytes / (mp * sizeof(std::uint16_t)) / slice * slice;
  return fit >= k ? k : std::max(fit, slice);
}

/// Rounds activation rows [m0, m1) of x (k values each, row i at x + i·ldx) to bf16 into out,
/// in the layout of bf16_act_index (values from k to kp are 0). Each row is first multiplied by
/// 2^e, its largest magnitude then in [1, 2) (e = 0 for a row holding NaN or ±Inf, which bf16
/// carries); row_scale[i] = 2^-e. Rows from m on (up to m1) are padding of the last group: all
/// zeros, no scale.
struct Bf16ConvertArgs {
  const float* x = nullptr;
  std::size_t ldx = 0;
  std::size_t k = 0, kp = 0;
  std::size_t m = 0, m0 = 0, m1 = 0;
  std::uint16_t* out = nullptr;
  float* row_scale = nullptr;
};

/// One tile of the bf16 path: the products of activation rows i in [m0, m1) with the n ≤ 32
/// weight rows of one packed panel (Bf16Tile::pack) over K chunks [c0, c1) (32 values each):
/// s(i, j) = (first ? 0 : acc(i, j)) + Σ_{l in the chunks} a(i, l) · panel(j, l). With `last`,
/// y(i, j) = (accumulate ? y(i, j) : 0) + row_scale[i] · s(i, j) + bias[j]; otherwise s goes
/// back to acc. a: the converted activations (bf16_act_index, padded K kp), rows up to m1
/// rounded up to 32 present. panel: chunk c0 of the panel (chunk c at panel + (c − c0)·1024).
/// acc(i, j) is acc[i·32 + j] (f32, unused when first and last). y(i, j) is y[i·ldy + j] (y and
/// bias already offset to the panel's first row). m0 is a multiple of 32.
struct Bf16TileArgs {
  const std::uint16_t* a = nullptr;
  std::size_t kp = 0;
  const std::uint16_t* panel = nullptr;
  std::size_t c0 = 0, c1 = 0;
  std::size_t m0 = 0, m1 = 0, n = 0;
  float* acc = nullptr;
  bool first = true, last = true;
  float* y = nullptr;
  std::size_t ldy = 0;
  const float* row_scale = nullptr;
  const float* bias = nullptr;
  bool accumulate = false;
};
/// Weight rows per packed bf16 panel, and the panel's size in bf16 values for kp values of K.
inline constexpr std::size_t kBf16PanelRows = 32;
inline constexpr std::size_t bf16_panel_values(std::size_t kp) { return kBf16PanelRows * kp; }

/// Primary templates: a (scheme, ISA) pair without a kernel has no member, and selection skips it.
template <class S, Isa I>
struct DotTile {};
template <class S, Isa I>
struct DequantizeRows {};
template <Isa I>
struct F32Tile {};
template <class S, Isa I>
struct ExactDotTile {};
template <class A, Isa I>
struct QuantizeActivations {};
template <Isa I>
struct Bf16Tile {};

/// A weight layout repacked at upload for level I's kernels, at no more memory than the
/// scheme's own rows. A specialisation provides:
///   static constexpr std::size_t row_group;     rows per panel (the layout's unit along N)
///   static bool applies(std::size_t n, std::size_t k);  whether an n × k tensor packs
///   static std::size_t bytes(std::size_t n, std::size_t k);  its packed size (≤ n · row_bytes)
///   static void pack(const std::uint8_t* rows, std::size_t row_bytes, std::size_t n, std::size_t k,
///                    std::uint8_t* out);
///   static void unpack(const std::uint8_t* packed, std::size_t n, std::size_t k, std::size_t r0,
///                      std::size_t count, std::uint8_t* rows);  canonical bytes of rows
///                      [r0, r0 + count), both multiples of row_group, row_bytes apart
///   static void tile(const DotTileArgs&);  the integer path on packed bytes: `w` is the packed
///                      base (w_stride unused), n0 and n1 are multiples of row_group.
///   static constexpr std::size_t max_rows;  (optional, default 32) activation rows per tile
///                      call: kernels that expand weights into tiles reuse them over all of them.
///   static std::size_t scratch_bytes(std::size_t rows, std::size_t k);  (optional) the
///                      workspace `tile` needs for `rows` activation rows (DotTileArgs::scratch).
///   static constexpr auto exact_tile;  (optional) the exact path (f32 activations) on the
///                      packed bytes (ExactDotArgs, `w` the packed base, n0 and n1 multiples of
///                      row_group, params unused), for up to exact_max_rows activation rows
///                      (optional, default no limit; more go through restored rows).
/// The rule (cpu::Backend): upload packs for the best level at or below its ceiling that has a
/// layout for S and whose `applies` holds, and keeps only the packed bytes. A context whose
/// ceiling is at or above that level runs `tile`; a lower ceiling (a user or test forcing one),
/// the exact path (but for an `exact_tile` within its rows) and gemm_transposed run their own
/// canonical kernels on rows `unpack` restores into per-thread scratch, one panel at a time;
/// download restores the whole canonical tensor.
/// So any ceiling works on packed weights; only the packed level is fast on them.
template <class S, Isa I>
struct PackedLayout {};

/// The activation format scheme S's integer path uses (GGUF's pairing where S has one).
template <class S>
struct ActivationFormat {};
template <class S>
  requires requires { typename S::ActivationScheme; }
struct ActivationFormat<S> {
  using type = typename S::ActivationScheme;
};
template <class S>
using activation_scheme_t = typename ActivationFormat<S>::type;

/// Whether scheme S has an integer path at all (an activation format and a scalar dot tile).
template <class S>
concept HasIntegerPath = requires { typename ActivationFormat<S>::type; } && requires(const DotTileArgs& a) {
  DotTile<S, Isa::scalar>::tile(a);
};

/// A kernel chosen for a ceiling: the function and the level it was written for.
template <class Fn>
struct Selected {
  Fn fn = nullptr;
  Isa isa = Isa::scalar;
};

namespace detail {
// Walks the build's ladder from the ceiling down; `pick(level)` returns a non-null function
// when that level has a kernel. Every ladder starts with scalar, which every family has.
template <class Fn, class Pick>
Selected<Fn> select_down(Isa ceiling, Pick&& pick) {
  const auto ladder = isa_ladder();
  for (std::size_t i = ladder.size(); i-- > 0;) {
    const Isa level = ladder[i];
    if (level > ceiling) continue;
    if (Fn f = pick(level)) return {f, level};
  }
  return {};
}

template <template <Isa> class Family, class Fn, class Get>
Fn pick_level(Isa level, Get&& get) {
  switch (level) {
    case Isa::scalar: return get(Family<Isa::scalar>{});
    case Isa::avx2: return get(Family<Isa::avx2>{});
    case Isa::avx512: return get(Family<Isa::avx512>{});
    case Isa::avx512_vnni: return get(Family<Isa::avx512_vnni>{});
    case Isa::amx: return get(Family<Isa::amx>{});
    case Isa::neon: return get(Family<Isa::neon>{});
    case Isa::neon_dotprod: return get(Family<Isa::neon_dotprod>{});
    case Isa::neon_i8mm: return get(Family<Isa::neon_i8mm>{});
    default: return nullptr;
  }
}

template <class S>
struct DotTileOf {
  template <Isa I>
  using at = DotTile<S, I>;
};
template <class S>
struct ExactDotTileOf {
  template <Isa I>
  using at = ExactDotTile<S, I>;
};
template <class S>
struct DequantizeRowsOf {
  template <Isa I>
  using at = DequantizeRows<S, I>;
};
template <class A>
struct QuantizeActivationsOf {
  template <Isa I>
  using at = QuantizeActivations<A, I>;
};
}  // namespace detail

using DotTileFn = void (*)(const DotTileArgs&);
using F32TileFn = void (*)(const F32TileArgs&);
using ExactDotTileFn = void (*)(const ExactDotArgs&);
using DequantizeRowsFn = void (*)(const std::uint8_t* rows, std::size_t stride, std::size_t count, std::size_t k,
                                  float* out, const void* params, std::size_t first_row);
using QuantizeActivationsFn = void (*)(const QuantizeActivationArgs&);

/// A packed layout's entry points, as selected for a ceiling (all null when S has none there).
struct PackedKernels {
  Isa isa = Isa::scalar;
  std::size_t row_group = 0;
  bool (*applies)(std::size_t n, std::size_t k) = nullptr;
  std::size_t (*bytes)(std::size_t n, std::size_t k) = nullptr;
  void (*pack)(const std::uint8_t* rows, std::size_t row_bytes, std::size_t n, std::size_t k, std::uint8_t* out) = nullptr;
  void (*unpack)(const std::uint8_t* packed, std::size_t n, std::size_t k, std::size_t r0, std::size_t count,
                 std::uint8_t* rows) = nullptr;
  DotTileFn tile = nullptr;
  std::size_t max_rows = 32;
  std::size_t (*scratch_bytes)(std::size_t rows, std::size_t k) = nullptr;
  /// Optional: the bf16 path's packed panel (Bf16Kernels::pack's layout, chunks of 32 values)
  /// of weight rows [r0, r0 + rows) (r0 a multiple of kBf16PanelRows, rows ≤ it and a multiple of
  /// row_group) over values [l0, l0 + len) (whole blocks), decoded straight from the packed
  /// bytes: each weight as the scheme's dequantization gives it, rounded to bf16 as pack rounds.
  /// Runs only where the bf16 path's kernels do (AMX-BF16).
  void (*bf16_panel)(const std::uint8_t* packed, std::size_t n, std::size_t k, std::size_t r0, std::size_t rows,
                     std::size_t l0, std::size_t len, std::uint16_t* out) = nullptr;
  /// Optional: the exact path's tile (f32 activations, up to exact_max_rows rows), read straight
  /// from the packed bytes (ExactDotArgs::w the packed base, n0 and n1 multiples of row_group).
  ExactDotTileFn exact_tile = nullptr;
  std::size_t exact_max_rows = std::numeric_limits<std::size_t>::max();
  explicit operator bool() const { return tile != nullptr; }
};

/// The f32 tile kernel (exact path) at or below `ceiling`. (A template only so that, like the
/// selectors below, it can be declared alone: its definition sees every level's F32Tile, and an
/// inline function defined where they are hidden would be another function under the same name.)
template <class = void>
Selected<F32TileFn> select_f32_tile(Isa ceiling);

/// The bf16 path's kernels, as selected for a ceiling (all null where no level at or below it
/// has them and the processor runs them).
struct Bf16Kernels {
  Isa isa = Isa::scalar;
  void (*convert)(const Bf16ConvertArgs&) = nullptr;
  /// Rounds `rows` ≤ kBf16PanelRows f32 rows of k values (row j at panel + j·k) to bf16 into
  /// out's bf16_panel_values(kp) values (rows past `rows` and values past k are 0).
  void (*pack)(const float* panel, std::size_t rows, std::size_t k, std::uint16_t* out) = nullptr;
  void (*tile)(const Bf16TileArgs&) = nullptr;
  explicit operator bool() const { return tile != nullptr; }
};
/// The bf16 path at or below `ceiling` (a template for the reason select_f32_tile is).
template <class = void>
Bf16Kernels select_bf16_kernels(Isa ceiling);

/// The integer-path tile kernel for S at or below `ceiling`.
template <class S>
Selected<DotTileFn> select_dot_tile(Isa ceiling);
/// The exact-path tile on S's own rows at or below `ceiling` (null fn when no level has one).
template <class S>
Selected<ExactDotTileFn> select_exact_dot_tile(Isa ceiling);
/// The dequantizer of S's rows (exact path) at or below `ceiling`.
template <class S>
Selected<DequantizeRowsFn> select_dequantize_rows(Isa ceiling);
/// The packed layout of S for the best level at or below `ceiling` that has one and whose
/// `applies(n, k)` holds (empty when none does).
template <class S>
PackedKernels select_packed_layout(Isa ceiling, std::size_t n, std::size_t k);
/// The activation quantizer into format A at or below `ceiling`.
template <class A>
Selected<QuantizeActivationsFn> select_quantize_activations(Isa ceiling);

// The selectors' definitions: what instantiates every SIMD kernel of a scheme. A build of
// qlinear's own tests, examples and tool may define QLINEAR_CPU_PREBUILT_KERNELS in the
// translation units that reach the kernels only through these selectors: they then see the
// declarations above only, and link one copy of the kernels, explicitly instantiated once for
// every scheme (prebuilt/, the CMake option QLINEAR_PREBUILT_CPU_KERNELS). Instantiating them
// in every such unit is most of the test build's time. Users of the header-only library never
// define it.
#if !defined(QLINEAR_CPU_PREBUILT_KERNELS)
template <class>
Selected<F32TileFn> select_f32_tile(Isa ceiling) {
  return detail::select_down<F32TileFn>(ceiling, [](Isa level) {
    return detail::pick_level<F32Tile, F32TileFn>(level, []<class K>(K) -> F32TileFn {
      if constexpr (requires(const F32TileArgs& a) { K::tile(a); })
        return &K::tile;
      else
        return nullptr;
    });
  });
}

template <class>
Bf16Kernels select_bf16_kernels(Isa ceiling) {
  Bf16Kernels found;
  const auto ladder = isa_ladder();
  for (std::size_t i = ladder.size(); i-- > 0 && !found;) {
    const Isa level = ladder[i];
    if (level > ceiling) continue;
    detail::pick_level<Bf16Tile, const void*>(level, [&]<class K>(K) -> const void* {
      if constexpr (requires(const Bf16TileArgs& a) { K::tile(a); })
        if (K::available()) found = Bf16Kernels{level, &K::convert, &K::pack, &K::tile};
      return nullptr;
    });
  }
  return found;
}

template <class S>
Selected<DotTileFn> select_dot_tile(Isa ceiling) {
  return detail::select_down<DotTileFn>(ceiling, [](Isa level) {
    return detail::pick_level<detail::DotTileOf<S>::template at, DotTileFn>(level, []<class K>(K) -> DotTileFn {
      if constexpr (requires(const DotTileArgs& a) { K::tile(a); })
        return &K::tile;
      else
        return nullptr;
    });
  });
}

template <class S>
Selected<ExactDotTileFn> select_exact_dot_tile(Isa ceiling) {
  const auto ladder = isa_ladder();
  for (std::size_t i = ladder.size(); i-- > 0;) {
    const Isa level = ladder[i];
    if (level > ceiling) continue;
    const ExactDotTileFn f = detail::pick_level<detail::ExactDotTileOf<S>::template at, ExactDotTileFn>(
        level, []<class K>(K) -> ExactDotTileFn {
          if constexpr (requires(const ExactDotArgs& a) { K::tile(a); })
            return &K::tile;
          else
            return nullptr;
        });
    if (f) return {f, level};
  }
  return {};
}

template <class S>
Selected<DequantizeRowsFn> select_dequantize_rows(Isa ceiling) {
  return detail::select_down<DequantizeRowsFn>(ceiling, [](Isa level) {
    return detail::pick_level<detail::DequantizeRowsOf<S>::template at, DequantizeRowsFn>(
        level, []<class K>(K) -> DequantizeRowsFn {
          if constexpr (requires { &K::rows; })
            return &K::rows;
          else
            return nullptr;
        });
  });
}

template <class S>
PackedKernels select_packed_layout(Isa ceiling, std::size_t n, std::size_t k) {
  PackedKernels found;
  const auto ladder = isa_ladder();
  for (std::size_t i = ladder.size(); i-- > 0 && !found;) {
    const Isa level = ladder[i];
    if (level > ceiling) continue;
    auto take = [&]<Isa L>() {
      using P = PackedLayout<S, L>;
      if constexpr (requires(const DotTileArgs& a) { P::tile(a); }) {
        if (!P::applies(n, k)) return;
        found = PackedKernels{L, P::row_group, &P::applies, &P::bytes, &P::pack, &P::unpack, &P::tile};
        if constexpr (requires { P::max_rows; }) found.max_rows = P::max_rows;
        if constexpr (requires { P::scratch_bytes(n, k); }) found.scratch_bytes = &P::scratch_bytes;
        if constexpr (requires { P::bf16_panel; }) found.bf16_panel = P::bf16_panel;
        if constexpr (requires { P::exact_tile; }) found.exact_tile = P::exact_tile;
        if constexpr (requires { P::exact_max_rows; }) found.exact_max_rows = P::exact_max_rows;
      }
    };
    switch (level) {
      case Isa::avx2: take.template operator()<Isa::avx2>(); break;
      case Isa::avx512: take.template operator()<Isa::avx512>(); break;
      case Isa::avx512_vnni: take.template operator()<Isa::avx512_vnni>(); break;
      case Isa::amx: take.template operator()<Isa::amx>(); break;
      case Isa::neon: take.template operator()<Isa::neon>(); break;
      case Isa::neon_dotprod: take.template operator()<Isa::neon_dotprod>(); break;
      case Isa::neon_i8mm: take.template operator()<Isa::neon_i8mm>(); break;
      default: break;
    }
  }
  return found;
}

template <class A>
Selected<QuantizeActivationsFn> select_quantize_activations(Isa ceiling) {
  return detail::select_down<QuantizeActivationsFn>(ceiling, [](Isa level) {
    return detail::pick_level<detail::QuantizeActivationsOf<A>::template at, QuantizeActivationsFn>(
        level, []<class K>(K) -> QuantizeActivationsFn {
          if constexpr (requires(const QuantizeActivationArgs& a) { K::rows(a); })
            return &K::rows;
          else
            return nullptr;
        });
  });
}

#endif  // !QLINEAR_CPU_PREBUILT_KERNELS

}  // namespace qlinear::cpu
