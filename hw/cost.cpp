#include "hw/cost.h"

#include <algorithm>

#include "common/error.h"

namespace fathom::hw {

std::string to_string(Bound b) {
  switch (b) {
    case Bound::kCompute: return "compute";
    case Bound::kMemory: return "memory";
    case Bound::kLatency: return "latency";
    case Bound::kCommunication: return "communication";
    case Bound::kIdle: return "idle";
  }
  return "?";
}

CostModel::CostModel(GpuSpec gpu, ClusterSpec cluster, std::shared_ptr<const EfficiencyModel> efficiency,
                     CollectiveOptions collective_options, CollectiveAlgo algo)
    : gpu_(std::move(gpu)),
      cluster_(std::move(cluster)),
      efficiency_(std::move(efficiency)),
      coll_options_(collective_options),
      algo_(algo) {
  FATHOM_CHECK(efficiency_ != nullptr);
  coll_options_.validate();
}

OpCost CostModel::cost(const Op& op) const {
  OpCost c;
  if (op.kind == OpKind::kBubble) {
    c.time_s = op.fixed_time_s;
    c.bound = Bound::kIdle;
    return c;
  }
  if (op.kind == OpKind::kCollective) {
    CollectiveCost cc = collective_cost(op.collective, op.bytes, op.group, op.group_per_node, cluster_, gpu_,
                                        algo_, coll_options_);
    c.time_s = cc.time_s;
    c.algo = cc.algo;
    c.bound = Bound::kCommunication;
    return c;
  }
  // Matrix work runs at the tensor-core peak of its data type; everything else on the vector
  // units (fp32 non-tensor peak).
  double peak;
  if (op.kind == OpKind::kGemm || op.kind == OpKind::kAttention) {
    peak = gpu_.peak(op.dtype);
    if (peak <= 0) peak = gpu_.peak(DType::kBf16) > 0 ? gpu_.peak(DType::kBf16) : gpu_.peak(DType::kFp16);
  } else {
    peak = gpu_.peak(DType::kFp32);
    if (peak <= 0) peak = gpu_.peak(DType::kBf16);
  }
  const double eta_c = efficiency_->compute_efficiency(op, gpu_);
  const double eta_m = efficiency_->memory_efficiency(op, gpu_);
  c.compute_s = op.flops > 0 ? op.flops / (peak * eta_c) : 0.0;
  c.memory_s = op.bytes > 0 ? op.bytes / (gpu_.memory_bw_Bps * eta_m) : 0.0;
  c.overhead_s = efficiency_->launch_overhead_s(op, gpu_);
  c.time_s = std::max(c.compute_s, c.memory_s) + c.overhead_s;
  if (c.overhead_s > std::max(c.compute_s, c.memory_s)) {
    c.bound = Bound::kLatency;
  } else {
    c.bound = c.compute_s >= c.memory_s ? Bound::kCompute : Bound::kMemory;
  }
  return c;
}

}  // namespace fathom::hw
