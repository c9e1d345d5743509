#pragma once
// The ggml peer: upstream ggml's prebuilt CPU libraries (npm @node-llama-cpp/linux-x64, fetched by
// bench/peers/fetch_ggml.sh), loaded with dlopen. No headers ship with them, so the few C functions
// used are declared here with opaque pointers; the one struct passed by value (ggml_init_params)
// has had the same three fields since ggml's first release.
//
// ggml at its best, as llama.cpp runs it:
//  - the CPU variant ggml itself would load (highest ggml_backend_score(), e.g. sapphirerapids);
//  - weights in every buffer type that accepts them (AMX, CPU_REPACK, plain CPU), each probed with
//    ggml_backend_dev_supports_op before any byte is written (CPU_REPACK aborts inside
//    ggml_backend_tensor_set for types it has no layout for); the benchmark times each and keeps
//    the fastest per cell;
//  - ggml_backend_graph_compute on a CPU backend with a persistent ggml threadpool (the simple
//    ggml_graph_compute_with_ctx path allocates its work buffer on every call);
//  - ggml's AMX tile configuration put back on the calling thread before each call (TileGuard
//    below: ggml loads it once per thread and never again, and the benchmark runs other AMX code,
//    which releases the tiles, on that same thread).

#include <dlfcn.h>

#include "qlinear/backends/cpu/isa.hpp"
#if defined(__x86_64__)
#include "qlinear/backends/cpu/x86/amx/tile.hpp"
#define QLB_GGML_TILE_GUARD 1
#else
#define QLB_GGML_TILE_GUARD 0
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef QLINEAR_GGML_DIR
#define QLINEAR_GGML_DIR ""
#endif

namespace qlinear_bench::ggml {

// Opaque handles of ggml's C API.
struct Context;
struct Tensor;
struct Graph;
using Backend = void*;
using BufferType = void*;
using Buffer = void*;
using Device = void*;
using Reg = void*;
using Threadpool = void*;

/// ggml_init_params, laid out as ggml.h declares it.
struct InitParams {
  std::size_t mem_size;
  void* mem_buffer;
  bool no_alloc;
};

/// ggml's log callback: (enum ggml_log_level, text, user data).
using LogCallback = void (*)(int, const char*, void*);
enum LogLevel : int { LOG_DEBUG = 1, LOG_INFO = 2, LOG_WARN = 3, LOG_ERROR = 4, LOG_CONT = 5 };

/// ggml_type values used here (ggml.h; the GGUF type ids).
enum Type : int { F32 = 0, Q4_0 = 2, Q8_0 = 8, Q4_K = 12, Q5_K = 13, Q6_K = 14 };

// name, return type, parameters
#define QLB_GGML_BASE_FUNCTIONS(X)                                                          \
  X(ggml_version, const char*, ())                                                          \
  X(ggml_commit, const char*, ())                                                           \
  X(ggml_init, Context*, (InitParams))                                                      \
  X(ggml_free, void, (Context*))                                                            \
  X(ggml_tensor_overhead, std::size_t, ())                                                  \
  X(ggml_graph_overhead, std::size_t, ())                                                   \
  X(ggml_new_tensor_2d, Tensor*, (Context*, int, std::int64_t, std::int64_t))               \
  X(ggml_mul_mat, Tensor*, (Context*, Tensor*, Tensor*))                                    \
  X(ggml_nbytes, std::size_t, (const Tensor*))                                              \
  X(ggml_row_size, std::size_t, (int, std::int64_t))                                        \
  X(ggml_new_graph, Graph*, (Context*))                                                     \
  X(ggml_build_forward_expand, void, (Graph*, Tensor*))                                     \
  X(ggml_backend_buft_name, const char*, (BufferType))                                      \
  X(ggml_backend_cpu_buffer_type, BufferType, ())                                           \
  X(ggml_backend_alloc_ctx_tensors_from_buft, Buffer, (Context*, BufferType))               \
  X(ggml_backend_buffer_free, void, (Buffer))                                               \
  X(ggml_backend_buffer_get_size, std::size_t, (Buffer))                                    \
  X(ggml_backend_tensor_set, void, (Tensor*, const void*, std::size_t, std::size_t))        \
  X(ggml_backend_tensor_get, void, (const Tensor*, void*, std::size_t, std::size_t))        \
  X(ggml_backend_graph_compute, int, (Backend, Graph*))                                     \
  X(ggml_backend_free, void, (Backend))                                                     \
  X(ggml_backend_reg_dev_get, Device, (Reg, std::size_t))                                   \
  X(ggml_backend_reg_get_proc_address, void*, (Reg, const char*))                           \
  X(ggml_backend_dev_supports_op, bool, (Device, const Tensor*))                            \
  X(ggml_threadpool_params_init, void, (void*, int))                                        \
  X(ggml_log_set, void, (LogCallback, void*))

#define QLB_GGML_CPU_FUNCTIONS(X)                         \
  X(ggml_cpu_init, void, ())                              \
  X(ggml_backend_cpu_reg, Reg, ())                        \
  X(ggml_backend_cpu_init, Backend, ())                   \
  X(ggml_backend_cpu_set_n_threads, void, (Backend, int)) \
  X(ggml_backend_cpu_set_threadpool, void, (Backend, Threadpool)) \
  X(ggml_threadpool_new, Threadpool, (void*))             \
  X(ggml_threadpool_free, void, (Threadpool))

/// The loaded libraries: libggml-base plus the best libggml-cpu-<variant> for this CPU.
/// Usage: `if (auto* lib = Library::get()) ...; else puts(Library::why_missing().c_str());`
class Library {
 public:
#define QLB_GGML_MEMBER(name, ret, params) ret(*name) params = nullptr;
  QLB_GGML_BASE_FUNCTIONS(QLB_GGML_MEMBER)
  QLB_GGML_CPU_FUNCTIONS(QLB_GGML_MEMBER)
#undef QLB_GGML_MEMBER

