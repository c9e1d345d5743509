#pragma once
// cpu::Backend: the fast CPU backend. Run-time dispatched kernels (scalar, AVX2, AVX-512,
// AVX-512 VNNI, AMX; NEON, dotprod, i8mm), a thread pool per context, activations quantized
// once per call (or kept exact), every scheme.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "qlinear/backends/backend.hpp"
#include "qlinear/backends/cpu/context.hpp"
#include "qlinear/backends/cpu/kernels.hpp"
#include "qlinear/backends/cpu/packed_weights.hpp"
#include "qlinear/schemes/quantized_tensor.hpp"

namespace qlinear::cpu {

/// The CPU backend. Weights stay in their scheme's own bytes (GGUF blocks are used in place,
/// zero-copy from a mapped file) unless the processor's best level has a PackedLayout for the
/// scheme and shape (AMX tiles for int8 on Sapphire Rapids): then upload repacks them once and
/// keeps only the packed bytes (see PackedLayout for how every level still runs on them).
/// Forward picks, per call, the best kernel at or below the context's ISA ceiling, splits the
/// output over the context's threads, and, in the default ActivationMode::quantized, quantizes x
/// once into the scheme's int8 activation format (large batches in bf16 where the processor has
/// AMX-BF16 and that measured faster: see ActivationMode).
/// Usage:
///   cpu::Context ctx(2);                                   // 2 threads, best ISA
///   auto layer = QuantizedLinear<cpu::Backend, Q4_K>::from_float(w, n, k);
///   layer.forward(ctx, x_view, y_view);
struct Backend {
  static constexpr bool host_memory = true;
  using Context = cpu::Context;

  /// The weights as the backend keeps them: the canonical rows (`tensor`), or, when upload
  /// repacked them, only the packed layout (`packed`; `tensor` is then empty).
  template <Scheme S>
  struct Weights {
    QuantizedTensor<S> tensor;
    PackedWeights<S> packed;
    std::size_t rows() const { return packed ? packed.rows : tensor.rows(); }
    std::size_t cols() const { return packed ? packed.cols : tensor.cols(); }
    std::size_t memory_bytes() const { return packed ? packed.memory_bytes() : tensor.memory_bytes(); }
    const typename S::TensorParams& params() const { return packed ? packed.params : tensor.params(); }
  };

  using Buffer = std::vector<float>;

  /// This thread's default context: all hardware threads, best ISA (or QLINEAR_ISA).
  static Context& default_context() {
    thread_local Context ctx;
    return ctx;
  }

  /// Keeps t, repacked for the processor's best level (or QLINEAR_ISA's) when that level has a
  /// PackedLayout for S and t's shape.
  template <Scheme S>
  static Weights<S> upload(QuantizedTensor<S> t) {
    const char* env = std::getenv("QLINEAR_ISA");
    return upload(std::move(t), env && *env ? isa_from_name(env) : Isa::best);
  }
  /// Keeps t, repacked for the best level at or below `layout_ceiling` that has a PackedLayout
  /// for S and t's shape (`Isa::avx512_vnni` and below keep today's layouts canonical, e.g. to
  /// read a memory-mapped file in place).
  template <Scheme S>
  static Weights<S> upload(QuantizedTensor<S> t, Isa layout_ceiling) {
    Weights<S> w;
    w.packed = PackedWeights<S>::pack(t, resolve_isa(layout_ceiling));
    if (!w.packed) w.tensor = std::move(t);
    return w;
  }
  /// The canonical tensor (restored from the packed layout when there is one).
  template <Scheme S>
  static QuantizedTensor<S> download(const Weights<S>& w) {
    return w.packed ? w.packed.restore() : w.tensor;
  }
  static Buffer upload_floats(std::span<const float> v) { return Buffer(v.begin(), v.end()); }
  static const float* data(const Buffer& b) { return b.data(); }
  static void synchronize(Context&) {}

  /// y[M×N] = x[M×K]·Wᵀ (+ bias, + y with accumulate).
  template <Scheme S>
  static void gemm(Context& ctx, const Weights<S>& w, ConstMatrixView<float> x, MatrixView<float> y,
                   Epilogue e = {}) {
    qlinear::detail::check_gemm_shapes("cpu::Backend::gemm", w.rows(), w.cols(), x, y);
    if (x.rows == 0) return;
    if (const std::size_t from = bf16_from_rows<S>(ctx.mode()); from && x.rows >= from)
      if (const auto bf16 = select_bf16_kernels(ctx.isa())) return gemm_bf16(ctx, w, x, y, e, bf16);
    if constexpr (HasIntegerPath<S>) {
      if (ctx.mode() != ActivationMode::exact) return gemm_quantized(ctx, w, x, y, e);
    }
    gemm_exact(ctx, w, x, y, e);
  }

