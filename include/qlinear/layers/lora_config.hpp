#pragma once
// Settings of one LoRA adapter, what merge() may produce, and what it reports.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "qlinear/core/error.hpp"
#include "qlinear/schemes/scheme.hpp"

namespace qlinear {

/// How a new adapter's matrices start (PEFT's `init_lora_weights`).
enum class LoraInit {
  kaiming_uniform,  ///< A ~ U(±1/√K) (nn.Linear's default, PEFT `true`), B = 0: a no-op at start
  gaussian,         ///< A ~ N(0, (1/r)²) (PEFT "gaussian"), B = 0: a no-op at start
  random,           ///< A ~ U(±1/√K), B ~ U(±1/√r) (PEFT `false`): changes the output at once
};

/// One adapter's settings (PEFT's LoraConfig, per layer).
/// Usage: `LoraConfig{.r = 16, .alpha = 32, .dropout = 0.05f, .seed = 1}`
struct LoraConfig {
  std::size_t r = 8;            ///< rank
  float alpha = 8.0f;           ///< PEFT's lora_alpha: scaling = alpha / r (or alpha / √r)
  bool use_rslora = false;      ///< rank-stabilised scaling alpha / √r
  float dropout = 0.0f;         ///< probability of zeroing an input of the adapter path, in [0, 1)
  bool use_dora = false;        ///< weight-decomposed LoRA (a trained magnitude per output)
  /// DoRA only: treat the row norms ‖W + s·B·A‖ as constants in backward, as PEFT and MLX do
  /// (the DoRA paper's §4.3; cheaper). false gives the exact gradient of the forward.
  bool dora_detach_norm = true;
  LoraInit init = LoraInit::kaiming_uniform;
  std::uint64_t seed = 0;       ///< initialisation and dropout masks derive from it

  /// The factor s applied to (x·Aᵀ)·Bᵀ.
  float scaling() const {
    return use_rslora ? float(double(alpha) / std::sqrt(double(r))) : float(double(alpha) / double(r));
  }
  /// Throws qlinear::Error naming the first bad field.
  void validate(std::string_view who) const {
    check(r >= 1, who, ": LoRA rank r must be at least 1, got ", r);
    check(std::isfinite(alpha), who, ": lora_alpha must be finite, got ", alpha);
    check(dropout >= 0.0f && dropout < 1.0f, who, ": LoRA dropout must be in [0, 1), got ", dropout);
    check(init == LoraInit::kaiming_uniform || init == LoraInit::gaussian || init == LoraInit::random, who,
          ": unknown LoraInit ", int(init));
  }
};

/// What merge() folds the active adapters into.
enum class MergeTarget {
  same_scheme,  ///< dequantize, add, requantize each adapted part in its own scheme (lossy for small adapters)
  f32,          ///< an f32 copy of the merged weights (exact; 32 bits per weight)
  f16,          ///< an f16 copy of the merged weights (16 bits per weight)
};

/// Options for merge(). Usage: `lora.merge({.target = MergeTarget::f16})`
struct MergeOptions {
  MergeTarget target = MergeTarget::same_scheme;
  /// Keep the unmerged base so unmerge() restores it bit for bit (same_scheme only; the f16/f32
  /// targets never replace the base). Without it a same-scheme merge frees the original weights
  /// and unmerge() throws.
  bool keep_base = true;
  QuantizeOptions quantize{};  ///< for the requantization (same_scheme)
};

/// How much of the adapters' intended weight change ΔW = Σ s·B·A (DoRA: the row-scaled form)
/// survived merging, measured over the dequantized weights before and after.
struct MergeReport {
  struct Part {
    std::size_t part = 0;
    double intended_norm = 0;  ///< ‖ΔW‖_F
    double achieved_norm = 0;  ///< ‖W_merged − W‖_F
    /// ⟨W_merged − W, ΔW⟩ / ‖ΔW‖²: 1 when all of it survived, 0 when requantization erased it.
    double retained = 0;
    /// ‖(W_merged − W) − ΔW‖_F / ‖ΔW‖_F: the error merging added, relative to the adapter.
    double relative_error = 0;
  };
  std::vector<Part> parts;  ///< one per merged part
  double intended_norm = 0, achieved_norm = 0, retained = 0, relative_error = 0;  ///< over all parts
};

}  // namespace qlinear
