// LoRA's cost over the quantized base layer: forward overhead of adapters at r 8, 16 and 64
// against the base alone at M 1 and 128 (eval mode), the adapter path alone (LoRA over a base
// that costs nothing), DoRA's forward at r 16, and a backward step (dx, dA, dB) against the
// forward, all on one thread in the same run. After the runs it prints a table of medians and
// ratios.
// Usage: lora_bench [--dim=4096] [--benchmark_repetitions=5] [--benchmark_filter=...]

#include <benchmark/benchmark.h>

#include <qlinear/qlinear.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <span>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#if __has_include(<qlinear/backends/cpu/backend.hpp>)
#include <qlinear/backends/cpu/backend.hpp>
using Backend = qlinear::cpu::Backend;
constexpr bool kFastBackend = true;
#else
using Backend = qlinear::cpu::ReferenceBackend;
constexpr bool kFastBackend = false;
#endif

using namespace qlinear;
using Base = QuantizedLinear<Backend, Q4_K>;

namespace {

// 4096² is a 7B model's attention projection; the scalar reference runs a smaller square so a
// run ends in minutes (its base is slow, so its overhead figures understate LoRA's share).
// `--dim N` (a multiple of 256) overrides it.
std::size_t kDim = kFastBackend ? 4096 : 1024;

const Base& base_layer() {
  static const Base layer = [] {
    const RowMatrixXf w = RowMatrixXf::Random(Eigen::Index(kDim), Eigen::Index(kDim)) * 0.02f;
    return Base::from_float(w.data(), kDim, kDim);
  }();
  return layer;
}

LoRA<Base>& lora_layer(int r, bool dora) {
  static std::map<std::pair<int, bool>, LoRA<Base>> layers;
  auto it = layers.find({r, dora});
  if (it == layers.end()) {
    LoraConfig cfg{.r = std::size_t(r), .alpha = 2.0f * float(r), .use_dora = dora, .init = LoraInit::random, .seed = 1};
    it = layers.emplace(std::pair{r, dora}, LoRA<Base>(base_layer())).first;
    it->second.add_adapter("default", cfg);
  }
  return it->second;
}

RowMatrixXf input(std::int64_t rows, std::size_t cols) { return RowMatrixXf::Random(rows, Eigen::Index(cols)); }

// One thread for every figure (the adapter products run in Eigen on the calling thread).
Backend::Context& bench_context() {
#if __has_include(<qlinear/backends/cpu/backend.hpp>)
  static Backend::Context ctx(1);
  return ctx;
#else
  return Backend::default_context();
#endif
}

/// A base layer that costs nothing (y = 0): LoRA over it times the adapter path alone, through
/// the library's own code, free of the base's run-to-run noise.
struct NullLayer {
  using backend_type = Backend;
  using Context = Backend::Context;
  std::size_t n = kDim, k = kDim;
  void forward(Context&, ConstMatrixView<float>, MatrixView<float> y, bool accumulate = false) const {
    if (!accumulate)
      for (std::size_t i = 0; i < y.rows; ++i) std::fill(y.row(i), y.row(i) + y.cols, 0.0f);
  }
  RowMatrixXf forward(Context&, const Eigen::Ref<const RowMatrixXf>& x) const {
    return RowMatrixXf::Zero(x.rows(), Eigen::Index(n));
  }
  void backward_input(Context&, ConstMatrixView<float>, MatrixView<float> dx, bool accumulate = false) const {
    if (!accumulate)
      for (std::size_t i = 0; i < dx.rows; ++i) std::fill(dx.row(i), dx.row(i) + dx.cols, 0.0f);
  }
  RowMatrixXf backward_input(Context&, const Eigen::Ref<const RowMatrixXf>& dy) const {
    return RowMatrixXf::Zero(dy.rows(), Eigen::Index(k));
  }
  std::size_t in_features() const { return k; }
  std::size_t out_features() const { return n; }
  bool has_bias() const { return false; }
  std::span<const float> bias() const { return {}; }
  RowMatrixXf dequantize() const { return RowMatrixXf::Zero(Eigen::Index(n), Eigen::Index(k)); }
  NullLayer with_weights(const float*, const QuantizeOptions& = {}) const { return *this; }
  std::size_t memory_bytes() const { return 0; }
  void cache_dequantized(bool) {}
  bool dequantized_cached() const { return false; }
};

void BM_AdapterOnly(benchmark::State& st) {
  LoRA<NullLayer> lora(NullLayer{}, LoraConfig{.r = std::size_t(st.range(1)), .init = LoraInit::random, .seed = 1});
  lora.eval();
  const RowMatrixXf x = input(st.range(0), kDim);
  RowMatrixXf y(x.rows(), Eigen::Index(kDim));
  auto& ctx = bench_context();
  for (auto _ : st) {
    lora.forward(ctx, const_view(x), view(y));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
}

// Memory read speed of one thread over 1 GiB (beyond the last-level cache): a batch-1 forward
// can be no faster than reading its weights once at this speed, so adapter time / (weight bytes
// / this speed) bounds the overhead over any base, however fast its kernels become.
void BM_MemoryRead(benchmark::State& st) {
  static std::vector<std::uint64_t> buffer(std::size_t(1) << 27, 1);  // integer sums vectorize
  for (auto _ : st) {
    std::uint64_t sum = 0;
    for (std::uint64_t v : buffer) sum += v;
    benchmark::DoNotOptimize(sum);
  }
  st.SetBytesProcessed(std::int64_t(st.iterations()) * std::int64_t(buffer.size() * sizeof(std::uint64_t)));
}

void BM_Base(benchmark::State& st) {
  (void)base_layer();  // quantized once, outside the timing
  const RowMatrixXf x = input(st.range(0), kDim);
  RowMatrixXf y(x.rows(), Eigen::Index(kDim));
  auto& ctx = bench_context();
  for (auto _ : st) {
    base_layer().forward(ctx, const_view(x), view(y));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
}

void forward_bench(benchmark::State& st, bool dora) {
  LoRA<Base>& lora = lora_layer(int(st.range(1)), dora);
  lora.eval();
  const RowMatrixXf x = input(st.range(0), kDim);
  RowMatrixXf y(x.rows(), Eigen::Index(kDim));
  auto& ctx = bench_context();
  for (auto _ : st) {
    lora.forward(ctx, const_view(x), view(y));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
}
void BM_LoraForward(benchmark::State& st) { forward_bench(st, false); }
void BM_DoraForward(benchmark::State& st) { forward_bench(st, true); }

// backward alone (after one forward): dx = dy·W over the quantized weights + dA + dB.
void BM_LoraBackward(benchmark::State& st) {
  LoRA<Base>& lora = lora_layer(int(st.range(1)), false);
  lora.train();
  const RowMatrixXf x = input(st.range(0), kDim), dy = input(st.range(0), kDim);
  RowMatrixXf y(x.rows(), Eigen::Index(kDim)), dx(x.rows(), Eigen::Index(kDim));
  auto& ctx = bench_context();
  lora.forward(ctx, const_view(x), view(y));
  for (auto _ : st) {
    lora.backward(ctx, const_view(x), const_view(dy), view(dx));
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  lora.zero_grad();
  lora.eval();
}

BENCHMARK(BM_MemoryRead)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Base)->ArgName("M")->Arg(1)->Arg(128)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LoraForward)->ArgNames({"M", "r"})->ArgsProduct({{1, 128}, {8, 16, 64}})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AdapterOnly)->ArgNames({"M", "r"})->ArgsProduct({{1, 128}, {8, 16, 64}})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DoraForward)->ArgNames({"M", "r"})->ArgsProduct({{1, 128}, {16}})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LoraBackward)->ArgNames({"M", "r"})->ArgsProduct({{1, 128}, {8, 16, 64}})->Unit(benchmark::kMicrosecond);