  /// dx[M×K] (+)= dy[M×N]·W, over panels of dequantized weight rows (never all of W at once).
  template <Scheme S>
  static void gemm_transposed(Context& ctx, const Weights<S>& w, ConstMatrixView<float> dy, MatrixView<float> dx,
                              bool accumulate = false) {
    const std::size_t n = w.rows(), k = w.cols(), m = dy.rows;
    qlinear::detail::check_gemm_transposed_shapes("cpu::Backend::gemm_transposed", n, k, dy, dx);
    if (m == 0) return;
    const auto dequantize = select_dequantize_rows<S>(ctx.isa()).fn;
    const std::size_t panel_rows = 16;
    const std::size_t panels = (n + panel_rows - 1) / panel_rows;
    const unsigned threads = unsigned(std::min<std::size_t>(ctx.threads(), panels));
    // Each thread accumulates its panels into its own m × k partial sum; the caller adds them.
    std::vector<float*> partial(threads);
    const std::size_t rb = row_bytes<S>(k);
    for (unsigned t = 0; t < threads; ++t) {
      partial[t] = ctx.thread_scratch_as<float>(t, m * k + panel_rows * k + (panel_rows * rb + 3) / 4);
      std::fill(partial[t], partial[t] + m * k, 0.0f);
    }
    const auto& params = w.params();
    ctx.pool().parallel_for(threads, [&](std::size_t part, unsigned) {
      float* acc = partial[part];
      float* panel = acc + m * k;
      auto* restored = reinterpret_cast<std::uint8_t*>(panel + panel_rows * k);
      for (std::size_t p = part; p < panels; p += threads) {
        const std::size_t j0 = p * panel_rows, rows = std::min(panel_rows, n - j0);
        dequantize(canonical_rows(w, j0, rows, restored), rb, rows, k, panel, &params, j0);
        for (std::size_t i = 0; i < m; ++i) {
          float* a = acc + i * k;
          for (std::size_t j = 0; j < rows; ++j) {
            const float g = dy(i, j0 + j);
            if (g == 0.0f) continue;
            const float* wr = panel + j * k;
            for (std::size_t l = 0; l < k; ++l) a[l] += g * wr[l];
          }
        }
      }
    });
    for (std::size_t i = 0; i < m; ++i) {
      float* out = dx.row(i);
      for (std::size_t l = 0; l < k; ++l) {
        float s = accumulate ? out[l] : 0.0f;
        for (unsigned t = 0; t < threads; ++t) s += partial[t][i * k + l];
        out[l] = s;
      }
    }
  }

