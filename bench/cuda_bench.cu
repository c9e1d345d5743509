// The CUDA benchmark. Benchmarks are named <scheme>/<impl>/M:<m>/N:<n>/K:<k>, impl being
//   qlinear       cuda::Backend::gemm with the automatic kernel choice,
//   qlinear_gemv  the decode kernel forced,   qlinear_mma  the tensor-core kernel forced
//                 (the two measure the cross-over that GemmOptions::gemv_max_rows encodes),
//   cublas        cuBLAS f16 × f16 → f32 GEMM on the same shape (scheme "f16"): the dense ceiling,
//   ggml          ggml's CUDA backend (upstream llama.cpp) on the same GGUF bytes, when the
//                 environment variable QLINEAR_GGML_CUDA names its libggml-cuda.so,
//   copy          cudaMemcpy device to device of the scheme's weight bytes: the memory ceiling.
// Counters: GB/s = weight bytes read per second (copy: bytes read + written, so it compares
// with a kernel that reads at the same speed), GFLOP/s = 2·M·N·K per second. Each timed batch
// runs R products back to back over weight copies whose total exceeds 4× the L2 cache, then
// synchronizes; the time per product is wall time / R, the same method for every impl.
// Every impl's output is checked against a host product over the dequantized weights before
// it is timed (a peer that computes the wrong thing fast is not a peer).

#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "peers/ggml_cuda.hpp"
#include "qlinear/backends/cuda/backend.cuh"
#include "qlinear/schemes/registry.hpp"

