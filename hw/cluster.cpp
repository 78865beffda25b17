#include "hw/cluster.h"

#include <algorithm>
#include <iterator>
#include <limits>

#include <fmt/format.h>

#include "common/error.h"

namespace fathom::hw {

std::string to_string(LinkScope s) {
  switch (s) {
    case LinkScope::kNode: return "node";
    case LinkScope::kCluster: return "cluster";
    case LinkScope::kLeaf: return "leaf";
    case LinkScope::kSpine: return "spine";
    case LinkScope::kCore: return "core";
  }
  return "?";
}

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

Fabric fabric_of(const ClusterSpec& c) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Fabric f;
  if (c.levels.size() < 2) return f;
  const LinkLevel& first = c.levels[1];
  if (first.scope == LinkScope::kCluster) {
    // One scale-out level: a leaf of nodes_per_leaf nodes; past it the spine, with the same
    // per-GPU bandwidth and latency, tapered by the file's oversubscription.
    const bool has_spine = c.nodes_per_leaf < (1 << 30);
    f.tier[0] = {1, first.name.c_str(), first.bandwidth_per_direction_Bps, first.latency_s,
                 has_spine ? static_cast<double>(c.nodes_per_leaf) : kInf, 1.0};
    f.tiers = 1;
    if (has_spine) {
      f.tier[1] = {1, "spine", first.bandwidth_per_direction_Bps, first.latency_s, kInf, c.oversubscription};
      f.tiers = 2;
    }
    return f;
  }
  double bw = kInf, latency = 0, taper = 1;
  for (size_t i = 1; i < c.levels.size() && f.tiers < kMaxFabricTiers; ++i) {
    const LinkLevel& l = c.levels[i];
    bw = std::min(bw, l.bandwidth_per_direction_Bps);
    latency += l.latency_s;
    taper *= l.oversubscription;
    const bool top = i + 1 == c.levels.size();
    f.tier[static_cast<size_t>(f.tiers)] = {static_cast<int>(i), l.name.c_str(), bw, latency,
                                            top || l.nodes <= 0 ? kInf : static_cast<double>(l.nodes), taper};
    ++f.tiers;
  }
  return f;
}

namespace {

LinkScope parse_scope(const YamlNode& scope) {
  const std::string s = scope.as_string();
  for (auto v : {LinkScope::kNode, LinkScope::kCluster, LinkScope::kLeaf, LinkScope::kSpine, LinkScope::kCore}) {
    if (to_string(v) == s) return v;
  }
  scope.fail("'node', 'cluster', 'leaf', 'spine' or 'core'");
}

bool multi_level(LinkScope s) { return s == LinkScope::kLeaf || s == LinkScope::kSpine || s == LinkScope::kCore; }

}  // namespace

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
  std::vector<YamlNode> items = levels.items();
  for (const auto& lv : items) {
    lv.expect_keys({"name", "scope", "bandwidth_per_direction", "latency", "nodes", "oversubscription"});
    LinkLevel l;
    l.name = lv.str("name");
    auto scope = lv.at("scope");
    l.scope = parse_scope(scope);
    l.bandwidth_per_direction_Bps = lv.quantity("bandwidth_per_direction", Dimension::kByteRate);
    l.latency_s = lv.quantity("latency", Dimension::kTime);
    if (multi_level(l.scope)) {
      l.nodes = lv.small_count("nodes", 1 << 20, 0);
      if (auto o = lv.find("oversubscription")) {
        l.oversubscription = o->as_number();
        if (!(l.oversubscription >= 1.0)) o->fail("an oversubscription ratio >= 1 (1 = non-blocking)");
      }
    } else {
      for (const char* key : {"nodes", "oversubscription"}) {
        if (auto k = lv.find(key)) {
          k->fail_message(fmt::format("'{}' belongs to a level of scope 'leaf', 'spine' or 'core', not '{}'", key,
                                      to_string(l.scope)));
        }
      }
    }
    c.levels.push_back(l);
  }
  if (c.levels.empty() || c.levels.front().scope != LinkScope::kNode) {
    levels.fail("a list of link levels starting with one of scope 'node'");
  }
  // The scale-out levels: one of scope 'cluster' (with the top-level nodes_per_leaf and
  // oversubscription), or leaf, then optionally spine, then optionally core, each with its own.
  const LinkScope order[] = {LinkScope::kLeaf, LinkScope::kSpine, LinkScope::kCore};
  const bool fabric = c.levels.size() > 1 && multi_level(c.levels[1].scope);
  for (size_t i = 1; i < c.levels.size(); ++i) {
    const YamlNode& scope = items[i].at("scope");
    if (!fabric) {
      if (c.levels[i].scope != LinkScope::kCluster || i > 1) {
        scope.fail(i == 1 ? "scope 'cluster', 'leaf', 'spine' or 'core' after the node level"
                          : "no level after the one of scope 'cluster' (use 'leaf', 'spine' and 'core' for several)");
      }
      continue;
    }
    if (i - 1 >= std::size(order) || c.levels[i].scope != order[i - 1]) {
      scope.fail(i - 1 < std::size(order)
                     ? fmt::format("scope '{}' (scale-out levels go leaf, spine, core)", to_string(order[i - 1]))
                     : std::string("at most three scale-out levels (leaf, spine, core)"));
    }
    const LinkLevel& l = c.levels[i];
    const bool top = i + 1 == c.levels.size();
    if (!top && l.nodes <= 0) {
      items[i].fail_message(fmt::format("level '{}' needs 'nodes' (the nodes under one of its switch domains) "
                                        "because a level sits above it", l.name));
    }
    if (l.nodes > 0) {
      const YamlNode where = *items[i].find("nodes");
      const int below = i > 1 ? c.levels[i - 1].nodes : 1;
      if (l.nodes <= below || l.nodes % below != 0) {
        where.fail(fmt::format("a multiple of {} larger than it (the domain of the level below)", below));
      }
      if (top && l.nodes < c.nodes) {
        where.fail(fmt::format("at least the cluster's {} nodes, or no 'nodes' (the top level joins them all)",
                               c.nodes));
      }
      if (!top && l.nodes >= c.nodes && c.nodes > 1) {
        where.fail(fmt::format("fewer than the cluster's {} nodes (a level above it joins its domains)", c.nodes));
      }
    }
  }
  if (fabric) {
    for (const char* key : {"nodes_per_leaf", "oversubscription"}) {
      if (auto k = root.find(key)) {
        k->fail_message(fmt::format("'{}' is set per level ('nodes', 'oversubscription') when the levels are "
                                    "leaf, spine and core", key));
      }
    }
    c.nodes_per_leaf = c.levels[1].nodes > 0 ? c.levels[1].nodes : c.nodes;
    c.oversubscription = 1;
    for (size_t i = 1; i < c.levels.size(); ++i) c.oversubscription *= c.levels[i].oversubscription;
  }
  if (c.nodes > 1 && c.levels.size() < 2) {
    levels.fail("a scale-out level (scope 'cluster', or 'leaf' and above) for a cluster of more than one node");
  }
  if (!root.has("sources")) root.fail_message("missing required key 'sources' (the source of the figures)");
  return c;
}

}  // namespace fathom::hw
