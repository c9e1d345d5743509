// qlinear_bench: qlinear's CPU backend side by side with the peers a user would otherwise pick
// (ggml, oneDNN, Eigen), on the same data, in the same run.
//
// Benchmarks are named <scheme>/<impl>/M:<m>/N:<n>/K:<k>/threads:<t>[/cold] and report GFLOPS
// (2·M·N·K per second) and, for M = 1, GBps (weight bytes read per second). The cold variant of
// M = 1 rotates over enough copies of the layer to exceed the last-level cache; memory/read/...
// measures the machine's read bandwidth beside it. Peers that compute something scheme-independent
// are registered under what they compute: f32/eigen, bf16/onednn, int8_per_channel/onednn
// (bench/report.py compares every qlinear scheme against them).
//
// Every implementation's output is checked against a double-precision reference before it is
// timed; a cell whose output is wrong is reported as an error, not timed.
//
// Own flags (beside Google Benchmark's): --quick, --shapes=NxK,..., --m=1,8,..., --threads=1,2,
// --cold-gib=G, --max-call-seconds=S, --no-exact, --reference; see usage() below.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "qlinear/backends/cpu/reference.hpp"
#include "qlinear/core/half.hpp"
#include "qlinear/schemes/gguf/all.hpp"
#include "qlinear/schemes/int4.hpp"
#include "qlinear/schemes/int8.hpp"
#include "qlinear/schemes/nf4.hpp"
#include "qlinear/schemes/quantized_tensor.hpp"

#if __has_include(<qlinear/backends/cpu/backend.hpp>)
#include <qlinear/backends/cpu/activation_formats.hpp>
#include <qlinear/backends/cpu/backend.hpp>
#define QLINEAR_BENCH_HAVE_CPU_BACKEND 1
#else
#define QLINEAR_BENCH_HAVE_CPU_BACKEND 0
#endif

#include "ceilings.hpp"
#include "memory_bandwidth.hpp"
#include "peers/eigen.hpp"
#include "peers/ggml.hpp"
#include "workload.hpp"
#if QLINEAR_BENCH_WITH_ONEDNN
#include "peers/onednn.hpp"
#endif

