#pragma once
// cuda::Context: the stream a caller's products run on, their options and the scratch memory
// they reuse from call to call.

#include <cuda_runtime.h>

#include <array>
#include <cstddef>
#include <memory>

#include "qlinear/backends/cuda/check.cuh"
#include "qlinear/backends/cuda/launch.hpp"
#include "qlinear/backends/cuda/memory.cuh"

namespace qlinear::cuda {

/// Per-caller execution state of cuda::Backend: a device, a stream (its own non-blocking one,
/// or one the caller lends), the GemmOptions its products use and grow-only scratch buffers.
/// One context is used by one thread at a time; work on it is ordered by its stream.
/// Usage: `cuda::Context ctx;  layer.forward(ctx, x_dev, y_dev);  cuda::Backend::synchronize(ctx);`
class Context {
 public:
  /// Scratch buffers a context keeps.
  enum Slot { x16_slot, exp_slot, host_x_slot, host_y_slot, slot_count };

  /// A context on the current device with its own stream.
  Context() : Context(current_device()) {}
  /// A context on `device` with its own stream.
  explicit Context(int device) : state_(std::make_unique<State>()) {
    int count = 0;
    QLINEAR_CUDA_CHECK(cudaGetDeviceCount(&count));
    check(device >= 0 && device < count, "cuda::Context: device ", device, " does not exist (", count,
          " CUDA devices)");
    state_->device = device;
    DeviceGuard guard(device);
    QLINEAR_CUDA_CHECK(cudaStreamCreateWithFlags(&state_->stream, cudaStreamNonBlocking));
    state_->owns_stream = true;
  }
  /// A context on `device` running on the caller's `stream` (not destroyed with the context).
  Context(int device, cudaStream_t stream) : state_(std::make_unique<State>()) {
    state_->device = device;
    state_->stream = stream;
  }
  Context(Context&&) noexcept = default;
  Context& operator=(Context&&) noexcept = default;
  ~Context() {
    if (state_ && state_->owns_stream) {
      (void)cudaStreamSynchronize(state_->stream);  // scratch may still be in use by queued work
      (void)cudaStreamDestroy(state_->stream);
    }
  }

  cudaStream_t stream() const { return state_->stream; }
  int device() const { return state_->device; }
  /// How this context's products run (kernel choice, decode cut-over).
  GemmOptions& options() { return state_->options; }
  const GemmOptions& options() const { return state_->options; }

  /// At least `bytes` of device scratch in `slot`, valid until the next call for the same
  /// slot; growing it waits for the stream first (queued work may still read the old buffer).
  void* scratch(Slot slot, std::size_t bytes) {
    DeviceAllocation& a = state_->scratch[slot];
    if (a.size() < bytes) {
      QLINEAR_CUDA_CHECK(cudaStreamSynchronize(state_->stream));
      DeviceGuard guard(state_->device);
      a = DeviceAllocation(0);
      a = DeviceAllocation(bytes + bytes / 4);  // some headroom against regrowing by a few rows
    }
    return a.data();
  }

  /// Whether p passed the backend's device-memory check on this context already.
  bool known_device_pointer(const void* p) const {
    for (const void* q : state_->known) {
      if (q == p) return true;
    }
    return false;
  }
  void remember_device_pointer(const void* p) {
    state_->known[state_->next_known] = p;
    state_->next_known = (state_->next_known + 1) % state_->known.size();
  }

  static int current_device() {
    int device = 0;
    QLINEAR_CUDA_CHECK(cudaGetDevice(&device));
    return device;
  }

 private:
  struct State {
    int device = 0;
    cudaStream_t stream = nullptr;
    bool owns_stream = false;
    GemmOptions options;
    std::array<DeviceAllocation, slot_count> scratch;
    std::array<const void*, 16> known{};  // recently checked device pointers (a ring)
    std::size_t next_known = 0;
  };
  std::unique_ptr<State> state_;
};

}  // namespace qlinear::cuda
