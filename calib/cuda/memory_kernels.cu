// Bandwidth kernels (copy, read, write, triad, after McCalpin's STREAM) and the empty kernel of
// the launch-gap benchmark. 16-byte loads and stores, grid-stride loops with four independent
// vectors in flight per thread, so that a few blocks per SM keep enough bytes in flight to
// saturate HBM (Little's law: bandwidth × latency).
#include "calib/cuda/device_util.cuh"
#include "calib/cuda/kernels.h"

namespace fathom::calib::cuda {
namespace {

constexpr int kUnroll = 4;

__device__ __forceinline__ size_t thread_index() { return static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ __forceinline__ size_t grid_threads() { return static_cast<size_t>(gridDim.x) * blockDim.x; }

__global__ void __launch_bounds__(kMemoryThreads)
    copy_kernel(const float4* __restrict__ src, float4* __restrict__ dst, size_t n) {
  const size_t stride = grid_threads();
  size_t i = thread_index();
  for (; i + (kUnroll - 1) * stride < n; i += kUnroll * stride) {
    float4 v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) v[u] = src[i + u * stride];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) dst[i + u * stride] = v[u];
  }
  for (; i < n; i += stride) dst[i] = src[i];
}

__global__ void __launch_bounds__(kMemoryThreads)
    read_kernel(const float4* __restrict__ src, float* __restrict__ partial, size_t n) {
  __shared__ float scratch[32];
  const size_t stride = grid_threads();
  size_t i = thread_index();
  float acc = 0.0f;
  for (; i + (kUnroll - 1) * stride < n; i += kUnroll * stride) {
    float4 v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) v[u] = src[i + u * stride];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) acc += (v[u].x + v[u].y) + (v[u].z + v[u].w);
  }
  for (; i < n; i += stride) {
    const float4 v = src[i];
    acc += (v.x + v.y) + (v.z + v.w);
  }
  acc = detail::block_sum(acc, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void __launch_bounds__(kMemoryThreads) write_kernel(float4* __restrict__ dst, size_t n, float value) {
  const float4 v = make_float4(value, value, value, value);
  const size_t stride = grid_threads();
  for (size_t i = thread_index(); i < n; i += stride) dst[i] = v;
}

__global__ void __launch_bounds__(kMemoryThreads) triad_kernel(float4* __restrict__ a, const float4* __restrict__ b,
                                                               const float4* __restrict__ c, float s, size_t n) {
  const size_t stride = grid_threads();
  size_t i = thread_index();
  for (; i + (kUnroll - 1) * stride < n; i += kUnroll * stride) {
    float4 vb[kUnroll], vc[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      vb[u] = b[i + u * stride];
      vc[u] = c[i + u * stride];
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      a[i + u * stride] = make_float4(fmaf(s, vc[u].x, vb[u].x), fmaf(s, vc[u].y, vb[u].y), fmaf(s, vc[u].z, vb[u].z),
                                      fmaf(s, vc[u].w, vb[u].w));
    }
  }
  for (; i < n; i += stride) {
    const float4 x = b[i], y = c[i];
    a[i] = make_float4(fmaf(s, y.x, x.x), fmaf(s, y.y, x.y), fmaf(s, y.z, x.z), fmaf(s, y.w, x.w));
  }
}

__global__ void empty_kernel() {}

bool bad(const void* p, int blocks) { return p == nullptr || blocks <= 0; }

}  // namespace

cudaError_t launch_copy(const void* src, void* dst, size_t n16, int blocks, cudaStream_t stream) {
  if (bad(src, blocks) || dst == nullptr) return cudaErrorInvalidValue;
  copy_kernel<<<grid_for(n16, kMemoryThreads, blocks), kMemoryThreads, 0, stream>>>(static_cast<const float4*>(src),
                                                                                    static_cast<float4*>(dst), n16);
  return cudaGetLastError();
}

cudaError_t launch_read(const void* src, float* partial, size_t n16, int blocks, cudaStream_t stream) {
  if (bad(src, blocks) || partial == nullptr) return cudaErrorInvalidValue;
  read_kernel<<<grid_for(n16, kMemoryThreads, blocks), kMemoryThreads, 0, stream>>>(static_cast<const float4*>(src),
                                                                                    partial, n16);
  return cudaGetLastError();
}

cudaError_t launch_write(void* dst, size_t n16, float value, int blocks, cudaStream_t stream) {
  if (bad(dst, blocks)) return cudaErrorInvalidValue;
  write_kernel<<<grid_for(n16, kMemoryThreads, blocks), kMemoryThreads, 0, stream>>>(static_cast<float4*>(dst), n16,
                                                                                     value);
  return cudaGetLastError();
}

cudaError_t launch_triad(void* a, const void* b, const void* c, float scalar, size_t n16, int blocks,
                         cudaStream_t stream) {
  if (bad(a, blocks) || b == nullptr || c == nullptr) return cudaErrorInvalidValue;
  triad_kernel<<<grid_for(n16, kMemoryThreads, blocks), kMemoryThreads, 0, stream>>>(
      static_cast<float4*>(a), static_cast<const float4*>(b), static_cast<const float4*>(c), scalar, n16);
  return cudaGetLastError();
}

cudaError_t launch_empty(cudaStream_t stream) {
  empty_kernel<<<1, 1, 0, stream>>>();
  return cudaGetLastError();
}

}  // namespace fathom::calib::cuda
