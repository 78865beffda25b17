#pragma once
// Host-side CUDA helpers of the suite: error checks that name the call, and RAII owners of
// device memory and streams. Every CUDA runtime return code in calib/cuda/ goes through
// check_cuda.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>
#include <vector>

#include "calib/cuda/kernels.h"

namespace fathom::calib::cuda {

// Throws std::runtime_error("<what> failed: <CUDA error string> (<code>)") unless `e` is cudaSuccess.
void check_cuda(cudaError_t e, const std::string& what);

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // cudaMalloc of `bytes` (> 0); `what` names the buffer in the error message.
  DeviceBuffer(size_t bytes, const std::string& what);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

class Stream {
 public:
  Stream();  // non-blocking: no implicit ordering with the legacy default stream
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return s_; }

 private:
  cudaStream_t s_ = nullptr;
};

// The inputs and outputs of one benchmark, `copies` times over, in one allocation: role r of
// copy c starts at region(r) + c·stride(r), each stride rounded up to 256 bytes (cuBLASLt's
// default alignment assumption, and whole 16-byte vectors for the kernels). Repeat i of a
// benchmark uses copy i mod copies, so that it does not find its inputs in L2.
class RotatingBuffers {
 public:
  RotatingBuffers(const std::vector<size_t>& role_bytes, int copies, const std::string& what);
  static size_t per_copy_bytes(const std::vector<size_t>& role_bytes);

  void* at(size_t role, int copy) const;
  int copies() const { return copies_; }
  // Random values of `type` in every copy of `role` (padding included); see fill_random.
  void fill(size_t role, ElemType type, uint64_t seed, uint64_t buffer_id, int blocks, cudaStream_t stream) const;

 private:
  std::vector<size_t> stride_, offset_;
  int copies_ = 0;
  DeviceBuffer buf_;
};

// Copies `count` elements of `type` from the device and widens them to float (exactly: every
// bf16, fp16, fp8 e4m3 and fp32 value is a float).
std::vector<float> fetch(const void* device_ptr, size_t count, ElemType type);

}  // namespace fathom::calib::cuda
