#include "hw/collective.h"

#include <algorithm>
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
  for (double v : {nvlink_efficiency, nvls_efficiency, network_efficiency, pcie_efficiency}) {
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

}  // namespace

CollectiveCost collective_cost(Collective c, double bytes, int n, int n_per_node, const ClusterSpec& cluster,
                               const GpuSpec& gpu, CollectiveAlgo algo, const CollectiveOptions& o) {
  FATHOM_CHECK(n >= 1 && n_per_node >= 1 && n_per_node <= n && bytes >= 0);
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
  Link inter = intra;
  if (multi_node) {
    const LinkLevel& il = cluster.inter();
    double bw = il.bandwidth_per_direction_Bps * o.network_efficiency;
    if (nodes > cluster.nodes_per_leaf) bw /= cluster.oversubscription;
    inter = {bw, il.latency_s};
  }

  struct Candidate { CollectiveAlgo algo; double t; };
  std::vector<Candidate> cands;
  const double S = bytes;
  if (!multi_node) {
    if (c == Collective::kSendRecv && n_per_node == 1 && n > 1) {
      cands.push_back({CollectiveAlgo::kRing, flat_time(c, S, 2, inter, CollectiveAlgo::kRing)});
    } else {
      cands.push_back({CollectiveAlgo::kRing, flat_time(c, S, n, intra, CollectiveAlgo::kRing)});
      if (c == Collective::kAllReduce || c == Collective::kBroadcast) {
        cands.push_back({CollectiveAlgo::kTree, flat_time(c, S, n, intra, CollectiveAlgo::kTree)});
      }
      if (c == Collective::kAllReduce && gpu.intra_node.in_network_reduction && gpu.intra_node.switched) {
        // NVLS: each GPU sends its buffer once into the switch, which reduces it, and receives its
        // reduced shard multicast back: S·(n+1)/n per direction, 2 steps.
        const double dn = static_cast<double>(n);
        double bw = intra_l.bandwidth_per_direction_Bps * o.nvls_efficiency;
        cands.push_back({CollectiveAlgo::kNvls, 2 * intra.alpha + S * (dn + 1) / dn / bw});
      }
    }
  } else if (c == Collective::kSendRecv) {
    cands.push_back({CollectiveAlgo::kRing, flat_time(c, S, 2, inter, CollectiveAlgo::kRing)});
  } else {
    // Flat ring across nodes: with one ring per NIC (rail-optimised), the ring's bottleneck is
    // the slower of the intra-node link and the node's NICs shared by its GPUs of the group.
    Link flat{std::min(intra.bw, inter.bw * n_per_node), std::max(intra.alpha, inter.alpha)};
    cands.push_back({CollectiveAlgo::kRing, flat_time(c, S, n, flat, CollectiveAlgo::kRing)});
    if (c == Collective::kAllReduce || c == Collective::kBroadcast) {
      cands.push_back({CollectiveAlgo::kTree, flat_time(c, S, n, flat, CollectiveAlgo::kTree)});
    }
    // Hierarchical: within nodes, then across nodes on 1/g of the data per GPU (each GPU on its
    // own rail), then within nodes again.
    const int g = n_per_node;
    double t = 0;
    switch (c) {
      case Collective::kAllReduce:
        t = flat_time(Collective::kReduceScatter, S, g, intra, CollectiveAlgo::kRing) +
            flat_time(Collective::kAllReduce, S / g, nodes, inter, CollectiveAlgo::kRing) +
            flat_time(Collective::kAllGather, S, g, intra, CollectiveAlgo::kRing);
        break;
      case Collective::kAllGather:
      case Collective::kReduceScatter:
        t = flat_time(c, S / nodes, g, intra, CollectiveAlgo::kRing) +
            flat_time(c, S / g, nodes, inter, CollectiveAlgo::kRing);
        break;
      case Collective::kAllToAll:
        // Intra-node part over NVLink, the (nodes−1)/nodes share of the data over the NICs.
        t = flat_time(c, S / nodes, g, intra, CollectiveAlgo::kRing) +
            (static_cast<double>(nodes) - 1) * inter.alpha +
            S * (static_cast<double>(nodes) - 1) / nodes / inter.bw;
        break;
      case Collective::kBroadcast:
        t = flat_time(c, S, nodes, inter, CollectiveAlgo::kRing) + flat_time(c, S, g, intra, CollectiveAlgo::kRing);
        break;
      case Collective::kSendRecv:
        break;
    }
    cands.push_back({CollectiveAlgo::kHierarchical, t});
  }

  Candidate best{CollectiveAlgo::kRing, std::numeric_limits<double>::infinity()};
  for (const auto& cd : cands) {
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
