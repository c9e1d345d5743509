#pragma once
// metal::Backend: qlinear's layers on Apple GPUs through Metal. Objective-C++: include it from a
// .mm file compiled with -fobjc-arc and link the Metal and Foundation frameworks.
//
// STATUS: this file has never been compiled. The project's machines have no Apple toolchain; what
// it relies on is checked on Linux (the kernels by the grid emulator, the launch geometry by
// dispatch.hpp's tests, the embedded source by the C++14 shim), the Objective-C++ here is not.
// The README's backend table says what ran where; `cmake --preset metal` builds and runs its tests.
//
// How it works:
//  - one device, command queue and library per process (detail::Device, a function-local static),
//    the library compiled at first use from metal_source() with newLibraryWithSource, fast math
//    off; pipelines cached by kernel name (the name kernel_names.hpp builds, which the source's
//    instances.hpp also spells);
//  - Weights<S>: the rows in an MTLBuffer of shared storage (unified memory). Bytes at a
//    page-aligned address (an mmapped GGUF tensor at a page boundary, a large allocation) are
//    wrapped in place with newBufferWithBytesNoCopy; others are copied once into a new buffer,
//    which then is the only copy (the QuantizedTensor download() returns adopts its contents).
//    The int8 and NF4-double-quant schemes add a buffer of per-row (scale, zero point) or
//    (offset, scale) pairs;
//  - Buffer: floats in a shared MTLBuffer (a bias, activations, outputs). data() is a CPU
//    pointer into it; MatrixViews over such pointers are what gemm takes, and the backend finds
//    the buffer and offset of a pointer in its registry of live buffers;
//  - Context: a command buffer and compute encoder, created on first use. gemm and
//    gemm_transposed only encode; synchronize(ctx) ends the encoder, commits, waits and reports a
//    failed command buffer as qlinear::Error. Read outputs after synchronize. gemm_host stages
//    host data through shared buffers and synchronizes itself.
// Usage:
//   auto layer = QuantizedLinear<metal::Backend, Q4_K>::from_float(w.data(), n, k);
//   RowMatrixXf y = layer.forward(x);                  // host Eigen data: staged, synchronous
//   metal::Buffer xb = metal::Backend::allocate(m * k), yb = metal::Backend::allocate(m * n);
//   layer.forward(ctx, xb.view(m, k), yb.view(m, n)); // device views: encoded only
//   metal::Backend::synchronize(ctx);                  // now yb.data() holds y

#if !defined(__APPLE__) || !defined(__OBJC__)
#error "qlinear/backends/metal/backend.hpp is Objective-C++ for Apple platforms: include it from a .mm file compiled with -fobjc-arc and link -framework Metal -framework Foundation. On other systems the Metal kernels are checked by the grid emulator in tests/backends/metal/ and this backend is not available."
#endif
#if !__has_feature(objc_arc)
#error "qlinear/backends/metal/backend.hpp manages Metal objects with automatic reference counting: compile with -fobjc-arc"
#endif

#import <Foundation/Foundation.h>
#import <Metal/Metal.h>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "qlinear/backends/backend.hpp"
#include "qlinear/backends/metal/dispatch.hpp"
#include "qlinear/backends/metal/kernel_names.hpp"
#include "qlinear/backends/metal/metal_source.hpp"
#include "qlinear/core/error.hpp"
#include "qlinear/core/matrix_view.hpp"
#include "qlinear/schemes/quantized_tensor.hpp"
#include "qlinear/schemes/registry.hpp"

