// The roofline of hw/roofline.h against the cost chain itself: at any arithmetic intensity the
// line gives the FLOP/s that hw::CostModel prices a steady-state GEMM at, with the defaults and
// with a calibrated profile, on every catalog GPU and data type.
#include "hw/roofline.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "catalog_fixture.h"
#include "hw/cost.h"
#include "hw/profile.h"

namespace fathom::hw {
namespace {

// A profile with a bf16 and an fp8 fit, as `fathom calib fit` writes them.
std::shared_ptr<const CalibratedProfile> profile_for(const GpuSpec& g) {
  auto p = std::make_shared<CalibratedProfile>();
  p->gpu = g.name;
  p->gemm["bf16"] = {0.71, 90, 0.83, 3e-6, {}};
  p->gemm["fp8"] = {0.62, 120, 0.8, 3e-6, {}};
  p->memory["copy"] = {0.9, 2e-6, {}};
  p->launch_gap_s = 2e-6;
  return p;
}

// The FLOP/s the cost chain gives a steady-state GEMM of `flops` at intensity `intensity`,
// launch overhead left out (the roofline is the kernel's own rate).
double cost_chain_rate(const GpuSpec& g, DType t, std::shared_ptr<const EfficiencyModel> model, double intensity) {
  Op op = steady_state_gemm(g, t);
  op.flops = 1e12;
  op.bytes = op.flops / intensity;
  const CostModel cm(g, ClusterSpec{}, std::move(model));
  const OpCost c = cm.cost(op);
  return op.flops / (c.time_s - c.overhead_s);
}

TEST(Roofline, DatasheetIsTheMinimumOfPeakAndBandwidthTimesIntensity) {
  const GpuSpec& g = *test::hardware().find_gpu("h100-sxm");
  const Roofline r = datasheet_roofline(g, DType::kBf16);
  EXPECT_DOUBLE_EQ(r.peak_flops, 989.4e12);
  EXPECT_DOUBLE_EQ(r.bandwidth_Bps, 3.35e12);
  EXPECT_DOUBLE_EQ(r.ridge(), 989.4e12 / 3.35e12);
  EXPECT_DOUBLE_EQ(r.attainable(1), 3.35e12);
  EXPECT_DOUBLE_EQ(r.attainable(1e4), 989.4e12);
}

TEST(Roofline, TheModelsLineIsWhatTheCostChainPricesAtEveryIntensity) {
  for (const GpuSpec& g : test::hardware().gpus()) {
    const auto def = std::make_shared<DefaultEfficiencyModel>();
    const auto cal = std::make_shared<CalibratedEfficiencyModel>(profile_for(g));
    for (DType t : kAllDTypes) {
      if (!g.supports(t)) continue;
      for (const auto& model : {std::shared_ptr<const EfficiencyModel>(def), std::shared_ptr<const EfficiencyModel>(cal)}) {
        const Roofline r = gemm_roofline(g, t, *model);
        for (double i : {0.05, 1.0, 30.0, r.ridge(), 5e3}) {
          EXPECT_NEAR(r.attainable(i) / cost_chain_rate(g, t, model, i), 1.0, 1e-12) << g.name << " " << to_string(t) << " " << model->name() << " I=" << i;
        }
      }
    }
  }
}

TEST(Roofline, AProfilesLineHasItsFittedFractions) {
  const GpuSpec& g = *test::hardware().find_gpu("h200-sxm");
  const CalibratedEfficiencyModel cal(profile_for(g));
  const Roofline bf16 = gemm_roofline(g, DType::kBf16, cal);
  // Whole waves and K = 2^40: the K ramp costs 90 / 2^40 of the peak fraction.
  EXPECT_NEAR(bf16.peak_flops / g.peak(DType::kBf16), 0.71, 1e-9);
  EXPECT_DOUBLE_EQ(bf16.bandwidth_Bps, 0.83 * g.memory_bw_Bps);
  // fp16 uses the bf16 fit; tf32 has none and keeps the defaults.
  EXPECT_NEAR(gemm_roofline(g, DType::kFp16, cal).peak_flops / g.peak(DType::kFp16), 0.71, 1e-9);
  const DefaultEfficiencyModel def;
  EXPECT_DOUBLE_EQ(gemm_roofline(g, DType::kTf32, cal).peak_flops, gemm_roofline(g, DType::kTf32, def).peak_flops);
}

TEST(Roofline, CurveIsLogSpacedAndHoldsTheRidge) {
  const Roofline r{DType::kBf16, 1000, 10};  // ridge at 100
  const auto c = roofline_curve(r, 1, 1e4, 5);  // 1, 10, 100, 1000, 10000: the ridge is a sample
  ASSERT_EQ(c.size(), 5u);
  EXPECT_DOUBLE_EQ(c.front().first, 1);
  EXPECT_DOUBLE_EQ(c.back().first, 1e4);
  EXPECT_NEAR(c[2].first, 100, 1e-9);
  const auto d = roofline_curve(Roofline{DType::kBf16, 1000, 8}, 1, 1e4, 5);  // ridge at 125
  ASSERT_EQ(d.size(), 6u);
  EXPECT_DOUBLE_EQ(d[3].first, 125);
  EXPECT_DOUBLE_EQ(d[3].second, 1000);
  for (size_t i = 1; i < d.size(); ++i) {
    EXPECT_GT(d[i].first, d[i - 1].first);
    EXPECT_DOUBLE_EQ(d[i].second, std::min(1000.0, 8 * d[i].first));
  }
}

}  // namespace
}  // namespace fathom::hw
