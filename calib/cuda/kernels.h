#pragma once
// Launch wrappers of the suite's own CUDA kernels: the one seam between the kernels (nvcc, C++17)
// and the orchestration (g++, C++20). Plain functions over untyped device pointers, so this
// header needs nothing but the CUDA runtime's C header; it must stay C++17-clean and free of
// project headers (calib/measure.h needs C++20).
//
// Every wrapper launches on `stream`, does not synchronise, and returns the launch's error
// (cudaGetLastError right after the launch); the caller checks it. Pointers are device pointers
// aligned to at least 16 bytes (the suite's buffers are 256-byte aligned). `blocks` of the
// grid-stride kernels is an upper bound: a small problem gets one thread per vector, as a
// framework's kernel would, rather than a grid of idle blocks.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace fathom::calib::cuda {

enum class ElemType : int { kBf16 = 0, kFp16 = 1, kFp32 = 2, kFp8E4M3 = 3 };

inline size_t elem_bytes(ElemType t) {
  switch (t) {
    case ElemType::kBf16:
    case ElemType::kFp16:
      return 2;
    case ElemType::kFp32:
      return 4;
    case ElemType::kFp8E4M3:
      return 1;
  }
  return 0;
}

// ---- inputs ----
// dst[i] = a value uniform in [-1, 1] from a hash of (seed, stream_id, i), rounded to `type`:
// random, never zero-filled, reproducible for a seed, different for every buffer id.
cudaError_t fill_random(void* dst, size_t count, ElemType type, uint64_t seed, uint64_t buffer_id, int blocks,
                        cudaStream_t stream);

// ---- memory kernels over n16 16-byte vectors; `blocks` blocks of kMemoryThreads threads ----
constexpr int kMemoryThreads = 256;
// Blocks of `threads` threads for `n` work items, between 1 and max_blocks.
inline int grid_for(size_t n, int threads, int max_blocks) {
  const size_t need = (n + static_cast<size_t>(threads) - 1) / static_cast<size_t>(threads);
  return need < 1 ? 1 : need > static_cast<size_t>(max_blocks) ? max_blocks : static_cast<int>(need);
}
cudaError_t launch_copy(const void* src, void* dst, size_t n16, int blocks, cudaStream_t stream);
// One fp32 sum per block into partial[blocks] at most (so the loads cannot be dropped).
cudaError_t launch_read(const void* src, float* partial, size_t n16, int blocks, cudaStream_t stream);
cudaError_t launch_write(void* dst, size_t n16, float value, int blocks, cudaStream_t stream);
// a = b + scalar·c over fp32 vectors.
cudaError_t launch_triad(void* a, const void* b, const void* c, float scalar, size_t n16, int blocks,
                         cudaStream_t stream);
// <<<1, 1>>>, does nothing: the launch gap.
cudaError_t launch_empty(cudaStream_t stream);

// ---- rowwise kernels, bf16 [rows, cols] row-major ----
// out = silu(a)·b and out = a + b elementwise over `count` elements.
cudaError_t launch_silu_mul(const void* a, const void* b, void* out, size_t count, int blocks, cudaStream_t stream);
cudaError_t launch_add(const void* a, const void* b, void* out, size_t count, int blocks, cudaStream_t stream);
// One block per row: out = x / sqrt(mean(x²) + eps) · weight[col], fp32 accumulation.
cudaError_t launch_rmsnorm(const void* x, const void* weight, void* out, int64_t rows, int64_t cols, float eps,
                           cudaStream_t stream);
// One block per row: out = exp(x − max) / Σ exp(x − max), fp32 accumulation.
cudaError_t launch_softmax(const void* x, void* out, int64_t rows, int64_t cols, cudaStream_t stream);

// ---- attention (Fathom's own tiled kernel, bf16, fp32 accumulation) ----
// Q and O [batch, q_len, heads, head_dim], K and V [batch, kv_len, kv_heads, head_dim], all
// row-major bf16. heads is a multiple of kv_heads (grouped-query: heads/kv_heads query heads
// share a KV head). Causal: query i sees keys j ≤ i + kv_len − q_len (queries aligned to the end
// of the keys). Softmax scale 1/sqrt(head_dim).
struct AttentionArgs {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* o = nullptr;
  int batch = 0, heads = 0, kv_heads = 0, q_len = 0, kv_len = 0, head_dim = 0;
  bool causal = false;
  // Split-KV (for few query rows): `splits` > 1 needs `partial` of attention_workspace_bytes
  // bytes, and a second (combine) kernel runs after the main one.
  int splits = 1;
  void* partial = nullptr;
};
bool attention_supports_head_dim(int head_dim);  // 64 and 128
// How many KV splits keep `sms` multiprocessors busy for this shape (1: none).
int attention_splits(int batch, int heads, int kv_heads, int q_len, int kv_len, int sms);
size_t attention_workspace_bytes(int batch, int heads, int q_len, int head_dim, int splits);
// Validates the arguments (returns cudaErrorInvalidValue when they break the rules above).
cudaError_t launch_attention(const AttentionArgs& args, cudaStream_t stream);

}  // namespace fathom::calib::cuda
