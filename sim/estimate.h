#pragma once
// `fathom estimate`: the per-operation breakdown of one training step or one serving
// iteration on one GPU, from the cost chain model → operations → time.
#include <string>
#include <vector>

#include "hw/cost.h"
#include "sim/scenario.h"

namespace fathom::sim {

enum class EstimateKind { kTrainStep, kServeIteration };
std::string to_string(EstimateKind k);

struct EstimateRow {
  hw::Op op;
  hw::OpCost cost;
  double total_s = 0;  // cost.time_s × op.count
  double share = 0;    // of the step or iteration time
};

struct MemoryEstimate {
  double weights_bytes = 0;    // per GPU
  double kv_cache_bytes = 0;   // per GPU (serving)
  double capacity_bytes = 0;
  bool fits() const { return weights_bytes + kv_cache_bytes <= capacity_bytes; }
};

struct EstimateResult {
  EstimateKind kind = EstimateKind::kServeIteration;
  std::string phase;  // train, prefill, decode
  std::vector<EstimateRow> rows;
  double total_s = 0;
  double flops = 0;        // executed per GPU
  double model_flops = 0;  // useful per GPU
  double bytes = 0;
  double weight_bytes = 0;
  double kv_bytes = 0;
  double compute_bound_s = 0, memory_bound_s = 0, latency_bound_s = 0, communication_s = 0, idle_s = 0;
  double tokens = 0;            // tokens processed by the step / iteration (all GPUs of the job or replica)
  double tokens_per_s = 0;
  double mfu = 0;               // model FLOPs / (time × dense peak of the GEMM data type)
  double gpus = 0;
  double usd_per_million_tokens = 0;
  // Training with `train.tokens` set: steps at this step time (no overlap, no failures).
  double train_tokens = 0;
  double train_time_s = 0;
  double gpu_hours = 0;
  double train_usd = 0;
  MemoryEstimate memory;
  std::vector<std::string> notes;
};

EstimateResult estimate(const Scenario& s, EstimateKind kind);

}  // namespace fathom::sim
