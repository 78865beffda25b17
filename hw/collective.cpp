#include "hw/collective.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "common/error.h"

namespace fathom::hw {

std::string to_string(CollectiveAlgo a) {
  switch (a) {
    case CollectiveAlgo::kAuto: return "auto";
    case CollectiveAlgo::kRing: return "ring";
    case CollectiveAlgo::kTree: return "tree";
    case CollectiveAlgo::kHierarchical: return "hierarchical";
    case CollectiveAlgo::kNvls: return "nvls";
  }
  return "?";
}

CollectiveAlgo parse_collective_algo(const std::string& s) {
  for (auto a : {CollectiveAlgo::kAuto, CollectiveAlgo::kRing, CollectiveAlgo::kTree, CollectiveAlgo::kHierarchical,
                 CollectiveAlgo::kNvls}) {
    if (to_string(a) == s) return a;
  }
  throw std::invalid_argument("expected auto, ring, tree, hierarchical or nvls, found '" + s + "'");
}

void CollectiveOptions::validate() const {
  for (double v : {nvlink_efficiency, nvls_efficiency, network_efficiency, pcie_efficiency, tree_efficiency}) {
    if (!(v > 0 && v <= 1)) throw ConfigError("collectives", "expected link efficiencies in (0, 1]");
  }
}

double bus_factor(Collective c, int n) {
  const double dn = static_cast<double>(n);
  switch (c) {
    case Collective::kAllReduce: return n > 1 ? 2.0 * (dn - 1) / dn : 0.0;
    case Collective::kAllGather:
    case Collective::kReduceScatter:
    case Collective::kAllToAll: return n > 1 ? (dn - 1) / dn : 0.0;
    case Collective::kBroadcast:
    case Collective::kSendRecv: return 1.0;
  }
  return 1.0;
}

namespace {

struct Link {
  double bw;     // effective bytes/s per direction per GPU
  double alpha;  // seconds per step
};

double link_efficiency(const std::string& kind, const CollectiveOptions& o) {
  if (kind.rfind("nvlink", 0) == 0 || kind == "infinity-fabric" || kind == "ici") return o.nvlink_efficiency;
  if (kind == "pcie") return o.pcie_efficiency;
  return o.network_efficiency;
}

// Number of sequential message steps and the bandwidth term multiplier of each algorithm for a
// group of n on one link (flat). Ring (Patarasuk and Yuan 2009): all-reduce 2(n−1) steps moving
// 2(n−1)/n·S per GPU; tree (NCCL double binary tree): 2⌈log2 n⌉ steps, 2·S per GPU.
double flat_time(Collective c, double S, int n, const Link& l, CollectiveAlgo algo) {
  if (n <= 1) return 0.0;
  const double dn = static_cast<double>(n);
  const double steps_log = std::ceil(std::log2(dn));
  switch (c) {
    case Collective::kAllReduce:
      if (algo == CollectiveAlgo::kTree) return 2 * steps_log * l.alpha + 2.0 * S / l.bw;
      return 2 * (dn - 1) * l.alpha + 2.0 * (dn - 1) / dn * S / l.bw;
    case Collective::kAllGather:
    case Collective::kReduceScatter:
      return (dn - 1) * l.alpha + (dn - 1) / dn * S / l.bw;
    case Collective::kAllToAll:
      // Each GPU exchanges S/n with every other: (n−1)/n·S out and in, n−1 rounds.
      return (dn - 1) * l.alpha + (dn - 1) / dn * S / l.bw;
    case Collective::kBroadcast:
      if (algo == CollectiveAlgo::kTree) return steps_log * l.alpha + S / l.bw;
      return (dn - 1) * l.alpha + S / l.bw;  // pipelined ring
    case Collective::kSendRecv:
      return l.alpha + S / l.bw;
  }
  return 0.0;
}

// How a collective's traffic leaves a switch domain. Neighbour: rings and trees over consecutive
// nodes, where each domain's share of the group sends one stream (per channel) across the domain's
// edge; all-to-all: every GPU sends to every node; pair: one stream between two nodes.
enum class Pattern { kNeighbour, kAllToAll, kPair };

// The divisor ≥ 1 that oversubscription puts on the per-GPU scale-out bandwidth of a group of m
// nodes covering `span` nodes whose highest tier is `top`, when every group in the domain runs the
// same pattern at once (as the data-parallel groups of a layout do). Crossing tier t leaves a
// domain of the tier below (a node for the leaf); the group has D members in it (D = min(m,
// domain) when packed, m·domain/span when spread). The links up to t carry 1/O_t of the bandwidth
// below them (O_t cumulative); the pattern sends a share f of each member's traffic across the
// edge: 1/D for neighbour patterns, (m−D)/(m−1) for all-to-all, 1 for a pair. The traffic fits
// while O_t·f ≤ 1; past that the bandwidth is divided by O_t·f.
double congestion(const Fabric& fab, int top, double m, double span, Pattern p) {
  double worst = 1.0;
  for (int t = 0; t <= top; ++t) {
    const double below = t == 0 ? 1.0 : fab.tier[static_cast<size_t>(t - 1)].domain_nodes;
    const double members = std::clamp(m * below / span, 1.0, std::min(m, below));
    double share = 1.0;
    if (p == Pattern::kNeighbour) share = 1.0 / members;
    if (p == Pattern::kAllToAll) share = m > 1 ? (m - members) / (m - 1) : 0.0;
    worst = std::max(worst, fab.tier[static_cast<size_t>(t)].oversubscription * share);
  }
  return worst;
}

}  // namespace

CollectiveCost collective_cost(Collective c, double bytes, int n, int n_per_node, const ClusterSpec& cluster,
                               const GpuSpec& gpu, CollectiveAlgo algo, const CollectiveOptions& o) {
  return collective_cost(c, bytes, CollectiveGroup{n, n_per_node, 0}, cluster, gpu, algo, o);
}

CollectiveCost collective_cost(Collective c, double bytes, const CollectiveGroup& group, const ClusterSpec& cluster,
                               const GpuSpec& gpu, CollectiveAlgo algo, const CollectiveOptions& o) {
  const int n = group.gpus, n_per_node = group.gpus_per_node;
  FATHOM_CHECK(n >= 1 && n_per_node >= 1 && n_per_node <= n && bytes >= 0 && group.span_nodes >= 0);
  CollectiveCost out;
  if (n == 1 && c != Collective::kSendRecv) {
    out.algo = CollectiveAlgo::kRing;
    return out;
  }
  const LinkLevel& intra_l = cluster.intra();
  Link intra{intra_l.bandwidth_per_direction_Bps * link_efficiency(gpu.intra_node.kind, o),
             intra_l.latency_s};
  const int nodes = (n + n_per_node - 1) / n_per_node;
  const bool multi_node = nodes > 1;
  // Across nodes: the highest tier the group's span crosses sets the per-GPU bandwidth (the least
  // of the levels up to it) and α (the leaf's latency plus what each higher level adds); the
  // oversubscription of the levels crossed divides the bandwidth by the congestion of the pattern.
  Link inter = intra, inter_a2a = intra, inter_pair = intra;
  out.latency_s = intra.alpha;
  if (multi_node) {
    const Fabric fab = fabric_of(cluster);
    if (fab.tiers == 0) {
      // No scale-out level: the node's own link stands in for the network (as before levels).
      inter = {intra_l.bandwidth_per_direction_Bps * o.network_efficiency, intra_l.latency_s};
      inter_a2a = inter_pair = inter;
    } else {
      const double m = static_cast<double>(nodes);
      const double span = std::max(m, static_cast<double>(group.span_nodes));
      int top = 0;
      while (top + 1 < fab.tiers && span > fab.tier[static_cast<size_t>(top)].domain_nodes) ++top;
      const FabricTier& tier = fab.tier[static_cast<size_t>(top)];
      const double bw = tier.bandwidth_Bps * o.network_efficiency;
      const double k_ring = congestion(fab, top, m, span, Pattern::kNeighbour);
      const double k_a2a = congestion(fab, top, m, span, Pattern::kAllToAll);
      const double k_pair = congestion(fab, top, m, span, Pattern::kPair);
      inter = {bw / k_ring, tier.latency_s};
      inter_a2a = {bw / k_a2a, tier.latency_s};
      inter_pair = {bw / k_pair, tier.latency_s};
      out.congestion = c == Collective::kAllToAll ? k_a2a : c == Collective::kSendRecv ? k_pair : k_ring;
      out.tier = top;
      out.level = tier.level;
    }
    out.latency_s = inter.alpha;
    out.network_bandwidth_Bps = c == Collective::kAllToAll ? inter_a2a.bw
                                : c == Collective::kSendRecv ? inter_pair.bw
                                                             : inter.bw;
  }

  struct Candidate {
    CollectiveAlgo algo;
    double t;
  };
  std::array<Candidate, 4> cands{};
  size_t count = 0;
  auto add = [&](CollectiveAlgo a, double t) { cands[count++] = {a, t}; };
  const double S = bytes;
  if (!multi_node) {
    add(CollectiveAlgo::kRing, flat_time(c, S, n, intra, CollectiveAlgo::kRing));
    if (c == Collective::kAllReduce || c == Collective::kBroadcast) {
      add(CollectiveAlgo::kTree, flat_time(c, S, n, intra, CollectiveAlgo::kTree));
    }
    if (c == Collective::kAllReduce && gpu.intra_node.in_network_reduction && gpu.intra_node.switched) {
      // NVLS: each GPU sends its buffer once into the switch, which reduces it, and receives its
      // reduced shard multicast back: S·(n+1)/n per direction, 2 steps.
      const double dn = static_cast<double>(n);
      double bw = intra_l.bandwidth_per_direction_Bps * o.nvls_efficiency;
      add(CollectiveAlgo::kNvls, 2 * intra.alpha + S * (dn + 1) / dn / bw);
    }
  } else if (c == Collective::kSendRecv) {
    add(CollectiveAlgo::kRing, flat_time(c, S, 2, inter_pair, CollectiveAlgo::kRing));
  } else {
    const Link& net = c == Collective::kAllToAll ? inter_a2a : inter;
    // Flat ring across nodes: with one ring per NIC (rail-optimised), the ring's bottleneck is
    // the slower of the intra-node link and the node's NICs shared by its GPUs of the group; a
    // step waits for its slowest hop, so every step costs the network's α.
    Link flat{std::min(intra.bw, net.bw * n_per_node), std::max(intra.alpha, net.alpha)};
    add(CollectiveAlgo::kRing, flat_time(c, S, n, flat, CollectiveAlgo::kRing));
    if (c == Collective::kAllReduce || c == Collective::kBroadcast) {
      // NCCL's double binary tree: log-depth latency, and for all-reduce a bus bandwidth NCCL's
      // tuner rates at 0.92 of the ring's on the same links (tuning.cc), which is what makes it
      // pick rings for large buffers on few nodes and trees for small buffers on many.
      Link tree = flat;
      if (c == Collective::kAllReduce) tree.bw *= o.tree_efficiency;
      add(CollectiveAlgo::kTree, flat_time(c, S, n, tree, CollectiveAlgo::kTree));
    }
    // Hierarchical: within nodes, then across nodes on 1/g of the data per GPU (each GPU on its
    // own rail), then within nodes again.
    const int g = n_per_node;
    double t = 0;
    switch (c) {
      case Collective::kAllReduce:
        t = flat_time(Collective::kReduceScatter, S, g, intra, CollectiveAlgo::kRing) +
            flat_time(Collective::kAllReduce, S / g, nodes, net, CollectiveAlgo::kRing) +
            flat_time(Collective::kAllGather, S, g, intra, CollectiveAlgo::kRing);
        break;
      case Collective::kAllGather:
      case Collective::kReduceScatter:
        t = flat_time(c, S / nodes, g, intra, CollectiveAlgo::kRing) +
            flat_time(c, S / g, nodes, net, CollectiveAlgo::kRing);
        break;
      case Collective::kAllToAll:
        // Intra-node part over NVLink, the (nodes−1)/nodes share of the data over the NICs.
        t = flat_time(c, S / nodes, g, intra, CollectiveAlgo::kRing) +
            (static_cast<double>(nodes) - 1) * net.alpha +
            S * (static_cast<double>(nodes) - 1) / nodes / net.bw;
        break;
      case Collective::kBroadcast:
        t = flat_time(c, S, nodes, net, CollectiveAlgo::kRing) + flat_time(c, S, g, intra, CollectiveAlgo::kRing);
        break;
      case Collective::kSendRecv:
        break;
    }
    add(CollectiveAlgo::kHierarchical, t);
  }

  Candidate best{CollectiveAlgo::kRing, std::numeric_limits<double>::infinity()};
  for (size_t i = 0; i < count; ++i) {
    const Candidate& cd = cands[i];
    if (algo != CollectiveAlgo::kAuto && cd.algo != algo) continue;
    if (cd.t < best.t) best = cd;
  }
  if (!std::isfinite(best.t)) {
    throw ConfigError("collectives.algorithm", "algorithm '" + to_string(algo) + "' does not apply to a " +
                                                   to_string(c) + " over " + std::to_string(n) + " GPUs here");
  }
  out.algo = best.algo;
  out.time_s = best.t;
  out.bus_bandwidth_Bps = best.t > 0 ? bus_factor(c, n) * S / best.t : 0;
  return out;
}

}  // namespace fathom::hw
