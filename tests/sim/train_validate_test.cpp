// Training predictions against published measurements (sim/train/validate.h): Megatron-LM
// Table 1, vTrain's measured iteration times, and the at-scale set.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>

#include "catalog_fixture.h"
#include "common/version.h"
#include "common/csv.h"
#include "sim/model/params.h"
#include "sim/train/validate.h"
#include "sim/train/validate_at_scale.h"

namespace fathom::train {
namespace {

using test::hardware;
using test::models;

TEST(TrainValidation, MegatronTable1WithinSevenPercent) {
  ValidationTable t = validate_megatron(data_dir() + "/validation/megatron_table1.csv", hardware());
  std::printf("%-12s %-22s %9s %9s %8s\n", "model", "layout", "measured", "predicted", "error");
  for (const auto& r : t.rows) {
    std::printf("%-12s %-22s %9.1f %9.1f %+7.1f%%\n", r.label.c_str(), r.config.c_str(), r.measured, r.predicted, 100 * r.error);
  }
  std::printf("median |error| %.1f%%, max %.1f%%\n", 100 * t.median_abs_error, 100 * t.max_abs_error);
  ASSERT_EQ(t.rows.size(), 10u);
  EXPECT_LE(t.median_abs_error, 0.07);  // 1.7% (the loop efficiency is fitted here: its signed median is 0)
  EXPECT_LE(t.max_abs_error, 0.07);     // 5.2%
}

TEST(TrainValidation, VTrainIterationTimesWithinSevenPercent) {
  const std::string dir = FATHOM_VTRAIN_DIR;
  if (!std::filesystem::exists(dir + "/ground_truth_single.csv")) GTEST_SKIP() << "vTrain files absent: " << dir;
  ValidationTable t = validate_vtrain(dir, hardware());
  size_t shown = 0;
  for (const auto& r : t.rows) {
    if (shown++ % 50 == 0) {
      std::printf("%-28s %-34s %9.1f %9.1f %+7.1f%%\n", r.label.c_str(), r.config.c_str(), r.measured, r.predicted, 100 * r.error);
    }
  }
  std::printf("%zu rows (every 50th shown): median |error| %.1f%%, mean %.1f%%\n", t.rows.size(), 100 * t.median_abs_error,
              100 * t.mean_abs_error);
  EXPECT_EQ(t.rows.size(), 1549u);
  EXPECT_LE(t.median_abs_error, 0.07);  // 6.4% (held out from the loop efficiency's fit)
}

// The public at-scale set lives beside the project (../shared/validation, data_dir() is
// <project>/data); the tests skip where it is absent.
std::string at_scale_csv() { return data_dir() + "/../../shared/validation/training_at_scale.csv"; }

#define SKIP_WITHOUT_AT_SCALE()                                                                   \
  do {                                                                                            \
    if (!std::filesystem::exists(at_scale_csv())) GTEST_SKIP() << "at-scale set absent: " << at_scale_csv(); \
  } while (0)

const ValidationTable& at_scale_table() {
  static const ValidationTable t = validate_at_scale(at_scale_csv(), hardware(), models());
  return t;
}

// The case mapped from the first row of the file whose source and notes contain the given text.
const AtScaleCase& case_where(const std::vector<AtScaleCase>& cases, const std::string& source_has, const std::string& notes_has) {
  static const CsvTable csv = CsvTable::load(at_scale_csv());
  const size_t src = csv.column("source"), notes = csv.column("notes");
  for (size_t i = 0; i < csv.rows(); ++i) {
    if (csv.cell(i, src).find(source_has) == std::string::npos || csv.cell(i, notes).find(notes_has) == std::string::npos) continue;
    for (const auto& c : cases) {
      if (c.line == csv.line(i)) return c;
    }
  }
  throw std::runtime_error("no row with source '" + source_has + "' and notes '" + notes_has + "'");
}

TEST(TrainValidationAtScale, SkipsWhenTheFileIsAbsent) {
  ValidationTable t = validate_at_scale(data_dir() + "/no-such-at-scale.csv", hardware(), models());
  EXPECT_TRUE(t.skipped);
  EXPECT_NE(t.skip_reason.find("no-such-at-scale.csv"), std::string::npos);
  EXPECT_TRUE(t.rows.empty());
}

TEST(TrainValidationAtScale, EveryRowIsComparedOrListedWithItsReason) {
  SKIP_WITHOUT_AT_SCALE();
  const ValidationTable& t = at_scale_table();
  ASSERT_FALSE(t.skipped);
  // Floor measured when the comparison was written (347 of 362 rows mapped, all evaluable at the
  // time); rows the model rejects are listed, not lost, so mapped + rejected is the stable sum.
  EXPECT_GE(t.rows.size() + t.rejected.size(), 347u);
  EXPECT_EQ(t.rows.size() + t.rejected.size() + t.unmapped.size(), CsvTable::load(at_scale_csv()).rows());
  for (const auto& r : t.rows) {
    EXPECT_TRUE(std::isfinite(r.measured) && r.measured > 0) << r.line;
    EXPECT_TRUE(std::isfinite(r.predicted) && r.predicted > 0) << r.line;
    EXPECT_TRUE(std::isfinite(r.error)) << r.line;
    for (const char* dim : kTagDimensions) EXPECT_FALSE(tag_of(r, dim).empty()) << r.line << " " << dim;
  }
  for (const auto& x : t.unmapped) EXPECT_FALSE(x.reason.empty()) << x.line;
  for (const auto& x : t.rejected) EXPECT_FALSE(x.reason.empty()) << x.line;
  EXPECT_TRUE(std::isfinite(t.median_abs_error) && std::isfinite(t.median_error));
}

TEST(TrainValidationAtScale, GroupSummariesAgreeWithTheirRows) {
  SKIP_WITHOUT_AT_SCALE();
  const ValidationTable& t = at_scale_table();
  ASSERT_FALSE(t.groups.empty());
  std::map<std::string, size_t> per_dimension;
  for (const auto& g : t.groups) {
    std::vector<double> abs_e, e;
    for (const auto& r : t.rows) {
      if (tag_of(r, g.dimension) != g.group) continue;
      e.push_back(r.error);
      abs_e.push_back(std::fabs(r.error));
    }
    ASSERT_EQ(g.rows, e.size()) << g.dimension << "=" << g.group;
    // Medians recomputed here from the rows (nth_element, not the library's sort).
    auto med = [](std::vector<double> v) {
      const size_t n = v.size();
      std::nth_element(v.begin(), v.begin() + static_cast<long>(n / 2), v.end());
      const double hi = v[n / 2];
      if (n % 2) return hi;
      return 0.5 * (*std::max_element(v.begin(), v.begin() + static_cast<long>(n / 2)) + hi);
    };
    EXPECT_DOUBLE_EQ(g.median_error, med(e)) << g.dimension << "=" << g.group;
    EXPECT_DOUBLE_EQ(g.median_abs_error, med(abs_e)) << g.dimension << "=" << g.group;
    per_dimension[g.dimension] += g.rows;
  }
  // Every row falls in exactly one group of each dimension.
  for (const char* dim : kTagDimensions) EXPECT_EQ(per_dimension[dim], t.rows.size()) << dim;
}

// Where the model stands on the public runs (docs/validation.md, "Current numbers"): a bound
// just above today's figures, so that a change that loses accuracy fails here. The issue's
// target (7% per source) is not reached yet; tighten these as the model improves.
TEST(TrainValidationAtScale, AccuracyDoesNotRegress) {
  SKIP_WITHOUT_AT_SCALE();
  const ValidationTable& t = at_scale_table();
  std::printf("at-scale: %zu rows, median |error| %.1f%%\n", t.rows.size(), 100 * t.median_abs_error);
  // 11.3% now (31.3% before the overlap model, 15.0% before the loop efficiency)
  EXPECT_LT(t.median_abs_error, 0.125);
  const std::map<std::string, double> bound = {{"llm-foundry", 0.11}, {"bigscience", 0.09}, {"torchtitan", 0.33}, {"megascale", 0.19}};
  for (const auto& g : t.groups) {
    if (g.dimension != "source" || !bound.count(g.group)) continue;
    std::printf("  %-12s %3zu rows  median |error| %5.1f%%\n", g.group.c_str(), g.rows, 100 * g.median_abs_error);
    EXPECT_LT(g.median_abs_error, bound.at(g.group)) << g.group;
  }
}

TEST(TrainValidationAtScale, BuiltModelsHaveTheStatedParameterCounts) {
  SKIP_WITHOUT_AT_SCALE();
  const auto cases = map_at_scale(at_scale_csv(), hardware(), models());
  // llm-foundry logs its models' parameter count (NumParams in each row's notes): the MPT shape
  // built here (learned positions, biases, tied embeddings) must reproduce it to the parameter.
  static const CsvTable csv = CsvTable::load(at_scale_csv());
  const std::regex logged(R"(NumParams ([0-9]+))");
  size_t checked = 0;
  for (size_t i = 0; i < csv.rows(); ++i) {
    std::smatch m;
    const std::string& notes = csv.cell(i, csv.column("notes"));
    if (!std::regex_search(notes, m, logged)) continue;
    for (const auto& c : cases) {
      if (c.line != csv.line(i) || !c.unmapped.empty()) continue;
      EXPECT_EQ(c.built_params, std::stod(m[1].str())) << "line " << c.line << " " << c.label;
      ++checked;
    }
  }
  EXPECT_GE(checked, 224u);
  // Every mapped row: within 2% of params_B (the report lists any that are not).
  for (const auto& c : cases) {
    if (!c.unmapped.empty() || c.stated_params <= 0) continue;
    EXPECT_NEAR(c.built_params / c.stated_params, 1.0, 0.02) << "line " << c.line << " " << c.label;
  }
  EXPECT_TRUE(at_scale_table().param_mismatches.empty());
}

TEST(TrainValidationAtScale, RowsMapToTheLayoutAndGpuTheirNotesState) {
  SKIP_WITHOUT_AT_SCALE();
  const auto cases = map_at_scale(at_scale_csv(), hardware(), models());

  // llm-foundry, MPT-70B on 512 H100: FSDP FULL_SHARD only, per-GPU microbatch 8, DEFAULT mixed
  // precision (fp32 gradient reduction), full activation checkpointing.
  const AtScaleCase& mpt = case_where(cases, "llm-foundry@8c8dd48", "515636 tokens/s total");
  ASSERT_TRUE(mpt.unmapped.empty()) << mpt.unmapped;
  ASSERT_EQ(mpt.candidates.size(), 1u);
  const TrainConfig& m = mpt.candidates[0];
  EXPECT_EQ(m.layout.tp * m.layout.pp, 1);
  EXPECT_EQ(m.layout.dp, 512);
  EXPECT_EQ(m.microbatch, 8);
  EXPECT_EQ(m.global_batch, 4096);
  EXPECT_EQ(m.zero, 3);
  EXPECT_TRUE(m.reshard_after_forward);
  EXPECT_EQ(m.recompute, model::Recompute::kFull);
  EXPECT_EQ(m.grad_reduce_dtype, DType::kFp32);
  EXPECT_EQ(mpt.gpu.name, "h100-sxm");
  EXPECT_EQ(mpt.cluster.nodes, 64);
  EXPECT_NEAR(mpt.measured_tokens_per_gpu, 1007, 0.5);
  // FlashAttention 1 (MPT then required flash-attn 1.0.x): half the catalog's FlashAttention-2 rate.
  ASSERT_TRUE(mpt.gpu.measured.attention_bf16_flops.has_value());
  EXPECT_DOUBLE_EQ(*mpt.gpu.measured.attention_bf16_flops,
                   0.5 * hardware().gpu("h100-sxm", "test").measured.attention_bf16_flops.value());

  // torchtitan, Llama 3.1 405B on 512 H100 (Table 5): FSDP 8 × TP 8 × PP 8, interleaved 1F1B
  // with 2 stages per rank, 126 layers split 15/16.../15, local batch 32 over 8 microbatches,
  // Float8 and async TP, on the 96 GB HBM2e parts.
  const AtScaleCase& tt = case_where(cases, "torchtitan", "schedule Interleaved 1F1B");
  ASSERT_TRUE(tt.unmapped.empty()) << tt.unmapped;
  const TrainConfig& t = tt.candidates.at(0);
  EXPECT_EQ(t.layout.tp, 8);
  EXPECT_EQ(t.layout.pp, 8);
  EXPECT_EQ(t.layout.dp, 8);
  EXPECT_EQ(t.virtual_stages, 2);
  EXPECT_EQ(t.first_stage_layers, 15);
  EXPECT_EQ(t.last_stage_layers, 15);
  EXPECT_EQ(t.microbatch, 4);
  EXPECT_EQ(t.zero, 3);
  EXPECT_FALSE(t.reshard_after_forward);
  EXPECT_TRUE(t.overlap_tp);
  EXPECT_EQ(tt.precision.gemm_dtype(), DType::kFp8);
  EXPECT_EQ(tt.tags.gpu, "h100-96gb-hbm2e");
  EXPECT_DOUBLE_EQ(tt.gpu.memory_bytes, 96.0 * 1073741824.0);
  EXPECT_EQ(tt.model.name, "llama-3.1-405b");

  // torchtitan context parallelism (Table 2, FSDP 1 × CP 8): K and V all-gathered.
  const AtScaleCase& cp = case_where(cases, "torchtitan", "FSDP 1 x CP 8 + torch.compile");
  ASSERT_TRUE(cp.unmapped.empty()) << cp.unmapped;
  EXPECT_EQ(cp.candidates.at(0).layout.cp, 8);
  EXPECT_EQ(cp.candidates.at(0).cp_kind, CpKind::kAllGather);

  // BigScience, BLOOM's production run: TP 4, PP 12, DP 8, microbatch 2, ZeRO-1, embedding-aware
  // partition (70 layers: 5 on the first and last stage, 6 on the others), Jean Zay's 4 × 100 Gb/s
  // Omni-Path per 8-GPU node.
  const AtScaleCase& bl = case_where(cases, "tr11-176B-ml/README.md", "");
  ASSERT_TRUE(bl.unmapped.empty()) << bl.unmapped;
  const TrainConfig& b = bl.candidates.at(0);
  EXPECT_EQ(b.layout.tp, 4);
  EXPECT_EQ(b.layout.pp, 12);
  EXPECT_EQ(b.layout.dp, 8);
  EXPECT_EQ(b.microbatch, 2);
  EXPECT_EQ(b.zero, 1);
  EXPECT_EQ(b.first_stage_layers, 5);
  EXPECT_EQ(b.last_stage_layers, 5);
  EXPECT_FALSE(b.flash_attention);
  EXPECT_EQ(bl.model.position, model::PositionKind::kNone);
  EXPECT_EQ(bl.model.vocab_size, 250880);
  EXPECT_EQ(bl.gpu.name, "a100-sxm-80gb");
  EXPECT_DOUBLE_EQ(bl.cluster.inter().bandwidth_per_direction_Bps, 50e9 / 8);

  // MegaScale's Megatron-LM baseline on 12,288 GPUs: TP 8, PP 8 with 6 virtual stages.
  const AtScaleCase& ms = case_where(cases, "Megatron-LM rows", "1466.8k tokens/s total");
  ASSERT_TRUE(ms.unmapped.empty()) << ms.unmapped;
  for (const auto& c : ms.candidates) {
    EXPECT_EQ(c.layout.tp, 8);
    EXPECT_EQ(c.layout.pp, 8);
    EXPECT_EQ(c.layout.dp, 192);
    EXPECT_EQ(c.virtual_stages, 6);
    EXPECT_FALSE(c.overlap_dp);  // --overlap-grad-reduce and --overlap-p2p-communication came later
    EXPECT_FALSE(c.overlap_pp);
    EXPECT_FALSE(c.overlap_tp);
  }
  EXPECT_EQ(ms.gpu.name, "a100-sxm-80gb");
  EXPECT_EQ(ms.model.vocab_size, 64000);
  // Its commit (285068c8) offers FlashAttention 1 only: half the catalog's FlashAttention-2 rate.
  ASSERT_TRUE(ms.gpu.measured.attention_bf16_flops.has_value());
  EXPECT_DOUBLE_EQ(*ms.gpu.measured.attention_bf16_flops,
                   0.5 * hardware().gpu("a100-sxm-80gb", "test").measured.attention_bf16_flops.value());

  // Nemotron-4 340B on 6144 H100: TP 8, PP 12 (interleaved), distributed optimizer.
  const AtScaleCase& nm = case_where(cases, "Nemotron", "iteration time 8.0 s");
  ASSERT_TRUE(nm.unmapped.empty()) << nm.unmapped;
  for (const auto& c : nm.candidates) {
    EXPECT_EQ(c.layout.tp, 8);
    EXPECT_EQ(c.layout.pp, 12);
    EXPECT_EQ(c.layout.dp, 64);
    EXPECT_EQ(c.zero, 1);
    EXPECT_GT(c.virtual_stages, 1);
  }
  EXPECT_EQ(nm.gpu.name, "h100-sxm");
  EXPECT_NEAR(model::count_params(nm.model).total / 1e9, 341.0, 0.5);

  // Sources without a comparable measurement are listed, not guessed.
  for (const char* src : {"PyTorch FSDP", "OPT (arXiv", "LLaMA (arXiv", "(MegaScale rows)"}) {
    EXPECT_FALSE(case_where(cases, src, "").unmapped.empty()) << src;
  }
}

TEST(TrainValidationAtScale, TorchtitanSplitFollowsGenerateSplitPoints) {
  // generate_split_points for 126 layers: 8 stages of base 15 with 6 extra layers on stages 1-6
  // (15, 16×6, 15); 16 stages of base 7 with 14 extra on stages 1-14 (7, 8×14, 7), rank r
  // holding stages r and r + 8: 15, 16×6, 15.
  StageSplit one = torchtitan_split(126, 8, 1);
  EXPECT_EQ(one.first, 15);
  EXPECT_EQ(one.middle, 16);
  EXPECT_EQ(one.last, 15);
  StageSplit two = torchtitan_split(126, 8, 2);
  EXPECT_EQ(two.first, 15);
  EXPECT_EQ(two.middle, 16);
  EXPECT_EQ(two.last, 15);
  // 32 layers over 3 ranks: stages 10, 11, 11 -> the middle and last differ from the first only.
  StageSplit odd = torchtitan_split(32, 3, 1);
  EXPECT_EQ(odd.first, 10);
  EXPECT_EQ(odd.middle, 11);
  EXPECT_EQ(odd.last, 11);
}

TEST(TrainValidationAtScale, OpSacRecomputesEverySecondGemmOfALlamaBlock) {
  // Llama 3.1 8B block (h 4096, 32×128 query, 8×128 KV, FFN 14336): wk + wo + w3 recomputed,
  // (4096·1024 + 4096² + 4096·14336) / (2·4096² + 2·4096·1024 + 3·4096·14336) = 19456 / 53248.
  const model::ModelSpec& m = *models().find("llama-3.1-8b");
  EXPECT_NEAR(op_sac_recompute_fraction(m), 19456.0 / 53248.0, 1e-12);
}

}  // namespace
}  // namespace fathom::train