/// The console output plus, at the end, medians (or single runs) side by side as ratios. The
/// table uses CPU time: every figure is one thread's work, and CPU time is what other processes
/// on a shared machine disturb least.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.error_occurred) continue;
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (r.run_type == Run::RT_Aggregate && !median) continue;
      const std::string key = r.run_name.function_name + "/" + r.run_name.args;
      if (median || !times_.contains(key)) times_[key] = r.GetAdjustedCPUTime();  // medians win
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    auto t = [&](const std::string& k) { return times_.contains(k) ? times_[k] : 0.0; };
    std::printf("\nLoRA over Q4_K %zux%zu on %s, one thread (CPU time, us; overhead = LoRA/base - 1)\n", kDim, kDim,
                kFastBackend ? "cpu::Backend" : "cpu::ReferenceBackend (scalar: the base is slow, so overheads look small)");
    std::printf("%5s %4s %12s %12s %10s %12s %14s %14s %18s\n", "M", "r", "base", "LoRA fwd", "overhead",
                "adapter", "adapter/base", "LoRA backward", "backward/forward");
    for (int m : {1, 128})
      for (int r : {8, 16, 64}) {
        const double base = t("BM_Base/M:" + std::to_string(m));
        const std::string args = "M:" + std::to_string(m) + "/r:" + std::to_string(r);
        const double fwd = t("BM_LoraForward/" + args), bwd = t("BM_LoraBackward/" + args);
        const double adapter = t("BM_AdapterOnly/" + args);
        if (base <= 0 || fwd <= 0) continue;
        std::printf("%5d %4d %12.1f %12.1f %9.2f%% %12.1f %13.2f%% %14.1f %18.2f\n", m, r, base, fwd,
                    100.0 * (fwd / base - 1.0), adapter, 100.0 * adapter / base, bwd, bwd > 0 ? bwd / fwd : 0.0);
      }
    const double read_us = t("BM_MemoryRead/"), bytes = double(base_layer().memory_bytes());
    if (read_us > 0) {
      const double gbs = double(std::size_t(1) << 30) / (read_us * 1e3), bound = bytes / (gbs * 1e3);
      std::printf("memory read %.1f GB/s: reading the %.2f MB of Q4_K weights takes at least %.0f us when they stream from memory (batch-1 bound for a model beyond the cache)\n",
                  gbs, bytes / 1e6, bound);
      for (int r : {8, 16, 64}) {
        const double adapter = t("BM_AdapterOnly/M:1/r:" + std::to_string(r));
        if (adapter > 0)
          std::printf("  M 1, r %2d: adapter path %.1f us = %.1f%% of that bound\n", r, adapter, 100.0 * adapter / bound);
      }
    }
    for (int m : {1, 128}) {
      const double base = t("BM_Base/M:" + std::to_string(m));
      const double dora = t("BM_DoraForward/M:" + std::to_string(m) + "/r:16");
      if (base > 0 && dora > 0)
        std::printf("DoRA r 16, M %d: forward %.1f us, overhead %.2f%%\n", m, dora, 100.0 * (dora / base - 1.0));
    }
  }

 private:
  std::map<std::string, double> times_;
};

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]).starts_with("--dim=")) {
      kDim = std::stoul(std::string(argv[i] + 6));
      if (kDim == 0 || kDim % 256) {
        std::fprintf(stderr, "--dim must be a positive multiple of 256\n");
        return 2;
      }
      for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
      --argc;
      break;
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
