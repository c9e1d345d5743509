#pragma once
// cpu::Context: what one caller thread brings to cpu::Backend: a thread pool, the ISA ceiling,
// the activation mode, and scratch memory reused from call to call.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "qlinear/backends/cpu/isa.hpp"
#include "qlinear/core/aligned_buffer.hpp"
#include "qlinear/core/thread_pool.hpp"

namespace qlinear::cpu {

/// How cpu::Backend treats activations.
///  - quantized: each forward quantizes x once, per block, to int8 (the scheme's activation
///    format: Q8_0 / Q8_1 / Q8_K for the GGUF types, as ggml does) and runs integer dot
///    products. Fast; the error is that of the 8-bit activations (about 0.3% relative). Where
///    the processor has AMX-BF16, large batches of the GGUF schemes (from kBf16FromRows<S> rows,
///    17-256 by scheme, where it measured faster) and NF4 (± double quant, which has no integer
///    path) above kExactDotMaxRows rows are computed in bf16 instead: x and the dequantized
///    weights rounded to bf16, products summed in f32 (as bitsandbytes computes NF4, and as
///    llama.cpp's CUDA backend turns to f16 GEMMs for large batches; about 0.3% too).
///  - integer: as quantized, but the schemes with an integer path keep it at every batch size
///    (a row's result then does not depend on how many rows share the call, and matches ggml's
///    CPU arithmetic); NF4 as in quantized.
///  - exact: x stays f32 and weight panels are dequantized next to the f32 multiply-adds; the
///    result is the reference's up to f32 rounding. The other schemes with no integer path
///    (dense f32/f16/bf16) always run so.
enum class ActivationMode : std::uint8_t { quantized, integer, exact };

/// Per-caller state of cpu::Backend. One context is used by one thread at a time; layers are
/// shared, contexts are not. Threads: 0 = one per hardware thread. ISA: a ceiling (Isa::best =
/// the processor's best; the environment variable QLINEAR_ISA, e.g. `QLINEAR_ISA=avx2`, then
/// sets the default); a level the processor lacks is an Error.
/// Usage: `cpu::Context ctx(2);  layer.forward(ctx, x, y);`
class Context {
 public:
  explicit Context(unsigned threads = 0, Isa isa = Isa::best, ActivationMode mode = ActivationMode::quantized)
      : isa_(resolve_isa(isa == Isa::best ? isa_from_environment() : isa)), mode_(mode), pool_(threads) {
    scratch_.resize(pool_.size());
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  unsigned threads() const { return pool_.size(); }
  /// The ISA ceiling kernels are chosen under.
  Isa isa() const { return isa_; }
  void set_isa(Isa isa) { isa_ = resolve_isa(isa); }
  ActivationMode mode() const { return mode_; }
  void set_mode(ActivationMode mode) { mode_ = mode; }

  ThreadPool& pool() { return pool_; }

  /// Scratch of at least `bytes` bytes, 64-byte aligned, kept for later calls (grown, never
  /// shrunk): the quantized activations of one call.
  std::uint8_t* activation_scratch(std::size_t bytes) { return grow(activations_, bytes); }
  /// Per-row side data of the quantized activations (scales, exact-path flags).
  float* row_scales(std::size_t rows) { return reinterpret_cast<float*>(grow(row_scales_, rows * sizeof(float))); }
  std::uint8_t* row_flags(std::size_t rows) { return grow(row_flags_, rows); }
  /// Scratch private to pool thread `thread`, at least `bytes` bytes.
  std::uint8_t* thread_scratch(unsigned thread, std::size_t bytes) { return grow(scratch_[thread], bytes); }
  template <class T>
  T* thread_scratch_as(unsigned thread, std::size_t count) {
    return reinterpret_cast<T*>(thread_scratch(thread, count * sizeof(T)));
  }

 private:
  static Isa isa_from_environment() {
    const char* v = std::getenv("QLINEAR_ISA");
    return v && *v ? isa_from_name(v) : Isa::best;
  }
  static std::uint8_t* grow(AlignedBuffer<std::uint8_t>& b, std::size_t bytes) {
    if (b.size() < bytes) b = AlignedBuffer<std::uint8_t>(bytes + bytes / 4);
    return b.data();
  }

  Isa isa_;
  ActivationMode mode_;
  ThreadPool pool_;
  AlignedBuffer<std::uint8_t> activations_, row_scales_, row_flags_;
  std::vector<AlignedBuffer<std::uint8_t>> scratch_;
};

}  // namespace qlinear::cpu
