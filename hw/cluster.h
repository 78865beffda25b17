#pragma once
// A cluster: nodes of GPUs joined by link levels (intra-node, then scale-out network).
#include <cstdint>
#include <string>
#include <vector>

#include "common/yaml.h"
#include "hw/gpu.h"

namespace fathom::hw {

enum class LinkScope { kNode, kCluster };

struct LinkLevel {
  std::string name;
  LinkScope scope = LinkScope::kNode;
  double bandwidth_per_direction_Bps = 0;  // per GPU
  double latency_s = 0;                    // α of the α–β model, per message step
};

struct ClusterSpec {
  std::string name;
  std::string gpu;  // catalog name
  int nodes = 1;
  int gpus_per_node = 1;
  std::string topology = "single-node";
  double oversubscription = 1.0;  // spine
  int nodes_per_leaf = 1 << 30;   // nodes reachable without crossing the spine
  std::vector<LinkLevel> levels;  // [0] = node scope, [1] = cluster scope (when nodes > 1)
  std::string file;

  int64_t total_gpus() const { return static_cast<int64_t>(nodes) * gpus_per_node; }
  const LinkLevel& intra() const { return levels.front(); }
  const LinkLevel& inter() const { return levels.size() > 1 ? levels[1] : levels.front(); }
};

// Default latencies (α) per message step when a scenario names a GPU instead of a cluster.
// Approximate: NCCL's intra-node hop over NVLink is a few microseconds, an InfiniBand/RoCE
// hop about 5 us (NCCL tuning tables, docs/cost_model.md).
inline constexpr double kDefaultIntraLatency_s = 3e-6;
inline constexpr double kDefaultInterLatency_s = 5e-6;

// A cluster of `nodes` × `gpus_per_node` built from the GPU's own link figures.
ClusterSpec make_cluster(const GpuSpec& gpu, int nodes, int gpus_per_node);

ClusterSpec parse_cluster(const YamlNode& root);

}  // namespace fathom::hw