  std::string dir;      ///< where the libraries were found
  std::string variant;  ///< the libggml-cpu-<variant>.so chosen
  int score = 0;        ///< its ggml_backend_score()
  Device device = nullptr;
  std::vector<BufferType> extra_buffer_types;  ///< AMX, CPU_REPACK, ... in ggml's order

  /// The libraries, loaded once; nullptr when they are absent or unusable (see why_missing()).
  static Library* get() {
    static std::unique_ptr<Library> lib = load();
    return lib.get();
  }
  static std::string& why_missing() {
    static std::string why;
    return why;
  }
  std::string version() const {
    return std::string(ggml_version()) + " (commit " + ggml_commit() + ")";
  }

 private:
  static std::unique_ptr<Library> load() {
    const char* env_dir = std::getenv("QLINEAR_GGML_DIR");
    const std::string dir = env_dir && *env_dir ? env_dir : QLINEAR_GGML_DIR;
    namespace fs = std::filesystem;
    if (dir.empty() || !fs::exists(fs::path(dir) / "libggml-base.so")) {
      why_missing() = "ggml peer skipped: no libggml-base.so in '" + dir +
                      "' (run bench/peers/fetch_ggml.sh, or set QLINEAR_GGML_DIR)";
      return nullptr;
    }
    auto lib = std::make_unique<Library>();
    lib->dir = dir;
    // RTLD_GLOBAL so the CPU library's DT_NEEDED libggml-base.so resolves to this very copy.
    void* base = dlopen((fs::path(dir) / "libggml-base.so").c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!base) {
      why_missing() = std::string("ggml peer skipped: ") + dlerror();
      return nullptr;
    }
#define QLB_GGML_LOAD(name, ret, params)                                    \
  lib->name = reinterpret_cast<ret(*) params>(dlsym(handle, #name));       \
  if (!lib->name) {                                                         \
    why_missing() = "ggml peer skipped: " #name " missing from " + where;   \
    return nullptr;                                                         \
  }
    {
      void* handle = base;
      const std::string where = "libggml-base.so";
      QLB_GGML_BASE_FUNCTIONS(QLB_GGML_LOAD)
    }
    // Pick the CPU variant the way ggml's own loader does: the highest ggml_backend_score()
    // (0 means "this CPU lacks an instruction set the variant needs"). QLINEAR_GGML_CPU forces one.
    const char* forced = std::getenv("QLINEAR_GGML_CPU");
    void* best = nullptr;
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string file = entry.path().filename().string();
      if (file.rfind("libggml-cpu-", 0) != 0 || entry.path().extension() != ".so") continue;
      const std::string variant = file.substr(12, file.size() - 12 - 3);
      if (forced && *forced && variant != forced) continue;
      void* h = dlopen(entry.path().c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!h) continue;
      auto score_fn = reinterpret_cast<int (*)()>(dlsym(h, "ggml_backend_score"));
      const int score = score_fn ? score_fn() : 0;
      if (score > lib->score) {
        if (best) dlclose(best);
        best = h;
        lib->score = score;
        lib->variant = variant;
      } else {
        dlclose(h);
      }
    }
    if (!best) {
      why_missing() = "ggml peer skipped: no libggml-cpu-*.so in '" + dir + "' runs on this CPU" +
                      (forced && *forced ? std::string(" (QLINEAR_GGML_CPU=") + forced + ")" : "");
      return nullptr;
    }
    {
      void* handle = best;
      const std::string where = "libggml-cpu-" + lib->variant + ".so";
      QLB_GGML_CPU_FUNCTIONS(QLB_GGML_LOAD)
    }
#undef QLB_GGML_LOAD
    // ggml logs every weight repack at INFO level; keep its warnings and errors only.
    lib->ggml_log_set(
        [](int level, const char* text, void*) {
          static bool last_shown = false;
          const bool show = level == LOG_WARN || level == LOG_ERROR || (level == LOG_CONT && last_shown);
          if (level != LOG_CONT) last_shown = show;
          if (show) std::fputs(text, stderr);
        },
        nullptr);
    lib->ggml_cpu_init();
    Reg reg = lib->ggml_backend_cpu_reg();
    lib->device = lib->ggml_backend_reg_dev_get(reg, 0);
    using GetExtra = BufferType* (*)(Device);
    if (auto get_extra = reinterpret_cast<GetExtra>(
            lib->ggml_backend_reg_get_proc_address(reg, "ggml_backend_dev_get_extra_bufts"))) {
      for (BufferType* p = get_extra(lib->device); p && *p; ++p) lib->extra_buffer_types.push_back(*p);
    }
    return lib;
  }
};

/// Keeps ggml's AMX tile configuration in place on the thread that calls ggml.
///
/// ggml's AMX kernels (ggml-cpu/amx/mmq.cpp) load their tile configuration once per thread:
/// ggml_tile_config_init returns at once when its `static thread_local bool is_first_time` is
/// false, and ggml never executes TILERELEASE. The thread that calls ggml_backend_graph_compute is
/// worker 0 of ggml's threadpool, and in the benchmark that thread also runs oneDNN's brgemm and
/// the AMX ceiling loop, which end with TILERELEASE (tiles back to their INIT state; qlinear's
/// kernels did too, and now give back the configuration they found). ggml's next TILELOADD on that thread then raises #UD: SIGILL (si_code
/// ILL_ILLOPN) in tinygemm_kernel_amx. The permission to use the tile data (arch_prctl
/// ARCH_REQ_XCOMP_PERM) is per process and ggml asks for it when its AMX buffer type is created;
/// it is not what fails.
///
/// before() runs before each ggml call on the calling thread: once ggml has configured this
/// thread (seen by after()), it puts ggml's configuration back if anything changed it (one
/// STTILECFG and a 64-byte compare otherwise); until then it releases the tiles, so that a
/// configuration seen after a call is the one ggml itself loaded. Nothing is assumed about ggml's
/// configuration beyond that: it is read back with STTILECFG. Where the processor, the OS or the
/// process lacks AMX (qlinear's own detection, which also requests the tile permission), or off
/// x86-64, both do nothing.
class TileGuard {
 public:
  static bool available() {
#if QLB_GGML_TILE_GUARD
    return qlinear::cpu::isa_supported(qlinear::cpu::Isa::amx);
#else
    return false;
#endif
  }