  /// What runs for scheme S with this context and M rows: "<isa>:<kernel>" (for tests, logs
  /// and benchmark labels), e.g. "avx512_vnni:dot(q4_K,q8_K)" or "avx2:dequant+f32(nf4)".
  template <Scheme S>
  static std::string kernel_name(const Context& ctx, const Weights<S>& w) {
    if constexpr (HasIntegerPath<S>) {
      if (w.packed && ctx.mode() != ActivationMode::exact && ctx.isa() >= w.packed.kernels.isa) {
        using A = activation_scheme_t<S>;
        const auto quant = select_quantize_activations<A>(ctx.isa());
        return std::string(isa_name(w.packed.kernels.isa)) + ":packed(" + std::string(S::name) + "," +
               std::string(A::name) + ")+quantize@" + std::string(isa_name(quant.isa)) + large_batch_bf16<S>(ctx);
      }
    }
    std::string name = kernel_name<S>(ctx) + (w.packed ? "+unpack" : "");
    if (w.packed && w.packed.kernels.exact_tile && ctx.isa() >= w.packed.kernels.isa) {
      const std::string own = std::string(isa_name(w.packed.kernels.isa)) + ":packed_exact(" + std::string(S::name) + ")";
      const std::size_t most = w.packed.kernels.exact_max_rows;
      return most == std::numeric_limits<std::size_t>::max() ? own
                                                             : "M<=" + std::to_string(most) + ":" + own + "|" + name;
    }
    return name;
  }
  /// The same for canonical (not repacked) weights.
  template <Scheme S>
  static std::string kernel_name(const Context& ctx) {
    if constexpr (HasIntegerPath<S>) {
      if (ctx.mode() != ActivationMode::exact) {
        using A = activation_scheme_t<S>;
        const auto tile = select_dot_tile<S>(ctx.isa());
        const auto quant = select_quantize_activations<A>(ctx.isa());
        return std::string(isa_name(tile.isa)) + ":dot(" + std::string(S::name) + "," + std::string(A::name) +
               ")+quantize@" + std::string(isa_name(quant.isa)) + large_batch_bf16<S>(ctx);
      }
    }
    const auto deq = select_dequantize_rows<S>(ctx.isa());
    const auto f32 = select_f32_tile(ctx.isa());
    const auto direct = select_exact_dot_tile<S>(ctx.isa());
    std::string bf16;
    if constexpr (kBf16Products<S>) {
      if (const auto b = select_bf16_kernels(ctx.isa()); b && ctx.mode() != ActivationMode::exact)
        bf16 = "|M>" + std::to_string(kExactDotMaxRows) + ":" + std::string(isa_name(b.isa)) + ":bf16";
    }
    return std::string(isa_name(deq.isa)) + ":dequant(" + std::string(S::name) + ")+f32@" +
           std::string(isa_name(f32.isa)) +
           (direct.fn ? "|M<=" + std::to_string(kExactDotMaxRows) + ":" + std::string(isa_name(direct.isa)) + ":exact_dot" : "") +
           bf16;
  }

 private:
  // Weight rows per task: enough tasks to balance the threads (4 per thread), in multiples of
  // 16 rows, at most 256 (so a task's weights stay in the L2 cache while activations stream).
  static std::size_t rows_per_task(std::size_t n, unsigned threads) {
    std::size_t r = (n + 4 * threads - 1) / (4 * threads);
    r = (r + 15) / 16 * 16;
    return std::clamp<std::size_t>(r, 16, 256);
  }
  static constexpr std::size_t kActivationRowsPerTile = 32;
  // From how many rows gemm takes the bf16 path in this mode (where the processor has one; 0:
  // never): NF4's above kExactDotMaxRows outside the exact mode, the integer schemes' from
  // kBf16FromRows<S> in the quantized mode only.
  template <Scheme S>
  static std::size_t bf16_from_rows(ActivationMode mode) {
    if (mode == ActivationMode::exact) return 0;
    if constexpr (kBf16Products<S>) return kExactDotMaxRows + 1;
    return mode == ActivationMode::quantized ? kBf16FromRows<S> : 0;
  }
  // kernel_name's "|M>=<rows>:<isa>:bf16" where the quantized mode takes the bf16 path from
  // kBf16FromRows<S> rows on.
  template <Scheme S>
  static std::string large_batch_bf16(const Context& ctx) {
    if constexpr (kBf16FromRows<S> > 0) {
      if (const auto b = select_bf16_kernels(ctx.isa()); b && bf16_from_rows<S>(ctx.mode()))
        return "|M>=" + std::to_string(kBf16FromRows<S>) + ":" + std::string(isa_name(b.isa)) + ":bf16";
    }
    return {};
  }

  // The exact path hands f32 tiles more rows at once: they may transpose their panel once for all.
  static constexpr std::size_t kExactRowsPerTile = 256;

  // The canonical bytes of rows [j0, j0 + rows): in place, or restored from the packed layout
  // into `scratch` (room for `rows` canonical rows).
  template <Scheme S>
  static const std::uint8_t* canonical_rows(const Weights<S>& w, std::size_t j0, std::size_t rows,
                                            std::uint8_t* scratch) {
    if (!w.packed) return w.tensor.row(j0);
    w.packed.unpack_rows(j0, rows, scratch);
    return scratch;
  }