namespace qlinear::metal {

namespace detail {

inline std::string describe(NSError* error) {
  if (!error) return "no error description";
  NSString* text = [error localizedDescription];
  return text ? std::string([text UTF8String]) : "no error description";
}

inline std::size_t page_size() {
  static const std::size_t page = std::size_t(getpagesize());
  return page;
}

/// The backend's live buffers by address, so a CPU pointer into one (the data of a MatrixView)
/// can be bound as (buffer, offset).
class BufferRegistry {
 public:
  struct Found {
    id<MTLBuffer> buffer;
    NSUInteger offset;
  };
  void add(id<MTLBuffer> buffer, const void* start, std::size_t length) {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_[reinterpret_cast<std::uintptr_t>(start)] = Entry{length, buffer};
  }
  void remove(const void* start) {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.erase(reinterpret_cast<std::uintptr_t>(start));
  }
  /// The buffer holding [p, p + bytes); throws unless one of the backend's buffers does.
  Found find(const void* p, std::size_t bytes, const char* what) const {
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.upper_bound(at);
    check(it != entries_.begin(), "metal::Backend: ", what, " (", p, ") is not in memory of metal::Backend: ",
          "allocate it with metal::Backend::allocate, or pass host data to gemm_host");
    --it;
    const std::uintptr_t start = it->first;
    const std::size_t length = it->second.length;
    check(at - start < length && bytes <= length - (at - start), "metal::Backend: ", what, " (", bytes,
          " bytes at ", p, ") runs past the end of its ", length, "-byte buffer");
    return Found{it->second.buffer, NSUInteger(at - start)};
  }

 private:
  struct Entry {
    std::size_t length;
    id<MTLBuffer> buffer;
  };
  mutable std::mutex mutex_;
  std::map<std::uintptr_t, Entry> entries_;
};

inline BufferRegistry& registry() {
  static BufferRegistry r;
  return r;
}

/// One MTLBuffer known to the registry for its lifetime.
class Allocation {
 public:
  explicit Allocation(id<MTLBuffer> buffer) : buffer_(buffer) {
    check(buffer_ != nil, "metal::Backend: the Metal device could not allocate a buffer");
    registry().add(buffer_, [buffer_ contents], [buffer_ length]);
  }
  ~Allocation() { registry().remove([buffer_ contents]); }
  Allocation(const Allocation&) = delete;
  Allocation& operator=(const Allocation&) = delete;
  id<MTLBuffer> buffer() const { return buffer_; }

 private:
  id<MTLBuffer> buffer_;
};

/// The process's Metal device, queue, compiled kernel library and pipeline cache.
class Device {
 public:
  static Device& get() {
    static Device d;
    return d;
  }
  id<MTLDevice> device() const { return device_; }
  id<MTLCommandQueue> queue() const { return queue_; }

  /// The pipeline of kernel `name`, compiled once.
  id<MTLComputePipelineState> pipeline(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = pipelines_.find(name); it != pipelines_.end()) return it->second;
    @autoreleasepool {
      id<MTLFunction> function = [library_ newFunctionWithName:[NSString stringWithUTF8String:name.c_str()]];
      check(function != nil, "metal::Backend: the Metal library has no kernel ", name,
            " (host and metal_source.hpp disagree: regenerate metal_source.hpp)");
      NSError* error = nil;
      id<MTLComputePipelineState> p = [device_ newComputePipelineStateWithFunction:function error:&error];
      check(p != nil, "metal::Backend: cannot build the pipeline of ", name, ": ", describe(error));
      check([p threadExecutionWidth] == 32, "metal::Backend: ", name, " needs SIMD groups of 32 threads; this GPU runs ",
            std::size_t([p threadExecutionWidth]));
      pipelines_.emplace(name, p);
      return p;
    }
  }