  static void before() {
#if QLB_GGML_TILE_GUARD
    if (!available()) return;
    State& s = state();
    if (!s.have) return qlinear::cpu::amx::release_tiles();
    const auto now = qlinear::cpu::amx::stored_tile_config();
    if (std::memcmp(&now, &s.ggml, sizeof now) != 0) qlinear::cpu::amx::load_tile_config(s.ggml);
#endif
  }

  static void after() {
#if QLB_GGML_TILE_GUARD
    if (!available()) return;
    State& s = state();
    if (s.have) return;
    const auto now = qlinear::cpu::amx::stored_tile_config();
    if (now.palette != 0) {  // palette 0: INIT (ggml did not use the tiles in this call)
      s.ggml = now;
      s.have = true;
    }
#endif
  }

 private:
#if QLB_GGML_TILE_GUARD
  struct State {
    qlinear::cpu::amx::TileConfig ggml;
    bool have = false;
  };
  static State& state() {
    static thread_local State s;
    return s;
  }
#endif
};

/// A ggml context (tensor metadata and graphs; data lives in backend buffers). Owns it.
class ContextHandle {
 public:
  ContextHandle(Library& lib, std::size_t tensors, bool with_graph) : lib_(&lib) {
    InitParams p{};
    p.mem_size = lib.ggml_tensor_overhead() * (tensors + 4) + (with_graph ? lib.ggml_graph_overhead() : 0) + 4096;
    p.mem_buffer = nullptr;
    p.no_alloc = true;
    ctx_ = lib.ggml_init(p);
    if (!ctx_) throw std::runtime_error("ggml_init failed");
  }
  ~ContextHandle() {
    if (ctx_) lib_->ggml_free(ctx_);
  }
  ContextHandle(const ContextHandle&) = delete;
  ContextHandle& operator=(const ContextHandle&) = delete;
  Context* get() const { return ctx_; }

