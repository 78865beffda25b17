#pragma once
// Per-operation time: the roofline with efficiencies,
//   t = max(F / (P_dtype · η_c), B / (BW · η_m)) + t_launch,
// and the α–β collective model for communication (docs/cost_model.md).
#include <memory>
#include <string>

#include "hw/cluster.h"
#include "hw/collective.h"
#include "hw/efficiency.h"
#include "hw/gpu.h"
#include "hw/operation.h"

namespace fathom::hw {

enum class Bound { kCompute, kMemory, kLatency, kCommunication, kIdle };
std::string to_string(Bound b);

struct OpCost {
  double time_s = 0;      // per instance, including overhead
  double compute_s = 0;   // per instance
  double memory_s = 0;    // per instance
  double overhead_s = 0;  // per instance
  Bound bound = Bound::kCompute;
  CollectiveAlgo algo = CollectiveAlgo::kAuto;  // collectives only

  double total_s(const Op& op) const { return time_s * op.count; }
};

class CostModel {
 public:
  CostModel(GpuSpec gpu, ClusterSpec cluster, std::shared_ptr<const EfficiencyModel> efficiency,
            CollectiveOptions collective_options = {}, CollectiveAlgo algo = CollectiveAlgo::kAuto);

  OpCost cost(const Op& op) const;

  const GpuSpec& gpu() const { return gpu_; }
  const ClusterSpec& cluster() const { return cluster_; }
  const EfficiencyModel& efficiency() const { return *efficiency_; }

 private:
  GpuSpec gpu_;
  ClusterSpec cluster_;
  std::shared_ptr<const EfficiencyModel> efficiency_;
  CollectiveOptions coll_options_;
  CollectiveAlgo algo_;
};

}  // namespace fathom::hw
