#include "hw/collective.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "common/error.h"
#include "catalog_fixture.h"
#include "common/version.h"
#include "hw/catalog.h"
#include "hw/validation_csv.h"

namespace fathom::hw {

namespace {
const HardwareCatalog& catalog() { return test::hardware(); }
}  // namespace

TEST(Collective, RingAllReduceMatchesTheAlphaBetaFormula) {
  const GpuSpec& g = *catalog().find_gpu("a100-sxm-80gb");
  ClusterSpec c = make_cluster(g, 1, 8);
  const double S = 1e9;
  CollectiveCost cc = collective_cost(Collective::kAllReduce, S, 8, 8, c, g, CollectiveAlgo::kRing);
  CollectiveOptions o;
  // 2(n−1)α + 2(n−1)/n · S / (bw · η)  (Patarasuk and Yuan 2009)
  const double expected = 2 * 7 * kDefaultIntraLatency_s + 2.0 * 7 / 8 * S / (300e9 * o.nvlink_efficiency);
  EXPECT_NEAR(cc.time_s, expected, expected * 1e-12);
}

// Acceptance: the predicted bus bandwidth of an 8-GPU NVLink all-reduce of 8 GB lies within
// 15% of the published NCCL figures (data/validation/nccl_allreduce.csv). Every row of 1 GB or
// more is checked; the smaller ones are printed for the documentation.
TEST(Collective, AllReduceBusBandwidthAgainstNcclTests) {
  auto rows = test::read_csv_rows(data_dir() + "/validation/nccl_allreduce.csv");
  ASSERT_GE(rows.size(), 12u);
  std::printf("%-14s %-5s %12s %10s %10s %8s\n", "gpu", "algo", "bytes", "measured", "predicted", "error");
  int checked_8gb = 0;
  for (const auto& r : rows) {
    const GpuSpec& g = *catalog().find_gpu(r[0]);
    const int n = std::stoi(r[1]);
    const double bytes = std::stod(r[2]);
    CollectiveAlgo algo = parse_collective_algo(r[3]);
    const double measured = std::stod(r[4]) * 1e9;
    CollectiveCost cc = collective_cost(Collective::kAllReduce, bytes, n, n, make_cluster(g, 1, n), g, algo);
    const double err = cc.bus_bandwidth_Bps / measured - 1;
    std::printf("%-14s %-5s %12.0f %7.1f GB/s %7.1f GB/s %+7.1f%%\n", r[0].c_str(), r[3].c_str(), bytes, measured / 1e9,
                cc.bus_bandwidth_Bps / 1e9, 100 * err);
    if (bytes >= 1e9) {
      EXPECT_LT(std::fabs(err), 0.15) << r[0] << " " << bytes;
    }
    if (bytes >= 8e9 && bytes < 9e9) ++checked_8gb;
  }
  EXPECT_EQ(checked_8gb, 3);  // H100, H200, A100
}

TEST(Collective, AutoPicksNvlsOnHopperAndTreeForTinyMessagesAcrossNodes) {
  const GpuSpec& h = *catalog().find_gpu("h100-sxm");
  ClusterSpec one = make_cluster(h, 1, 8);
  EXPECT_EQ(collective_cost(Collective::kAllReduce, 8e9, 8, 8, one, h).algo, CollectiveAlgo::kNvls);
  const GpuSpec& a = *catalog().find_gpu("a100-sxm-80gb");
  ClusterSpec many = make_cluster(a, 64, 8);
  // 512 GPUs, 4 KiB: latency dominates, the log-depth tree wins over a 1,022-step ring.
  EXPECT_EQ(collective_cost(Collective::kAllReduce, 4096, 512, 8, many, a).algo, CollectiveAlgo::kTree);
  // Auto is the fastest of the algorithms that apply (as NCCL's tuner picks).
  CollectiveCost best = collective_cost(Collective::kAllReduce, 1 << 30, 64, 8, many, a);
  for (CollectiveAlgo al : {CollectiveAlgo::kRing, CollectiveAlgo::kTree, CollectiveAlgo::kHierarchical}) {
    EXPECT_LE(best.time_s, collective_cost(Collective::kAllReduce, 1 << 30, 64, 8, many, a, al).time_s) << to_string(al);
  }
  // NVLS needs an NVLink switch with in-network reduction: not on A100, and not across nodes.
  EXPECT_THROW(collective_cost(Collective::kAllReduce, 1e9, 8, 8, make_cluster(a, 1, 8), a, CollectiveAlgo::kNvls), Error);
}

TEST(Collective, EveryKindHasAPositiveTimeAndBusFactor) {
  const GpuSpec& g = *catalog().find_gpu("h200-sxm");
  ClusterSpec c = make_cluster(g, 4, 8);
  for (Collective k : {Collective::kAllReduce, Collective::kAllGather, Collective::kReduceScatter, Collective::kAllToAll,
                       Collective::kBroadcast, Collective::kSendRecv}) {
    for (int n : {2, 8, 32}) {
      CollectiveCost cc = collective_cost(k, 64e6, n, std::min(n, 8), c, g);
      EXPECT_GT(cc.time_s, 0) << to_string(k) << " " << n;
      EXPECT_GT(bus_factor(k, n), 0);
    }
  }
  EXPECT_DOUBLE_EQ(bus_factor(Collective::kAllReduce, 8), 1.75);
  EXPECT_DOUBLE_EQ(bus_factor(Collective::kAllGather, 8), 0.875);
}

}  // namespace fathom::hw