 private:
  Library* lib_;
  Context* ctx_ = nullptr;
};

/// A backend buffer. Owns it.
class BufferHandle {
 public:
  BufferHandle(Library& lib, Buffer b) : lib_(&lib), b_(b) {}
  ~BufferHandle() {
    if (b_) lib_->ggml_backend_buffer_free(b_);
  }
  BufferHandle(const BufferHandle&) = delete;
  BufferHandle& operator=(const BufferHandle&) = delete;
  Buffer get() const { return b_; }

 private:
  Library* lib_;
  Buffer b_;
};

/// One weight matrix (N rows of K weights in a GGUF type, row-major GGUF blocks) held in one
/// buffer type, `copies` times (copies > 1 for the cold benchmark, which rotates over them).
class Weights {
 public:
  /// Whether a mul_mat with weights of `type` [K × N] in `buft` and f32 activations of M rows
  /// is supported, asked before any data is written: for M = 1 and M = max_m.
  static bool supported(Library& lib, BufferType buft, int type, std::size_t n, std::size_t k, std::size_t max_m) {
    ContextHandle wctx(lib, 1, false);
    Tensor* w = lib.ggml_new_tensor_2d(wctx.get(), type, std::int64_t(k), std::int64_t(n));
    Buffer b = lib.ggml_backend_alloc_ctx_tensors_from_buft(wctx.get(), buft);
    if (!b) return false;
    BufferHandle hold(lib, b);
    for (std::size_t m : {std::size_t(1), max_m}) {
      ContextHandle ctx(lib, 2, false);
      Tensor* x = lib.ggml_new_tensor_2d(ctx.get(), F32, std::int64_t(k), std::int64_t(m));
      Tensor* y = lib.ggml_mul_mat(ctx.get(), w, x);
      if (!lib.ggml_backend_dev_supports_op(lib.device, y)) return false;
    }
    return true;
  }

  Weights(Library& lib, BufferType buft, int type, const void* bytes, std::size_t n, std::size_t k,
          std::size_t copies)
      : lib_(&lib), buft_(buft), ctx_(lib, copies, false), n_(n), k_(k) {
    const std::size_t row = lib.ggml_row_size(type, std::int64_t(k));
    for (std::size_t c = 0; c < copies; ++c)
      tensors_.push_back(lib.ggml_new_tensor_2d(ctx_.get(), type, std::int64_t(k), std::int64_t(n)));
    Buffer b = lib.ggml_backend_alloc_ctx_tensors_from_buft(ctx_.get(), buft);
    if (!b) throw std::runtime_error("ggml: allocating weights in " + buffer_name() + " failed");
    buffer_ = std::make_unique<BufferHandle>(lib, b);
    // ggml_backend_tensor_set repacks into the buffer type's layout (AMX tiles, interleaved rows).
    for (Tensor* t : tensors_) lib.ggml_backend_tensor_set(t, bytes, 0, row * n);
    bytes_per_copy_ = lib.ggml_nbytes(tensors_.front());
  }

