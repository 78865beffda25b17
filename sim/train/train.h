#pragma once
// Training performance model: memory per GPU and time per optimizer step of one parallel
// layout (tensor, sequence, pipeline with interleaved or uneven stages, data, context and
// expert parallelism; ZeRO 0–3 / FSDP; activation recomputation; offload), from the
// per-operation cost chain. Equations and sources: docs/training.md.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "hw/cost.h"
#include "hw/profile.h"
#include "sim/model/model_spec.h"
#include "sim/model/ops_builder.h"

namespace fathom::train {

enum class Optimizer { kAdam, kSgd, kAdafactor, kAdam8bit };
std::string to_string(Optimizer o);
Optimizer parse_optimizer(const std::string& s);  // throws std::invalid_argument
// Optimizer state bytes per parameter kept beside the weights (fp32 master copy included).
double optimizer_state_bytes(Optimizer o);

// Who issues the collectives of a layout, and so what may overlap what (docs/training.md,
// "Overlap"): Megatron-style (tensor/pipeline parallel, distributed optimizer, bucketed gradient
// reduction behind the backward pass) or FSDP-style (PyTorch FSDP/FSDP2, DeepSpeed ZeRO-3:
// parameters gathered per layer with prefetch, gradients reduce-scattered per layer). kAuto picks
// FSDP-style for ZeRO-3 without TP and PP, Megatron-style otherwise.
enum class Framework { kAuto, kMegatron, kFsdp };
std::string to_string(Framework f);
Framework parse_framework(const std::string& s);  // throws std::invalid_argument

// Context parallelism: ring attention (KV blocks passed around a ring, overlapped with the
// attention kernels), all-to-all over heads (DeepSpeed-Ulysses), or all-gather of K and V with
// load balancing by chunk pairs (Llama 3, Dubey et al. 2024, §3.3.2).
enum class CpKind { kRing, kAllToAll, kAllGather };

// Default host time per operation (docs/training.md, "Host overhead").
inline constexpr double kDefaultHostOverheadPerOp_s = 70e-6;

// Default loop efficiency (docs/training.md, "Loop efficiency"): the kernel rates come from
// isolated microbenchmarks (a GEMM repeated after warm-up); inside a training loop every GPU of a
// node runs at once (clocks under shared power and cooling), kernels of different shapes follow
// each other and the framework adds gaps. Kernel times are divided by this fraction. Fitted, one
// number for every GPU: the value that makes the median signed error of Megatron-LM's Table 1
// (Narayanan et al. 2021, A100) zero, to two digits; vTrain's 1,549 iterations and the at-scale
// set are held out.
inline constexpr double kDefaultLoopEfficiency = 0.92;

// Every input of one training configuration. Degrees multiply to the GPU count:
// gpus = tp × cp × dp × pp; expert parallelism splits the experts over ep of the dp × cp ranks.
struct TrainConfig {
  model::Layout layout;         // tp, pp, dp, ep, cp, cp_all_to_all, sequence_parallel, gpus_per_node
  int virtual_stages = 1;       // interleaved 1F1B: model chunks per pipeline rank
  int64_t first_stage_layers = 0;  // uneven pipeline: layers on the first / last stage (0 = even split)
  int64_t last_stage_layers = 0;
  int64_t seq_len = 2048;
  int64_t global_batch = 1;     // sequences per optimizer step
  int64_t microbatch = 1;       // sequences per microbatch
  model::Recompute recompute = model::Recompute::kNone;
  int64_t recompute_layers = 0; // full recomputation of this many layers per stage (0 = all)
  int zero = 0;                 // 0: none; 1: optimizer state sharded (distributed optimizer);
                                // 2: + gradients; 3: + parameters (FSDP)
  // HSDP (FSDP HYBRID_SHARD, ZeRO++ hpZ-like): with zero 3, parameters, gradients and optimizer
  // state are sharded within groups of this many data-parallel ranks and replicated across the
  // groups (gradients all-reduced across them). 0 = shard over all dp × cp ranks.
  int shard_group = 0;
  // FSDP: free gathered parameters after the forward pass (FULL_SHARD, FSDP2 default) and gather
  // them again for the backward pass; false keeps them until the backward (SHARD_GRAD_OP).
  bool reshard_after_forward = true;
  int prefetch_depth = 1;       // FSDP: layers whose gathers may run ahead of compute
  Framework framework = Framework::kAuto;
  CpKind cp_kind = CpKind::kRing;  // ignored when cp = 1; kAllToAll mirrors layout.cp_all_to_all
  Optimizer optimizer = Optimizer::kAdam;
  bool offload_optimizer = false;    // optimizer state and step on the host (ZeRO-Offload)
  bool offload_activations = false;  // saved activations to host memory between passes
  bool overlap_tp = false;      // TP collectives hidden behind GEMMs (userbuffers-style)
  bool overlap_dp = true;       // gradient reduction overlapped with the backward pass
  bool overlap_pp = true;       // pipeline send/receive overlapped with compute
  bool flash_attention = true;  // fused attention: no s² score matrix stored, causal tiles skipped
  bool dropout = false;         // dropout masks stored (GPT-3-era training used dropout 0.1)
  DType grad_reduce_dtype = DType::kBf16;  // gradient all-reduce / reduce-scatter payload
  DType main_grad_dtype = DType::kFp32;    // gradient accumulation buffer (Megatron: fp32)
  // Host time to issue one operation of the decomposition in an eager framework (Python,
  // autograd, dispatcher, launch); a layer pass takes at least its operations times this.
  double host_overhead_per_op_s = kDefaultHostOverheadPerOp_s;
  // Fraction of the microbenchmarked kernel rates a training loop sustains, in (0, 1]; kernel
  // times (not collectives, not host time) are divided by it.
  double loop_efficiency = kDefaultLoopEfficiency;

