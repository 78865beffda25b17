// What the CLI and the GUI share around the configuration search: the GPU counts of --gpus, the
// layout phrase, the ranked CSV, and the overrides that make a search row the scenario (the GUI's
// "pick a row"), checked by resolving the row's scenario and re-evaluating it.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "catalog_fixture.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/version.h"
#include "sim/scenario.h"
#include "sim/train/search.h"

namespace fathom::sim {
namespace {

const std::string kScenario = "llama3.1-70b-train-h100.yaml";  // 64 H100s of dgx-h100-superpod (1,016 GPUs)

ResolvedScenario resolve(const std::vector<YamlOverride>& sets) {
  ResolveOptions o;
  o.overrides = sets;
  return resolve_scenario(data_dir() + "/scenarios/" + kScenario, test::hardware(), test::models(), o);
}

train::TrainModel model_of(const Scenario& s) {
  return train::TrainModel(s.model, s.gpu, s.cluster, s.precision, s.efficiency, s.collective_algo, s.usd_per_gpu_hour,
                           s.profile);
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::string error_of(const std::string& text, const hw::ClusterSpec& c) {
  try {
    train::parse_gpu_counts(text, c, "GPU counts");
  } catch (const FlagError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(GpuCounts, RangesStepByTheNodeSizeAndListsAreSortedWithoutRepeats) {
  const Scenario s = resolve({}).scenario;
  ASSERT_EQ(s.cluster.gpus_per_node, 8);
  EXPECT_EQ(train::parse_gpu_counts("64", s.cluster), (std::vector<int64_t>{64}));
  EXPECT_EQ(train::parse_gpu_counts("60-90", s.cluster), (std::vector<int64_t>{64, 72, 80, 88}));
  EXPECT_EQ(train::parse_gpu_counts("128,64,64,8-16", s.cluster), (std::vector<int64_t>{8, 16, 64, 128}));
  EXPECT_EQ(train::parse_gpu_counts("1016", s.cluster), (std::vector<int64_t>{1016}));
}

TEST(GpuCounts, ErrorsNameTheFieldAndTheLimit) {
  const Scenario s = resolve({}).scenario;
  EXPECT_NE(error_of("lots", s.cluster).find("GPU counts: expected a GPU count, a range A-B"), std::string::npos);
  EXPECT_NE(error_of("64-8", s.cluster).find("expected a range A-B with A <= B"), std::string::npos);
  EXPECT_NE(error_of("0", s.cluster).find("expected GPU counts >= 1"), std::string::npos);
  EXPECT_NE(error_of("1024", s.cluster).find("expected at most the 1016 GPUs of dgx-h100-superpod, found 1024"),
            std::string::npos);
  EXPECT_NE(error_of("1-4096", test::hardware().cluster("dgx-a100-selene", "test")).find("expected at most 256 GPU counts"),
            std::string::npos);
}

TEST(LayoutLabel, NamesEveryDegreeThatIsNotOne) {
  train::TrainConfig c;
  c.layout.tp = 8;
  c.layout.pp = 4;
  c.layout.dp = 2;
  c.layout.sequence_parallel = true;
  c.virtual_stages = 2;
  EXPECT_EQ(train::layout_label(c), "tp8 pp4 dp2 v2 sp");
  c.layout.cp = 4;
  c.layout.cp_all_to_all = true;
  c.layout.ep = 8;
  c.virtual_stages = 1;
  c.first_stage_layers = c.last_stage_layers = 7;
  EXPECT_EQ(train::layout_label(c), "tp8 pp4 dp2 cp4a2a ep8 stages 7/7 sp");
  c.recompute = model::Recompute::kFull;
  EXPECT_EQ(train::recompute_label(c), "full");
  c.recompute_layers = 4;
  EXPECT_EQ(train::recompute_label(c), "full x4");
}

TEST(SearchCsv, OneRowPerRankedConfigurationWithItsNumbers) {
  const Scenario s = resolve({}).scenario;
  const train::TrainModel tm = model_of(s);
  train::SearchOptions o;
  o.gpu_counts = {64};
  o.top = 3;
  const train::SearchResult res = train::search(tm, *s.train, o, s.train->tokens);
  ASSERT_EQ(res.top.size(), 3u);
  std::ostringstream os;
  train::write_search_csv(os, res);
  const CsvTable t = CsvTable::parse(os.str(), "search.csv");
  ASSERT_EQ(t.rows(), 3u);
  EXPECT_EQ(t.header().front(), "rank");
  EXPECT_EQ(t.header().size(), 24u);  // 21, then framework and the FLOPs behind mfu and hfu appended
  for (size_t i = 0; i < 3; ++i) {
    const train::TrainResult& r = res.top[i];
    const auto& row = t.row(i);
    EXPECT_EQ(row[0], std::to_string(i + 1));
    EXPECT_EQ(std::stoll(row[1]), r.config.gpus());
    EXPECT_EQ(std::stoi(row[2]), r.config.layout.tp);
    EXPECT_EQ(row[10], model::to_string(r.config.recompute));
    // 9 significant digits for times and bytes, 6 for MFU (the CLI's format since it had one).
    EXPECT_NEAR(std::stod(row[12]), r.time.step, 1e-8 * r.time.step);
    EXPECT_NEAR(std::stod(row[14]), r.mfu, 1e-5 * r.mfu);
    EXPECT_NEAR(std::stod(row[20]), r.usd, 1e-8 * r.usd);
  }
}

// A search row, written over the scenario with the overrides, resolves to the row's configuration
// and evaluates to the row's numbers bit for bit (what `fathom train FILE --set ...` prints).
TEST(TrainLayoutOverrides, MakeASearchRowTheScenario) {
  const ResolvedScenario base = resolve({});
  const Scenario& s = base.scenario;
  const train::TrainModel tm = model_of(s);
  train::SearchOptions o;
  o.gpu_counts = {32, 64};
  o.top = 5;
  const train::SearchResult res = train::search(tm, *s.train, o, s.train->tokens);
  ASSERT_EQ(res.top.size(), 5u);
  for (const train::TrainResult& row : res.top) {
    const auto sets = train_layout_overrides(*s.train, row.config);
    ASSERT_FALSE(sets.empty());
    const Scenario picked = resolve(sets).scenario;
    const TrainSection& c = *picked.train;
    EXPECT_EQ(c.gpus, row.config.gpus());
    EXPECT_EQ(train::layout_label(c), train::layout_label(row.config));
    EXPECT_EQ(c.microbatch, row.config.microbatch);
    EXPECT_EQ(c.recompute, row.config.recompute);
    EXPECT_EQ(c.zero, row.config.zero);
    EXPECT_TRUE(train_layout_overrides(c, row.config).empty());
    const train::TrainResult again = model_of(picked).evaluate(c, picked.train->tokens);
    EXPECT_TRUE(same_bits(again.time.step, row.time.step)) << train::layout_label(c);
    EXPECT_TRUE(same_bits(again.memory.total, row.memory.total));
    EXPECT_TRUE(same_bits(again.usd, row.usd));
  }
}

TEST(TrainLayoutOverrides, DropAStageSplitAndWriteRecomputedLayers) {
  const Scenario s = resolve({}).scenario;
  train::TrainConfig from = *s.train, to = *s.train;
  from.first_stage_layers = from.last_stage_layers = 10;  // as if the file split 10 + 2×30 + 10
  to.recompute = model::Recompute::kFull;
  to.recompute_layers = 4;
  TrainSection fs;
  static_cast<train::TrainConfig&>(fs) = from;
  fs.gpus = s.train->gpus;
  const auto sets = train_layout_overrides(fs, to);
  ASSERT_EQ(sets.size(), 3u);
  EXPECT_EQ(sets[0].path, "train.parallel.first_stage_layers");
  EXPECT_EQ(sets[0].value, "null");
  EXPECT_EQ(sets[1].path, "train.parallel.last_stage_layers");
  EXPECT_EQ(sets[2].path, "train.recompute");
  EXPECT_EQ(sets[2].value, "4");
  EXPECT_EQ(sets[2].origin, "--set train.recompute=4");
}

}  // namespace fathom::sim