 private:
  Device() {
    @autoreleasepool {
      device_ = MTLCreateSystemDefaultDevice();
      check(device_ != nil, "metal::Backend: this system has no Metal device");
      // simdgroup_matrix needs an Apple7 (A14 / M1) or later GPU, or the Mac2 family.
      check([device_ supportsFamily:MTLGPUFamilyApple7] || [device_ supportsFamily:MTLGPUFamilyMac2],
            "metal::Backend: ", [[device_ name] UTF8String],
            " lacks simdgroup matrices (Apple7 / M1 or later, or the Mac2 family, is required)");
      queue_ = [device_ newCommandQueue];
      check(queue_ != nil, "metal::Backend: cannot create a Metal command queue");
      MTLCompileOptions* options = [MTLCompileOptions new];
      // IEEE float arithmetic, as the CPU reference: no reassociation, no flushed subnormals.
      // (mathMode exists from the macOS 15 / iOS 18 SDKs; fastMathEnabled before.)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
#if (defined(__MAC_OS_X_VERSION_MAX_ALLOWED) && __MAC_OS_X_VERSION_MAX_ALLOWED >= 150000) || \
    (defined(__IPHONE_OS_VERSION_MAX_ALLOWED) && __IPHONE_OS_VERSION_MAX_ALLOWED >= 180000)
      if (@available(macOS 15.0, iOS 18.0, *)) {
        options.mathMode = MTLMathModeSafe;
      } else {
        options.fastMathEnabled = NO;
      }
#else
      options.fastMathEnabled = NO;
#endif
#pragma clang diagnostic pop
      const std::string source = metal_source();
      NSError* error = nil;
      library_ = [device_ newLibraryWithSource:[NSString stringWithUTF8String:source.c_str()]
                                        options:options
                                          error:&error];
      check(library_ != nil, "metal::Backend: compiling qlinear's Metal kernels failed: ", describe(error));
    }
  }

  id<MTLDevice> device_ = nil;
  id<MTLCommandQueue> queue_ = nil;
  id<MTLLibrary> library_ = nil;
  std::mutex mutex_;
  std::unordered_map<std::string, id<MTLComputePipelineState>> pipelines_;
};

inline std::size_t view_bytes(std::size_t rows, std::size_t cols, std::size_t stride) {
  return rows == 0 ? 0 : ((rows - 1) * stride + cols) * sizeof(float);
}

}  // namespace detail

/// Floats in GPU-visible shared memory: a bias, activations, outputs. Copies share the memory.
/// data() is a CPU pointer valid while any copy lives; views over it go to gemm.
/// Usage: `metal::Buffer x = metal::Backend::allocate(m * k); std::copy(src, src + m * k, x.data());`
class Buffer {
 public:
  Buffer() = default;
  /// `count` zero floats.
  explicit Buffer(std::size_t count) : count_(count) {
    if (count == 0) return;
    @autoreleasepool {
      id<MTLBuffer> b = [detail::Device::get().device() newBufferWithLength:count * sizeof(float)
                                                                    options:MTLResourceStorageModeShared];
      allocation_ = std::make_shared<detail::Allocation>(b);
      std::memset([b contents], 0, count * sizeof(float));
    }
  }
  /// A copy of `values`.
  explicit Buffer(std::span<const float> values) : Buffer(values.size()) {
    if (!values.empty()) std::memcpy(data(), values.data(), values.size_bytes());
  }
  float* data() const { return allocation_ ? static_cast<float*>([allocation_->buffer() contents]) : nullptr; }
  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  id<MTLBuffer> buffer() const { return allocation_ ? allocation_->buffer() : nil; }
  /// The first rows · cols floats as a row-major matrix view.
  MatrixView<float> view(std::size_t rows, std::size_t cols) const {
    check(rows * cols <= count_, "metal::Buffer: a ", rows, " x ", cols, " view needs ", rows * cols,
          " floats, the buffer holds ", count_);
    return MatrixView<float>(data(), rows, cols);
  }

 private:
  std::shared_ptr<detail::Allocation> allocation_;
  std::size_t count_ = 0;
};

/// Per-thread execution state: the command buffer being filled. One thread at a time.
/// Usage: `metal::Context ctx; layer.forward(ctx, x, y); metal::Backend::synchronize(ctx);`
class Context {
 public:
  Context() = default;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  /// Runs what is still queued (errors are dropped here: call synchronize to see them).
  ~Context() {
    try {
      synchronize();
    } catch (...) {
    }
  }

