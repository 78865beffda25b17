#pragma once
// Collective communication times with the α–β model (Hockney 1994; Thakur, Rabenseifner and
// Gropp 2005) per link level, for ring, tree, hierarchical and in-switch (NVLS) algorithms, over
// fabrics of up to three scale-out levels (leaf, spine, core; hw/cluster.h). `auto` picks the
// algorithm NCCL's tuner would: the least predicted time, with NCCL's structure of the costs
// across nodes (ring latency linear in the steps, tree latency logarithmic in the nodes, the tree's
// bandwidth derated; NVIDIA/nccl src/graph/tuning.cc).
// Equations and constants: docs/cost_model.md, section "Collectives".
#include <string>

#include "hw/cluster.h"
#include "hw/gpu.h"
#include "hw/operation.h"

namespace fathom::hw {

enum class CollectiveAlgo { kAuto, kRing, kTree, kHierarchical, kNvls };

std::string to_string(CollectiveAlgo a);
CollectiveAlgo parse_collective_algo(const std::string& s);  // throws std::invalid_argument

struct CollectiveOptions {
  // Achievable fraction of the per-direction link bandwidth for NCCL's ring/tree protocols over
  // NVLink: 370 of 450 GB/s on NVLink 4 (NVIDIA GTC25 S72583, quoted in ml-engineering).
  double nvlink_efficiency = 0.82;
  // In-switch reduction (NVLink SHARP): the same slide reports 480 GB/s bus bandwidth on an 8-GPU
  // NVLink 4 system; with the NVLS traffic model below that is 0.686 of the link bandwidth.
  double nvls_efficiency = 0.686;
  // Scale-out NICs (InfiniBand/RoCE) and PCIe: fraction of line rate NCCL sustains (approximate).
  double network_efficiency = 0.90;
  double pcie_efficiency = 0.80;
  // Tree all-reduce across nodes relative to the ring on the same links: NCCL's tuner multiplies
  // the tree's all-reduce bus bandwidth by 0.92 (NVIDIA/nccl@5067397 src/graph/tuning.cc).
  double tree_efficiency = 0.92;
  void validate() const;
};

// The GPUs of one collective and where they sit.
struct CollectiveGroup {
  int gpus = 1;           // n
  int gpus_per_node = 1;  // of the group on each of its nodes (g)
  // Nodes the group's placement covers, from its first node to its last. 0: packed, ⌈n/g⌉
  // consecutive nodes (the scheduler's contiguous placement). A data-parallel group of a
  // tp·pp layout has one member every tp·pp/gpus_per_node nodes and covers that many times more.
  int span_nodes = 0;
};

struct CollectiveCost {
  double time_s = 0;
  CollectiveAlgo algo = CollectiveAlgo::kRing;  // the algorithm priced (auto's choice)
  double bus_bandwidth_Bps = 0;                 // nccl-tests bus bandwidth implied by time_s
  // Where the traffic goes: the highest scale-out tier the group crosses (0 leaf, 1 spine, 2 core;
  // -1 when it stays within a node), the index of that level in ClusterSpec::levels (0 = the node's
  // link), the α per step used across nodes, the per-GPU scale-out bandwidth after the link
  // efficiency and the congestion, and the congestion itself: the divisor ≥ 1 that the
  // oversubscription of the levels crossed puts on that bandwidth for this traffic pattern.
  int tier = -1;
  int level = 0;
  double latency_s = 0;
  double network_bandwidth_Bps = 0;
  double congestion = 1;
  std::string algo_name() const { return to_string(algo); }
};

// Bus-bandwidth factor of nccl-tests: all-reduce 2(n−1)/n; all-gather, reduce-scatter and
// all-to-all (n−1)/n; broadcast and send/receive 1.
double bus_factor(Collective c, int n);

// Time of one collective of `bytes` (nccl-tests convention, see Op) over the GPUs of `group` on
// `cluster` made of `gpu`.
CollectiveCost collective_cost(Collective c, double bytes, const CollectiveGroup& group, const ClusterSpec& cluster,
                               const GpuSpec& gpu, CollectiveAlgo algo = CollectiveAlgo::kAuto,
                               const CollectiveOptions& options = {});

// The same over `n` GPUs of which `n_per_node` share a node, packed on consecutive nodes.
CollectiveCost collective_cost(Collective c, double bytes, int n, int n_per_node, const ClusterSpec& cluster,
                               const GpuSpec& gpu, CollectiveAlgo algo = CollectiveAlgo::kAuto,
                               const CollectiveOptions& options = {});

}  // namespace fathom::hw
