#pragma once
// Collective communication times with the α–β model (Hockney 1994; Thakur, Rabenseifner and
// Gropp 2005) per link level, for ring, tree, hierarchical and in-switch (NVLS) algorithms.
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
  void validate() const;
};

struct CollectiveCost {
  double time_s = 0;
  CollectiveAlgo algo = CollectiveAlgo::kRing;
  double bus_bandwidth_Bps = 0;  // nccl-tests bus bandwidth implied by time_s
};

// Bus-bandwidth factor of nccl-tests: all-reduce 2(n−1)/n; all-gather, reduce-scatter and
// all-to-all (n−1)/n; broadcast and send/receive 1.
double bus_factor(Collective c, int n);

// Time of one collective of `bytes` (nccl-tests convention, see Op) over `n` GPUs of which
// `n_per_node` share a node, on `cluster` made of `gpu`.
CollectiveCost collective_cost(Collective c, double bytes, int n, int n_per_node, const ClusterSpec& cluster,
                               const GpuSpec& gpu, CollectiveAlgo algo = CollectiveAlgo::kAuto,
                               const CollectiveOptions& options = {});

}  // namespace fathom::hw
