#pragma once
// cuda::Backend: quantized weights in device memory, repacked for the kernels, and products on
// device pointers (or staged from host memory). Compile with nvcc (C++20); include this header
// only: `#include <qlinear/backends/cuda/backend.cuh>`.

#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "qlinear/backends/backend.hpp"
#include "qlinear/backends/cuda/check.cuh"
#include "qlinear/backends/cuda/context.cuh"
#include "qlinear/backends/cuda/dispatch.hpp"
#include "qlinear/backends/cuda/kernels.cuh"
#include "qlinear/backends/cuda/layout.hpp"
#include "qlinear/backends/cuda/memory.cuh"
#include "qlinear/core/type_list.hpp"
#include "qlinear/schemes/registry.hpp"

namespace qlinear::cuda {

namespace detail {
template <class S, class... Ts>
constexpr bool in_list(TypeList<Ts...>) {
  return (std::is_same_v<S, Ts> || ...);
}

// Compute capability major version of a device (cached per device for the process).
inline int device_major(int device) {
  static std::atomic<int> cache[64] = {};  // 0 = not asked yet
  if (device >= 0 && device < 64) {
    if (const int known = cache[device].load(std::memory_order_relaxed)) return known;
  }
  int major = 0;
  QLINEAR_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  if (device >= 0 && device < 64) cache[device].store(major, std::memory_order_relaxed);
  return major;
}

// Throws unless p (the data of a view the kernels will read or write) is memory the device can
// address: device or managed memory, or any memory on systems with pageable-memory access.
// Pointers the context has seen pass are not asked about again (a driver call per pointer per
// product would cost as much as a small decode kernel).
inline void check_device_memory(Context& ctx, const void* p, std::string_view who, std::string_view what) {
  if (p == nullptr || ctx.known_device_pointer(p)) return;
  const int device = ctx.device();
  cudaPointerAttributes attr{};
  QLINEAR_CUDA_CHECK(cudaPointerGetAttributes(&attr, p));
  if (attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged) {
    check(attr.type == cudaMemoryTypeManaged || attr.device == device, who, ": ", what, " is memory of device ",
          attr.device, ", the context runs on device ", device);
  } else if (!(attr.type == cudaMemoryTypeHost && attr.devicePointer == p)) {  // not mapped pinned memory
    int pageable = 0;
    QLINEAR_CUDA_CHECK(cudaDeviceGetAttribute(&pageable, cudaDevAttrPageableMemoryAccess, device));
    check(pageable != 0, who, ": ", what, " is host memory, which this device cannot address; pass device "
          "pointers (or use gemm_host, which stages host arrays through device memory)");
  }
  ctx.remember_device_pointer(p);
}
}  // namespace detail

/// The CUDA backend. Weights live in device memory in the planes layout of layout.hpp; `gemm`
/// takes device views and queues work on the context's stream (call `synchronize` before
/// reading y on the host); `gemm_host` takes host views and returns when y is there.
/// Runs every scheme of AllSchemes on devices of compute capability 8.0 (Ampere) and newer; the
/// decode kernels also run on 7.x devices, where the automatic choice uses them for every M.
/// Usage:
///   auto layer = QuantizedLinear<cuda::Backend, Q4_K>::from_float(w.data(), 4096, 4096);
///   RowMatrixXf y = layer.forward(x);                      // host data, staged through the GPU
///   cuda::Context ctx;  layer.forward(ctx, x_dev, y_dev);  // device views, asynchronous
struct Backend {
  static constexpr bool host_memory = false;
  using Context = cuda::Context;

  /// The schemes this backend runs (AnyLinear<cuda::Backend> holds these).
  template <class S>
  static constexpr bool supports = detail::in_list<S>(AllSchemes{});

  /// A tensor in device memory. Copies share the (immutable) device bytes.
  template <Scheme S>
  class Weights {
    static_assert(supports<S>, "cuda::Backend runs the weight schemes of AllSchemes (Q8_1 and Q8_K are activation "
                               "formats, not weight schemes)");

   public:
    Weights() = default;
    std::size_t rows() const { return geometry_.rows; }
    std::size_t cols() const { return geometry_.cols; }
    /// Device bytes: the planes (the GGUF bytes, repacked; dense and int8 rows padded to 32
    /// elements), per-row parameters and the per-row f16 exponents (4 bytes a row).
    std::size_t memory_bytes() const { return geometry_.total_bytes; }
    /// The kernels' view of the tensor (device pointers).
    const TensorRef& ref() const { return ref_; }
    int device() const { return memory_ ? memory_->device() : -1; }
    const typename S::TensorParams& params() const { return params_; }

   private:
    friend struct Backend;
    std::shared_ptr<const DeviceAllocation> memory_;
    Geometry geometry_;
    TensorRef ref_;
    typename S::TensorParams params_{};
  };

  /// A float vector in device memory (biases). Copies share it.
  class Buffer {
   public:
    Buffer() = default;
    const float* data() const { return memory_ ? static_cast<const float*>(memory_->data()) : nullptr; }
    std::size_t size() const { return size_; }

