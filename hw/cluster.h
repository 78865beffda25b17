#pragma once
// A cluster: nodes of GPUs joined by link levels — the intra-node link, then up to three levels
// of scale-out network (leaf, spine, core) as in the multi-level Clos fabrics of large training
// clusters (NVIDIA DGX SuperPOD reference architectures; Dubey et al. 2024, "The Llama 3 Herd of
// Models" §3.3.1). Equations: docs/cost_model.md, section "Collectives".
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/yaml.h"
#include "hw/gpu.h"

namespace fathom::hw {

// kCluster is a single scale-out level whose switch domain is ClusterSpec::nodes_per_leaf and
// whose spine tapers by ClusterSpec::oversubscription (the form of the original cluster files).
// kLeaf, kSpine and kCore are the levels of a multi-level fabric, each with its own domain size
// and oversubscription.
enum class LinkScope { kNode, kCluster, kLeaf, kSpine, kCore };

std::string to_string(LinkScope s);

struct LinkLevel {
  std::string name;
  LinkScope scope = LinkScope::kNode;
  double bandwidth_per_direction_Bps = 0;  // per GPU
  double latency_s = 0;  // α of the α–β model; for spine and core, what crossing this level adds
  // Scale-out levels of scope leaf, spine or core only:
  int nodes = 0;                  // nodes in one switch domain of this level (0: the whole cluster)
  double oversubscription = 1.0;  // taper of the links below into this level (1 = non-blocking)
};

struct ClusterSpec {
  std::string name;
  std::string gpu;  // catalog name
  int nodes = 1;
  int gpus_per_node = 1;
  std::string topology = "single-node";
  // Oversubscription of the whole fabric (the product over its levels; for files with one level of
  // scope 'cluster', the spine's ratio as written).
  double oversubscription = 1.0;
  int nodes_per_leaf = 1 << 30;   // nodes reachable without crossing the spine
  std::vector<LinkLevel> levels;  // [0] = node scope, then the scale-out levels from the leaf up
  std::string file;

  int64_t total_gpus() const { return static_cast<int64_t>(nodes) * gpus_per_node; }
  const LinkLevel& intra() const { return levels.front(); }
  const LinkLevel& inter() const { return levels.size() > 1 ? levels[1] : levels.front(); }
};

// One scale-out tier as the collectives see it: the cumulative figures of a message that climbs
// from a node up to this tier and down again.
struct FabricTier {
  int level = 0;                  // index into ClusterSpec::levels (a tier the file implies, such as
                                  // the spine of a 'cluster' level, names the level below it)
  const char* name = "";          // ClusterSpec::levels[level].name, or "spine" when implied
  double bandwidth_Bps = 0;       // per GPU per direction: the least of the levels up to here
  double latency_s = 0;           // α: the leaf's latency plus what each level above adds
  double domain_nodes = 0;        // nodes below one switch of this tier (infinite at the top)
  double oversubscription = 1.0;  // cumulative taper from the NIC up to this tier
};

inline constexpr int kMaxFabricTiers = 3;

struct Fabric {
  int tiers = 0;  // 0: a single node (no scale-out level)
  std::array<FabricTier, kMaxFabricTiers> tier{};
};

// The scale-out tiers of `c`, from the leaf up. A file with one level of scope 'cluster' gives a
// leaf of nodes_per_leaf nodes and, when the cluster is larger, an implied spine with the same
// bandwidth, no added latency and the file's oversubscription (the meaning those keys had).
Fabric fabric_of(const ClusterSpec& c);

// Default latencies (α) per message step when a scenario names a GPU instead of a cluster.
// Approximate: NCCL's intra-node hop over NVLink is a few microseconds, an InfiniBand/RoCE
// hop about 5 us (NCCL tuning tables, docs/cost_model.md).
inline constexpr double kDefaultIntraLatency_s = 3e-6;
inline constexpr double kDefaultInterLatency_s = 5e-6;

// A cluster of `nodes` × `gpus_per_node` built from the GPU's own link figures.
ClusterSpec make_cluster(const GpuSpec& gpu, int nodes, int gpus_per_node);

ClusterSpec parse_cluster(const YamlNode& root);

}  // namespace fathom::hw
