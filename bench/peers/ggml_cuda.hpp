#pragma once
// ggml's CUDA backend as a benchmark peer, loaded at run time from upstream llama.cpp's prebuilt
// libggml-cuda.so (npm package @node-llama-cpp/linux-x64-cuda; scripts/cuda_check.sh fetches
// it). No headers ship with it, so the few functions used are declared here with ggml's C
// signatures and looked up with dlsym; the bench builds without the package and runs this peer
// only when QLINEAR_GGML_CUDA names the library.
//
// The product: W is a ggml tensor [ne0 = K, ne1 = N] of the scheme's ggml type (its GGUF
// bytes), X is f32 [K, M], ggml_mul_mat(W, X) is f32 [N, M], i.e. row-major y = x·Wᵀ.

#include <dlfcn.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace qlinear_bench::ggml_cuda {

struct ggml_context;
struct ggml_tensor;
struct ggml_cgraph;
struct ggml_backend;
struct ggml_backend_buffer;

struct InitParams {  // struct ggml_init_params
  std::size_t mem_size;
  void* mem_buffer;
  bool no_alloc;
};

/// The functions of libggml-base.so and libggml-cuda.so the peer calls.
struct Library {
  void* handle = nullptr;
  std::string path;
  ggml_context* (*init)(InitParams) = nullptr;
  void (*free_context)(ggml_context*) = nullptr;
  std::size_t (*tensor_overhead)() = nullptr;
  std::size_t (*graph_overhead)() = nullptr;
  ggml_tensor* (*new_tensor_2d)(ggml_context*, int, std::int64_t, std::int64_t) = nullptr;
  ggml_tensor* (*mul_mat)(ggml_context*, ggml_tensor*, ggml_tensor*) = nullptr;
  ggml_cgraph* (*new_graph)(ggml_context*) = nullptr;
  void (*build_forward_expand)(ggml_cgraph*, ggml_tensor*) = nullptr;
  ggml_backend* (*cuda_init)(int) = nullptr;
  ggml_backend_buffer* (*alloc_ctx_tensors)(ggml_context*, ggml_backend*) = nullptr;
  void (*tensor_set)(ggml_tensor*, const void*, std::size_t, std::size_t) = nullptr;
  void (*tensor_get)(const ggml_tensor*, void*, std::size_t, std::size_t) = nullptr;
  int (*graph_compute)(ggml_backend*, ggml_cgraph*) = nullptr;
  void (*synchronize)(ggml_backend*) = nullptr;
  void (*buffer_free)(ggml_backend_buffer*) = nullptr;
  void (*backend_free)(ggml_backend*) = nullptr;

  /// Loads the library at `path` (libggml-cuda.so; its libggml-base.so sits beside it).
  explicit Library(const std::string& p) : path(p) {
    handle = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) throw std::runtime_error("dlopen " + p + ": " + dlerror());
    sym(init, "ggml_init");
    sym(free_context, "ggml_free");
    sym(tensor_overhead, "ggml_tensor_overhead");
    sym(graph_overhead, "ggml_graph_overhead");
    sym(new_tensor_2d, "ggml_new_tensor_2d");
    sym(mul_mat, "ggml_mul_mat");
    sym(new_graph, "ggml_new_graph");
    sym(build_forward_expand, "ggml_build_forward_expand");
    sym(cuda_init, "ggml_backend_cuda_init");
    sym(alloc_ctx_tensors, "ggml_backend_alloc_ctx_tensors");
    sym(tensor_set, "ggml_backend_tensor_set");
    sym(tensor_get, "ggml_backend_tensor_get");
    sym(graph_compute, "ggml_backend_graph_compute");
    sym(synchronize, "ggml_backend_synchronize");
    sym(buffer_free, "ggml_backend_buffer_free");
    sym(backend_free, "ggml_backend_free");
  }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

 private:
  template <class F>
  void sym(F& f, const char* name) {
    f = reinterpret_cast<F>(dlsym(handle, name));
    if (!f) throw std::runtime_error(std::string("ggml: no symbol ") + name + " in " + path);
  }
};

