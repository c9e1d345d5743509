// qlinear's main demo: one realistic linear layer (4096 × 4096, LLM-like weights with outlier
// channels) quantized in every scheme. Prints, per scheme: bits per weight, memory saved against
// f32, the output error against the float layer, and the time of one forward.
//
// Usage: demo [--out N] [--in K] [--batch M]
#include <qlinear/qlinear.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#if __has_include(<qlinear/backends/cpu/backend.hpp>)
#include <qlinear/backends/cpu/backend.hpp>
using DemoBackend = qlinear::cpu::Backend;
static const char* backend_name = "cpu::Backend";
#else
using DemoBackend = qlinear::cpu::ReferenceBackend;
static const char* backend_name = "cpu::ReferenceBackend";
#endif

using namespace qlinear;
using Clock = std::chrono::steady_clock;

static double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int main(int argc, char** argv) {
  std::size_t n = 4096, k = 4096, m = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const std::size_t v = std::strtoull(argv[i + 1], nullptr, 10);
    if (a == "--out") n = v;
    else if (a == "--in") k = v;
    else if (a == "--batch") m = v;
    else {
      std::fprintf(stderr, "usage: demo [--out N] [--in K] [--batch M]\n");
      return 2;
    }
  }
  if (k % 256 != 0 || n == 0 || m == 0) {
    std::fprintf(stderr, "demo: --in must be a multiple of 256 (the k-quant super-block), got %zu\n", k);
    return 2;
  }

  // LLM-like weights: N(0, 0.02²), a few input channels 10× larger (the outliers real models have).
  std::mt19937 rng(2026);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  RowMatrixXf w(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(k));
  std::vector<float> channel_scale(k, 1.0f);
  for (std::size_t c = 0; c < k; c += 97) channel_scale[c] = 10.0f;
  for (Eigen::Index r = 0; r < w.rows(); ++r)
    for (Eigen::Index c = 0; c < w.cols(); ++c) w(r, c) = normal(rng) * channel_scale[std::size_t(c)];
  std::vector<float> bias(n);
  for (auto& b : bias) b = normal(rng);
  RowMatrixXf x(static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(k));
  std::normal_distribution<float> unit(0.0f, 1.0f);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = unit(rng);

  const RowMatrixXf y_float = (x * w.transpose()).rowwise() + Eigen::Map<Eigen::RowVectorXf>(bias.data(), Eigen::Index(n));
  const double f32_mib = double(n * k * 4) / (1 << 20);
  std::printf("layer %zu x %zu (f32 %.1f MiB), batch %zu, backend %s\n\n", n, k, f32_mib, m, backend_name);
  std::printf("%-22s %8s %12s %14s %12s %14s\n", "scheme", "bits/w", "saved MiB", "rel. error", "quantize s",
              "forward ms");

  [&]<class... Ss>(TypeList<Ss...>) {
    (
        [&] {
          const auto t0 = Clock::now();
          auto layer = QuantizedLinear<DemoBackend, Ss>::from_float(w.data(), n, k, bias);
          const double quantize_s = seconds_since(t0);
          RowMatrixXf y = layer.forward(x);  // warm-up
          const int reps = 3;
          const auto t1 = Clock::now();
          for (int r = 0; r < reps; ++r) y = layer.forward(x);
          const double forward_ms = seconds_since(t1) * 1e3 / reps;
          const double rel = (y - y_float).norm() / y_float.norm();
          std::printf("%-22s %8.4f %12.1f %14.3e %12.2f %14.2f\n", std::string(Ss::name).c_str(),
                      layer.bits_per_weight(), double(layer.memory_savings_bytes()) / (1 << 20), rel, quantize_s,
                      forward_ms);
          std::fflush(stdout);
        }(),
        ...);
  }(AllSchemes{});
  return 0;
}