  std::string buffer_name() const { return lib_->ggml_backend_buft_name(buft_); }
  std::size_t copies() const { return tensors_.size(); }
  Tensor* tensor(std::size_t c) const { return tensors_[c]; }
  std::size_t rows() const { return n_; }
  std::size_t cols() const { return k_; }
  /// Bytes one copy of the weights takes in ggml's type (what a forward call reads).
  std::size_t bytes_per_copy() const { return bytes_per_copy_; }

 private:
  Library* lib_;
  BufferType buft_;
  ContextHandle ctx_;
  std::unique_ptr<BufferHandle> buffer_;
  std::vector<Tensor*> tensors_;
  std::size_t n_, k_, bytes_per_copy_ = 0;
};

/// y[M×N] = x[M×K]·Wᵀ for every copy of some Weights, through a CPU backend with its own
/// threadpool; x is set once (the benchmark's activations do not change between calls).
class Matmul {
 public:
  Matmul(Library& lib, const Weights& w, const float* x, std::size_t m, int threads)
      : lib_(&lib), w_(&w), m_(m), ctx_(lib, 2 + w.copies(), true) {
    x_ = lib.ggml_new_tensor_2d(ctx_.get(), F32, std::int64_t(w.cols()), std::int64_t(m));
    for (std::size_t c = 0; c < w.copies(); ++c) ys_.push_back(lib.ggml_mul_mat(ctx_.get(), w.tensor(c), x_));
    Buffer b = lib.ggml_backend_alloc_ctx_tensors_from_buft(ctx_.get(), lib.ggml_backend_cpu_buffer_type());
    if (!b) throw std::runtime_error("ggml: allocating activations failed");
    io_ = std::make_unique<BufferHandle>(lib, b);
    lib.ggml_backend_tensor_set(x_, x, 0, m * w.cols() * sizeof(float));
    for (Tensor* y : ys_) {
      graphs_.push_back(std::make_unique<ContextHandle>(lib, 0, true));
      Graph* g = lib.ggml_new_graph(graphs_.back()->get());
      lib.ggml_build_forward_expand(g, y);
      graph_ptrs_.push_back(g);
    }
    backend_ = lib.ggml_backend_cpu_init();
    if (!backend_) throw std::runtime_error("ggml_backend_cpu_init failed");
    alignas(64) unsigned char params[4096] = {};  // ggml_threadpool_params (about 530 bytes); copied by _new
    lib.ggml_threadpool_params_init(params, threads);
    pool_ = lib.ggml_threadpool_new(params);
    if (!pool_) throw std::runtime_error("ggml_threadpool_new failed");
    lib.ggml_backend_cpu_set_n_threads(backend_, threads);
    lib.ggml_backend_cpu_set_threadpool(backend_, pool_);
  }
  ~Matmul() {
    if (backend_) lib_->ggml_backend_free(backend_);
    if (pool_) lib_->ggml_threadpool_free(pool_);
  }
  Matmul(const Matmul&) = delete;
  Matmul& operator=(const Matmul&) = delete;

  /// One forward call over weight copy `c`.
  void run(std::size_t c = 0) {
    TileGuard::before();
    const int status = lib_->ggml_backend_graph_compute(backend_, graph_ptrs_[c]);
    TileGuard::after();
    if (status != 0) throw std::runtime_error("ggml_backend_graph_compute returned " + std::to_string(status));
  }
  const Weights& weights() const { return *w_; }
  /// The output of the last call over copy `c`, row-major M × N.
  std::vector<float> output(std::size_t c = 0) const {
    std::vector<float> y(m_ * w_->rows());
    lib_->ggml_backend_tensor_get(ys_[c], y.data(), 0, y.size() * sizeof(float));
    return y;
  }

 private:
  Library* lib_;
  const Weights* w_;
  std::size_t m_;
  ContextHandle ctx_;
  Tensor* x_ = nullptr;
  std::vector<Tensor*> ys_;
  std::unique_ptr<BufferHandle> io_;
  std::vector<std::unique_ptr<ContextHandle>> graphs_;
  std::vector<Graph*> graph_ptrs_;
  Backend backend_ = nullptr;
  Threadpool pool_ = nullptr;
};

}  // namespace qlinear_bench::ggml
