#include "calib/cuda/cuda_util.h"

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "calib/cuda/reference.h"

namespace fathom::calib::cuda {

namespace {
constexpr size_t kAlign = 256;
size_t round_up(size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }
}  // namespace

void check_cuda(cudaError_t e, const std::string& what) {
  if (e == cudaSuccess) return;
  throw std::runtime_error(what + " failed: " + cudaGetErrorString(e) + " (" + std::to_string(static_cast<int>(e)) +
                           ")");
}

DeviceBuffer::DeviceBuffer(size_t bytes, const std::string& what) : bytes_(bytes) {
  if (bytes == 0) throw std::invalid_argument("device buffer '" + what + "': expected a size > 0, found 0 bytes");
  check_cuda(cudaMalloc(&ptr_, bytes), "cudaMalloc of " + std::to_string(bytes) + " bytes for " + what);
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_ != nullptr) cudaFree(ptr_);  // no throwing from a destructor; a failed free leaks at worst
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept
    : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (ptr_ != nullptr) cudaFree(ptr_);
    ptr_ = std::exchange(o.ptr_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

Stream::Stream() { check_cuda(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags"); }

Stream::~Stream() {
  if (s_ != nullptr) cudaStreamDestroy(s_);
}

size_t RotatingBuffers::per_copy_bytes(const std::vector<size_t>& role_bytes) {
  size_t total = 0;
  for (size_t b : role_bytes) total += round_up(b);
  return total;
}

RotatingBuffers::RotatingBuffers(const std::vector<size_t>& role_bytes, int copies, const std::string& what)
    : copies_(copies) {
  if (copies < 1 || role_bytes.empty()) {
    throw std::invalid_argument("buffers for " + what + ": expected ≥ 1 copy of ≥ 1 buffer, found " +
                                std::to_string(copies) + " copies of " + std::to_string(role_bytes.size()));
  }
  size_t offset = 0;
  for (size_t b : role_bytes) {
    stride_.push_back(round_up(b));
    offset_.push_back(offset);
    offset += stride_.back() * static_cast<size_t>(copies);
  }
  buf_ = DeviceBuffer(offset, what);
}

void* RotatingBuffers::at(size_t role, int copy) const {
  if (role >= stride_.size() || copy < 0 || copy >= copies_) {
    throw std::out_of_range("rotating buffer role " + std::to_string(role) + " copy " + std::to_string(copy) +
                            ": expected role < " + std::to_string(stride_.size()) + " and copy < " +
                            std::to_string(copies_));
  }
  return static_cast<unsigned char*>(buf_.get()) + offset_[role] + stride_[role] * static_cast<size_t>(copy);
}

void RotatingBuffers::fill(size_t role, ElemType type, uint64_t seed, uint64_t buffer_id, int blocks,
                           cudaStream_t stream) const {
  void* base = at(role, 0);
  const size_t count = stride_[role] * static_cast<size_t>(copies_) / elem_bytes(type);
  check_cuda(fill_random(base, count, type, seed, buffer_id, blocks, stream),
             "fill_random launch (" + std::to_string(count) + " elements)");
}

std::vector<float> fetch(const void* device_ptr, size_t count, ElemType type) {
  const size_t size = elem_bytes(type);
  std::vector<unsigned char> raw(count * size);
  check_cuda(cudaMemcpy(raw.data(), device_ptr, raw.size(), cudaMemcpyDeviceToHost),
             "cudaMemcpy of " + std::to_string(raw.size()) + " bytes to the host (self-check)");
  std::vector<float> out(count);
  for (size_t i = 0; i < count; ++i) {
    const unsigned char* p = raw.data() + i * size;
    switch (type) {
      case ElemType::kBf16:
      case ElemType::kFp16: {
        uint16_t bits = 0;
        std::memcpy(&bits, p, 2);
        out[i] = type == ElemType::kBf16 ? bf16_to_float(bits) : fp16_to_float(bits);
        break;
      }
      case ElemType::kFp32:
        std::memcpy(&out[i], p, 4);
        break;
      case ElemType::kFp8E4M3:
        out[i] = e4m3_to_float(*p);
        break;
    }
  }
  return out;
}

}  // namespace fathom::calib::cuda
