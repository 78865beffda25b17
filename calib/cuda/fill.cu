// Random inputs for every benchmark: uniform in [-1, 1], never zeros, so that no kernel (and no
// cuBLASLt algorithm) profits from sparsity or from power saved on zero operands.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include "calib/cuda/device_util.cuh"
#include "calib/cuda/kernels.h"

namespace fathom::calib::cuda {
namespace {

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __nv_fp8_e4m3 from_float<__nv_fp8_e4m3>(float v) {
  return __nv_fp8_e4m3(v);  // round to nearest, saturating; |v| ≤ 1 is well inside e4m3's range
}

template <typename T>
__global__ void fill_kernel(T* __restrict__ dst, size_t count, uint64_t seed, uint64_t buffer_id) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    dst[i] = from_float<T>(detail::uniform_pm1(seed, buffer_id, i));
  }
}

}  // namespace

cudaError_t fill_random(void* dst, size_t count, ElemType type, uint64_t seed, uint64_t buffer_id, int blocks,
                        cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  if (dst == nullptr || blocks <= 0) return cudaErrorInvalidValue;
  constexpr int kThreads = 256;
  switch (type) {
    case ElemType::kBf16:
      fill_kernel<<<grid_for(count, kThreads, blocks), kThreads, 0, stream>>>(static_cast<__nv_bfloat16*>(dst), count,
                                                                              seed, buffer_id);
      break;
    case ElemType::kFp16:
      fill_kernel<<<grid_for(count, kThreads, blocks), kThreads, 0, stream>>>(static_cast<__half*>(dst), count, seed,
                                                                              buffer_id);
      break;
    case ElemType::kFp32:
      fill_kernel<<<grid_for(count, kThreads, blocks), kThreads, 0, stream>>>(static_cast<float*>(dst), count, seed,
                                                                              buffer_id);
      break;
    case ElemType::kFp8E4M3:
      fill_kernel<<<grid_for(count, kThreads, blocks), kThreads, 0, stream>>>(static_cast<__nv_fp8_e4m3*>(dst), count,
                                                                              seed, buffer_id);
      break;
    default:
      return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace fathom::calib::cuda