  template <Scheme S>
  static void gemm_quantized(Context& ctx, const Weights<S>& w, ConstMatrixView<float> x, MatrixView<float> y,
                             Epilogue e) {
    using A = activation_scheme_t<S>;
    const std::size_t m = x.rows, n = w.rows(), k = w.cols();
    const std::size_t a_stride = row_bytes<A>(k);
    std::uint8_t* acts = ctx.activation_scratch(m * a_stride);
    float* row_scale = ctx.row_scales(m);
    std::uint8_t* exact = ctx.row_flags(m);

    // 1. Quantize the activations once, split by rows.
    const auto quantize = select_quantize_activations<A>(ctx.isa()).fn;
    const std::size_t q_rows = std::max<std::size_t>(1, 8192 / std::max<std::size_t>(k / 64, 1));
    const std::size_t q_tasks = (m + q_rows - 1) / q_rows;
    ctx.pool().parallel_for(q_tasks, [&](std::size_t t, unsigned thread) {
      QuantizeActivationArgs q;
      q.x = x.data;
      q.ldx = x.stride;
      q.k = k;
      q.m0 = t * q_rows;
      q.m1 = std::min(m, q.m0 + q_rows);
      q.out = acts;
      q.out_stride = a_stride;
      q.row_scale = row_scale;
      q.exact = exact;
      q.scratch = ctx.thread_scratch_as<float>(thread, k);
      quantize(q);
    });

    // Rows the quantizer could not take (NaN/Inf, or tiny) are redone on the exact path below;
    // with `accumulate` that needs their y as it was.
    std::vector<std::size_t> exact_rows;
    for (std::size_t i = 0; i < m; ++i)
      if (exact[i]) exact_rows.push_back(i);
    std::vector<float> saved;
    if (e.accumulate)
      for (std::size_t i : exact_rows) saved.insert(saved.end(), y.row(i), y.row(i) + n);

    // 2. Integer dot products, tiles of weight rows × activation rows: on the packed layout with
    //    its own kernel, or on canonical rows (in place, or restored panel by panel when the
    //    context's ceiling is below the level the weights were packed for).
    const bool on_packed = w.packed && ctx.isa() >= w.packed.kernels.isa;
    const auto tile = on_packed ? w.packed.kernels.tile : select_dot_tile<S>(ctx.isa()).fn;
    const std::size_t rows_per_tile = on_packed ? w.packed.kernels.max_rows : kActivationRowsPerTile;
    const std::size_t nb = rows_per_task(n, ctx.threads());
    const std::size_t n_tasks = (n + nb - 1) / nb;
    const std::size_t rb = row_bytes<S>(k);
    DotTileArgs base;
    base.w = on_packed ? w.packed.data() : w.packed ? nullptr : w.tensor.bytes().data();
    base.w_stride = rb;
    base.a = acts;
    base.a_stride = a_stride;
    base.k = k;
    base.y = y.data;
    base.ldy = y.stride;
    base.row_scale = row_scale;
    base.bias = e.bias;
    base.accumulate = e.accumulate;
    base.params = &w.params();
    ctx.pool().parallel_for(n_tasks, [&](std::size_t t, unsigned thread) {
      DotTileArgs a = base;
      a.n0 = t * nb;
      a.n1 = std::min(n, a.n0 + nb);
      typename S::TensorParams sliced;
      if (on_packed && w.packed.kernels.scratch_bytes) {
        a.scratch_bytes = w.packed.kernels.scratch_bytes(std::min(m, rows_per_tile), k);
        a.scratch = ctx.thread_scratch(thread, a.scratch_bytes);
      }
      if (w.packed && !on_packed) {  // this task's rows, restored, as a tensor of their own
        std::uint8_t* rows = ctx.thread_scratch(thread, (a.n1 - a.n0) * rb);
        w.packed.unpack_rows(a.n0, a.n1 - a.n0, rows);
        a.w = rows;
        a.params = &params_of_rows<S>(w.params(), a.n0, a.n1 - a.n0, sliced);
        a.y = y.data + a.n0;
        a.bias = e.bias ? e.bias + a.n0 : nullptr;
        a.n1 -= a.n0;
        a.n0 = 0;
      }
      for (std::size_t i0 = 0; i0 < m; i0 += rows_per_tile) {
        a.m0 = i0;
        a.m1 = std::min(m, i0 + rows_per_tile);
        tile(a);
      }
    });

    // 3. The exact path for those rows overwrites what the integer path wrote there.
    for (std::size_t r = 0; r < exact_rows.size(); ++r) {
      const std::size_t i = exact_rows[r];
      if (e.accumulate) std::copy(saved.begin() + std::ptrdiff_t(r * n), saved.begin() + std::ptrdiff_t((r + 1) * n), y.row(i));
      gemm_exact(ctx, w, x.row_slice(i, 1), y.row_slice(i, 1), e);
    }
  }