  int64_t gpus() const {
    return static_cast<int64_t>(layout.tp) * layout.cp * layout.dp * layout.pp;
  }
  int64_t microbatches() const { return global_batch / (static_cast<int64_t>(layout.dp) * microbatch); }
};

// kAuto resolved for `c` (never returns kAuto).
Framework framework_of(const TrainConfig& c);

// The vocabulary a framework builds for `c`: Megatron-style pads it to a multiple of 128 × tp
// (Megatron-LM --make-vocab-size-divisible-by 128, times the TP degree) so that the embedding and
// the head split evenly; FSDP-style runs the checkpoint's vocabulary as it is.
int64_t padded_vocab_size(int64_t vocab, const TrainConfig& c);
// Megatron-LM's padding alone: `vocab` rounded up to a multiple of 128 × tp.
int64_t megatron_padded_vocab(int64_t vocab, int tp);

// Why a configuration cannot run; `field` names the input at fault (e.g. "parallel.tp").
struct Infeasible {
  std::string field;
  std::string reason;
};

// Checks that a configuration can be built for the model on `gpus` GPUs (divisibility, batch,
// stage split); memory is checked by evaluate(). Returns the first problem found.
std::optional<Infeasible> check_config(const model::ModelSpec& m, const TrainConfig& c, int64_t gpus);

struct MemoryBreakdown {  // bytes per GPU, on the stage that needs the most
  double weights = 0;
  double gradients = 0;
  double optimizer = 0;
  double activations = 0;
  double buffers = 0;        // communication buckets, gathered parameters, workspace
  double runtime = 0;        // CUDA context and library workspaces
  double fragmentation = 0;  // allocator allowance
  double total = 0;
  double capacity = 0;
  int stage = 0;             // which pipeline stage this is
  double inflight_microbatches = 0;
  double activation_bytes_per_layer = 0;  // one microbatch, one layer
  bool fits() const { return total <= capacity; }
  double margin() const { return capacity - total; }
};

// One kind of communication in a step, on the critical stage: its time as if run alone, and the
// part of it not hidden behind compute (docs/training.md, "Overlap").
struct CommTerm {
  double total = 0;
  double exposed = 0;
  double overlapped() const { return total - exposed; }
};

struct TimeBreakdown {  // seconds per optimizer step, on the critical path
  double forward = 0;          // compute, all microbatches, slowest stage
  double backward = 0;
  double recompute = 0;
  double tp_comm = 0;          // exposed TP (and SP) collectives
  double cp_comm = 0;          // exposed context-parallel exchange
  double ep_comm = 0;          // exposed expert all-to-all
  double pp_comm = 0;          // exposed pipeline send/receive
  double bubble = 0;           // pipeline fill and drain
  double dp_comm = 0;          // exposed gradient reduction and ZeRO gathers
  double optimizer = 0;
  double offload = 0;          // exposed host transfers and host optimizer
  double contention = 0;       // compute slowed by collectives running beside it (SMs, HBM)
  double host = 0;             // passes bound by the host issuing kernels, beyond their GPU time
  double step = 0;
  // Per collective: whole and exposed time (the exposed parts are the *_comm fields above).
  CommTerm tp, cp, ep, pp;
  CommTerm dp_grad;       // gradient all-reduce / reduce-scatter (DP, HSDP replicas, ZeRO 1–3)
  CommTerm param_gather;  // ZeRO-1/2 updated-parameter all-gather, ZeRO-3/FSDP parameter gathers
  CommTerm step_tail;     // gradient-norm all-reduce and loss reduction at the end of the step
};

struct TrainResult {
  TrainConfig config;
  std::optional<Infeasible> infeasible;  // set when the configuration cannot run (incl. memory)
  MemoryBreakdown memory;
  TimeBreakdown time;
  double tokens_per_step = 0;
  double tokens_per_s = 0;
  double model_flops_per_step = 0;     // whole job; PaLM convention: 6·N·T + attention, no recompute
  double hardware_flops_per_step = 0;  // whole job, as executed (recompute and FlashAttention backward)
  double mfu = 0;
  double hfu = 0;
  double peak_flops = 0;  // per GPU, dense, of the GEMM data type
  // Time to train on `tokens` (when given), GPU-hours, dollars and energy.
  double train_tokens = 0;
  double train_time_s = 0;
  double gpu_hours = 0;
  double usd = 0;
  double kwh = 0;
  bool feasible() const { return !infeasible.has_value(); }
};

// Per-microbatch, per-layer times of one (tp, cp, ep, sp, microbatch) shape, from the cost chain.
struct LayerCosts {
  double fwd = 0, bwd = 0;          // compute per average layer
  double gemm_fwd = 0, gemm_bwd = 0;  // of which GEMMs (window for TP overlap)
  double attn_fwd = 0;              // attention core forward (selective recomputation without fusion)
  double tp_fwd = 0, tp_bwd = 0;
  double cp_fwd = 0, cp_bwd = 0;   // exposed (ring: beyond the attention kernels it runs beside)
  double cp_raw_fwd = 0, cp_raw_bwd = 0;  // the whole exchange, as if run alone
  double attn_bwd = 0;              // attention core backward (window of the ring exchange)
  double ep_fwd = 0, ep_bwd = 0;
  double first_fwd = 0, first_bwd = 0;  // embedding (and encoder) on the first stage, comm included
  double last_fwd = 0, last_bwd = 0;    // final norm, LM head and loss on the last stage
  double model_flops = 0;               // per microbatch, whole model on one TP×CP group
  double flops = 0;                     // executed, without recomputation
  double layer_fwd_flops = 0;           // executed forward FLOPs per average layer (recompute)
  double ops_fwd = 0, ops_bwd = 0;      // operations (kernels and collectives) per average layer
};

struct HostModel {
  // Host-side optimizer (ZeRO-Offload CPU Adam) throughput per GPU, bytes of optimizer traffic per
  // second: a two-socket server streams ~300 GB/s of DRAM bandwidth shared by 8 GPUs; CPU Adam
  // touches 32 bytes per parameter (docs/training.md).
  double cpu_optimizer_Bps = 35e9;
};

class TrainModel {
 public:
  TrainModel(model::ModelSpec m, hw::GpuSpec gpu, hw::ClusterSpec cluster, model::Precision precision,
             hw::DefaultEfficiencyOptions efficiency = {}, hw::CollectiveAlgo algo = hw::CollectiveAlgo::kAuto,
             double usd_per_gpu_hour = 0, std::shared_ptr<const hw::CalibratedProfile> profile = nullptr);

