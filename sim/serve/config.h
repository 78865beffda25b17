#pragma once
// The serving simulation's configuration: engine preset, scheduler, KV cache, speculative
// decoding, disaggregated pools, routing, workload and SLOs. It is the `serve:` section of a
// scenario (docs/scenario.md); presets and their sources are in docs/serving.md.
#include <optional>
#include <string>

#include "common/yaml.h"
#include "hw/gpu.h"
#include "sim/model/model_catalog.h"
#include "sim/model/ops_builder.h"
#include "sim/serve/workload.h"

namespace fathom::serve {

enum class SchedulerKind { kStatic, kOrca, kVllm, kSarathi, kDisaggregated };
enum class Preemption { kRecompute, kSwap };
enum class RouterKind { kRoundRobin, kLeastOutstanding, kLeastKv, kPrefixAffinity };

std::string to_string(SchedulerKind k);
std::string to_string(Preemption p);
std::string to_string(RouterKind r);

struct SchedulerConfig {
  SchedulerKind kind = SchedulerKind::kSarathi;
  int64_t max_seqs = 256;       // sequences in one iteration (vLLM max_num_seqs, TRT-LLM max_batch_size)
  int64_t token_budget = 8192;  // tokens in one iteration (max_num_batched_tokens, max_num_tokens)
  Preemption preemption = Preemption::kRecompute;
  // Reserve KV blocks for the whole request (prompt + output) at admission, so that nothing is
  // ever preempted (Orca; TensorRT-LLM's GUARANTEED_NO_EVICT). false: blocks as tokens arrive.
  bool reserve_full = false;
  // vLLM v0: fraction of the cache kept free when admitting prefills.
  double watermark = 0.0;
};

struct KvConfig {
  int64_t block_size = 16;      // tokens per block
  // Share of GPU memory the engine may use (weights, activations and KV: vLLM
  // gpu_memory_utilization) or, with `of_free`, share of the memory left after weights and
  // activations given to the KV cache (TensorRT-LLM free_gpu_memory_fraction).
  double memory_fraction = 0.9;
  bool of_free = false;
  bool prefix_caching = false;
  double compression = 1.0;     // retained fraction of KV tokens (H2O-style budget), (0, 1]
  double swap_bytes = 4.0 * 1073741824.0;  // host memory for swapped-out KV, per GPU
  std::optional<int64_t> blocks;           // blocks per replica, overriding the memory calculation
};

struct SpecConfig {
  std::optional<model::ModelSpec> draft;  // speculative decoding on when set
  int tokens = 4;                          // k drafted tokens per verification step
  double acceptance = 0.7;                 // α, per drafted token
  // Expected tokens emitted per verification step: (1 − α^(k+1)) / (1 − α).
  double expected_tokens() const;
};

struct PoolConfig {
  model::Layout layout;
  int replicas = 1;
};

struct DisaggConfig {
  PoolConfig prefill, decode;
  double link_Bps = 0;       // per replica pair, per direction
  double link_latency_s = 0;
};

struct Slo {
  double ttft_s = 0, tpot_s = 0, e2e_s = 0;  // 0: not set
  bool any() const { return ttft_s > 0 || tpot_s > 0 || e2e_s > 0; }
};

struct ServeConfig {
  std::string engine = "vllm";
  int replicas = 1;
  RouterKind router = RouterKind::kLeastOutstanding;
  SchedulerConfig scheduler;
  KvConfig kv;
  SpecConfig spec;
  std::optional<DisaggConfig> disagg;
  WorkloadSpec workload;
  Slo slo;
  int64_t max_model_len = 0;
  double iteration_overhead_s = 0;  // host time per engine step (scheduling, sampling, launch)
  double timeseries_interval_s = 1.0;
};

// Memory of one GPU of a replica: weights, peak activations of the largest iteration, runtime
// (CUDA context, graphs, communication buffers) and the KV cache that is left, in blocks.
// `problem` says why the replica cannot run (nothing left for the KV cache, or a cache smaller
// than one request of max_model_len) and `problem_key` the scenario key to blame.
struct ReplicaMemory {
  double weights = 0, activations = 0, runtime = 0, kv = 0;
  double kv_token = 0;  // KV bytes per token per GPU
  int64_t blocks = 0;
  std::string problem, problem_key;
};
ReplicaMemory replica_memory(const model::ModelSpec& m, const hw::GpuSpec& gpu, const model::Precision& precision,
                             const ServeConfig& c, const model::Layout& layout);

// Reads the simulation keys of a `serve:` section (layout already parsed into `layout`).
ServeConfig parse_serve_config(const YamlNode& serve, const model::ModelSpec& m, const hw::GpuSpec& gpu,
                               const model::Precision& precision, const model::Layout& layout,
                               const model::ModelCatalog& models);

// The preset named `engine` (vllm, vllm-v0, sglang, trtllm) on `gpu`; throws std::invalid_argument.
ServeConfig engine_preset(const std::string& engine, const hw::GpuSpec& gpu);

}  // namespace fathom::serve