  // The bf16 path (kBf16Products<S>): activations rounded once; then each task takes a few
  // panels of kBf16PanelRows weight rows and, one K block at a time, dequantizes, rounds and
  // packs a panel's slice of the block and runs it against every activation row. The K blocks
  // keep the activations' slice (all rows × the block) in L2 while the task's panels pass over
  // it: with all of K at once, 128 rows of K = 11008 (2.8 MB) came from L3 for every panel.
  template <Scheme S>
  static void gemm_bf16(Context& ctx, const Weights<S>& w, ConstMatrixView<float> x, MatrixView<float> y, Epilogue e,
                        const Bf16Kernels& bf16) {
    const std::size_t m = x.rows, n = w.rows(), k = w.cols();
    const std::size_t kp = (k + 31) / 32 * 32, mp = (m + kBf16GroupRows - 1) / kBf16GroupRows * kBf16GroupRows;
    auto* acts = reinterpret_cast<std::uint16_t*>(ctx.activation_scratch(mp * kp * sizeof(std::uint16_t)));
    float* row_scale = ctx.row_scales(m);
    ctx.pool().parallel_for(mp / 16, [&](std::size_t t, unsigned) {
      Bf16ConvertArgs c;
      c.x = x.data;
      c.ldx = x.stride;
      c.k = k;
      c.kp = kp;
      c.m = m;
      c.m0 = 16 * t;
      c.m1 = 16 * t + 16;
      c.out = acts;
      c.row_scale = row_scale;
      bf16.convert(c);
    });
    const auto dequantize = select_dequantize_rows<S>(ctx.isa()).fn;
    const auto& params = w.params();
    const std::size_t rb = row_bytes<S>(k);
    // A panel's block is dequantized and packed a slice at a time, so its f32 rows stay in L1.
    const std::size_t slice = bf16_slice_values<S>();
    const std::size_t kc = bf16_k_block(mp, k, slice), blocks = (k + kc - 1) / kc;
    const std::size_t panels = (n + kBf16PanelRows - 1) / kBf16PanelRows;
    // Packed layouts that decode straight to the bf16 panel skip the canonical rows.
    const auto decode = w.packed ? w.packed.kernels.bf16_panel : nullptr;
    // Panels per task: one where all of K is one block (nothing to share), else up to
    // kBf16TaskPanels while every thread still gets two tasks, and no more restored rows
    // (packed weights) than kBf16RestoreBytes.
    std::size_t per_task = 1;
    if (blocks > 1) {
      per_task = std::clamp<std::size_t>(panels / (2 * std::size_t(ctx.threads())), 1, kBf16TaskPanels);
      if (w.packed && !decode) per_task = std::clamp<std::size_t>(kBf16RestoreBytes / (kBf16PanelRows * rb), 1, per_task);
    }
    const std::size_t packed_values = bf16_panel_values((kc + 31) / 32 * 32), panel_floats = kBf16PanelRows * slice;
    const std::size_t acc_floats = blocks > 1 ? per_task * mp * kBf16PanelRows : 0;
    ctx.pool().parallel_for((panels + per_task - 1) / per_task, [&](std::size_t t, unsigned thread) {
      const std::size_t p0 = t * per_task, p1 = std::min(panels, p0 + per_task);
      const std::size_t r0 = p0 * kBf16PanelRows, task_rows = std::min(n, p1 * kBf16PanelRows) - r0;
      auto* packed = reinterpret_cast<std::uint16_t*>(
          ctx.thread_scratch(thread, (packed_values + 2 * panel_floats + 2 * acc_floats) * sizeof(std::uint16_t) +
                                         (w.packed && !decode ? task_rows * rb : 0)));
      float* panel = reinterpret_cast<float*>(packed + packed_values);
      float* acc = panel + panel_floats;
      auto* restored = reinterpret_cast<std::uint8_t*>(acc + acc_floats);
      const std::uint8_t* src = decode ? nullptr : canonical_rows(w, r0, task_rows, restored);
      for (std::size_t l0 = 0; l0 < k; l0 += kc) {
        const std::size_t len = std::min(kc, k - l0);
        for (std::size_t p = p0; p < p1; ++p) {
          const std::size_t j0 = p * kBf16PanelRows, rows = std::min(kBf16PanelRows, n - j0);
          if (decode) {
            decode(w.packed.data(), n, k, j0, rows, l0, len, packed);
          } else {
            const std::uint8_t* rows_src = src + (j0 - r0) * rb;
            for (std::size_t l = l0; l < l0 + len; l += slice) {
              const std::size_t part = std::min(slice, k - l);
              dequantize(rows_src + l / S::block_elems * S::block_bytes, rb, rows, part, panel, &params, j0);
              bf16.pack(panel, rows, part, packed + bf16_panel_values(l - l0));
            }
          }
          Bf16TileArgs a;
          a.a = acts;
          a.kp = kp;
          a.panel = packed;
          a.c0 = l0 / 32;
          a.c1 = (l0 + len + 31) / 32;
          a.m0 = 0;
          a.m1 = m;
          a.n = rows;
          a.acc = acc + (p - p0) * mp * kBf16PanelRows;
          a.first = l0 == 0;
          a.last = l0 + len == k;
          a.y = y.data + j0;
          a.ldy = y.stride;
          a.row_scale = row_scale;
          a.bias = e.bias ? e.bias + j0 : nullptr;
          a.accumulate = e.accumulate;
          bf16.tile(a);
        }
      }
    });
  }