  /// The encoder of the open command buffer (opened on first use).
  id<MTLComputeCommandEncoder> encoder() {
    if (!encoder_) {
      @autoreleasepool {
        commands_ = [detail::Device::get().queue() commandBuffer];
        check(commands_ != nil, "metal::Backend: cannot create a Metal command buffer");
        encoder_ = [commands_ computeCommandEncoder];
        check(encoder_ != nil, "metal::Backend: cannot create a Metal compute encoder");
      }
    }
    return encoder_;
  }
  /// Keeps `b` alive until the queued work completes (staging buffers).
  void hold(Buffer b) { held_.push_back(std::move(b)); }

  /// Commits the queued work and waits for it; throws if the GPU reported an error.
  void synchronize() {
    if (!commands_) return;
    id<MTLCommandBuffer> commands = commands_;
    @autoreleasepool {
      [encoder_ endEncoding];
      encoder_ = nil;
      commands_ = nil;
      [commands commit];
      [commands waitUntilCompleted];
    }
    held_.clear();
    if ([commands status] == MTLCommandBufferStatusError)
      fail("metal::Backend: a Metal command buffer failed: ", detail::describe([commands error]));
  }

 private:
  id<MTLCommandBuffer> commands_ = nil;
  id<MTLComputeCommandEncoder> encoder_ = nil;
  std::vector<Buffer> held_;
};

/// Quantized weights of scheme S in the GPU's memory (see the file comment for the layout).
/// Usage: `auto w = metal::Backend::upload(QuantizedTensor<Q4_K>::quantize(p, n, k));`
template <Scheme S>
class Weights {
  static_assert(supports<S>, "metal::Backend runs the schemes of qlinear::AllSchemes; Q8_1 and Q8_K are "
                             "activation formats with no Metal kernels");

 public:
  explicit Weights(QuantizedTensor<S> t) {
    const std::span<const std::uint8_t> bytes = t.bytes();
    const std::size_t page = detail::page_size();
    @autoreleasepool {
      id<MTLDevice> device = detail::Device::get().device();
      if (reinterpret_cast<std::uintptr_t>(bytes.data()) % page == 0) {
        // In place: the pages holding the bytes are mapped, and the tensor (with whatever owns
        // its memory) lives as long as this buffer.
        const std::size_t length = (bytes.size() + page - 1) / page * page;
        rows_ = [device newBufferWithBytesNoCopy:const_cast<std::uint8_t*>(bytes.data())
                                          length:length
                                         options:MTLResourceStorageModeShared
                                     deallocator:nil];
        check(rows_ != nil, "metal::Backend: cannot wrap ", bytes.size(), " bytes of ", S::name, " weights in place");
        in_place_ = true;
        tensor_ = std::move(t);
      } else {
        id<MTLBuffer> copy = [device newBufferWithBytes:bytes.data()
                                                 length:bytes.size()
                                                options:MTLResourceStorageModeShared];
        check(copy != nil, "metal::Backend: cannot allocate ", bytes.size(), " bytes for ", S::name, " weights");
        rows_ = copy;
        // The buffer is now the only copy: the tensor adopts its contents and keeps it alive.
        auto owner = std::make_shared<Holder>(copy);
        tensor_ = QuantizedTensor<S>::adopt(
            std::span<const std::uint8_t>(static_cast<const std::uint8_t*>([copy contents]), bytes.size()), t.rows(),
            t.cols(), std::move(owner), t.params());
      }
    }
    const std::vector<float> rp = row_params(tensor_);
    if (!rp.empty()) row_params_ = Buffer(std::span<const float>(rp));
  }

