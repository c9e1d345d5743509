#pragma once
// The oneDNN peer (Debian libdnnl-dev 2.6, OpenMP runtime): matmul primitives configured the way
// oneDNN is fastest (../shared/peers.md):
//  - s8 × s8 → f32 with per-output-channel weight scales fixed at creation
//    (attr.set_output_scales(1 << 1, scales)); that selects the AMX brgemm kernel
//    (brg:avx512_core_amx_int8) where run-time scales fall back to gemm:jit. Activations are
//    quantized per tensor (per-row scales cannot be expressed without an M×N mask), and y is
//    multiplied by the activation scale afterwards; both are timed with the matmul, and apart.
//  - bf16 × bf16 → f32 (brg:avx512_core_amx_bf16), x converted by a oneDNN reorder each call.
// Weights are described as {K, N} with tag::ba (our row-major N × K), the primitive is created
// with weights tag::any and the weights reordered once into its preferred (blocked) layout. The
// thread count is fixed by omp_set_num_threads before the primitive descriptor is created.

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace qlinear_bench::onednn {

/// Seconds spent in each part of the calls timed with a Split (accumulated).
struct Split {
  double quantize = 0;  ///< activation quantization (s8) or conversion (bf16)
  double matmul = 0;    ///< the oneDNN primitive
  double rescale = 0;   ///< y *= activation scale (s8 only)
};

inline std::string version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
         (v->cpu_runtime == DNNL_RUNTIME_OMP ? " (OpenMP)" : "");
}

namespace detail {
using clock = std::chrono::steady_clock;
inline double seconds_since(clock::time_point t0) {
  return std::chrono::duration<double>(clock::now() - t0).count();
}

inline float amax_scalar(const float* x, std::size_t n) {
  float m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}
inline void quantize_scalar(const float* x, std::size_t n, float inv_scale, std::int8_t* q) {
  for (std::size_t i = 0; i < n; ++i)
    q[i] = std::int8_t(std::clamp(std::nearbyint(x[i] * inv_scale), -127.0f, 127.0f));
}
#if defined(__x86_64__)
// The maskz forms with a full mask: g++ 12 warns about the undefined pass-through operand of
// the plain intrinsics (_mm512_max_ps, _mm512_cvtps_epi32, ...).
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline float amax_avx512(const float* x, std::size_t n) {
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff);
  __m512 m = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 a = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(_mm512_loadu_ps(x + i)), abs_mask));
    m = _mm512_maskz_max_ps(0xFFFF, m, a);
  }
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, m);
  return std::max(amax_scalar(lanes, 16), amax_scalar(x + i, n - i));
}
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline void quantize_avx512(const float* x, std::size_t n,
                                                                                  float inv_scale, std::int8_t* q) {
  const __m512 s = _mm512_set1_ps(inv_scale);
  std::size_t i = 0;
  // cvtps rounds to nearest even; the saturating pack cannot exceed 127 since |x·s| <= 127.
  for (; i + 16 <= n; i += 16) {
    const __m512i v = _mm512_maskz_cvtps_epi32(0xFFFF, _mm512_mul_ps(_mm512_loadu_ps(x + i), s));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm512_maskz_cvtsepi32_epi8(0xFFFF, v));
  }
  quantize_scalar(x + i, n - i, inv_scale, q + i);
}
inline bool has_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl");
  return yes;
}
#endif
inline float amax(const float* x, std::size_t n) {
#if defined(__x86_64__)
  if (has_avx512()) return amax_avx512(x, n);
#endif
  return amax_scalar(x, n);
}
inline void quantize(const float* x, std::size_t n, float inv_scale, std::int8_t* q) {
#if defined(__x86_64__)
  if (has_avx512()) return quantize_avx512(x, n, inv_scale, q);
#endif
  quantize_scalar(x, n, inv_scale, q);
}

/// Per-tensor symmetric s8 quantization of n floats on `threads` OpenMP threads; returns the scale.
inline float quantize_per_tensor(const float* x, std::size_t n, std::int8_t* q, int threads) {
  constexpr std::size_t chunk = 16384;
  const std::size_t chunks = (n + chunk - 1) / chunk;
  const int t = chunks > 1 ? threads : 1;
  float m = 0;
#pragma omp parallel for num_threads(t) reduction(max : m) schedule(static)
  for (std::size_t c = 0; c < chunks; ++c) m = std::max(m, amax(x + c * chunk, std::min(chunk, n - c * chunk)));
  const float scale = m > 0 ? m / 127.0f : 1.0f;
  const float inv = 1.0f / scale;
#pragma omp parallel for num_threads(t) schedule(static)
  for (std::size_t c = 0; c < chunks; ++c) quantize(x + c * chunk, std::min(chunk, n - c * chunk), inv, q + c * chunk);
  return scale;
}

inline void scale_in_place(float* y, std::size_t n, float s, int threads) {
  const int t = n >= 65536 ? threads : 1;
#pragma omp parallel for num_threads(t) schedule(static)
  for (std::size_t i = 0; i < n; ++i) y[i] *= s;
}
}  // namespace detail

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

