// Fathom's own tiled attention kernel, in the manner of FlashAttention-2 (Dao, "FlashAttention-2:
// Faster Attention with Better Parallelism and Work Partitioning", 2023): each block holds a tile
// of query rows, streams the keys and values through shared memory in tiles, and keeps a
// running max and sum per row (the online softmax), so the score matrix never reaches HBM. It is
// not FlashAttention: no copy pipelining, no warp specialisation; the suite records it under its
// own name.
//
// Rows are packed for grouped-query attention: a block serves one (batch, KV head) and its rows
// are (query position, query head of the group) pairs, so the heads that share a KV head read
// each K/V tile once. Decode shapes (few rows) split the keys over several blocks (Flash-Decoding)
// and a second kernel merges the partial results.
//
// Tensor cores through nvcuda::wmma (16×16×16 bf16, fp32 accumulation, sm_80+). The per-row
// rescaling of the output fragments uses a fragment loaded from a table of row indices: the
// element-to-(row, column) mapping of an accumulator fragment is unspecified but the same for
// every fragment of that type, so that fragment tells each thread which row each of its
// elements belongs to.
#include <cuda_bf16.h>
#include <mma.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "calib/cuda/device_util.cuh"
#include "calib/cuda/kernels.h"

namespace fathom::calib::cuda {
namespace {

namespace wmma = nvcuda::wmma;
using bf16 = __nv_bfloat16;

constexpr int kBlockQ = 64;  // packed query rows per block
constexpr int kBlockK = 64;  // keys per K/V tile
constexpr int kWarps = kBlockQ / 16;
constexpr int kThreads = kWarps * 32;
constexpr int kMinTilesPerSplit = 4;  // a split streams at least 256 keys
constexpr int kMaxSplits = 32;
constexpr float kLog2e = 1.4426950408889634f;

// Shared memory of one block, in bytes from the start. Leading dimensions are padded by 16
// bytes so that the rows of a 16×16 fragment fall into different banks; every region starts
// 32-byte aligned as wmma::load_matrix_sync requires.
template <int D>
struct Smem {
  static constexpr int kLdQ = D + 8;        // bf16, Q, K and V tiles
  static constexpr int kLdS = kBlockK + 4;  // fp32 scores
  static constexpr int kLdP = kBlockK + 8;  // bf16 probabilities
  static constexpr int kLdO = D + 4;        // fp32 output staging, in the K and V tiles after the loop
  static constexpr size_t kQ = 0;
  static constexpr size_t kK = kQ + size_t{kBlockQ} * kLdQ * 2;
  static constexpr size_t kV = kK + size_t{kBlockK} * kLdQ * 2;
  static constexpr size_t kS = kV + size_t{kBlockK} * kLdQ * 2;
  static constexpr size_t kP = kS + size_t{kBlockQ} * kLdS * 4;
  static constexpr size_t kStats = kP + size_t{kBlockQ} * kLdP * 2;    // m, l, alpha per row
  static constexpr size_t kRowIdx = kStats + 3 * size_t{kBlockQ} * 4;  // 16×16 fp32 row indices
  static constexpr size_t kBytes = kRowIdx + 16 * 16 * 4;
  static_assert(kK % 32 == 0 && kV % 32 == 0 && kS % 32 == 0 && kP % 32 == 0 && kRowIdx % 32 == 0,
                "wmma pointers must be 32-byte aligned");
  static_assert((16 * kLdQ * 2) % 32 == 0 && (16 * kLdS * 4) % 32 == 0 && (16 * kLdP * 2) % 32 == 0 &&
                    (16 * kLdO * 4) % 32 == 0,
                "a warp's 16-row slice must start 32-byte aligned");
  static_assert(size_t{kBlockQ} * kLdO * 4 <= kS - kK, "output staging must fit in the K and V tiles");
};

struct Params {
  const bf16* q;
  const bf16* k;
  const bf16* v;
  bf16* o;
  float* part_o;    // [splits][out_rows][D] unnormalised outputs (splits > 1)
  float2* part_ml;  // [splits][out_rows] (running max in log2 units, sum)
  int batch, heads, kv_heads, group, q_len, kv_len, splits, keys_per_split;
  bool causal;
  float scale_log2;  // log2(e)/sqrt(D): scores go straight into exp2
};

__device__ __forceinline__ uint4 load16(const bf16* p) { return *reinterpret_cast<const uint4*>(p); }
__device__ __forceinline__ void store16(bf16* p, uint4 v) { *reinterpret_cast<uint4*>(p) = v; }

// grid: x = batch × kv_heads, y = query tiles (heaviest causal tiles first), z = KV splits.
template <int D>
__global__ void __launch_bounds__(kThreads) attention_kernel(const Params p) {
  using L = Smem<D>;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* q_s = reinterpret_cast<bf16*>(smem + L::kQ);
  bf16* k_s = reinterpret_cast<bf16*>(smem + L::kK);
  bf16* v_s = reinterpret_cast<bf16*>(smem + L::kV);
  float* s_s = reinterpret_cast<float*>(smem + L::kS);
  bf16* p_s = reinterpret_cast<bf16*>(smem + L::kP);
  float* m_s = reinterpret_cast<float*>(smem + L::kStats);
  float* l_s = m_s + kBlockQ;
  float* a_s = l_s + kBlockQ;
  float* ridx_s = reinterpret_cast<float*>(smem + L::kRowIdx);

  const int b = static_cast<int>(blockIdx.x) / p.kv_heads;
  const int kvh = static_cast<int>(blockIdx.x) % p.kv_heads;
  const int tile = static_cast<int>(gridDim.y - 1 - blockIdx.y);
  const int split = static_cast<int>(blockIdx.z);
  const int warp = static_cast<int>(threadIdx.x) >> 5;
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const int rows_total = p.q_len * p.group;
  const int row0 = tile * kBlockQ;
  const int kv_offset = p.kv_len - p.q_len;  // causal: query i sees keys j ≤ i + kv_offset

  // This block's keys: its split, cut after the last key its last row may see.
  const int key_begin = split * p.keys_per_split;
  int key_end = min(p.kv_len, key_begin + p.keys_per_split);
  if (p.causal) {
    const int last_row = min(rows_total, row0 + kBlockQ) - 1;
    key_end = min(key_end, last_row / p.group + kv_offset + 1);
  }

  for (int i = threadIdx.x; i < 256; i += kThreads) ridx_s[i] = static_cast<float>(i / 16);
  for (int i = threadIdx.x; i < kBlockQ; i += kThreads) {
    m_s[i] = -INFINITY;
    l_s[i] = 0.0f;
    a_s[i] = 0.0f;
  }
  constexpr int kChunks = D / 8;  // 16-byte chunks per row
  const uint4 zero = make_uint4(0, 0, 0, 0);
  for (int c = threadIdx.x; c < kBlockQ * kChunks; c += kThreads) {
    const int r = c / kChunks, ch = c % kChunks;
    const int packed = row0 + r;
    uint4 val = zero;
    if (packed < rows_total) {
      const int qpos = packed / p.group, head = kvh * p.group + packed % p.group;
      val = load16(p.q + ((static_cast<size_t>(b) * p.q_len + qpos) * p.heads + head) * D + ch * 8);
    }
    store16(q_s + r * L::kLdQ + ch * 8, val);
  }
  __syncthreads();

  // A warp whose 16 rows are all padding (decode: q_len·group < 64) loads tiles but computes nothing.
  const bool warp_active = row0 + warp * 16 < rows_total;
  wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> qf[D / 16];
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> of[D / 16];
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> rowf;
#pragma unroll
  for (int f = 0; f < D / 16; ++f) {
    wmma::load_matrix_sync(qf[f], q_s + warp * 16 * L::kLdQ + f * 16, L::kLdQ);
    wmma::fill_fragment(of[f], 0.0f);
  }
  wmma::load_matrix_sync(rowf, ridx_s, 16, wmma::mem_row_major);
  float* s_w = s_s + warp * 16 * L::kLdS;
  bf16* p_w = p_s + warp * 16 * L::kLdP;

  for (int kt = key_begin; kt < key_end; kt += kBlockK) {
    __syncthreads();  // every warp is done with the previous K and V tiles
    for (int c = threadIdx.x; c < kBlockK * kChunks; c += kThreads) {
      const int r = c / kChunks, ch = c % kChunks;
      const int key = kt + r;
      uint4 kv = zero, vv = zero;  // zeros past the end: 0·p stays 0 (garbage could be NaN)
      if (key < key_end) {
        const size_t off = ((static_cast<size_t>(b) * p.kv_len + key) * p.kv_heads + kvh) * D + ch * 8;
        kv = load16(p.k + off);
        vv = load16(p.v + off);
      }
      store16(k_s + r * L::kLdQ + ch * 8, kv);
      store16(v_s + r * L::kLdQ + ch * 8, vv);
    }
    __syncthreads();
    if (!warp_active) continue;

      // S = Q·Kᵀ for the warp's 16 rows: B[dim][key] is K's tile read column-major.
#pragma unroll
    for (int nt = 0; nt < kBlockK / 16; ++nt) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> sf;
      wmma::fill_fragment(sf, 0.0f);
#pragma unroll
      for (int f = 0; f < D / 16; ++f) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> kf;
        wmma::load_matrix_sync(kf, k_s + nt * 16 * L::kLdQ + f * 16, L::kLdQ);
        wmma::mma_sync(sf, qf[f], kf, sf);
      }
      wmma::store_matrix_sync(s_w + nt * 16, sf, L::kLdS, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax, one row at a time, two keys per lane. Masked keys score −inf; a row that
    // has seen no key yet keeps m = −inf and uses 0 as its reference so that no exp(−inf + inf)
    // appears. The sum adds the bf16-rounded probabilities that P·V uses.
    for (int rr = 0; rr < 16; ++rr) {
      const int r = warp * 16 + rr;
      const int packed = row0 + r;
      int limit = key_end;  // exclusive
      if (packed >= rows_total) {
        limit = kt;
      } else if (p.causal) {
        limit = min(limit, packed / p.group + kv_offset + 1);
      }
      float s[2];
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const int col = lane + 32 * j;
        s[j] = kt + col < limit ? s_w[rr * L::kLdS + col] * p.scale_log2 : -INFINITY;
      }
      const float m_old = m_s[r];
      const float m_new = fmaxf(m_old, detail::warp_max(fmaxf(s[0], s[1])));
      const float m_ref = m_new == -INFINITY ? 0.0f : m_new;
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const bf16 pj = __float2bfloat16_rn(exp2f(s[j] - m_ref));
        p_w[rr * L::kLdP + lane + 32 * j] = pj;
        sum += __bfloat162float(pj);
      }
      sum = detail::warp_sum(sum);
      if (lane == 0) {
        const float alpha = exp2f(m_old - m_ref);
        m_s[r] = m_new;
        l_s[r] = l_s[r] * alpha + sum;
        a_s[r] = alpha;
      }
    }
    __syncwarp();

