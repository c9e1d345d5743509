#pragma once
// Device memory owned by RAII handles: weights, bias buffers and per-context scratch.

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "qlinear/backends/cuda/check.cuh"
#include "qlinear/core/error.hpp"

namespace qlinear::cuda {

/// One cudaMalloc'd block on the device that was current at construction; freed on
/// destruction. Move-only. Usage: `DeviceAllocation a(bytes); cudaMemcpy(a.data(), ...);`
class DeviceAllocation {
 public:
  DeviceAllocation() = default;
  explicit DeviceAllocation(std::size_t bytes) : bytes_(bytes) {
    QLINEAR_CUDA_CHECK(cudaGetDevice(&device_));
    if (bytes == 0) return;
    const cudaError_t err = cudaMalloc(&ptr_, bytes);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();  // clear it: an allocation failure is not sticky
      fail("cudaMalloc of ", bytes, " bytes on device ", device_, " failed: ", cudaGetErrorString(err));
    }
  }
  DeviceAllocation(DeviceAllocation&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)), device_(o.device_) {}
  DeviceAllocation& operator=(DeviceAllocation&& o) noexcept {
    if (this != &o) {
      release();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
      device_ = o.device_;
    }
    return *this;
  }
  DeviceAllocation(const DeviceAllocation&) = delete;
  DeviceAllocation& operator=(const DeviceAllocation&) = delete;
  ~DeviceAllocation() { release(); }

  void* data() const { return ptr_; }
  std::size_t size() const { return bytes_; }
  int device() const { return device_; }

 private:
  void release() noexcept {
    if (!ptr_) return;
    // Freed on the device that owns it; a destructor cannot throw, so a failure leaks at worst.
    int current = 0;
    const bool switch_device = cudaGetDevice(&current) == cudaSuccess && current != device_;
    if (switch_device) (void)cudaSetDevice(device_);
    (void)cudaFree(ptr_);
    if (switch_device) (void)cudaSetDevice(current);
    ptr_ = nullptr;
  }
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
  int device_ = 0;
};

/// Makes `device` current for a scope and restores the previous device after it.
/// Usage: `DeviceGuard guard(ctx.device());  cudaMalloc(...);`
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    QLINEAR_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != device) QLINEAR_CUDA_CHECK(cudaSetDevice(device));
    switched_ = previous_ != device;
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;
  ~DeviceGuard() {
    if (switched_) (void)cudaSetDevice(previous_);
  }

 private:
  int previous_ = 0;
  bool switched_ = false;
};

}  // namespace qlinear::cuda
