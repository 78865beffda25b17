#include "hw/catalog.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "catalog_fixture.h"
#include "common/version.h"

namespace fathom::hw {

namespace {
const HardwareCatalog& catalog() { return test::hardware(); }
}  // namespace

TEST(HardwareCatalog, HoldsTheGpusTheIssueNames) {
  for (const char* n : {"a100-sxm-40gb", "a100-sxm-80gb", "a100-pcie-40gb", "a100-pcie-80gb", "h100-sxm", "h100-pcie",
                        "h200-sxm", "b200", "gb200", "l40s", "l4", "a10g", "mi300x", "mi250x"}) {
    EXPECT_NE(catalog().find_gpu(n), nullptr) << n;
  }
  EXPECT_TRUE(catalog().find_gpu("tpu-v5e") != nullptr || catalog().find_gpu("tpu-v5p") != nullptr ||
              catalog().find_gpu("gaudi3") != nullptr);
}

TEST(HardwareCatalog, EveryGpuHasSourcesAndSaneFigures) {
  for (const auto& g : catalog().gpus()) {
    EXPECT_FALSE(g.sources.empty()) << g.name;
    EXPECT_GT(g.memory_bytes, 1e9) << g.name;
    EXPECT_GT(g.memory_bw_Bps, 1e11) << g.name;
    EXPECT_GT(g.compute_units, 0) << g.name;
    // bf16 dense peaks of accelerators in the catalog lie between 50 and 10,000 TFLOP/s.
    EXPECT_GT(g.peak(DType::kBf16), 50e12) << g.name;
    EXPECT_LT(g.peak(DType::kBf16), 10000e12) << g.name;
    // Where fp8 exists it is at least the bf16 rate.
    if (g.supports(DType::kFp8)) {
      EXPECT_GE(g.peak(DType::kFp8), g.peak(DType::kBf16)) << g.name;
    }
  }
}

TEST(HardwareCatalog, DatasheetFiguresOfH100Sxm) {
  const GpuSpec* g = catalog().find_gpu("H100-SXM5-80GB");  // alias
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->name, "h100-sxm");
  EXPECT_DOUBLE_EQ(g->peak(DType::kBf16), 989.4e12);
  EXPECT_DOUBLE_EQ(g->memory_bw_Bps, 3.35e12);
  EXPECT_EQ(g->compute_units, 132);
  EXPECT_DOUBLE_EQ(g->intra_node.bandwidth_per_direction_Bps, 450e9);
}

TEST(HardwareCatalog, UnknownGpuSuggestsClosest) {
  try {
    catalog().gpu("h100-smx", "s.yaml:4");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'h100-sxm'"), std::string::npos) << e.what();
  }
}

TEST(HardwareCatalog, GpuFileWithoutSourceIsRejected) {
  auto root = parse_yaml(R"(name: x
vendor: nvidia
peak_flops: {bf16: 100 TFLOP/s}
memory: 10 GiB
memory_bandwidth: 1 TB/s
compute_units: 10
intra_node: {kind: pcie, bandwidth_per_direction: 32 GB/s, gpus_per_node: 8}
sources: {peak_flops: "a", memory: "b", compute_units: "c", intra_node: "d"}
)", "x.yaml");
  EXPECT_THROW(parse_gpu(root), InputError);  // memory_bandwidth has no source
}

TEST(HardwareCatalog, ClustersReferToCatalogGpus) {
  ASSERT_FALSE(catalog().clusters().empty());
  for (const auto& c : catalog().clusters()) {
    EXPECT_NE(catalog().find_gpu(c.gpu), nullptr) << c.name;
    EXPECT_GE(c.levels.size(), c.nodes > 1 ? 2u : 1u) << c.name;
  }
}

}  // namespace fathom::hw
