#include "hw/cluster.h"

#include "common/error.h"

namespace fathom::hw {

ClusterSpec make_cluster(const GpuSpec& gpu, int nodes, int gpus_per_node) {
  ClusterSpec c;
  c.name = gpu.name + "-" + std::to_string(nodes) + "x" + std::to_string(gpus_per_node);
  c.gpu = gpu.name;
  c.nodes = nodes;
  c.gpus_per_node = gpus_per_node;
  c.topology = nodes == 1 ? "single-node" : "rail-optimized-fat-tree";
  c.levels.push_back({gpu.intra_node.kind, LinkScope::kNode, gpu.intra_node.bandwidth_per_direction_Bps,
                      kDefaultIntraLatency_s});
  if (nodes > 1) {
    c.levels.push_back({"network", LinkScope::kCluster, gpu.network_bw_per_gpu_Bps, kDefaultInterLatency_s});
  }
  return c;
}

ClusterSpec parse_cluster(const YamlNode& root) {
  root.expect_keys({"name", "display_name", "gpu", "nodes", "gpus_per_node", "topology", "oversubscription",
                    "nodes_per_leaf", "levels", "sources", "notes"});
  ClusterSpec c;
  c.file = root.file();
  c.name = root.str("name");
  c.gpu = root.str("gpu");
  c.nodes = root.small_count("nodes", 1 << 20);
  c.gpus_per_node = root.small_count("gpus_per_node", 4096);
  c.topology = root.str_or("topology", c.nodes == 1 ? "single-node" : "fat-tree");
  if (auto o = root.find("oversubscription")) {
    c.oversubscription = o->as_number();
    if (c.oversubscription < 1.0) o->fail("an oversubscription ratio >= 1");
  }
  c.nodes_per_leaf = root.small_count("nodes_per_leaf", 1 << 20, c.nodes);
  auto levels = root.at("levels");
  for (const auto& lv : levels.items()) {
    lv.expect_keys({"name", "scope", "bandwidth_per_direction", "latency"});
    LinkLevel l;
    l.name = lv.str("name");
    auto scope = lv.at("scope");
    std::string s = scope.as_string();
    if (s == "node") l.scope = LinkScope::kNode;
    else if (s == "cluster") l.scope = LinkScope::kCluster;
    else scope.fail("'node' or 'cluster'");
    l.bandwidth_per_direction_Bps = lv.quantity("bandwidth_per_direction", Dimension::kByteRate);
    l.latency_s = lv.quantity("latency", Dimension::kTime);
    c.levels.push_back(l);
  }
  if (c.levels.empty() || c.levels.front().scope != LinkScope::kNode) {
    levels.fail("a list of link levels starting with one of scope 'node'");
  }
  if (c.nodes > 1 && (c.levels.size() < 2 || c.levels[1].scope != LinkScope::kCluster)) {
    levels.fail("a second link level of scope 'cluster' for a cluster of more than one node");
  }
  if (!root.has("sources")) root.fail_message("missing required key 'sources' (the source of the figures)");
  return c;
}

}  // namespace fathom::hw