/// s8 weights (row-major N × K, one f32 scale per row) times per-tensor-quantized s8 activations,
/// f32 out: y = s_x · (q_x · q_Wᵀ) · diag(s_W). `copies` weight copies for the cold benchmark.
/// Usage: `S8Matmul mm(q, scales, n, k, m, threads); mm.run(x, y);`
class S8Matmul {
 public:
  S8Matmul(const std::int8_t* w, const float* w_scales, std::size_t n, std::size_t k, std::size_t m, int threads,
           std::size_t copies = 1)
      : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_), n_(n), k_(k), m_(m), threads_(threads) {
    omp_set_num_threads(threads);
    const dnnl::memory::dim M = dnnl::memory::dim(m), N = dnnl::memory::dim(n), K = dnnl::memory::dim(k);
    dnnl::memory::desc src_md({M, K}, dt::s8, tag::ab), wei_any({K, N}, dt::s8, tag::any),
        dst_md({M, N}, dt::f32, tag::ab);
    dnnl::primitive_attr attr;
    attr.set_output_scales(1 << 1, std::vector<float>(w_scales, w_scales + n));  // fixed at creation
    pd_ = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, wei_any, dst_md), attr, engine_);
    matmul_ = dnnl::matmul(pd_);
    dnnl::memory user({{K, N}, dt::s8, tag::ba}, engine_, const_cast<std::int8_t*>(w));
    for (std::size_t c = 0; c < copies; ++c) {
      weights_.emplace_back(pd_.weights_desc(), engine_);
      dnnl::reorder(user, weights_.back()).execute(stream_, user, weights_.back());
    }
    stream_.wait();
    q_.resize(m * k);
    src_ = dnnl::memory(src_md, engine_, q_.data());
  }

  /// The implementation oneDNN picked (brg:avx512_core_amx_int8 is the AMX kernel).
  std::string impl_info() const { return pd_.impl_info_str(); }
  /// Bytes one weight copy takes (int8 values in oneDNN's layout plus the scales).
  std::size_t weight_bytes() const { return pd_.weights_desc().get_size() + n_ * sizeof(float); }
  std::size_t copies() const { return weights_.size(); }

  /// y[M×N] = x[M×K]·Wᵀ over weight copy `c`; adds each part's time to *split if given.
  void run(const float* x, float* y, std::size_t c = 0, Split* split = nullptr) {
    auto t0 = detail::clock::now();
    x_scale_ = detail::quantize_per_tensor(x, m_ * k_, q_.data(), threads_);
    auto t1 = detail::clock::now();
    dnnl::memory dst(pd_.dst_desc(), engine_, y);
    matmul_.execute(stream_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, weights_[c]}, {DNNL_ARG_DST, dst}});
    stream_.wait();
    auto t2 = detail::clock::now();
    detail::scale_in_place(y, m_ * n_, x_scale_, threads_);
    if (split) {
      split->quantize += std::chrono::duration<double>(t1 - t0).count();
      split->matmul += std::chrono::duration<double>(t2 - t1).count();
      split->rescale += detail::seconds_since(t2);
    }
  }
  /// The activations of the last call as quantized (for an exact reference): q and its scale.
  const std::vector<std::int8_t>& quantized_x() const { return q_; }
  float x_scale() const { return x_scale_; }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::size_t n_, k_, m_;
  int threads_;
  dnnl::matmul::primitive_desc pd_;
  dnnl::matmul matmul_;
  std::vector<dnnl::memory> weights_;
  std::vector<std::int8_t> q_;
  dnnl::memory src_;
  float x_scale_ = 1;
};

/// bf16 weights and activations, f32 accumulation and output (the exact-activation peer).
/// Usage: `Bf16Matmul mm(w_f32, n, k, m, threads); mm.run(x, y);`
class Bf16Matmul {
 public:
  Bf16Matmul(const float* w, std::size_t n, std::size_t k, std::size_t m, int threads, std::size_t copies = 1)
      : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_), n_(n), k_(k), m_(m) {
    omp_set_num_threads(threads);
    const dnnl::memory::dim M = dnnl::memory::dim(m), N = dnnl::memory::dim(n), K = dnnl::memory::dim(k);
    dnnl::memory::desc src_md({M, K}, dt::bf16, tag::ab), wei_any({K, N}, dt::bf16, tag::any),
        dst_md({M, N}, dt::f32, tag::ab);
    pd_ = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, wei_any, dst_md), engine_);
    matmul_ = dnnl::matmul(pd_);
    dnnl::memory user({{K, N}, dt::f32, tag::ba}, engine_, const_cast<float*>(w));
    for (std::size_t c = 0; c < copies; ++c) {
      weights_.emplace_back(pd_.weights_desc(), engine_);
      dnnl::reorder(user, weights_.back()).execute(stream_, user, weights_.back());
    }
    src_ = dnnl::memory(src_md, engine_);
    x_f32_md_ = dnnl::memory::desc({M, K}, dt::f32, tag::ab);
    to_bf16_ = dnnl::reorder(dnnl::reorder::primitive_desc(engine_, x_f32_md_, engine_, src_md));
    stream_.wait();
  }

  std::string impl_info() const { return pd_.impl_info_str(); }
  std::size_t weight_bytes() const { return pd_.weights_desc().get_size(); }
  std::size_t copies() const { return weights_.size(); }

  void run(const float* x, float* y, std::size_t c = 0, Split* split = nullptr) {
    auto t0 = detail::clock::now();
    dnnl::memory xf(x_f32_md_, engine_, const_cast<float*>(x));
    to_bf16_.execute(stream_, xf, src_);
    stream_.wait();
    auto t1 = detail::clock::now();
    dnnl::memory dst(pd_.dst_desc(), engine_, y);
    matmul_.execute(stream_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, weights_[c]}, {DNNL_ARG_DST, dst}});
    stream_.wait();
    if (split) {
      split->quantize += std::chrono::duration<double>(t1 - t0).count();
      split->matmul += detail::seconds_since(t1);
    }
  }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::size_t n_, k_, m_;
  dnnl::matmul::primitive_desc pd_;
  dnnl::matmul matmul_;
  std::vector<dnnl::memory> weights_;
  dnnl::memory src_;
  dnnl::memory::desc x_f32_md_;
  dnnl::reorder to_bf16_;
};

}  // namespace qlinear_bench::onednn