  std::size_t rows() const { return tensor_.rows(); }
  std::size_t cols() const { return tensor_.cols(); }
  /// The rows, the tensor-wide parameters and the per-row parameter buffer.
  std::size_t memory_bytes() const { return tensor_.memory_bytes() + row_params_.size() * sizeof(float); }
  /// The weights as a tensor over the same bytes (no copy).
  const QuantizedTensor<S>& tensor() const { return tensor_; }
  /// Whether the GPU reads the uploaded bytes where they were (newBufferWithBytesNoCopy).
  bool in_place() const { return in_place_; }
  id<MTLBuffer> rows_buffer() const { return rows_; }
  id<MTLBuffer> row_params_buffer() const { return row_params_.buffer(); }

 private:
  struct Holder {
    id<MTLBuffer> buffer;
    explicit Holder(id<MTLBuffer> b) : buffer(b) {}
  };
  QuantizedTensor<S> tensor_;
  id<MTLBuffer> rows_ = nil;
  Buffer row_params_;
  bool in_place_ = false;
};

/// qlinear's Metal backend (see the file comment). Runs every scheme of AllSchemes.
/// Usage: `QuantizedLinear<metal::Backend, Q6_K> layer(tensor);`
struct Backend {
  /// Views must point into the backend's buffers (Buffer); host data goes through gemm_host.
  static constexpr bool host_memory = false;
  template <class S>
  static constexpr bool supports = metal::supports<S>;

  using Context = metal::Context;
  template <Scheme S>
  using Weights = metal::Weights<S>;
  using Buffer = metal::Buffer;

  static Context& default_context() {
    thread_local Context ctx;
    return ctx;
  }

  template <Scheme S>
  static Weights<S> upload(QuantizedTensor<S> t) {
    return Weights<S>(std::move(t));
  }
  template <Scheme S>
  static QuantizedTensor<S> download(const Weights<S>& w) {
    return w.tensor();
  }
  static Buffer upload_floats(std::span<const float> v) { return Buffer(v); }
  static const float* data(const Buffer& b) { return b.empty() ? nullptr : b.data(); }
  /// `count` zero floats in the backend's memory, for activations and outputs.
  static Buffer allocate(std::size_t count) { return Buffer(count); }
  static void synchronize(Context& ctx) { ctx.synchronize(); }

  /// Encodes y = x·Wᵀ (+ bias) (+ y) into ctx: x, y and bias in the backend's memory.
  template <Scheme S>
  static void gemm(Context& ctx, const Weights<S>& w, ConstMatrixView<float> x, MatrixView<float> y, Epilogue e = {}) {
    const std::size_t n = w.rows(), k = w.cols();
    qlinear::detail::check_gemm_shapes("metal::Backend::gemm", n, k, x, y);
    if (x.rows == 0) return;
    const Launch l = plan_gemm<S>(n, k, x.rows, x.stride, y.stride, e.bias != nullptr, e.accumulate);
    auto& reg = detail::registry();
    const auto xb = reg.find(x.data, detail::view_bytes(x.rows, x.cols, x.stride), "x");
    const auto yb = reg.find(y.data, detail::view_bytes(y.rows, y.cols, y.stride), "y");
    const auto bb = e.bias ? reg.find(e.bias, n * sizeof(float), "the bias") : detail::BufferRegistry::Found{nil, 0};
    encode(ctx, l, w, xb, yb, bb);
  }

  /// Encodes dx (+)= dy·W into ctx: dy and dx in the backend's memory.
  template <Scheme S>
  static void gemm_transposed(Context& ctx, const Weights<S>& w, ConstMatrixView<float> dy, MatrixView<float> dx,
                              bool accumulate = false) {
    const std::size_t n = w.rows(), k = w.cols();
    qlinear::detail::check_gemm_transposed_shapes("metal::Backend::gemm_transposed", n, k, dy, dx);
    if (dy.rows == 0) return;
    const Launch l = plan_gemm_transposed<S>(n, k, dy.rows, dx.stride, dy.stride, accumulate);
    auto& reg = detail::registry();
    const auto dyb = reg.find(dy.data, detail::view_bytes(dy.rows, dy.cols, dy.stride), "dy");
    const auto dxb = reg.find(dx.data, detail::view_bytes(dx.rows, dx.cols, dx.stride), "dx");
    encode(ctx, l, w, dyb, dxb, detail::BufferRegistry::Found{nil, 0});
  }