/// The backend (one CUDA device) and, per weight copy, a W tensor on it.
class Weights {
 public:
  Weights(Library& lib, ggml_backend* backend, int type, std::size_t n, std::size_t k,
          const std::vector<const std::uint8_t*>& copies, std::size_t bytes)
      : lib_(lib) {
    ctx_ = lib.init(InitParams{lib.tensor_overhead() * (copies.size() + 1), nullptr, true});
    for (std::size_t i = 0; i < copies.size(); ++i) w_.push_back(lib.new_tensor_2d(ctx_, type, std::int64_t(k), std::int64_t(n)));
    buffer_ = lib.alloc_ctx_tensors(ctx_, backend);
    if (!buffer_) throw std::runtime_error("ggml: could not allocate the weights on the CUDA backend");
    for (std::size_t i = 0; i < copies.size(); ++i) lib.tensor_set(w_[i], copies[i], 0, bytes);
  }
  ~Weights() {
    lib_.buffer_free(buffer_);
    lib_.free_context(ctx_);
  }
  Weights(const Weights&) = delete;
  Weights& operator=(const Weights&) = delete;
  std::size_t copies() const { return w_.size(); }
  ggml_tensor* w(std::size_t i) const { return w_[i]; }

 private:
  Library& lib_;
  ggml_context* ctx_ = nullptr;
  ggml_backend_buffer* buffer_ = nullptr;
  std::vector<ggml_tensor*> w_;
};

/// y = x·Wᵀ for one M over every weight copy: one graph per copy, sharing X.
class Product {
 public:
  Product(Library& lib, ggml_backend* backend, const Weights& w, std::size_t m, std::size_t k, const float* x)
      : lib_(lib), backend_(backend) {
    const std::size_t c = w.copies();
    ctx_ = lib.init(InitParams{lib.tensor_overhead() * (2 * c + 1) + lib.graph_overhead() * c + 4096, nullptr, true});
    x_ = lib.new_tensor_2d(ctx_, 0 /* GGML_TYPE_F32 */, std::int64_t(k), std::int64_t(m));
    for (std::size_t i = 0; i < c; ++i) {
      ggml_tensor* y = lib.mul_mat(ctx_, w.w(i), x_);
      ggml_cgraph* g = lib.new_graph(ctx_);
      lib.build_forward_expand(g, y);
      y_.push_back(y);
      graphs_.push_back(g);
    }
    buffer_ = lib.alloc_ctx_tensors(ctx_, backend);
    if (!buffer_) throw std::runtime_error("ggml: could not allocate activations on the CUDA backend");
    lib.tensor_set(x_, x, 0, m * k * sizeof(float));
  }
  ~Product() {
    lib_.buffer_free(buffer_);
    lib_.free_context(ctx_);
  }
  Product(const Product&) = delete;
  Product& operator=(const Product&) = delete;

  /// Queues the product over weight copy i.
  void run(std::size_t i) {
    if (lib_.graph_compute(backend_, graphs_[i % graphs_.size()]) != 0)
      throw std::runtime_error("ggml_backend_graph_compute failed");
  }
  void synchronize() { lib_.synchronize(backend_); }
  /// The result of copy i (M × N floats).
  std::vector<float> result(std::size_t i, std::size_t m, std::size_t n) {
    std::vector<float> y(m * n);
    lib_.tensor_get(y_[i % y_.size()], y.data(), 0, y.size() * sizeof(float));
    return y;
  }

 private:
  Library& lib_;
  ggml_backend* backend_;
  ggml_context* ctx_ = nullptr;
  ggml_backend_buffer* buffer_ = nullptr;
  ggml_tensor* x_ = nullptr;
  std::vector<ggml_tensor*> y_;
  std::vector<ggml_cgraph*> graphs_;
};

}  // namespace qlinear_bench::ggml_cuda
