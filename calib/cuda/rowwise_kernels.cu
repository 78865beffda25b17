// Rowwise bf16 kernels of a transformer layer: the SwiGLU gate (silu(a)·b), the residual add,
// RMSNorm (Zhang and Sennrich, "Root Mean Square Layer Normalization", NeurIPS 2019) and
// softmax. Elementwise kernels stream 16-byte vectors through a grid-stride loop; the row
// reductions use one block per row with fp32 accumulation, as framework kernels do at these
// widths (4,096–8,192 columns).
#include <cuda_bf16.h>

#include <cfloat>

#include "calib/cuda/device_util.cuh"
#include "calib/cuda/kernels.h"

namespace fathom::calib::cuda {
namespace {

using bf16 = __nv_bfloat16;
constexpr int kElementwiseThreads = 256;
constexpr int kRowThreads = 256;

struct SiluMul {
  __device__ __forceinline__ float operator()(float a, float b) const { return a / (1.0f + __expf(-a)) * b; }
};
struct Add {
  __device__ __forceinline__ float operator()(float a, float b) const { return a + b; }
};

template <typename Op>
__global__ void __launch_bounds__(kElementwiseThreads)
    binary_kernel(const bf16* __restrict__ a, const bf16* __restrict__ b, bf16* __restrict__ out, size_t count) {
  const Op op{};
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  const size_t first = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const size_t n8 = count / 8;
  for (size_t i = first; i < n8; i += stride) {
    float fa[8], fb[8], fo[8];
    detail::unpack(reinterpret_cast<const uint4*>(a)[i], fa);
    detail::unpack(reinterpret_cast<const uint4*>(b)[i], fb);
#pragma unroll
    for (int j = 0; j < 8; ++j) fo[j] = op(fa[j], fb[j]);
    reinterpret_cast<uint4*>(out)[i] = detail::pack(fo);
  }
  for (size_t i = n8 * 8 + first; i < count; i += stride) {
    out[i] = __float2bfloat16_rn(op(__bfloat162float(a[i]), __bfloat162float(b[i])));
  }
}

// kVec: cols is a multiple of 8, so every row starts 16-byte aligned and 16-byte vectors apply.
template <bool kVec>
__global__ void __launch_bounds__(kRowThreads) rmsnorm_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w,
                                                              bf16* __restrict__ out, int64_t cols, float eps) {
  __shared__ float scratch[32];
  const bf16* xr = x + static_cast<int64_t>(blockIdx.x) * cols;
  bf16* orow = out + static_cast<int64_t>(blockIdx.x) * cols;
  float sum_sq = 0.0f;
  if constexpr (kVec) {
    for (int64_t j = threadIdx.x; j < cols / 8; j += blockDim.x) {
      float f[8];
      detail::unpack(reinterpret_cast<const uint4*>(xr)[j], f);
#pragma unroll
      for (int e = 0; e < 8; ++e) sum_sq = fmaf(f[e], f[e], sum_sq);
    }
  } else {
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const float f = __bfloat162float(xr[j]);
      sum_sq = fmaf(f, f, sum_sq);
    }
  }
  sum_sq = detail::block_sum(sum_sq, scratch);
  const float inv_rms = rsqrtf(sum_sq / static_cast<float>(cols) + eps);
  if constexpr (kVec) {
    for (int64_t j = threadIdx.x; j < cols / 8; j += blockDim.x) {
      float f[8], fw[8];
      detail::unpack(reinterpret_cast<const uint4*>(xr)[j], f);
      detail::unpack(reinterpret_cast<const uint4*>(w)[j], fw);
#pragma unroll
      for (int e = 0; e < 8; ++e) f[e] = f[e] * inv_rms * fw[e];
      reinterpret_cast<uint4*>(orow)[j] = detail::pack(f);
    }
  } else {
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      orow[j] = __float2bfloat16_rn(__bfloat162float(xr[j]) * inv_rms * __bfloat162float(w[j]));
    }
  }
}

// Running (max, Σ exp(x − max)) of the online softmax (Milakov and Gimelshein, "Online
// normalizer calculation for softmax", 2018): one pass for both statistics.
struct MaxSum {
  float m, s;
};

__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
  if (b.m == -INFINITY) return a;  // also keeps exp(−inf − (−inf)) = NaN out
  if (a.m == -INFINITY) return b;
  const float m = fmaxf(a.m, b.m);
  return {m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}

// Adds values to a running pair with one exp per value: the sum is rescaled only when the max
// grows (rarely, once a row is under way). -inf inputs are skipped (they add exp(-inf) = 0).
template <int N>
__device__ __forceinline__ MaxSum push(MaxSum a, const float (&v)[N]) {
  float m = v[0];
#pragma unroll
  for (int e = 1; e < N; ++e) m = fmaxf(m, v[e]);
  if (m == -INFINITY) return a;
  if (m > a.m) {
    a.s *= expf(a.m - m);  // exp(-inf) = 0 on the first values
    a.m = m;
  }
#pragma unroll
  for (int e = 0; e < N; ++e) a.s += expf(v[e] - a.m);
  return a;
}