  static constexpr std::size_t kBf16TaskPanels = 8;
  static constexpr std::size_t kBf16RestoreBytes = std::size_t(2) << 20;

  template <Scheme S>
  static void gemm_exact(Context& ctx, const Weights<S>& w, ConstMatrixView<float> x, MatrixView<float> y,
                         Epilogue e) {
    const std::size_t m = x.rows, n = w.rows(), k = w.cols();
    // A tile that decodes the weights in registers next to the f32 FMAs, over tasks of weight rows.
    auto in_registers = [&](ExactDotTileFn tile, const std::uint8_t* bytes, std::size_t stride, const void* params) {
      const std::size_t nb = rows_per_task(n, ctx.threads());
      ctx.pool().parallel_for((n + nb - 1) / nb, [&](std::size_t t, unsigned) {
        ExactDotArgs a;
        a.w = bytes;
        a.w_stride = stride;
        a.x = x.data;
        a.ldx = x.stride;
        a.k = k;
        a.m0 = 0;
        a.m1 = m;
        a.n0 = t * nb;
        a.n1 = std::min(n, a.n0 + nb);
        a.y = y.data;
        a.ldy = y.stride;
        a.bias = e.bias;
        a.accumulate = e.accumulate;
        a.params = params;
        tile(a);
      });
    };
    // Packed weights whose layout has an exact tile: straight from the packed bytes, up to the
    // rows where restored rows through f32 panels get faster (the layouts give the figures).
    if (const auto packed_exact = w.packed.kernels.exact_tile;
        packed_exact && m <= w.packed.kernels.exact_max_rows && ctx.isa() >= w.packed.kernels.isa)
      return in_registers(packed_exact, w.packed.data(), 0, nullptr);
    // Few rows on canonical weights.
    if (const auto direct = select_exact_dot_tile<S>(ctx.isa()).fn; direct && !w.packed && m <= kExactDotMaxRows)
      return in_registers(direct, w.tensor.bytes().data(), w.tensor.row_bytes(), &w.params());
    const auto dequantize = select_dequantize_rows<S>(ctx.isa()).fn;
    const auto tile = select_f32_tile(ctx.isa()).fn;
    const std::size_t panel_rows = 16;
    const std::size_t tasks = (n + panel_rows - 1) / panel_rows;
    const auto& params = w.params();
    const std::size_t rb = row_bytes<S>(k);
    ctx.pool().parallel_for(tasks, [&](std::size_t t, unsigned thread) {
      const std::size_t j0 = t * panel_rows, rows = std::min(panel_rows, n - j0);
      float* panel = ctx.thread_scratch_as<float>(thread, panel_rows * k + (panel_rows * rb + 3) / 4);
      auto* restored = reinterpret_cast<std::uint8_t*>(panel + panel_rows * k);
      dequantize(canonical_rows(w, j0, rows, restored), rb, rows, k, panel, &params, j0);
      F32TileArgs a;
      a.x = x.data;
      a.ldx = x.stride;
      a.panel = panel;
      a.k = k;
      a.n = rows;
      a.y = y.data + j0;
      a.ldy = y.stride;
      a.bias = e.bias ? e.bias + j0 : nullptr;
      a.accumulate = e.accumulate;
      for (std::size_t i0 = 0; i0 < m; i0 += kExactRowsPerTile) {
        a.m0 = i0;
        a.m1 = std::min(m, i0 + kExactRowsPerTile);
        tile(a);
      }
    });
  }
};

}  // namespace qlinear::cpu