namespace qlinear_bench {
namespace {

using namespace qlinear;

#define BENCH_CUBLAS_CHECK(expr)                                                            \
  do {                                                                                      \
    const cublasStatus_t s_ = (expr);                                                       \
    if (s_ != CUBLAS_STATUS_SUCCESS) qlinear::fail(#expr " failed: cuBLAS status ", int(s_)); \
  } while (0)

/// The schemes measured (a selection: each one costs nvcc build time).
using BenchSchemes = TypeList<DenseF16, Q8_0, Int8PerChannel, Q6_K, Q5_K, Q4_K, Q4_0, IQ4_XS, Int4G128, NF4, Q2_K>;
constexpr std::size_t ms[] = {1, 2, 4, 8, 16, 32, 64, 128, 512};
constexpr std::size_t max_m = 512;
struct Shape {
  std::size_t n, k;
};

std::string name(std::string_view scheme, std::string_view impl, std::size_t m, Shape s) {
  return std::string(scheme) + "/" + std::string(impl) + "/M:" + std::to_string(m) + "/N:" + std::to_string(s.n) +
         "/K:" + std::to_string(s.k);
}

struct Device {
  cudaDeviceProp prop{};
  Device() { QLINEAR_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0)); }
  /// Weight copies so that their total is at least 4× L2 (and at most ~1.5 GB).
  std::size_t copies_for(std::size_t bytes) const {
    const std::size_t want = 4 * std::size_t(prop.l2CacheSize);
    return std::clamp<std::size_t>((want + bytes - 1) / bytes, 2, std::max<std::size_t>(2, (std::size_t(1) << 30) * 3 / 2 / bytes));
  }
};
Device& device() {
  static Device d;
  return d;
}

std::vector<float> random_floats(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = g(rng);
  return v;
}

/// Host and device activations shared by all benchmarks of a K.
struct Activations {
  std::vector<float> host;
  float* dev = nullptr;
  __half* dev16 = nullptr;
  explicit Activations(std::size_t k) : host(random_floats(max_m * k, 7)) {
    QLINEAR_CUDA_CHECK(cudaMalloc(&dev, host.size() * sizeof(float)));
    QLINEAR_CUDA_CHECK(cudaMemcpy(dev, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
    std::vector<__half> h(host.size());
    for (std::size_t i = 0; i < h.size(); ++i) h[i] = __float2half(host[i]);
    QLINEAR_CUDA_CHECK(cudaMalloc(&dev16, h.size() * sizeof(__half)));
    QLINEAR_CUDA_CHECK(cudaMemcpy(dev16, h.data(), h.size() * sizeof(__half), cudaMemcpyHostToDevice));
  }
};
Activations& activations(std::size_t k) {
  static std::map<std::size_t, std::unique_ptr<Activations>> cache;
  auto& a = cache[k];
  if (!a) a = std::make_unique<Activations>(k);
  return *a;
}
float* output(std::size_t floats) {
  static float* y = nullptr;
  static std::size_t size = 0;
  if (size < floats) {
    if (y) QLINEAR_CUDA_CHECK(cudaFree(y));
    QLINEAR_CUDA_CHECK(cudaMalloc(&y, floats * sizeof(float)));
    size = floats;
  }
  return y;
}

/// A scheme's weights of one shape: quantized on the host (distinct rows tiled, so setting up
/// a large layer stays quick), uploaded as several copies, and the first rows dequantized for
/// the correctness checks.
constexpr std::size_t checked_rows = 64;
template <class S>
struct Case {
  QuantizedTensor<S> tensor;
  std::vector<cuda::Backend::Weights<S>> copies;
  std::vector<float> w;  // the first checked_rows rows, dequantized
  std::size_t bytes = 0;
  explicit Case(Shape s) {
    const std::size_t distinct = std::min<std::size_t>(s.n, 64);
    const auto wf = random_floats(distinct * s.k, 11);
    if constexpr (SelfDescribingRows<S>) {
      const auto rows = QuantizedTensor<S>::quantize(wf.data(), distinct, s.k);
      std::vector<std::uint8_t> bytes_(s.n * row_bytes<S>(s.k));
      const std::size_t rb = row_bytes<S>(s.k);
      for (std::size_t r = 0; r < s.n; ++r) std::memcpy(bytes_.data() + r * rb, rows.row(r % distinct), rb);
      tensor = QuantizedTensor<S>::copy_of(bytes_, s.n, s.k);
    } else {
      std::vector<float> all(s.n * s.k);
      for (std::size_t r = 0; r < s.n; ++r) std::memcpy(all.data() + r * s.k, wf.data() + (r % distinct) * s.k, s.k * 4);
      tensor = QuantizedTensor<S>::quantize(all.data(), s.n, s.k);
    }
    bytes = tensor.bytes().size();
    const std::size_t count = device().copies_for(bytes);
    for (std::size_t i = 0; i < count; ++i) copies.push_back(cuda::Backend::upload(tensor));
    w.resize(std::min(checked_rows, s.n) * s.k);
    for (std::size_t r = 0; r * s.k < w.size(); ++r) tensor.dequantize_row(r, w.data() + r * s.k);
  }
};
template <class S>
Case<S>& case_for(Shape s) {
  static std::map<std::pair<std::size_t, std::size_t>, std::unique_ptr<Case<S>>> cache;
  auto& c = cache[{s.n, s.k}];
  if (!c) c = std::make_unique<Case<S>>(s);
  return *c;
}

/// Largest error of rows 0 and m−1, first checked_rows outputs, against the host product,
/// relative to Σ|x||w|. y is row-major m × n on the host.
double check_error(const std::vector<float>& y, const std::vector<float>& w, const std::vector<float>& x,
                   std::size_t m, Shape s) {
  double worst = 0;
  for (const std::size_t i : {std::size_t(0), m - 1})
    for (std::size_t j = 0; j * s.k < w.size(); ++j) {
      double ref = 0, scale = 1e-30;
      for (std::size_t l = 0; l < s.k; ++l) {
        ref += double(x[i * s.k + l]) * w[j * s.k + l];
        scale += std::fabs(double(x[i * s.k + l]) * w[j * s.k + l]);
      }
      const double e = std::fabs(y[i * s.n + j] - ref) / scale;
      worst = std::max(worst, std::isfinite(e) ? e : 1e30);
    }
  return worst;
}
std::vector<float> to_host(const float* y, std::size_t count) {
  std::vector<float> h(count);
  QLINEAR_CUDA_CHECK(cudaDeviceSynchronize());
  QLINEAR_CUDA_CHECK(cudaMemcpy(h.data(), y, count * sizeof(float), cudaMemcpyDeviceToHost));
  return h;
}

/// Times `run(i)` (queue product i) in batches of R followed by `sync()`; reports per product.
template <class Run, class Sync>
void timed(benchmark::State& state, std::size_t m, Shape s, std::size_t weight_bytes, bool copy_traffic, Run run,
           Sync sync) {
  const std::size_t batch = m <= 16 ? 32 : 8;
  std::size_t i = 0;
  for (std::size_t w = 0; w < batch; ++w) run(i++);  // warm-up
  sync();
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t r = 0; r < batch; ++r) run(i++);
    sync();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(batch));
  }
  state.SetItemsProcessed(std::int64_t(state.iterations()));
  const double bytes = double(weight_bytes) * (copy_traffic ? 2.0 : 1.0);
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * double(m) * double(s.n) * double(s.k) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <class S>
void bench_qlinear(benchmark::State& state, cuda::Kernel kernel, std::size_t m, Shape s) {
  Case<S>& c = case_for<S>(s);
  Activations& a = activations(s.k);
  float* y = output(max_m * s.n);
  cuda::Context& ctx = cuda::Backend::default_context();
  ctx.options().kernel = kernel;
  const auto run = [&](std::size_t i) {
    cuda::Backend::gemm(ctx, c.copies[i % c.copies.size()], ConstMatrixView<float>(a.dev, m, s.k),
                        MatrixView<float>(y, m, s.n));
  };
  run(0);
  const double err = check_error(to_host(y, m * s.n), c.w, a.host, m, s);
  const double tol = cuda::choose_kernel(m, ctx.options()) == cuda::Kernel::mma ? 2e-3 : 2e-5;
  if (err > tol) {
    state.SkipWithError(("wrong result: relative error " + std::to_string(err)).c_str());
    return;
  }
  timed(state, m, s, c.bytes, false, run, [&] { cuda::Backend::synchronize(ctx); });
  ctx.options().kernel = cuda::Kernel::automatic;
  state.SetLabel(std::string(cuda::kernel_name(cuda::choose_kernel(m, ctx.options()))) +
                 ", copies " + std::to_string(c.copies.size()));
}

template <class S>
void bench_copy(benchmark::State& state, Shape s) {
  Case<S>& c = case_for<S>(s);
  void* dst = nullptr;
  QLINEAR_CUDA_CHECK(cudaMalloc(&dst, c.bytes));
  const auto run = [&](std::size_t i) {
    const auto& src = c.copies[i % c.copies.size()];
    QLINEAR_CUDA_CHECK(cudaMemcpyAsync(dst, src.ref().q, c.bytes, cudaMemcpyDeviceToDevice, 0));
  };
  timed(state, 1, s, c.bytes, true, run, [] { QLINEAR_CUDA_CHECK(cudaDeviceSynchronize()); });
  QLINEAR_CUDA_CHECK(cudaFree(dst));
}

/// cuBLAS: y[M×N] (f32) = x16[M×K] · W16[N×K]ᵀ, column-major C[N×M] = W16ᵀ(op T) · X16.
struct CublasCase {
  cublasHandle_t handle = nullptr;
  std::vector<__half*> w;
  std::vector<float> wf;  // first checked_rows rows (f16-rounded)
  explicit CublasCase(Shape s) {
    BENCH_CUBLAS_CHECK(cublasCreate(&handle));
    const auto rows = random_floats(64 * s.k, 11);
    std::vector<__half> h(s.n * s.k);
    for (std::size_t i = 0; i < h.size(); ++i) h[i] = __float2half(rows[i % rows.size()]);
    const std::size_t bytes = h.size() * sizeof(__half);
    for (std::size_t i = 0, n = device().copies_for(bytes); i < n; ++i) {
      __half* d = nullptr;
      QLINEAR_CUDA_CHECK(cudaMalloc(&d, bytes));
      QLINEAR_CUDA_CHECK(cudaMemcpy(d, h.data(), bytes, cudaMemcpyHostToDevice));
      w.push_back(d);
    }
    wf.resize(std::min(checked_rows, s.n) * s.k);
    for (std::size_t i = 0; i < wf.size(); ++i) wf[i] = __half2float(h[i]);
  }
};
void bench_cublas(benchmark::State& state, std::size_t m, Shape s) {
  static std::map<std::pair<std::size_t, std::size_t>, std::unique_ptr<CublasCase>> cache;
  auto& c = cache[{s.n, s.k}];
  if (!c) c = std::make_unique<CublasCase>(s);
  Activations& a = activations(s.k);
  float* y = output(max_m * s.n);
  const float alpha = 1.0f, beta = 0.0f;
  const auto run = [&](std::size_t i) {
    BENCH_CUBLAS_CHECK(cublasGemmEx(c->handle, CUBLAS_OP_T, CUBLAS_OP_N, int(s.n), int(m), int(s.k), &alpha,
                                    c->w[i % c->w.size()], CUDA_R_16F, int(s.k), a.dev16, CUDA_R_16F, int(s.k), &beta,
                                    y, CUDA_R_32F, int(s.n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  };
  run(0);
  std::vector<float> x16(m * s.k);
  for (std::size_t i = 0; i < x16.size(); ++i) x16[i] = __half2float(__float2half(a.host[i]));
  const double err = check_error(to_host(y, m * s.n), c->wf, x16, m, s);
  if (err > 1e-3) {
    state.SkipWithError(("wrong result: relative error " + std::to_string(err)).c_str());
    return;
  }
  timed(state, m, s, s.n * s.k * 2, false, run, [] { QLINEAR_CUDA_CHECK(cudaDeviceSynchronize()); });
}

/// ggml's CUDA backend over the same GGUF bytes.
struct Ggml {
  std::unique_ptr<ggml_cuda::Library> lib;
  ggml_cuda::ggml_backend* backend = nullptr;
  std::string status = "not loaded (set QLINEAR_GGML_CUDA to its libggml-cuda.so)";
};
Ggml& ggml() {
  static Ggml g = [] {
    Ggml r;
    if (const char* path = std::getenv("QLINEAR_GGML_CUDA")) {
      try {
        r.lib = std::make_unique<ggml_cuda::Library>(path);
        r.backend = r.lib->cuda_init(0);
        if (!r.backend) throw std::runtime_error("ggml_backend_cuda_init(0) failed");
        r.status = path;
      } catch (const std::exception& e) {
        r.lib.reset();
        r.status = std::string("failed to load: ") + e.what();
        std::fprintf(stderr, "cuda_bench: ggml peer unavailable: %s\n", e.what());
      }
    }
    return r;
  }();
  return g;
}
template <class S>
void bench_ggml(benchmark::State& state, std::size_t m, Shape s) {
  Ggml& g = ggml();
  Case<S>& c = case_for<S>(s);
  static std::map<std::pair<std::size_t, std::size_t>, std::unique_ptr<ggml_cuda::Weights>> weights;
  auto& w = weights[{s.n, s.k}];
  if (!w) {
    const std::vector<const std::uint8_t*> copies(c.copies.size(), c.tensor.bytes().data());
    w = std::make_unique<ggml_cuda::Weights>(*g.lib, g.backend, int(S::id), s.n, s.k, copies, c.bytes);
  }
  Activations& a = activations(s.k);
  ggml_cuda::Product p(*g.lib, g.backend, *w, m, s.k, a.host.data());
  p.run(0);
  p.synchronize();
  const double err = check_error(p.result(0, m, s.n), c.w, a.host, m, s);
  if (err > 2e-2) {  // ggml quantizes activations to 8 bits for most types
    state.SkipWithError(("wrong result: relative error " + std::to_string(err)).c_str());
    return;
  }
  timed(state, m, s, c.bytes, false, [&](std::size_t i) { p.run(i); }, [&] { p.synchronize(); });
  state.SetLabel("rel. error " + std::to_string(err));
}

template <class S>
void register_scheme(Shape s, bool full) {
  const std::string_view sn = S::name;
  for (const std::size_t m : ms) {
    benchmark::RegisterBenchmark(name(sn, "qlinear", m, s).c_str(), [=](benchmark::State& st) {
      bench_qlinear<S>(st, cuda::Kernel::automatic, m, s);
    })->UseManualTime();
    if (!full) continue;
    if (m <= 32)
      benchmark::RegisterBenchmark(name(sn, "qlinear_gemv", m, s).c_str(), [=](benchmark::State& st) {
        bench_qlinear<S>(st, cuda::Kernel::gemv, m, s);
      })->UseManualTime();
    if (m >= 2 && m <= 64)
      benchmark::RegisterBenchmark(name(sn, "qlinear_mma", m, s).c_str(), [=](benchmark::State& st) {
        bench_qlinear<S>(st, cuda::Kernel::mma, m, s);
      })->UseManualTime();
    if (std::uint32_t(S::id) < 1000 && ggml().lib)
      benchmark::RegisterBenchmark(name(sn, "ggml", m, s).c_str(), [=](benchmark::State& st) {
        bench_ggml<S>(st, m, s);
      })->UseManualTime();
  }
  benchmark::RegisterBenchmark(name(sn, "copy", 1, s).c_str(), [=](benchmark::State& st) {
    bench_copy<S>(st, s);
  })->UseManualTime();
}

template <class... Ts>
void register_all(TypeList<Ts...>, Shape s, bool full) {
  (register_scheme<Ts>(s, full), ...);
}

}  // namespace
}  // namespace qlinear_bench

int main(int argc, char** argv) {
  using namespace qlinear_bench;
  benchmark::Initialize(&argc, argv);
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::fprintf(stderr, "cuda_bench: no CUDA device; nothing to measure\n");
    return 1;
  }
  const cudaDeviceProp& p = device().prop;
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  benchmark::AddCustomContext("gpu", std::string(p.name) + ", sm_" + std::to_string(p.major * 10 + p.minor) + ", " +
                                         std::to_string(p.multiProcessorCount) + " SMs, L2 " +
                                         std::to_string(p.l2CacheSize >> 20) + " MiB, " +
                                         std::to_string(p.totalGlobalMem >> 30) + " GiB");
  benchmark::AddCustomContext("cuda", "runtime " + std::to_string(runtime) + ", driver " + std::to_string(driver));
  benchmark::AddCustomContext("ggml", ggml().status);
  const Shape square{4096, 4096}, ffn{14336, 4096};
  register_all(BenchSchemes{}, square, true);
  register_all(qlinear::TypeList<qlinear::Q4_K, qlinear::Q8_0>{}, ffn, false);
  for (const Shape s : {square, ffn})
    for (const std::size_t m : ms)
      benchmark::RegisterBenchmark(name("f16", "cublas", m, s).c_str(), [=](benchmark::State& st) {
        bench_cublas(st, m, s);
      })->UseManualTime();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
