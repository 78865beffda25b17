#pragma once
// One operation of the cost chain: what a kernel (or a collective) does, in FLOPs and bytes.
// sim/model produces lists of these; hw/cost gives each a time.
#include <cstdint>
#include <string>

#include "common/dtype.h"

namespace fathom::hw {

enum class OpKind {
  kGemm,         // dense matrix product M×N×K
  kAttention,    // fused FlashAttention-style kernel
  kElementwise,  // activations, rotary embeddings, residual adds, softmax
  kNorm,         // RMSNorm / LayerNorm
  kEmbedding,    // row gather from the embedding table
  kScan,         // SSM selective scan
  kMemory,       // KV-cache writes, copies
  kCollective,   // communication between GPUs
  kBubble,       // idle time (pipeline bubble), time given directly
};

enum class Collective { kAllReduce, kAllGather, kReduceScatter, kAllToAll, kBroadcast, kSendRecv };

// Which pass of a training step an operation belongs to.
enum class Pass { kForward, kBackward, kRecompute, kOptimizer, kInference };

std::string to_string(OpKind k);
std::string to_string(Collective c);
std::string to_string(Pass p);

struct Op {
  std::string name;      // e.g. "attn.qkv_proj"
  std::string category;  // attention, mlp, moe, ssm, embedding, lm_head, norm, comm, ...
  OpKind kind = OpKind::kElementwise;
  Pass pass = Pass::kInference;
  DType dtype = DType::kBf16;  // compute type (GEMM, attention)
  double count = 1;            // identical instances (layers × microbatches)

  // Per instance:
  double flops = 0;         // floating-point operations executed (a multiply-add is 2)
  double model_flops = 0;   // of which useful model FLOPs (PaLM MFU convention: no recompute)
  double bytes = 0;         // bytes read + written to device memory
  double weight_bytes = 0;  // share of `bytes` that reads weights
  double kv_bytes = 0;      // share of `bytes` that reads or writes the KV cache
  int64_t m = 0, n = 0, k = 0;  // GEMM shape of one product
  int64_t batch = 1;            // products of that shape in one batched or grouped kernel

  // Collectives: payload in nccl-tests convention (all-reduce: the buffer; all-gather: the
  // gathered output; reduce-scatter: the input; all-to-all: what each GPU holds) and the group.
  Collective collective = Collective::kAllReduce;
  int group = 1;           // GPUs in the group
  int group_per_node = 1;  // of which in one node
  double fixed_time_s = 0; // kBubble: time given directly
};

}  // namespace fathom::hw
