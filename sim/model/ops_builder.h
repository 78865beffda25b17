#pragma once
// Decomposition of a model into operations for one phase and batch shape, on one GPU of a
// parallel layout: GEMMs, FlashAttention-style attention, norms, element-wise passes,
// embeddings and LM head, MoE routing, dispatch and experts, SSM scans, KV-cache writes, and the
// collectives the layout implies. Equations: docs/cost_model.md, section "Operations".
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "hw/operation.h"
#include "sim/model/model_spec.h"

namespace fathom::model {

enum class Phase { kTrain, kPrefill, kDecode };
enum class Recompute { kNone, kSelective, kFull };

std::string to_string(Phase p);
std::string to_string(Recompute r);

struct Precision {
  DType weights = DType::kBf16;      // stored weights (fp8 / int8: W8A8 GEMMs; int4 / fp4: W4A16)
  DType activations = DType::kBf16;  // activations between kernels
  DType kv_cache = DType::kBf16;
  // GEMM data type implied: fp8 and int8 weights run the GEMM in that type (activations
  // quantised on the fly, as TensorRT-LLM's FP8 mode); 4-bit weights are dequantised in the
  // kernel and run at the activation type (MARLIN-style W4A16).
  DType gemm_dtype() const;
};

struct Layout {
  int tp = 1;   // tensor parallel
  int pp = 1;   // pipeline stages
  int dp = 1;   // data parallel (training)
  int ep = 1;   // expert parallel
  int cp = 1;   // context parallel (training): the sequence split over cp GPUs
  bool cp_all_to_all = false;  // CP by head all-to-all (DeepSpeed-Ulysses) instead of ring attention
  bool sequence_parallel = false;
  int gpus_per_node = 8;
};

struct Batch {
  int64_t sequences = 1;    // per GPU microbatch (train), or sequences in the iteration (serve)
  int64_t seq_len = 1;      // train / prefill: tokens per sequence; decode: KV context per sequence
  int64_t microbatches = 1; // train: microbatches per step per pipeline
};

struct OpsOptions {
  // FlashAttention skips fully masked tiles, so causal attention does half the work. Megatron's
  // FLOP formula (Narayanan et al. 2021, eq. 3) counts the full s² score matrix: set false to
  // compare with it.
  bool causal_skip = true;
  // false: attention as separate kernels (score GEMM, softmax, dropout, context GEMM) that write
  // the s² score matrix to memory, as before FlashAttention (Megatron-LM 2021).
  bool fused_attention = true;
  bool dropout = false;  // dropout on attention probabilities (unfused attention only)
  Recompute recompute = Recompute::kNone;
  bool include_communication = true;
  bool include_optimizer = true;  // train: Adam step and data-parallel gradient reduction
};

// The first way the layout does not fit the model (heads not divisible by tp, layers by pp,
// experts by ep, ...): the field at fault ("tp", "pp", ...) and the message; nullopt when it
// fits. `check_pp` false skips the layers-by-pp rule (uneven pipeline stages).
struct LayoutProblem {
  std::string field;
  std::string message;
};
std::optional<LayoutProblem> layout_problem(const ModelSpec& m, const Layout& layout, bool check_pp = true);

// Throws ConfigError naming the field when layout_problem finds one.
void validate_layout(const ModelSpec& m, const Layout& layout, const std::string& where,
                     const std::string& key_prefix);

std::vector<hw::Op> build_ops(const ModelSpec& m, Phase phase, const Batch& batch, const Layout& layout,
                              const Precision& precision, const OpsOptions& options = {});

// The fused self-attention kernels of one serving iteration, over all attention layers of the
// replica (count = attention layers): `seqs` sequences that each add `q_len` new tokens to a
// cache that then holds `kv_len` keys (kv_len ≥ q_len counts the new tokens). Decoding (q_len 1)
// reads the cache; a prefill chunk attends causally within itself and to its cached context.
// FLOPs and bytes are linear in seqs·kv_len at q_len 1, so sequences of different lengths
// can be summed into one call with their mean length (one varlen kernel).
hw::Op serve_attention_op(const ModelSpec& m, const Layout& layout, const Precision& precision, double seqs,
                          double q_len, double kv_len);

}  // namespace fathom::model
