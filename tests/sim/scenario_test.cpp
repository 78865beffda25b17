#include "sim/scenario.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "common/error.h"
#include "common/version.h"
#include "catalog_fixture.h"
#include "hw/profile.h"
#include "sim/estimate.h"

namespace fathom::sim {

namespace {
Scenario load(const std::string& name) {
  return load_scenario(data_dir() + "/scenarios/" + name, test::hardware(), test::models());
}
}  // namespace

// Acceptance: one decode iteration of Llama-3.1-70B, TP 8, batch 64, context 2,048 on H100 SXM
// is memory-bound, its bytes dominated by weight and KV-cache reads.
TEST(Estimate, Llama70bDecodeIsMemoryBoundOnWeightsAndKv) {
  Scenario s = load("llama3.1-70b-decode-h100.yaml");
  EstimateResult r = estimate(s, EstimateKind::kServeIteration);
  EXPECT_GT(r.memory_bound_s, 0.6 * r.total_s);
  EXPECT_GT(r.memory_bound_s, 10 * r.compute_bound_s);
  EXPECT_GT((r.weight_bytes + r.kv_bytes) / r.bytes, 0.9);
  // Lower bound: weights (16.4 GiB) + KV (5 GiB) per GPU at the 3.35 TB/s peak take 6.9 ms.
  EXPECT_GT(r.total_s, (r.weight_bytes + r.kv_bytes) / 3.35e12);
  EXPECT_TRUE(r.memory.fits());
}

// Acceptance: a training step of GPT-3 175B is compute-bound.
TEST(Estimate, Gpt3TrainingStepIsComputeBound) {
  Scenario s = load("gpt3-175b-train-a100.yaml");
  EstimateResult r = estimate(s, EstimateKind::kTrainStep);
  EXPECT_GT(r.compute_bound_s, 0.6 * r.total_s);
  EXPECT_GT(r.mfu, 0.2);
  EXPECT_LT(r.mfu, 0.8);
  // Model FLOPs per GPU × GPUs = 6·N·tokens + attention, within 5%: 175 B × 6 × 3.1 M tokens.
  const double total = r.model_flops * r.gpus;
  EXPECT_NEAR(total / (6 * 174.6e9 * 1536 * 2048), 1.0, 0.05);
}

TEST(Estimate, AllExampleScenariosRun) {
  for (const char* f : {"mixtral-8x7b-prefill-h200.yaml", "deepseek-v3-decode-h200.yaml"}) {
    Scenario s = load(f);
    EstimateResult r = estimate(s, EstimateKind::kServeIteration);
    EXPECT_GT(r.total_s, 0) << f;
    EXPECT_GT(r.tokens_per_s, 0) << f;
  }
}

TEST(Scenario, ReportsTheFileLineOfAnUnknownGpu) {
  auto root = parse_yaml("model: llama-3.1-8b\nhardware:\n  gpu: h100-smx\nserve:\n  parallel: {tp: 1}\n"
                         "  iteration: {phase: decode, sequences: 1, context: 16}\n", "s.yaml");
  try {
    parse_scenario(root, test::hardware(), test::models());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("s.yaml:3: expected a GPU of the catalog, found 'h100-smx' (did you mean 'h100-sxm'", 0), 0u) << e.what();
  }
}

TEST(Scenario, LayoutThatCannotRunIsAConfigErrorWithLine) {
  auto root = parse_yaml("model: llama-3.1-70b\nhardware: {gpu: h100-sxm}\nserve:\n  parallel: {tp: 3}\n"
                         "  iteration: {phase: decode, sequences: 1, context: 16}\n", "s.yaml");
  try {
    parse_scenario(root, test::hardware(), test::models());
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "s.yaml:4: 'serve.parallel.tp': expected a tensor-parallel degree that divides the 64 attention heads of llama-3.1-70b, found 3");
  }
}