  /// y = x·Wᵀ (+ bias) on host memory: stages x (and y, to accumulate) through shared buffers,
  /// synchronizes ctx (running whatever else it queued) and copies y back. bias: backend memory.
  template <Scheme S>
  static void gemm_host(Context& ctx, const Weights<S>& w, ConstMatrixView<float> x, MatrixView<float> y,
                        Epilogue e = {}) {
    const std::size_t n = w.rows(), k = w.cols();
    qlinear::detail::check_gemm_shapes("metal::Backend::gemm_host", n, k, x, y);
    const std::size_t m = x.rows;
    if (m == 0) return;
    Buffer xs(m * k), ys(m * n);
    for (std::size_t r = 0; r < m; ++r) std::memcpy(xs.data() + r * k, x.row(r), k * sizeof(float));
    if (e.accumulate)
      for (std::size_t r = 0; r < m; ++r) std::memcpy(ys.data() + r * n, y.row(r), n * sizeof(float));
    gemm(ctx, w, ConstMatrixView<float>(xs.data(), m, k), ys.view(m, n), e);
    ctx.hold(xs);
    ctx.hold(ys);
    synchronize(ctx);
    for (std::size_t r = 0; r < m; ++r) std::memcpy(y.row(r), ys.data() + r * n, n * sizeof(float));
  }

 private:
  // Buffer slots: gemm (w, row params, x, y, bias, args), backward (w, row params, dy, dx, args).
  template <Scheme S>
  static void encode(Context& ctx, const Launch& l, const Weights<S>& w, detail::BufferRegistry::Found a,
                     detail::BufferRegistry::Found b, detail::BufferRegistry::Found bias) {
    id<MTLComputePipelineState> pipeline = detail::Device::get().pipeline(l.kernel);
    check([pipeline maxTotalThreadsPerThreadgroup] >= l.threads, "metal::Backend: ", l.kernel, " needs ", l.threads,
          " threads per threadgroup, this GPU allows ", std::size_t([pipeline maxTotalThreadsPerThreadgroup]));
    // Kernels never read the row-parameter or bias slot of a scheme or product without them,
    // but every slot is bound: the weights' buffer stands in.
    id<MTLBuffer> params = w.row_params_buffer() ? w.row_params_buffer() : w.rows_buffer();
    id<MTLComputeCommandEncoder> enc = ctx.encoder();
    [enc setComputePipelineState:pipeline];
    [enc setBuffer:w.rows_buffer() offset:0 atIndex:0];
    [enc setBuffer:params offset:0 atIndex:1];
    [enc setBuffer:a.buffer offset:a.offset atIndex:2];
    [enc setBuffer:b.buffer offset:b.offset atIndex:3];
    if (l.kind == KernelKind::backward) {
      [enc setBytes:&l.args length:sizeof(l.args) atIndex:4];
    } else {
      if (bias.buffer)
        [enc setBuffer:bias.buffer offset:bias.offset atIndex:4];
      else
        [enc setBuffer:w.rows_buffer() offset:0 atIndex:4];
      [enc setBytes:&l.args length:sizeof(l.args) atIndex:5];
    }
    if (l.threadgroup_bytes) [enc setThreadgroupMemoryLength:l.threadgroup_bytes atIndex:0];
    [enc dispatchThreadgroups:MTLSizeMake(l.grid[0], l.grid[1], l.grid[2])
        threadsPerThreadgroup:MTLSizeMake(l.threads, 1, 1)];
  }
};

namespace detail {
template <class... S>
constexpr bool backend_for_all(TypeList<S...>) {
  return (BackendFor<Backend, S> && ...);
}
}  // namespace detail
static_assert(detail::backend_for_all(AllSchemes{}), "metal::Backend satisfies BackendFor for every scheme");

}  // namespace qlinear::metal