__device__ __forceinline__ MaxSum block_merge(MaxSum v, MaxSum* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const MaxSum other{__shfl_xor_sync(0xffffffffu, v.m, o), __shfl_xor_sync(0xffffffffu, v.s, o)};
    v = merge(v, other);
  }
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : MaxSum{-INFINITY, 0.0f};
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const MaxSum other{__shfl_xor_sync(0xffffffffu, v.m, o), __shfl_xor_sync(0xffffffffu, v.s, o)};
    v = merge(v, other);
  }
  return v;
}

template <bool kVec>
__global__ void __launch_bounds__(kRowThreads)
    softmax_kernel(const bf16* __restrict__ x, bf16* __restrict__ out, int64_t cols) {
  __shared__ MaxSum scratch[32];
  const bf16* xr = x + static_cast<int64_t>(blockIdx.x) * cols;
  bf16* orow = out + static_cast<int64_t>(blockIdx.x) * cols;
  MaxSum acc{-INFINITY, 0.0f};
  if constexpr (kVec) {
    for (int64_t j = threadIdx.x; j < cols / 8; j += blockDim.x) {
      float f[8];
      detail::unpack(reinterpret_cast<const uint4*>(xr)[j], f);
      acc = push(acc, f);
    }
  } else {
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const float f[1] = {__bfloat162float(xr[j])};
      acc = push(acc, f);
    }
  }
  const MaxSum total = block_merge(acc, scratch);
  const float inv_sum = 1.0f / total.s;
  if constexpr (kVec) {
    for (int64_t j = threadIdx.x; j < cols / 8; j += blockDim.x) {
      float f[8];
      detail::unpack(reinterpret_cast<const uint4*>(xr)[j], f);
#pragma unroll
      for (int e = 0; e < 8; ++e) f[e] = expf(f[e] - total.m) * inv_sum;
      reinterpret_cast<uint4*>(orow)[j] = detail::pack(f);
    }
  } else {
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      orow[j] = __float2bfloat16_rn(expf(__bfloat162float(xr[j]) - total.m) * inv_sum);
    }
  }
}

bool bad_rows(const void* x, const void* out, int64_t rows, int64_t cols) {
  return x == nullptr || out == nullptr || rows <= 0 || cols <= 0 || rows > 0x7fffffff;
}

}  // namespace

cudaError_t launch_silu_mul(const void* a, const void* b, void* out, size_t count, int blocks, cudaStream_t stream) {
  if (a == nullptr || b == nullptr || out == nullptr || blocks <= 0) return cudaErrorInvalidValue;
  binary_kernel<SiluMul><<<grid_for(count / 8, kElementwiseThreads, blocks), kElementwiseThreads, 0, stream>>>(
      static_cast<const bf16*>(a), static_cast<const bf16*>(b), static_cast<bf16*>(out), count);
  return cudaGetLastError();
}

cudaError_t launch_add(const void* a, const void* b, void* out, size_t count, int blocks, cudaStream_t stream) {
  if (a == nullptr || b == nullptr || out == nullptr || blocks <= 0) return cudaErrorInvalidValue;
  binary_kernel<Add><<<grid_for(count / 8, kElementwiseThreads, blocks), kElementwiseThreads, 0, stream>>>(
      static_cast<const bf16*>(a), static_cast<const bf16*>(b), static_cast<bf16*>(out), count);
  return cudaGetLastError();
}

cudaError_t launch_rmsnorm(const void* x, const void* weight, void* out, int64_t rows, int64_t cols, float eps,
                           cudaStream_t stream) {
  if (bad_rows(x, out, rows, cols) || weight == nullptr) return cudaErrorInvalidValue;
  const auto* xs = static_cast<const bf16*>(x);
  const auto* ws = static_cast<const bf16*>(weight);
  auto* os = static_cast<bf16*>(out);
  const dim3 grid(static_cast<unsigned>(rows));
  if (cols % 8 == 0) {
    rmsnorm_kernel<true><<<grid, kRowThreads, 0, stream>>>(xs, ws, os, cols, eps);
  } else {
    rmsnorm_kernel<false><<<grid, kRowThreads, 0, stream>>>(xs, ws, os, cols, eps);
  }
  return cudaGetLastError();
}

cudaError_t launch_softmax(const void* x, void* out, int64_t rows, int64_t cols, cudaStream_t stream) {
  if (bad_rows(x, out, rows, cols)) return cudaErrorInvalidValue;
  const auto* xs = static_cast<const bf16*>(x);
  auto* os = static_cast<bf16*>(out);
  const dim3 grid(static_cast<unsigned>(rows));
  if (cols % 8 == 0) {
    softmax_kernel<true><<<grid, kRowThreads, 0, stream>>>(xs, os, cols);
  } else {
    softmax_kernel<false><<<grid, kRowThreads, 0, stream>>>(xs, os, cols);
  }
  return cudaGetLastError();
}

}  // namespace fathom::calib::cuda