  // Memory and step time; never throws for a configuration that check_config accepts, and
  // reports check_config's problem (or memory over capacity) in `infeasible`.
  TrainResult evaluate(const TrainConfig& c, std::optional<double> train_tokens = std::nullopt) const;

  // Layer costs for one shape (memoised).
  const LayerCosts& layer_costs(const TrainConfig& c) const;

  const model::ModelSpec& model() const { return m_; }
  const hw::GpuSpec& gpu() const { return gpu_; }
  const hw::ClusterSpec& cluster() const { return cluster_; }
  const model::Precision& precision() const { return precision_; }
  const hw::CostModel& cost_model() const { return cost_; }
  double usd_per_gpu_hour() const { return usd_per_gpu_hour_; }
  size_t cache_size() const { return cache_.size(); }

  // Constants (documented in docs/training.md).
  static constexpr double kRuntimeReserveBytes = 1.0 * 1073741824.0;  // CUDA context, cuBLAS/NCCL workspaces
  static constexpr double kFragmentation = 0.08;  // caching-allocator allowance, fraction of tensors
  static constexpr double kBucketElements = 40e6; // gradient bucket (Megatron DDP default)
  // Contention: a collective running beside compute slows that compute by this fraction of the
  // collective's overlapped time (NCCL channels take SMs; both stream through HBM): the mean
  // slowdown of overlapped compute measured by Lee et al. 2025 (arXiv 2507.03114) on A100 and
  // H100, 18.9% (docs/training.md, "Overlap").
  static constexpr double kContention = 0.189;