    // O = diag(alpha)·O + P·V.
#pragma unroll
    for (int f = 0; f < D / 16; ++f) {
#pragma unroll
      for (int i = 0; i < of[f].num_elements; ++i) of[f].x[i] *= a_s[warp * 16 + static_cast<int>(rowf.x[i])];
    }
    wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> pf[kBlockK / 16];
#pragma unroll
    for (int kk = 0; kk < kBlockK / 16; ++kk) wmma::load_matrix_sync(pf[kk], p_w + kk * 16, L::kLdP);
#pragma unroll
    for (int nt = 0; nt < D / 16; ++nt) {
#pragma unroll
      for (int kk = 0; kk < kBlockK / 16; ++kk) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> vf;
        wmma::load_matrix_sync(vf, v_s + kk * 16 * L::kLdQ + nt * 16, L::kLdQ);
        wmma::mma_sync(of[nt], pf[kk], vf, of[nt]);
      }
    }
  }

  __syncthreads();           // the K and V tiles become the output staging area
  if (!warp_active) return;  // no block-wide barrier follows
  float* o_w = reinterpret_cast<float*>(smem + L::kK) + warp * 16 * L::kLdO;
#pragma unroll
  for (int f = 0; f < D / 16; ++f) wmma::store_matrix_sync(o_w + f * 16, of[f], L::kLdO, wmma::mem_row_major);
  __syncwarp();
  const size_t out_rows = static_cast<size_t>(p.batch) * p.q_len * p.heads;
  for (int rr = 0; rr < 16; ++rr) {
    const int r = warp * 16 + rr;
    const int packed = row0 + r;
    if (packed >= rows_total) break;  // padding rows come last
    const int qpos = packed / p.group, head = kvh * p.group + packed % p.group;
    const size_t row = (static_cast<size_t>(b) * p.q_len + qpos) * p.heads + head;
    if (p.splits == 1) {
      const float l = l_s[r];
      const float inv = l > 0.0f ? 1.0f / l : 0.0f;
      for (int c = lane; c < D; c += 32) p.o[row * D + c] = __float2bfloat16_rn(o_w[rr * L::kLdO + c] * inv);
    } else {
      float* dst = p.part_o + (static_cast<size_t>(split) * out_rows + row) * D;
      for (int c = lane; c < D; c += 32) dst[c] = o_w[rr * L::kLdO + c];
      if (lane == 0) p.part_ml[static_cast<size_t>(split) * out_rows + row] = make_float2(m_s[r], l_s[r]);
    }
  }
}