namespace qlinear_bench {
namespace {

using qlinear::ConstMatrixView;
using qlinear::MatrixView;
using qlinear::QuantizedTensor;

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
  std::vector<Shape> shapes{{4096, 4096}, {11008, 4096}, {4096, 11008}};
  std::vector<std::size_t> ms{1, 8, 32, 128, 512};
  std::vector<int> threads{1, 2};
  double cold_gib = 1.25;  // weights the cold variant rotates over (> 1 GiB, beyond any LLC here)
  double max_call_seconds = 3.0;  // cells whose single call takes longer are reported, not timed
  bool quick = false;
  bool reference = false;
  bool exact = true;  // qlinear_exact cells on the first shape
};

Options& options() {
  static Options o;
  return o;
}

const char* usage() {
  return "qlinear_bench's own flags (Google Benchmark's --benchmark_* flags work as usual):\n"
         "  --quick            4096x4096 only, M in 1,32,128, one short repetition (a few minutes)\n"
         "  --shapes=NxK,...   layer shapes (default 4096x4096,11008x4096,4096x11008)\n"
         "  --m=1,8,...        batch sizes (default 1,8,32,128,512)\n"
         "  --threads=1,2      thread counts (default 1,2)\n"
         "  --cold-gib=G       weight bytes the cold M=1 variant rotates over (default 1.25)\n"
         "  --max-call-seconds=S  report cells whose one call takes longer than S (default 3) as errors\n"
         "  --no-exact         leave out qlinear_exact (f32-activation mode, first shape only)\n"
         "  --reference        also time cpu::ReferenceBackend as qlinear_reference (M=1, 1 thread)\n"
         "Defaults added unless given: --benchmark_repetitions=3 --benchmark_report_aggregates_only=true\n"
         "  --benchmark_min_time=0.2 (quick: 1 repetition, 0.05 s).\n"
         "Environment: QLINEAR_GGML_DIR (ggml libraries), QLINEAR_GGML_CPU (force a ggml CPU variant).\n";
}

template <class T>
std::vector<T> parse_list(const std::string& s, T (*conv)(const std::string&)) {
  std::vector<T> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(conv(item));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Caches. Google Benchmark calls a benchmark function several times (iteration estimate,
// repetitions); data is made once and kept while consecutive benchmarks need it. The cells of
// one scheme are registered M by M with every implementation side by side (their ratios then
// compare runs seconds apart, which matters on a shared machine), so each implementation keeps
// its hot weights in a slot of its own; the cold cells' > 1 GiB of copies share one slot, and
// the runner (one cell's primitive, graph or thread pool) another. Replacing a level drops the
// levels below it first: runner < weights < scheme data < shape data.

struct Slot {
  std::string key;
  std::shared_ptr<void> value;
  void reset() {
    value.reset();
    key.clear();
  }
};
Slot& shape_slot() { static Slot s; return s; }
Slot& scheme_slot() { static Slot s; return s; }
Slot& cold_slot() { static Slot s; return s; }
Slot& runner_slot() { static Slot s; return s; }
std::map<std::string, Slot>& hot_slots() {
  static std::map<std::string, Slot> s;
  return s;
}
/// The hot weights of implementation `impl` (one scheme and shape at a time).
Slot& weights_slot(const std::string& impl) { return hot_slots()[impl]; }

void drop_runner() { runner_slot().reset(); }
void drop_weights() {
  drop_runner();
  cold_slot().reset();
  for (auto& [impl, slot] : hot_slots()) slot.reset();
}
/// Before a cold cell's copies are made: nothing else big may stay.
void drop_for_cold() { drop_weights(); }

template <class T, class Make, class Before>
T& cached(Slot& slot, const std::string& key, Make&& make, Before&& before) {
  if (slot.key != key || !slot.value) {
    before();
    slot.reset();
    std::shared_ptr<T> v = make();
    slot.value = v;
    slot.key = key;
  }
  return *static_cast<T*>(slot.value.get());
}

constexpr std::size_t max_m = 512;

/// Float weights, activations (max_m rows) and the exact f32 reference of one shape.
struct ShapeData {
  Shape shape;
  std::vector<float> w, x;
  ReferenceRows exact;
};

ShapeData& shape_data(Shape s) {
  return cached<ShapeData>(shape_slot(), s.str(), [&] {
    auto d = std::make_shared<ShapeData>();
    d->shape = s;
    d->w = random_weights(s, 1000 + s.n * 7 + s.k);
    d->x = random_activations(max_m, s.k, 2000 + s.k);
    d->exact = ReferenceRows(d->w.data(), s);
    return d;
  }, [] {
    drop_weights();
    scheme_slot().reset();
  });
}

/// One scheme's view of a shape: the quantized tensor (if any), the weights and activations
/// every implementation of it must reproduce (dequantized; bf16-rounded for bf16) and the
/// reference outputs over them.
struct SchemeData {
  std::shared_ptr<void> tensor;  // QuantizedTensor<S>
  std::vector<float> weights_store, x_store;
  const float* weights = nullptr;  // N × K
  const float* x = nullptr;        // max_m × K
  ReferenceRows ref;
  // The same product with x rounded to int8 in the blocks the scheme's kernels quantize it in
  // (256, Q8_K-like, for the GGUF and int4 schemes, whose blocks are no longer; the whole row for
  // int8, whose activations take one scale per row): how far a correct int8-activation kernel
  // may land from `ref`, which sets its tolerance.
  std::vector<float> x_q8;
  ReferenceRows ref_q8;
};

/// x quantized and dequantized in blocks of `block` with a symmetric amax/127 scale.
std::vector<float> int8_blocks(const float* x, std::size_t rows, std::size_t k, std::size_t block) {
  std::vector<float> out(rows * k);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t b = 0; b < k; b += block) {
      const std::size_t len = std::min(block, k - b);
      const float* xb = x + r * k + b;
      float amax = 0;
      for (std::size_t i = 0; i < len; ++i) amax = std::max(amax, std::fabs(xb[i]));
      const float d = amax / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
      for (std::size_t i = 0; i < len; ++i) out[r * k + b + i] = std::nearbyint(xb[i] * id) * d;
    }
  return out;
}

template <class S>
SchemeData& quantized_scheme(const ShapeData& sd) {
  return cached<SchemeData>(scheme_slot(), std::string(S::name) + "/" + sd.shape.str(), [&] {
    auto d = std::make_shared<SchemeData>();
    auto t = std::make_shared<QuantizedTensor<S>>(QuantizedTensor<S>::quantize(sd.w.data(), sd.shape.n, sd.shape.k));
    d->weights_store = t->dequantize();
    d->tensor = t;
    d->weights = d->weights_store.data();
    d->x = sd.x.data();
    d->ref = ReferenceRows(d->weights, sd.shape);
    std::size_t block = 256;
#if QLINEAR_BENCH_HAVE_CPU_BACKEND
    if constexpr (requires { typename qlinear::cpu::ActivationFormat<S>::type; })
      if (std::is_same_v<qlinear::cpu::activation_scheme_t<S>, qlinear::cpu::I8Row>) block = sd.shape.k;
#endif
    d->x_q8 = int8_blocks(d->x, max_m, sd.shape.k, block);
    d->ref_q8 = ReferenceRows(d->weights, sd.shape);
    return d;
  }, drop_weights);
}

inline float round_bf16(float v) { return qlinear::bf16::from_float(v).to_float(); }

/// Dense peers: f32 (the weights as they are) or bf16 (weights and activations rounded).
SchemeData& dense_scheme(const ShapeData& sd, bool bf16) {
  return cached<SchemeData>(scheme_slot(), std::string(bf16 ? "bf16/" : "f32/") + sd.shape.str(), [&] {
    auto d = std::make_shared<SchemeData>();
    d->weights = sd.w.data();
    d->x = sd.x.data();
    if (bf16) {
      d->weights_store.resize(sd.w.size());
      d->x_store.resize(sd.x.size());
      std::transform(sd.w.begin(), sd.w.end(), d->weights_store.begin(), round_bf16);
      std::transform(sd.x.begin(), sd.x.end(), d->x_store.begin(), round_bf16);
      d->weights = d->weights_store.data();
      d->x = d->x_store.data();
    }
    d->ref = ReferenceRows(d->weights, sd.shape);
    return d;
  }, drop_weights);
}

// ---------------------------------------------------------------------------------------------
// Cells

struct Cell {
  std::string scheme, impl;
  Shape shape;
  std::size_t m = 1;
  int threads = 1;
  bool cold = false;
  std::string name() const {
    return scheme + "/" + impl + "/M:" + std::to_string(m) + "/" + shape.str() + "/threads:" + std::to_string(threads) +
           (cold ? "/cold" : "");
  }
  /// The cell without its M: cells of one family differ only in batch size.
  std::string family() const {
    return scheme + "/" + impl + "/" + shape.str() + "/threads:" + std::to_string(threads) + (cold ? "/cold" : "");
  }
  /// Weight copies the cold variant rotates over: at least options().cold_gib GiB of weights.
  std::size_t copies(std::size_t bytes_per_copy) const {
    if (!cold) return 1;
    const double want = options().cold_gib * 1024.0 * 1024.0 * 1024.0;
    return std::max<std::size_t>(2, std::size_t(std::ceil(want / double(bytes_per_copy))));
  }
};

/// Result of checking an implementation's output against the reference, once per cell.
struct Check {
  bool ok = false;
  double rel = 0;       // against the implementation's own reference
  double rel_f32 = 0;   // against the exact product with the unquantized f32 weights and activations
  double call_seconds = 0;  // the first call's duration
  std::string message;
};
std::map<std::string, Check>& checks() {
  static std::map<std::string, Check> c;
  return c;
}
/// The last checked call of each cell family (all but M): (M, seconds).
std::map<std::string, std::pair<std::size_t, double>>& call_times() {
  static std::map<std::string, std::pair<std::size_t, double>> t;
  return t;
}

/// What every implementation provides to be timed: run(copy), output() of the last run,
/// copies(), weight_bytes() (one copy), label(). Implementations with a time split also
/// provide split_counters(state, iterations).
struct Runner {
  virtual ~Runner() = default;
  virtual void run(std::size_t copy) = 0;
  virtual std::vector<float> output() = 0;
  virtual std::size_t copies() const = 0;
  virtual std::size_t weight_bytes() const = 0;
  virtual std::string label() const = 0;
  virtual void reset_split() {}
  virtual void split_counters(benchmark::State&) {}
  /// Reference for output row r, when the implementation's own reference is not the scheme's
  /// (oneDNN s8 checks against its quantized activations).
  virtual const std::vector<double>* own_reference(std::size_t) { return nullptr; }
};

/// How far from the scheme's reference an implementation's output may be, over `rows`.
double tolerance_for(const std::string& impl, const std::string& scheme, SchemeData& sd, Shape s,
                     const std::vector<std::size_t>& rows) {
  if (impl == "eigen" || impl == "qlinear_exact" || scheme == "bf16") return 1e-4;  // f32 accumulation only
  if (impl == "onednn") return 1e-5;                     // integer products of the same quantized inputs
  // Kernels that quantize activations to int8 (per block of 32 or 256): a few times the error
  // that 256-blocks cause on this very data, plus room for f32 accumulation.
  double err = 0, norm = 0;
  for (std::size_t r : rows) {
    const auto& a = sd.ref_q8.row(sd.x_q8.data() + r * s.k, r);
    const auto& b = sd.ref.row(sd.x + r * s.k, r);
    for (std::size_t j = 0; j < s.n; ++j) {
      err += (a[j] - b[j]) * (a[j] - b[j]);
      norm += b[j] * b[j];
    }
  }
  return 2.5 * std::sqrt(err / norm) + 1e-3;
}

Check check_runner(Runner& r, const Cell& cell, SchemeData& sd, ShapeData& shape) {
  Check c;
  const std::vector<std::size_t> rows = checked_rows(cell.m);
  const Shape s = cell.shape;
  const double tol = tolerance_for(cell.impl, cell.scheme, sd, s, rows);
  // Every copy of the weights must hold the same thing: check the first and the last.
  for (std::size_t copy : {std::size_t(0), r.copies() - 1}) {
    const auto t0 = std::chrono::steady_clock::now();
    r.run(copy);
    if (copy == 0) c.call_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::vector<float> y = r.output();
    const double rel = relative_error(y, s.n, rows, [&](std::size_t row) -> const std::vector<double>& {
      if (const auto* own = r.own_reference(row)) return *own;
      return sd.ref.row(sd.x + row * s.k, row);
    });
    c.rel = std::max(c.rel, rel);
    c.rel_f32 = relative_error(y, s.n, rows, [&](std::size_t row) -> const std::vector<double>& {
      return shape.exact.row(shape.x.data() + row * s.k, row);
    });
    if (!(rel <= tol)) {
      char buf[256];
      std::snprintf(buf, sizeof buf, "output differs from the reference: relative error %.3g > %.1g (weight copy %zu)",
                    rel, tol, copy);
      c.message = buf;
      return c;
    }
    if (r.copies() == 1) break;
  }
  c.ok = true;
  return c;
}

/// Checks (once per cell), then times runner r, rotating over its weight copies.
void time_runner(benchmark::State& state, const Cell& cell, Runner& r, SchemeData& sd, ShapeData& shape) {
  auto it = checks().find(cell.name());
  if (it == checks().end()) {
    // A call that would clearly exceed --max-call-seconds (judged from the same family's last
    // smaller M) is not even run once: a scalar fallback at M=512 can take a minute.
    auto& [last_m, last_s] = call_times()[cell.family()];
    Check c;
    const double predicted = last_m ? last_s * double(cell.m) / double(last_m) : 0.0;
    if (predicted > 2 * options().max_call_seconds) {
      c.call_seconds = predicted;
    } else {
      c = check_runner(r, cell, sd, shape);
      last_m = cell.m;
      last_s = c.call_seconds;
    }
    it = checks().emplace(cell.name(), c).first;
  }
  const Check& c = it->second;
  if (c.call_seconds > options().max_call_seconds) {
    // A kernel this slow (a scalar fallback) would stretch the run by minutes per cell.
    char buf[160];
    std::snprintf(buf, sizeof buf, "not timed: one call %s %.2f s (more than --max-call-seconds=%g)",
                  c.message.empty() && !c.ok ? "would take about" : "took", c.call_seconds, options().max_call_seconds);
    state.SkipWithError(buf);
    return;
  }
  if (!c.ok) {
    state.SkipWithError(c.message.c_str());
    return;
  }
  const std::size_t copies = r.copies();
  std::size_t copy = 0;
  r.reset_split();
  for (auto _ : state) {
    r.run(copy);
    if (++copy == copies) copy = 0;
  }
  using benchmark::Counter;
  const double flops = 2.0 * double(cell.m) * double(cell.shape.n) * double(cell.shape.k);
  state.counters["GFLOPS"] = Counter(flops * 1e-9, Counter::kIsIterationInvariantRate);
  if (cell.m == 1) state.counters["GBps"] = Counter(double(r.weight_bytes()) * 1e-9, Counter::kIsIterationInvariantRate);
  state.counters["relerr"] = c.rel;
  state.counters["relerr_f32"] = c.rel_f32;
  if (cell.cold) {
    state.counters["copies"] = double(copies);
    state.counters["working_set_GiB"] = double(copies * r.weight_bytes()) / (1024.0 * 1024.0 * 1024.0);
  }
  r.split_counters(state);
  state.SetLabel(r.label());
}

template <class T, class Make>
T& runner_for(const Cell& cell, Make&& make) {
  return cached<T>(runner_slot(), cell.name(), std::forward<Make>(make), [] {});
}

// ---------------------------------------------------------------------------------------------
// qlinear

/// The context a cell runs with: `threads` threads (backends with thread pools) and, for the
/// qlinear_exact cells, f32 activations (cpu::ActivationMode::exact).
template <class B>
typename B::Context make_context(int threads, bool exact) {
#if QLINEAR_BENCH_HAVE_CPU_BACKEND
  if constexpr (std::is_same_v<B, qlinear::cpu::Backend>)
    return typename B::Context(unsigned(threads), qlinear::cpu::Isa::best,
                               exact ? qlinear::cpu::ActivationMode::exact : qlinear::cpu::ActivationMode::quantized);
#endif
  (void)exact;
  if constexpr (std::is_constructible_v<typename B::Context, unsigned>)
    return typename B::Context(unsigned(threads));
  else
    return typename B::Context{};
}

template <class B, class S>
struct QlinearWeights {
  std::vector<typename B::template Weights<S>> copies;
};

template <class B, class S>
struct QlinearRunner final : Runner {
  typename B::Context ctx;
  const QlinearWeights<B, S>* w;
  const float* x;
  std::size_t m, n, k;
  std::vector<float> y;
  std::string backend;
  QlinearRunner(int threads, bool exact, const QlinearWeights<B, S>& weights, const float* x_, std::size_t m_, Shape s,
                std::string name)
      : ctx(make_context<B>(threads, exact)), w(&weights), x(x_), m(m_), n(s.n), k(s.k), y(m_ * s.n),
        backend(std::move(name)) {}
  void run(std::size_t c) override {
    B::gemm(ctx, w->copies[c], ConstMatrixView<float>{x, m, k}, MatrixView<float>{y.data(), m, n});
  }
  std::vector<float> output() override { return y; }
  std::size_t copies() const override { return w->copies.size(); }
  std::size_t weight_bytes() const override { return w->copies.front().memory_bytes(); }
  std::string label() const override {
    if constexpr (requires { B::kernel_name(ctx, w->copies.front()); })  // the kernel these weights get
      return backend + " " + B::kernel_name(ctx, w->copies.front());
    else if constexpr (requires { B::template kernel_name<S>(ctx); })
      return backend + " " + B::template kernel_name<S>(ctx);
    else
      return backend;
  }
};

template <class B, class S>
void bench_qlinear(benchmark::State& state, Cell cell, std::string backend, bool exact) {
  ShapeData& shape = shape_data(cell.shape);
  SchemeData& sd = quantized_scheme<S>(shape);
  const auto& t = *static_cast<const QuantizedTensor<S>*>(sd.tensor.get());
  // The quantized and the exact mode share the weights (they differ only in the context).
  const std::string slot = std::is_same_v<B, qlinear::cpu::ReferenceBackend> ? "qlinear/reference" : "qlinear";
  const std::string key = slot + "/" + std::string(S::name) + "/" + cell.shape.str() + (cell.cold ? "/cold" : "");
  auto& w = cached<QlinearWeights<B, S>>(cell.cold ? cold_slot() : weights_slot(slot), key, [&] {
    auto qw = std::make_shared<QlinearWeights<B, S>>();
    qw->copies.push_back(B::upload(t));
    const std::size_t copies = cell.copies(qw->copies.front().memory_bytes());
    for (std::size_t c = 1; c < copies; ++c)
      qw->copies.push_back(B::upload(QuantizedTensor<S>::copy_of(t.bytes(), t.rows(), t.cols(), t.params())));
    return qw;
  }, [&] { cell.cold ? drop_for_cold() : drop_runner(); });
  auto& r = runner_for<QlinearRunner<B, S>>(cell, [&] {
    return std::make_shared<QlinearRunner<B, S>>(cell.threads, exact, w, shape.x.data(), cell.m, cell.shape, backend);
  });
  time_runner(state, cell, r, sd, shape);
}

// ---------------------------------------------------------------------------------------------
// ggml



struct GgmlRunner final : Runner {
  ggml::Library* lib = nullptr;
  std::unique_ptr<ggml::Matmul> mm;
  std::size_t last = 0;
  std::string tried;
  void run(std::size_t c) override {
    mm->run(c);
    last = c;
  }
  std::vector<float> output() override { return mm->output(last); }
  std::size_t copies() const override { return mm->weights().copies(); }
  std::size_t weight_bytes() const override { return mm->weights().bytes_per_copy(); }
  std::string label() const override {
    return "buffer=" + mm->weights().buffer_name() + " cpu=" + lib->variant + (tried.empty() ? "" : " [" + tried + "]");
  }
};

/// Median seconds of one call, over a short burst after a warm-up.
double quick_time(const std::function<void()>& f) {
  for (int i = 0; i < 2; ++i) f();
  std::vector<double> t;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  while (t.size() < 5 || (t.size() < 50 && elapsed() < 0.15)) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + std::ptrdiff_t(t.size() / 2), t.end());
  return t[t.size() / 2];
}

/// The weights of one scheme and shape in every buffer type that accepts them.
struct GgmlCandidates {
  std::vector<std::unique_ptr<ggml::Weights>> weights;
  std::vector<std::string> refused;  // buffer types whose supports_op said no
};

std::shared_ptr<GgmlCandidates> ggml_candidates(ggml::Library& lib, int type, const void* bytes, Shape s) {
  auto c = std::make_shared<GgmlCandidates>();
  std::vector<ggml::BufferType> bufts = lib.extra_buffer_types;  // AMX, CPU_REPACK, ... (ggml's order)
  bufts.push_back(lib.ggml_backend_cpu_buffer_type());
  for (ggml::BufferType b : bufts) {
    if (ggml::Weights::supported(lib, b, type, s.n, s.k, max_m))
      c->weights.push_back(std::make_unique<ggml::Weights>(lib, b, type, bytes, s.n, s.k, 1));
    else
      c->refused.push_back(lib.ggml_backend_buft_name(b));
  }
  return c;
}

/// Times every correct candidate briefly for this cell and keeps the fastest; `tried` records
/// each candidate's time (or why it was left out).
std::unique_ptr<ggml::Matmul> ggml_pick(ggml::Library& lib, const GgmlCandidates& c, const Cell& cell,
                                        ShapeData& shape, SchemeData& sd, std::string& tried) {
  std::unique_ptr<ggml::Matmul> best;
  double best_t = INFINITY;
  for (const auto& w : c.weights) {
    auto mm = std::make_unique<ggml::Matmul>(lib, *w, shape.x.data(), cell.m, cell.threads);
    mm->run(0);
    const double rel = relative_error(mm->output(0), cell.shape.n, checked_rows(cell.m),
                                      [&](std::size_t row) -> const std::vector<double>& {
                                        return sd.ref.row(sd.x + row * cell.shape.k, row);
                                      });
    char buf[160];
    if (!(rel <= tolerance_for("ggml", cell.scheme, sd, cell.shape, checked_rows(cell.m)))) {
      std::snprintf(buf, sizeof buf, "%s wrong (relerr %.2g)", w->buffer_name().c_str(), rel);
      std::fprintf(stderr, "%s: ggml buffer %s\n", cell.name().c_str(), buf);
    } else {
      const double s = quick_time([&] { mm->run(0); });
      std::snprintf(buf, sizeof buf, "%s %.4g ms", w->buffer_name().c_str(), s * 1e3);
      if (s < best_t) {
        best_t = s;
        best = std::move(mm);
      }
    }
    tried += (tried.empty() ? "" : ", ") + std::string(buf);
  }
  for (const std::string& r : c.refused) tried += ", " + r + " unsupported";
  return best;
}

/// The buffer type that won each hot M=1 cell (key: scheme/shape/threads), for the cold variant.
std::map<std::string, std::string>& ggml_m1_winner() {
  static std::map<std::string, std::string> w;
  return w;
}

template <class S>
void bench_ggml(benchmark::State& state, Cell cell) {
  ggml::Library* lib = ggml::Library::get();
  if (!lib) {
    state.SkipWithError(ggml::Library::why_missing().c_str());
    return;
  }
  constexpr int type = int(S::id);  // GGUF type ids are ggml_type values
  ShapeData& shape = shape_data(cell.shape);
  SchemeData& sd = quantized_scheme<S>(shape);
  const auto& t = *static_cast<const QuantizedTensor<S>*>(sd.tensor.get());
  const std::string base = std::string(S::name) + "/" + cell.shape.str();
  const std::string winner_key = base + "/threads:" + std::to_string(cell.threads);
  const void* bytes = t.bytes().data();

  GgmlRunner* runner = nullptr;
  if (!cell.cold) {
    auto& cands = cached<GgmlCandidates>(weights_slot("ggml"), "ggml/" + base,
                                         [&] { return ggml_candidates(*lib, type, bytes, cell.shape); }, drop_runner);
    runner = &runner_for<GgmlRunner>(cell, [&] {
      auto g = std::make_shared<GgmlRunner>();
      g->lib = lib;
      g->mm = ggml_pick(*lib, cands, cell, shape, sd, g->tried);
      if (g->mm && cell.m == 1) ggml_m1_winner()[winner_key] = g->mm->weights().buffer_name();
      return g;
    });
  } else {
    // The cold variant uses the buffer type that was fastest hot at M=1 (found now if that cell
    // did not run), with enough copies to exceed the last-level cache.
    if (!ggml_m1_winner().count(winner_key)) {
      drop_for_cold();
      auto cands = ggml_candidates(*lib, type, bytes, cell.shape);
      Cell hot = cell;
      hot.cold = false;
      std::string tried;
      auto mm = ggml_pick(*lib, *cands, hot, shape, sd, tried);
      if (mm) ggml_m1_winner()[winner_key] = mm->weights().buffer_name();
    }
    auto found = ggml_m1_winner().find(winner_key);
    if (found == ggml_m1_winner().end()) {
      state.SkipWithError("ggml: no buffer type computed this product correctly");
      return;
    }
    const std::string buft_name = found->second;
    auto& w = cached<ggml::Weights>(cold_slot(), "ggml/" + base + "/cold/" + buft_name, [&] {
      ggml::BufferType buft = lib->ggml_backend_cpu_buffer_type();
      for (ggml::BufferType b : lib->extra_buffer_types)
        if (buft_name == lib->ggml_backend_buft_name(b)) buft = b;
      const std::size_t row = lib->ggml_row_size(type, std::int64_t(cell.shape.k));
      return std::make_shared<ggml::Weights>(*lib, buft, type, bytes, cell.shape.n, cell.shape.k,
                                             cell.copies(row * cell.shape.n));
    }, drop_for_cold);
    runner = &runner_for<GgmlRunner>(cell, [&] {
      auto g = std::make_shared<GgmlRunner>();
      g->lib = lib;
      g->mm = std::make_unique<ggml::Matmul>(*lib, w, shape.x.data(), cell.m, cell.threads);
      return g;
    });
  }
  if (!runner->mm) {
    state.SkipWithError(("ggml: no buffer type computed this product correctly [" + runner->tried + "]").c_str());
    return;
  }
  time_runner(state, cell, *runner, sd, shape);
}

// ---------------------------------------------------------------------------------------------
// oneDNN

#if QLINEAR_BENCH_WITH_ONEDNN
template <class MM>
struct OnednnRunner final : Runner {
  std::unique_ptr<MM> mm;
  const float* x = nullptr;
  std::vector<float> y;
  onednn::Split split;
  std::map<std::size_t, std::vector<double>> own;  // s8: reference on the quantized activations
  const float* deq = nullptr;
  Shape s;
  void run(std::size_t c) override { mm->run(x, y.data(), c, &split); }
  std::vector<float> output() override { return y; }
  std::size_t copies() const override { return mm->copies(); }
  std::size_t weight_bytes() const override { return mm->weight_bytes(); }
  std::string label() const override { return "impl=" + mm->impl_info(); }
  void reset_split() override { split = {}; }
  void split_counters(benchmark::State& state) override {
    const double it = double(state.iterations());
    if (it <= 0) return;
    state.counters["quantize_us"] = split.quantize / it * 1e6;
    state.counters["matmul_us"] = split.matmul / it * 1e6;
    if constexpr (std::is_same_v<MM, onednn::S8Matmul>) state.counters["rescale_us"] = split.rescale / it * 1e6;
    const double flops = 2.0 * double(y.size()) * double(s.k);
    state.counters["GFLOPS_matmul"] = split.matmul > 0 ? flops * it / split.matmul * 1e-9 : 0.0;
  }
  const std::vector<double>* own_reference(std::size_t row) override {
    if constexpr (std::is_same_v<MM, onednn::S8Matmul>) {
      // y_ref = s_x · Σ q_x · (s_W q_W): the activations exactly as oneDNN received them.
      std::vector<float> xq(s.k);
      const auto& q = mm->quantized_x();
      for (std::size_t l = 0; l < s.k; ++l) xq[l] = float(q[row * s.k + l]);
      std::vector<double> r = reference_row(xq.data(), deq, s);
      for (double& v : r) v *= double(mm->x_scale());
      return &(own[row] = std::move(r));
    } else {
      return nullptr;
    }
  }
};

void bench_onednn_s8(benchmark::State& state, Cell cell) {
  using S = qlinear::Int8PerChannel;
  ShapeData& shape = shape_data(cell.shape);
  SchemeData& sd = quantized_scheme<S>(shape);
  const auto& t = *static_cast<const QuantizedTensor<S>*>(sd.tensor.get());
  auto& r = runner_for<OnednnRunner<onednn::S8Matmul>>(cell, [&] {
    if (cell.cold) drop_for_cold();
    auto o = std::make_shared<OnednnRunner<onednn::S8Matmul>>();
    const std::size_t copies = cell.copies(cell.shape.n * cell.shape.k);
    o->mm = std::make_unique<onednn::S8Matmul>(reinterpret_cast<const std::int8_t*>(t.bytes().data()),
                                               t.params().scale.data(), cell.shape.n, cell.shape.k, cell.m,
                                               cell.threads, copies);
    o->x = shape.x.data();
    o->y.resize(cell.m * cell.shape.n);
    o->deq = sd.weights;
    o->s = cell.shape;
    return o;
  });
  time_runner(state, cell, r, sd, shape);
}

void bench_onednn_bf16(benchmark::State& state, Cell cell) {
  ShapeData& shape = shape_data(cell.shape);
  SchemeData& sd = dense_scheme(shape, true);
  auto& r = runner_for<OnednnRunner<onednn::Bf16Matmul>>(cell, [&] {
    if (cell.cold) drop_for_cold();
    auto o = std::make_shared<OnednnRunner<onednn::Bf16Matmul>>();
    const std::size_t copies = cell.copies(cell.shape.n * cell.shape.k * 2);
    o->mm = std::make_unique<onednn::Bf16Matmul>(shape.w.data(), cell.shape.n, cell.shape.k, cell.m, cell.threads,
                                                 copies);
    o->x = shape.x.data();
    o->y.resize(cell.m * cell.shape.n);
    o->s = cell.shape;
    return o;
  });
  time_runner(state, cell, r, sd, shape);
}
#endif

// ---------------------------------------------------------------------------------------------
// Eigen

struct EigenRunner final : Runner {
  const eigen::F32Gemm* g = nullptr;
  const float* x = nullptr;
  std::size_t m = 0;
  int threads = 1;
  std::vector<float> y;
  void run(std::size_t c) override { g->run(x, m, y.data(), threads, c); }
  std::vector<float> output() override { return y; }
  std::size_t copies() const override { return g->copies(); }
  std::size_t weight_bytes() const override { return g->weight_bytes(); }
  std::string label() const override { return eigen::F32Gemm::build_info(); }
};

void bench_eigen(benchmark::State& state, Cell cell) {
  ShapeData& shape = shape_data(cell.shape);
  SchemeData& sd = dense_scheme(shape, false);
  auto& g = cached<eigen::F32Gemm>(cell.cold ? cold_slot() : weights_slot("eigen"),
                                   "eigen/" + cell.shape.str() + (cell.cold ? "/cold" : ""), [&] {
    return std::make_shared<eigen::F32Gemm>(shape.w.data(), cell.shape.n, cell.shape.k,
                                            cell.copies(cell.shape.n * cell.shape.k * sizeof(float)));
  }, [&] { cell.cold ? drop_for_cold() : drop_runner(); });
  auto& r = runner_for<EigenRunner>(cell, [&] {
    auto e = std::make_shared<EigenRunner>();
    e->g = &g;
    e->x = shape.x.data();
    e->m = cell.m;
    e->threads = cell.threads;
    e->y.resize(cell.m * cell.shape.n);
    return e;
  });
  time_runner(state, cell, r, sd, shape);
}

// ---------------------------------------------------------------------------------------------
// Memory read bandwidth

void bench_memory_read(benchmark::State& state, std::size_t bytes, int threads) {
  auto& words = cached<std::vector<std::uint64_t>>(cold_slot(), "memory/" + std::to_string(bytes), [&] {
    auto v = std::make_shared<std::vector<std::uint64_t>>(bytes / 8);
    for (std::size_t i = 0; i < v->size(); ++i) (*v)[i] = i * 0x9E3779B97F4A7C15ull;
    return v;
  }, drop_for_cold);
  std::uint64_t sum = 0;
  for (auto _ : state) {
    sum += read_all(words, threads);
    benchmark::DoNotOptimize(sum);
  }
  state.counters["GBps"] = benchmark::Counter(double(bytes) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// ---------------------------------------------------------------------------------------------
// Arithmetic ceilings

void bench_ceiling(benchmark::State& state, const std::string& what, int threads) {
#if defined(__x86_64__)
  ceilings::Result (*kernel)(std::size_t) = nullptr;
  std::size_t inner = 0;
  if (what == "fma_f32" && ceilings::has_avx512f()) kernel = ceilings::fma_f32, inner = 200000;
  if (what == "vnni_int8" && ceilings::has_avx512vnni()) kernel = ceilings::vnni_int8, inner = 200000;
  if (what == "amx_int8" && ceilings::amx_permitted()) kernel = ceilings::amx_int8, inner = 50000;
  if (!kernel) {
    state.SkipWithError((what + ": this CPU (or its kernel) does not offer it").c_str());
    return;
  }
  double ops = 0, sink = 0;
  for (auto _ : state) {
    std::vector<ceilings::Result> results(static_cast<std::size_t>(threads));
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back([&, t] { results[std::size_t(t)] = kernel(inner); });
    results[0] = kernel(inner);
    for (auto& th : pool) th.join();
    for (const auto& r : results) ops += r.ops, sink += r.sink;
  }
  benchmark::DoNotOptimize(sink);
  state.counters["GOPS"] = benchmark::Counter(ops * 1e-9, benchmark::Counter::kIsRate);
#else
  (void)what;
  (void)threads;
  state.SkipWithError("arithmetic ceilings are measured on x86-64 only");
#endif
}

// ---------------------------------------------------------------------------------------------
// Registration

using Fn = std::function<void(benchmark::State&, Cell)>;

void add(const Cell& cell, Fn fn) {
  benchmark::RegisterBenchmark(cell.name().c_str(), [cell, fn](benchmark::State& st) { fn(st, cell); })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

/// Hot cells for every M and thread count, then the cold M=1 cells.
void add_grid(const std::string& scheme, const std::string& impl, Shape s, const Fn& fn, bool with_cold = true) {
  for (std::size_t m : options().ms)
    for (int t : options().threads) add(Cell{scheme, impl, s, m, t, false}, fn);
  if (with_cold && std::find(options().ms.begin(), options().ms.end(), std::size_t(1)) != options().ms.end())
    for (int t : options().threads) add(Cell{scheme, impl, s, 1, t, true}, fn);
}

template <class S>
constexpr bool is_gguf = int(S::id) < 1000;

/// One scheme's cells: M by M, thread count by thread count, every implementation side by
/// side; then the cold M=1 cells the same way.
template <class S>
void add_scheme(Shape s, bool have_ggml) {
  const std::string name(S::name);
  struct Impl {
    std::string impl;
    Fn fn;
    bool cold;
  };
  std::vector<Impl> impls;
#if QLINEAR_BENCH_HAVE_CPU_BACKEND
  impls.push_back({"qlinear", [](benchmark::State& st, Cell c) {
                     bench_qlinear<qlinear::cpu::Backend, S>(st, c, "qlinear::cpu::Backend", false);
                   }, true});
  // The exact (f32-activation) mode, against oneDNN bf16 and Eigen: on the first shape, hot.
  if (options().exact && s == options().shapes.front())
    impls.push_back({"qlinear_exact", [](benchmark::State& st, Cell c) {
                       bench_qlinear<qlinear::cpu::Backend, S>(st, c, "qlinear::cpu::Backend exact", true);
                     }, false});
#endif
  if constexpr (is_gguf<S>)
    if (have_ggml) impls.push_back({"ggml", [](benchmark::State& st, Cell c) { bench_ggml<S>(st, c); }, true});
#if QLINEAR_BENCH_WITH_ONEDNN
  if constexpr (std::is_same_v<S, qlinear::Int8PerChannel>) impls.push_back({"onednn", bench_onednn_s8, true});
#endif
  if (options().reference)
    add(Cell{name, "qlinear_reference", s, 1, 1, false}, [](benchmark::State& st, Cell c) {
      bench_qlinear<qlinear::cpu::ReferenceBackend, S>(st, c, "qlinear::cpu::ReferenceBackend", false);
    });
  for (std::size_t m : options().ms)
    for (int t : options().threads)
      for (const Impl& i : impls) add(Cell{name, i.impl, s, m, t, false}, i.fn);
  if (std::find(options().ms.begin(), options().ms.end(), std::size_t(1)) != options().ms.end())
    for (int t : options().threads)
      for (const Impl& i : impls)
        if (i.cold) add(Cell{name, i.impl, s, 1, t, true}, i.fn);
}

void register_all() {
  const bool have_ggml = ggml::Library::get() != nullptr;
  // 1 GiB: beyond the last-level cache (the ceiling of the cold M = 1 cells); 16 MiB: beyond L2
  // but inside the L3 (that of the in-cache M = 1 cells, whose 9-25 MB of weights live there).
  for (std::size_t bytes : {std::size_t(1) << 30, std::size_t(16) << 20})
    for (int t : options().threads)
      benchmark::RegisterBenchmark(("memory/read/bytes:" + std::to_string(bytes) + "/threads:" + std::to_string(t)).c_str(),
                                   [bytes, t](benchmark::State& st) { bench_memory_read(st, bytes, t); })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
  for (const char* what : {"fma_f32", "vnni_int8", "amx_int8"})
    for (int t : options().threads)
      benchmark::RegisterBenchmark(("ceiling/" + std::string(what) + "/threads:" + std::to_string(t)).c_str(),
                                   [what = std::string(what), t](benchmark::State& st) { bench_ceiling(st, what, t); })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
  for (Shape s : options().shapes) {
    add_grid("f32", "eigen", s, bench_eigen);
#if QLINEAR_BENCH_WITH_ONEDNN
    add_grid("bf16", "onednn", s, bench_onednn_bf16);
#endif
    add_scheme<qlinear::Int8PerChannel>(s, have_ggml);
    add_scheme<qlinear::Q8_0>(s, have_ggml);
    add_scheme<qlinear::Q4_0>(s, have_ggml);
    add_scheme<qlinear::Q4_K>(s, have_ggml);
    add_scheme<qlinear::Q5_K>(s, have_ggml);
    add_scheme<qlinear::Q6_K>(s, have_ggml);
    add_scheme<qlinear::Int4G128>(s, have_ggml);
    add_scheme<qlinear::NF4>(s, have_ggml);
  }
}

/// What each column is, printed and recorded in the JSON's context (report.py quotes it).
void describe_implementations() {
  std::vector<std::pair<std::string, std::string>> lines;
  lines.emplace_back("qlinear", QLINEAR_BENCH_HAVE_CPU_BACKEND
                                    ? "qlinear::cpu::Backend"
                                    : "none: qlinear/backends/cpu/backend.hpp is not in this tree yet "
                                      "(cpu::ReferenceBackend is far too slow to benchmark)");
  if (auto* lib = ggml::Library::get()) {
    std::string bufts;
    for (auto b : lib->extra_buffer_types) bufts += std::string(bufts.empty() ? "" : ", ") + lib->ggml_backend_buft_name(b);
    lines.emplace_back("ggml", "ggml " + lib->version() + ", libggml-cpu-" + lib->variant + ".so (ggml_backend_score " +
                                   std::to_string(lib->score) + "), extra buffer types: " +
                                   (bufts.empty() ? "none" : bufts) +
                                   (ggml::TileGuard::available()
                                        ? "; ggml's AMX tile configuration put back on the calling thread before each call"
                                        : "") +
                                   "; from " + lib->dir);
  } else {
    lines.emplace_back("ggml", ggml::Library::why_missing());
  }
#if QLINEAR_BENCH_WITH_ONEDNN
  lines.emplace_back("onednn", "oneDNN " + onednn::version());
#else
  lines.emplace_back("onednn", "skipped: libdnnl-dev was not found when qlinear_bench was configured");
#endif
  lines.emplace_back("eigen", eigen::F32Gemm::build_info());
  for (const auto& [k, v] : lines) {
    std::printf("%s: %s\n", k.c_str(), v.c_str());
    benchmark::AddCustomContext(k, v);
  }
  std::fflush(stdout);
}

}  // namespace
}  // namespace qlinear_bench

int main(int argc, char** argv) {
  using namespace qlinear_bench;
  Options& o = options();
  std::vector<char*> args{argv[0]};
  bool user_reps = false, user_min_time = false, user_aggr = false, custom_m = false, custom_shapes = false;
  auto size_of = [](const std::string& s) { return std::size_t(std::stoull(s)); };
  auto int_of = [](const std::string& s) { return std::stoi(s); };
  auto shape_of = [](const std::string& s) {
    const auto x = s.find('x');
    if (x == std::string::npos) throw std::invalid_argument("shape '" + s + "' is not NxK");
    return Shape{std::size_t(std::stoull(s.substr(0, x))), std::size_t(std::stoull(s.substr(x + 1)))};
  };
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&](const char* flag) -> std::optional<std::string> {
        const std::string f = std::string(flag) + "=";
        if (a.rfind(f, 0) == 0) return a.substr(f.size());
        return std::nullopt;
      };
      if (a == "--help" || a == "-h") {
        std::printf("%s\n", usage());
        args.push_back(argv[i]);
      } else if (a == "--quick") {
        o.quick = true;
      } else if (a == "--no-exact") {
        o.exact = false;
      } else if (a == "--reference") {
        o.reference = true;
      } else if (auto v = value("--shapes")) {
        o.shapes = parse_list<Shape>(*v, +shape_of);
        custom_shapes = true;
      } else if (auto v = value("--m")) {
        o.ms = parse_list<std::size_t>(*v, +size_of);
        custom_m = true;
      } else if (auto v = value("--threads")) {
        o.threads = parse_list<int>(*v, +int_of);
      } else if (auto v = value("--cold-gib")) {
        o.cold_gib = std::stod(*v);
      } else if (auto v = value("--max-call-seconds")) {
        o.max_call_seconds = std::stod(*v);
      } else {
        user_reps |= a.rfind("--benchmark_repetitions", 0) == 0;
        user_min_time |= a.rfind("--benchmark_min_time", 0) == 0;
        user_aggr |= a.rfind("--benchmark_report_aggregates_only", 0) == 0 ||
                     a.rfind("--benchmark_display_aggregates_only", 0) == 0;
        args.push_back(argv[i]);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qlinear_bench: %s\n%s", e.what(), usage());
    return 2;
  }
  for (std::size_t m : o.ms)
    if (m == 0 || m > max_m) {
      std::fprintf(stderr, "qlinear_bench: M must be in 1..%zu, got %zu\n", max_m, m);
      return 2;
    }
  if (o.quick) {
    if (!custom_shapes) o.shapes = {{4096, 4096}};
    if (!custom_m) o.ms = {1, 32, 128};
  }
  std::vector<std::string> defaults;
  if (!user_reps) defaults.push_back(o.quick ? "--benchmark_repetitions=1" : "--benchmark_repetitions=3");
  if (!user_aggr && !o.quick) defaults.push_back("--benchmark_report_aggregates_only=true");
  if (!user_min_time) defaults.push_back(o.quick ? "--benchmark_min_time=0.05" : "--benchmark_min_time=0.2");
  for (std::string& d : defaults) args.push_back(d.data());
  int n = int(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) {
    std::fprintf(stderr, "%s", usage());
    return 2;
  }
  describe_implementations();
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