 private:
  LayerCosts compute_layer_costs(const TrainConfig& c) const;
  double collective(hw::Collective k, double bytes, int group, int per_node) const;
  double fp8_cast_time(const hw::Op& gemm) const;  // scaling and casting of an fp8 GEMM's operands
  // Memory of pipeline stage `index` holding `layers` layers (`rc_layers` fully recomputed) and
  // `dense` + `expert` parameters on one GPU (memory.cpp).
  MemoryBreakdown stage_memory(const TrainConfig& c, int index, double layers, double rc_layers, double dense,
                               double expert) const;

  model::ModelSpec m_;
  hw::GpuSpec gpu_;
  hw::ClusterSpec cluster_;
  model::Precision precision_;
  hw::CostModel cost_;
  double usd_per_gpu_hour_ = 0;
  HostModel host_;
  // Parameter split (whole model): per average layer (dense part, routed experts), embedding,
  // head (a copy of the embedding on the last stage when tied and pp > 1), encoder.
  double layer_dense_params_ = 0, layer_expert_params_ = 0, embedding_params_ = 0, head_params_ = 0,
         encoder_params_ = 0, final_norm_params_ = 0, total_params_ = 0;
  // Keyed by the shape (shape_key) and the loop efficiency, which scales every kernel time.
  struct CacheKey {
    uint64_t shape;
    double loop_efficiency;
    bool operator==(const CacheKey&) const = default;
  };
  struct CacheKeyHash {
    size_t operator()(const CacheKey& k) const;
  };
  mutable std::unordered_map<CacheKey, LayerCosts, CacheKeyHash> cache_;
};

// Activation bytes one token leaves in memory per layer for the backward pass (one microbatch),
// Korthikanti et al. 2022 generalised to GQA, gated FFNs, MoE and Mamba layers.
double activation_bytes_per_token_layer(const model::ModelSpec& m, const TrainConfig& c, DType activations);

}  // namespace fathom::train