// The overlap model's inputs (docs/training.md, "Inputs"): read into the configuration, and each
// wrong value a one-line error at its line naming what was expected.
TEST(Scenario, TrainingOverlapInputsAreReadAndCheckedAtTheirLine) {
  const std::string head =
      "model: llama-3.1-8b\nhardware: {cluster: dgx-h100-superpod}\ntrain:\n  gpus: 64\n"
      "  parallel: {tp: 1, pp: 1, dp: 32, cp: 2, cp_kind: all-gather}\n  seq_len: 8192\n  global_batch: 64\n  zero: 3\n";
  Scenario ok = parse_scenario(parse_yaml(head + "  shard_group: 8\n  reshard_after_forward: false\n  prefetch_depth: 2\n"
                                                 "  framework: fsdp\n  loop_efficiency: 0.85\n",
                                          "s.yaml"),
                               test::hardware(), test::models());
  ASSERT_TRUE(ok.train.has_value());
  EXPECT_EQ(ok.train->cp_kind, train::CpKind::kAllGather);
  EXPECT_EQ(ok.train->shard_group, 8);
  EXPECT_FALSE(ok.train->reshard_after_forward);
  EXPECT_EQ(ok.train->prefetch_depth, 2);
  EXPECT_EQ(ok.train->framework, train::Framework::kFsdp);
  EXPECT_DOUBLE_EQ(ok.train->loop_efficiency, 0.85);
  const std::pair<std::string, std::string> bad[] = {
      {"  framework: jax\n", "s.yaml:9: "},
      {"  prefetch_depth: 0\n", "s.yaml:9: "},
      {"  prefetch_depth: 17\n", "s.yaml:9: "},
      {"  loop_efficiency: 0\n", "s.yaml:9: "},
      {"  loop_efficiency: fast\n", "s.yaml:9: "},
      {"  loop_efficiency: 1.2\n", "s.yaml:9: 'train.loop_efficiency': expected a loop efficiency above 0 and at most 1, found 1.2"},
      {"  shard_group: 3\n", "s.yaml:9: 'train.shard_group': expected a shard group that divides dp × cp = 64, found 3"},
  };
  for (const auto& [line, expected] : bad) {
    try {
      parse_scenario(parse_yaml(head + line, "s.yaml"), test::hardware(), test::models());
      ADD_FAILURE() << line;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(expected, 0), 0u) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  try {
    parse_scenario(parse_yaml(std::string(head).replace(head.find("all-gather"), 10, "spiral"), "s.yaml"), test::hardware(),
                   test::models());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("s.yaml:5: ", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("all-gather"), std::string::npos) << e.what();
  }
}

}  // namespace fathom::sim

namespace fathom::sim {

// The profile choice is part of resolving a scenario (ResolveOptions), so the CLI and the GUI get
// the same scenario from the same inputs.
TEST(ResolveScenario, ProfileFileOfTheScenariosGpuPricesItsKernels) {
  hw::CalibratedProfile p;
  p.gpu = "h100-sxm";
  p.launch_gap_s = 3e-6;
  const std::string path = ::testing::TempDir() + "/resolve_h100_profile.yaml";
  { std::ofstream(path) << hw::profile_to_yaml(p); }
  ResolveOptions o;
  o.profile = path;
  const Scenario s = load_scenario(data_dir() + "/scenarios/llama3.1-70b-decode-h100.yaml", test::hardware(),
                                   test::models(), o);
  ASSERT_NE(s.profile, nullptr);
  EXPECT_EQ(s.profile->gpu, "h100-sxm");
  EXPECT_NE(efficiency_source(s).find(path), std::string::npos);
  std::remove(path.c_str());
}

TEST(ResolveScenario, ProfileOfAnotherGpuIsRefusedNamingTheField) {
  hw::CalibratedProfile p;
  p.gpu = "a100-sxm-80gb";
  const std::string path = ::testing::TempDir() + "/resolve_a100_profile.yaml";
  { std::ofstream(path) << hw::profile_to_yaml(p); }
  ResolveOptions o;
  o.profile = path;
  o.profile_where = "Profile field";
  try {
    load_scenario(data_dir() + "/scenarios/llama3.1-70b-decode-h100.yaml", test::hardware(), test::models(), o);
    ADD_FAILURE() << "a profile of another GPU was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Profile field"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

TEST(ResolveScenario, DefaultsDropsAnyProfileAndAMissingFileIsAFlagError) {
  ResolveOptions o;
  o.profile = "defaults";
  const Scenario s = load_scenario(data_dir() + "/scenarios/llama3.1-70b-decode-h100.yaml", test::hardware(),
                                   test::models(), o);
  EXPECT_EQ(s.profile, nullptr);
  EXPECT_EQ(efficiency_source(s).find("calibrated"), std::string::npos) << efficiency_source(s);
  o.profile = "/nonexistent/profile.yaml";
  EXPECT_THROW(load_scenario(data_dir() + "/scenarios/llama3.1-70b-decode-h100.yaml", test::hardware(),
                             test::models(), o),
               FlagError);
}

}  // namespace fathom::sim