// Merges the splits of one output row: weights 2^(m_s − max m), then O = Σ w·O_s / Σ w·l_s.
template <int D>
__global__ void __launch_bounds__(D)
    combine_kernel(const float* __restrict__ part_o, const float2* __restrict__ part_ml, bf16* __restrict__ o,
                   size_t out_rows, int splits) {
  const size_t row = blockIdx.x;
  float m = -INFINITY;
  for (int s = 0; s < splits; ++s) m = fmaxf(m, part_ml[static_cast<size_t>(s) * out_rows + row].x);
  float l = 0.0f, acc = 0.0f;
  for (int s = 0; s < splits; ++s) {
    const float2 ml = part_ml[static_cast<size_t>(s) * out_rows + row];
    const float w = ml.x == -INFINITY ? 0.0f : exp2f(ml.x - m);
    l += w * ml.y;
    acc += w * part_o[(static_cast<size_t>(s) * out_rows + row) * D + threadIdx.x];
  }
  o[row * D + threadIdx.x] = __float2bfloat16_rn(l > 0.0f ? acc / l : 0.0f);
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

template <int D>
cudaError_t launch_typed(const AttentionArgs& a, cudaStream_t stream) {
  Params p{};
  p.q = static_cast<const bf16*>(a.q);
  p.k = static_cast<const bf16*>(a.k);
  p.v = static_cast<const bf16*>(a.v);
  p.o = static_cast<bf16*>(a.o);
  p.batch = a.batch;
  p.heads = a.heads;
  p.kv_heads = a.kv_heads;
  p.group = a.heads / a.kv_heads;
  p.q_len = a.q_len;
  p.kv_len = a.kv_len;
  p.causal = a.causal;
  p.splits = a.splits;
  const int64_t kv_tiles = ceil_div(a.kv_len, kBlockK);
  p.keys_per_split = static_cast<int>(ceil_div(kv_tiles, a.splits) * kBlockK);
  p.scale_log2 = kLog2e / sqrtf(static_cast<float>(D));
  const size_t out_rows = static_cast<size_t>(a.batch) * a.q_len * a.heads;
  if (a.splits > 1) {
    p.part_o = static_cast<float*>(a.partial);
    p.part_ml = reinterpret_cast<float2*>(static_cast<unsigned char*>(a.partial) +
                                          static_cast<size_t>(a.splits) * out_rows * D * sizeof(float));
  }
  const size_t smem = Smem<D>::kBytes;
  cudaError_t e =
      cudaFuncSetAttribute(attention_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  if (e != cudaSuccess) return e;
  const int64_t q_tiles = ceil_div(static_cast<int64_t>(a.q_len) * p.group, kBlockQ);
  const dim3 grid(static_cast<unsigned>(a.batch * a.kv_heads), static_cast<unsigned>(q_tiles),
                  static_cast<unsigned>(a.splits));
  attention_kernel<D><<<grid, kThreads, smem, stream>>>(p);
  e = cudaGetLastError();
  if (e != cudaSuccess || a.splits == 1) return e;
  combine_kernel<D><<<static_cast<unsigned>(out_rows), D, 0, stream>>>(p.part_o, p.part_ml, p.o, out_rows, a.splits);
  return cudaGetLastError();
}

}  // namespace

bool attention_supports_head_dim(int head_dim) { return head_dim == 64 || head_dim == 128; }

int attention_splits(int batch, int heads, int kv_heads, int q_len, int kv_len, int sms) {
  if (batch <= 0 || heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0 || q_len <= 0 || kv_len <= 0 || sms <= 0) {
    return 1;
  }
  const int64_t q_tiles = ceil_div(static_cast<int64_t>(q_len) * (heads / kv_heads), kBlockQ);
  const int64_t blocks = q_tiles * batch * kv_heads;
  if (blocks >= 2 * static_cast<int64_t>(sms)) return 1;  // two blocks per SM already
  const int64_t kv_tiles = ceil_div(kv_len, kBlockK);
  int64_t splits = ceil_div(4 * static_cast<int64_t>(sms), blocks);
  splits = std::min<int64_t>(splits, std::min<int64_t>(kv_tiles / kMinTilesPerSplit, kMaxSplits));
  if (splits <= 1) return 1;
  const int64_t tiles_per_split = ceil_div(kv_tiles, splits);
  return static_cast<int>(ceil_div(kv_tiles, tiles_per_split));  // no split left empty
}

size_t attention_workspace_bytes(int batch, int heads, int q_len, int head_dim, int splits) {
  if (splits <= 1) return 0;
  const size_t out_rows = static_cast<size_t>(batch) * q_len * heads;
  return static_cast<size_t>(splits) * out_rows * (static_cast<size_t>(head_dim) * sizeof(float) + sizeof(float2));
}

cudaError_t launch_attention(const AttentionArgs& a, cudaStream_t stream) {
  if (a.q == nullptr || a.k == nullptr || a.v == nullptr || a.o == nullptr) return cudaErrorInvalidValue;
  if (a.batch <= 0 || a.heads <= 0 || a.kv_heads <= 0 || a.heads % a.kv_heads != 0 || a.q_len <= 0 || a.kv_len <= 0 ||
      !attention_supports_head_dim(a.head_dim) || (a.causal && a.q_len > a.kv_len)) {
    return cudaErrorInvalidValue;
  }
  const int64_t rows = static_cast<int64_t>(a.q_len) * (a.heads / a.kv_heads);
  if (rows > (int64_t{1} << 30) || ceil_div(rows, kBlockQ) > 65535 || a.splits < 1 || a.splits > 65535 ||
      static_cast<int64_t>(a.batch) * a.kv_heads > 0x7fffffff ||
      static_cast<int64_t>(a.batch) * a.q_len * a.heads > 0x7fffffff || (a.splits > 1 && a.partial == nullptr)) {
    return cudaErrorInvalidValue;
  }
  return a.head_dim == 64 ? launch_typed<64>(a, stream) : launch_typed<128>(a, stream);
}

}  // namespace fathom::calib::cuda