   private:
    friend struct Backend;
    std::shared_ptr<const DeviceAllocation> memory_;
    std::size_t size_ = 0;
  };

  /// This thread's context on the device current at its first use.
  static Context& default_context() {
    thread_local Context ctx;
    return ctx;
  }

  /// Repacks a tensor into device memory (on ctx's device) and computes its f16 exponents.
  template <Scheme S>
  static Weights<S> upload(Context& ctx, const QuantizedTensor<S>& t) {
    check(!t.empty(), S::name, ": cannot upload an empty tensor");
    DeviceGuard guard(ctx.device());
    Weights<S> w;
    w.geometry_ = Geometry::of<S>(t.rows(), t.cols());
    const std::vector<std::uint8_t> image = pack_image(w.geometry_, t);
    auto memory = std::make_shared<DeviceAllocation>(w.geometry_.total_bytes);
    QLINEAR_CUDA_CHECK(cudaMemcpyAsync(memory->data(), image.data(), image.size(), cudaMemcpyHostToDevice,
                                       ctx.stream()));
    auto* base = static_cast<std::uint8_t*>(memory->data());
    w.ref_ = w.geometry_.ref(base);
    DeviceLauncher launcher(ctx);
    run_weight_exponents<S>(launcher, w.ref_, reinterpret_cast<int*>(base + w.geometry_.exp_offset));
    QLINEAR_CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));  // `image` must outlive the copy
    w.memory_ = std::move(memory);
    w.params_ = t.params();
    return w;
  }
  template <Scheme S>
  static Weights<S> upload(QuantizedTensor<S> t) {
    return upload(default_context(), t);
  }
  /// Uploads GGUF-layout bytes (rows × row_bytes<S>(cols)) straight from a file's mapping.
  template <Scheme S>
  static Weights<S> upload_gguf(std::span<const std::uint8_t> bytes, std::size_t rows, std::size_t cols) {
    static_assert(SelfDescribingRows<S>, "upload_gguf: this scheme keeps tensor parameters beside its rows");
    return upload(default_context(), QuantizedTensor<S>::adopt(bytes, rows, cols, nullptr));
  }

  /// The tensor back in GGUF layout (the bytes uploaded, bit for bit).
  template <Scheme S>
  static QuantizedTensor<S> download(const Weights<S>& w) {
    check(w.memory_ != nullptr, S::name, ": download of weights that were never uploaded");
    std::vector<std::uint8_t> image(w.geometry_.total_bytes);
    {
      DeviceGuard guard(w.device());
      QLINEAR_CUDA_CHECK(cudaMemcpy(image.data(), w.memory_->data(), image.size(), cudaMemcpyDeviceToHost));
    }
    const std::vector<std::uint8_t> bytes = unpack_image<S>(w.geometry_, image.data());
    return QuantizedTensor<S>::copy_of(bytes, w.rows(), w.cols(), w.params_);
  }

  static Buffer upload_floats(std::span<const float> v) {
    Buffer b;
    if (v.empty()) return b;
    auto memory = std::make_shared<DeviceAllocation>(v.size_bytes());
    QLINEAR_CUDA_CHECK(cudaMemcpy(memory->data(), v.data(), v.size_bytes(), cudaMemcpyHostToDevice));
    // From pageable memory cudaMemcpy may return before the DMA lands, and contexts' streams do
    // not wait for the legacy stream: wait here.
    QLINEAR_CUDA_CHECK(cudaStreamSynchronize(nullptr));
    b.memory_ = std::move(memory);
    b.size_ = v.size();
    return b;
  }
  static const float* data(const Buffer& b) { return b.data(); }

  static void synchronize(Context& ctx) { QLINEAR_CUDA_CHECK(cudaStreamSynchronize(ctx.stream())); }

  /// y[M×N] = x[M×K]·Wᵀ (+ bias) (+ y), all device memory; queued on ctx's stream.
  /// x and y must not overlap. Throws qlinear::Error for shapes, pointers or devices that do not fit.
  template <Scheme S>
  static void gemm(Context& ctx, const Weights<S>& w, ConstMatrixView<float> x, MatrixView<float> y,
                   Epilogue e = {}) {
    constexpr std::string_view who = "cuda::Backend::gemm";
    qlinear::detail::check_gemm_shapes(who, w.rows(), w.cols(), x, y);
    if (x.rows == 0) return;
    check_weights(w, ctx, who);
    detail::check_device_memory(ctx, x.data, who, "x");
    detail::check_device_memory(ctx, y.data, who, "y");
    detail::check_device_memory(ctx, e.bias, who, "the bias");
    check_disjoint(who, x, y);
    GemmOptions options = ctx.options();
    if (detail::device_major(ctx.device()) < 8) {
      check(options.kernel != Kernel::mma, who, ": the tensor-core kernel needs compute capability 8.0 or newer");
      options.kernel = Kernel::gemv;
    }
    DeviceGuard guard(ctx.device());
    DeviceLauncher launcher(ctx);
    run_gemm<S>(launcher, w.ref(), x, y, e, options);
  }

  /// gemm on host arrays: copies x to the device, runs gemm, copies y back and waits for it.
  /// `e.bias` is device memory (a Buffer's data), as in gemm.
  template <Scheme S>
  static void gemm_host(Context& ctx, const Weights<S>& w, ConstMatrixView<float> x, MatrixView<float> y,
                        Epilogue e = {}) {
    constexpr std::string_view who = "cuda::Backend::gemm_host";
    qlinear::detail::check_gemm_shapes(who, w.rows(), w.cols(), x, y);
    if (x.rows == 0) return;
    DeviceGuard guard(ctx.device());
    const std::size_t m = x.rows, n = w.rows(), k = w.cols();
    auto* dx = static_cast<float*>(ctx.scratch(Context::host_x_slot, m * k * sizeof(float)));
    auto* dy = static_cast<float*>(ctx.scratch(Context::host_y_slot, m * n * sizeof(float)));
    QLINEAR_CUDA_CHECK(cudaMemcpy2DAsync(dx, k * sizeof(float), x.data, x.stride * sizeof(float), k * sizeof(float),
                                         m, cudaMemcpyHostToDevice, ctx.stream()));
    if (e.accumulate)
      QLINEAR_CUDA_CHECK(cudaMemcpy2DAsync(dy, n * sizeof(float), y.data, y.stride * sizeof(float),
                                           n * sizeof(float), m, cudaMemcpyHostToDevice, ctx.stream()));
    gemm(ctx, w, ConstMatrixView<float>(dx, m, k), MatrixView<float>(dy, m, n), e);
    QLINEAR_CUDA_CHECK(cudaMemcpy2DAsync(y.data, y.stride * sizeof(float), dy, n * sizeof(float), n * sizeof(float),
                                         m, cudaMemcpyDeviceToHost, ctx.stream()));
    synchronize(ctx);
  }

  /// dx[M×K] (+)= dy[M×N]·W over the quantized weights, device memory, queued on ctx's stream.
  template <Scheme S>
  static void gemm_transposed(Context& ctx, const Weights<S>& w, ConstMatrixView<float> dy, MatrixView<float> dx,
                              bool accumulate = false) {
    constexpr std::string_view who = "cuda::Backend::gemm_transposed";
    qlinear::detail::check_gemm_transposed_shapes(who, w.rows(), w.cols(), dy, dx);
    if (dy.rows == 0) return;
    check_weights(w, ctx, who);
    detail::check_device_memory(ctx, dy.data, who, "dy");
    detail::check_device_memory(ctx, dx.data, who, "dx");
    check_disjoint(who, dy, dx);
    DeviceGuard guard(ctx.device());
    DeviceLauncher launcher(ctx);
    run_gemm_transposed<S>(launcher, w.ref(), dy, dx, accumulate);
  }

  /// gemm_transposed on host arrays (waits for dx).
  template <Scheme S>
  static void gemm_transposed_host(Context& ctx, const Weights<S>& w, ConstMatrixView<float> dy,
                                   MatrixView<float> dx, bool accumulate = false) {
    constexpr std::string_view who = "cuda::Backend::gemm_transposed_host";
    qlinear::detail::check_gemm_transposed_shapes(who, w.rows(), w.cols(), dy, dx);
    if (dy.rows == 0) return;
    DeviceGuard guard(ctx.device());
    const std::size_t m = dy.rows, n = w.rows(), k = w.cols();
    auto* d_dy = static_cast<float*>(ctx.scratch(Context::host_x_slot, m * n * sizeof(float)));
    auto* d_dx = static_cast<float*>(ctx.scratch(Context::host_y_slot, m * k * sizeof(float)));
    QLINEAR_CUDA_CHECK(cudaMemcpy2DAsync(d_dy, n * sizeof(float), dy.data, dy.stride * sizeof(float),
                                         n * sizeof(float), m, cudaMemcpyHostToDevice, ctx.stream()));
    if (accumulate)
      QLINEAR_CUDA_CHECK(cudaMemcpy2DAsync(d_dx, k * sizeof(float), dx.data, dx.stride * sizeof(float),
                                           k * sizeof(float), m, cudaMemcpyHostToDevice, ctx.stream()));
    gemm_transposed(ctx, w, ConstMatrixView<float>(d_dy, m, n), MatrixView<float>(d_dx, m, k), accumulate);
    QLINEAR_CUDA_CHECK(cudaMemcpy2DAsync(dx.data, dx.stride * sizeof(float), d_dx, k * sizeof(float),
                                         k * sizeof(float), m, cudaMemcpyDeviceToHost, ctx.stream()));
    synchronize(ctx);
  }

 private:
  template <Scheme S>
  static void check_weights(const Weights<S>& w, const Context& ctx, std::string_view who) {
    check(w.memory_ != nullptr, who, ": ", S::name, " weights were never uploaded");
    check(w.device() == ctx.device(), who, ": the weights live on device ", w.device(), ", the context runs on device ",
          ctx.device());
  }
};

static_assert(BackendFor<Backend, Q4_K> && BackendFor<Backend, DenseF32> && BackendFor<Backend, Int8PerChannel> &&
              BackendFor<Backend, NF4DoubleQuant>);

}  // namespace qlinear::cuda
