// hw::efficiency_provenance against the efficiency models themselves: every value it lists is
// the one DefaultEfficiencyModel or CalibratedEfficiencyModel returns for the operations it says
// it prices, and every origin follows where that value came from.
#include "hw/efficiency_provenance.h"

#include <gtest/gtest.h>

#include <memory>

#include "catalog_fixture.h"
#include "hw/roofline.h"

namespace fathom::hw {
namespace {

const EfficiencyParameter& find(const std::vector<EfficiencyParameter>& ps, const std::string& applies,
                                const std::string& parameter) {
  for (const auto& p : ps)
    if (p.applies_to == applies && p.parameter == parameter) return p;
  ADD_FAILURE() << "no row " << applies << " / " << parameter;
  static const EfficiencyParameter none;
  return none;
}

Op op_of(OpKind k) {
  Op op;
  op.kind = k;
  op.dtype = DType::kBf16;
  return op;
}

CalibratedProfile sample_profile(const GpuSpec& g) {
  CalibratedProfile p;
  p.gpu = g.name;
  p.file = "/tmp/p.yaml";
  p.database = "h.sqlite";
  FitQuality q{32, 5, 0.019, 0.048, 0.014};
  p.gemm["bf16"] = {0.79, 75, 0.86, 3.2e-6, q};
  p.memory["copy"] = {0.92, 1.9e-6, q};
  p.elementwise = StreamEfficiency{0.82, 2.4e-6, q};
  p.attention = AttentionEfficiency{0.3, 0.7, 5e-6, "fathom_tiled_attention", false, "own kernel", q};
  p.launch_gap_s = 2.0e-6;
  return p;
}

TEST(EfficiencyProvenance, DefaultsMatchTheDefaultModelOnEveryGpu) {
  const DefaultEfficiencyModel def;
  for (const GpuSpec& g : test::hardware().gpus()) {
    const auto ps = efficiency_provenance(g, {}, nullptr);
    for (DType t : kAllDTypes) {
      if (!g.supports(t)) continue;
      const std::string a = "gemm " + to_string(t);
      EXPECT_DOUBLE_EQ(find(ps, a, "compute fraction").value, def.gemm_peak_fraction(t, g)) << g.name << " " << a;
      EXPECT_DOUBLE_EQ(find(ps, a, "memory fraction").value, def.memory_efficiency(steady_state_gemm(g, t), g));
      EXPECT_DOUBLE_EQ(find(ps, a, "k_half").value, def.options().k_ramp);
    }
    EXPECT_DOUBLE_EQ(find(ps, "attention", "compute fraction").value, def.compute_efficiency(op_of(OpKind::kAttention), g));
    EXPECT_DOUBLE_EQ(find(ps, "elementwise, scan", "memory fraction").value, def.memory_efficiency(op_of(OpKind::kElementwise), g));
    EXPECT_DOUBLE_EQ(find(ps, "elementwise, norm, memory (vector units)", "compute fraction").value,
                     def.compute_efficiency(op_of(OpKind::kNorm), g));
    EXPECT_DOUBLE_EQ(find(ps, "every kernel", "launch gap").value, def.launch_overhead_s(op_of(OpKind::kMemory), g));
    for (const auto& p : ps) {
      EXPECT_TRUE(p.origin == EfficiencyOrigin::kDefault || p.origin == EfficiencyOrigin::kPublished) << p.applies_to;
      EXPECT_FALSE(p.source.empty());
    }
  }
}

TEST(EfficiencyProvenance, PublishedRatesNameTheGpuFilesSource) {
  const GpuSpec& h100 = *test::hardware().find_gpu("h100-sxm");  // measured: gemm_bf16 794.5 TFLOP/s
  const auto ps = efficiency_provenance(h100, {}, nullptr);
  const auto& bf16 = find(ps, "gemm bf16", "compute fraction");
  EXPECT_EQ(bf16.origin, EfficiencyOrigin::kPublished);
  EXPECT_DOUBLE_EQ(bf16.value, 794.5 / 989.4);
  EXPECT_NE(bf16.source.find("MAMF"), std::string::npos) << bf16.source;
  EXPECT_EQ(find(ps, "gemm tf32", "compute fraction").origin, EfficiencyOrigin::kDefault);
  EXPECT_EQ(find(ps, "every kernel", "launch gap").origin, EfficiencyOrigin::kDefault);
}

TEST(EfficiencyProvenance, AProfileMarksItsFitsAndItsMeasuredLaunchGap) {
  const GpuSpec& g = *test::hardware().find_gpu("h200-sxm");
  const CalibratedProfile p = sample_profile(g);
  const CalibratedEfficiencyModel cal(std::make_shared<CalibratedProfile>(p));
  const auto ps = efficiency_provenance(g, {}, &p);

  const auto& bf16 = find(ps, "gemm bf16", "compute fraction");
  EXPECT_EQ(bf16.origin, EfficiencyOrigin::kFitted);
  EXPECT_DOUBLE_EQ(bf16.value, 0.79);
  ASSERT_TRUE(bf16.quality.has_value());
  EXPECT_EQ(bf16.quality->points, 32);
  EXPECT_NEAR(cal.compute_efficiency(steady_state_gemm(g, DType::kBf16), g), bf16.value, 1e-9);
  // fp16 is priced with the bf16 fit, as CalibratedEfficiencyModel::gemm_fit does.
  EXPECT_EQ(find(ps, "gemm fp16", "compute fraction").origin, EfficiencyOrigin::kFitted);
  EXPECT_NE(find(ps, "gemm fp16", "compute fraction").source.find("gemm bf16 fit"), std::string::npos);
  EXPECT_DOUBLE_EQ(find(ps, "gemm bf16", "k_half").value, 75);
  EXPECT_DOUBLE_EQ(find(ps, "gemm bf16", "fixed time").value, 3.2e-6);
  // fp8 has no fit: the defaults (H200's file has a published fp8 GEMM rate).
  const auto& fp8 = find(ps, "gemm fp8", "compute fraction");
  EXPECT_EQ(fp8.origin, EfficiencyOrigin::kPublished);
  EXPECT_NEAR(fp8.value, cal.compute_efficiency(steady_state_gemm(g, DType::kFp8), g), 1e-9);
  // Streaming kinds: elementwise and copy fitted, norm has no fit.
  EXPECT_EQ(find(ps, "elementwise, scan", "memory fraction").origin, EfficiencyOrigin::kFitted);
  EXPECT_DOUBLE_EQ(find(ps, "elementwise, scan", "memory fraction").value, cal.memory_efficiency(op_of(OpKind::kElementwise), g));
  EXPECT_DOUBLE_EQ(find(ps, "memory, embedding", "memory fraction").value, cal.memory_efficiency(op_of(OpKind::kMemory), g));
  EXPECT_NE(find(ps, "norm", "memory fraction").origin, EfficiencyOrigin::kFitted);
  EXPECT_DOUBLE_EQ(find(ps, "norm", "memory fraction").value, cal.memory_efficiency(op_of(OpKind::kNorm), g));
  // Attention measured with Fathom's own kernel is recorded, not applied: the defaults, with why.
  const auto& att = find(ps, "attention", "compute fraction");
  EXPECT_NE(att.origin, EfficiencyOrigin::kFitted);
  EXPECT_DOUBLE_EQ(att.value, cal.compute_efficiency(op_of(OpKind::kAttention), g));
  EXPECT_NE(att.source.find("not applied: own kernel"), std::string::npos) << att.source;
  // The launch gap is measured directly; the overhead of a kernel is the gap plus its fit's fixed time.
  const auto& gap = find(ps, "every kernel", "launch gap");
  EXPECT_EQ(gap.origin, EfficiencyOrigin::kMeasured);
  EXPECT_DOUBLE_EQ(gap.value + find(ps, "elementwise, scan", "fixed time").value,
                   cal.launch_overhead_s(op_of(OpKind::kElementwise), g));
  EXPECT_EQ(to_string(EfficiencyOrigin::kFitted), "fitted");
}

}  // namespace
}  // namespace fathom::hw
