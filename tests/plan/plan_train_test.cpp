// The training planner (plan/plan_train.h) and the report plumbing it shares (plan/plan_report.h):
// the ranking keeps only layouts meeting the deadline, budget and memory headroom, and orders
// them as the per-size optima say; a row's scenario re-run reproduces its numbers bit for bit
// and equals what train::search finds on its own; bad input names the file and line.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "catalog_fixture.h"
#include "common/error.h"
#include "plan/plan_train.h"
#include "sim/scenario.h"
#include "sim/train/search.h"

namespace fathom::plan {
namespace {

std::string write_temp(const std::string& tag, const std::string& text) {
  const auto p = std::filesystem::temp_directory_path() / ("fathom_plan_" + tag + "_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(p) << text;
  return p.string();
}

// Llama-3.1-8B on 1T tokens, on 8 to 64 A100s or H100s: a few thousand candidates per size.
const char* const kPlan =
    "name: t\n"
    "model: llama-3.1-8b\n"
    "tokens: 1T\n"
    "gpus: [a100-sxm-80gb, h100-sxm]\n"
    "cluster_sizes: 8-64\n"
    "memory_headroom: 0.1\n"
    "train: {seq_len: 4096, global_batch: 512}\n"
    "top: 50\n";

PlanReport run(const std::vector<std::string>& sets, const std::map<std::string, double>& prices = {}) {
  std::vector<YamlOverride> o;
  for (const auto& s : sets) o.push_back(parse_override(s));
  return plan_train(load_plan_input(write_temp("base", kPlan), o), prices, test::hardware(), test::models());
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(PlanTrain, RanksOnlyLayoutsMeetingTheDeadlineCheapestFirst) {
  const PlanReport free = run({});
  const auto& sizes = free.sections.at(1).rows;
  ASSERT_EQ(sizes.size(), 8u);  // 2 GPU types x 4 sizes (8, 16, 32, 64)
  // A deadline between what the sizes give at their fastest, so that it rules some sizes out.
  std::vector<double> days;
  for (const auto& r : sizes) days.push_back(r.number("train_days"));
  std::sort(days.begin(), days.end());
  const double deadline = (days[3] + days[4]) / 2;
  const PlanReport p = run({"deadline_days=" + std::to_string(deadline)});
  const auto& rows = p.sections.at(0).rows;
  ASSERT_FALSE(rows.empty());
  // The top row is the cheapest of the per-size optima that meet the deadline (at one size the
  // fastest layout is also the cheapest).
  double cheapest = std::numeric_limits<double>::infinity();
  for (const auto& r : sizes) {
    if (r.number("train_days") <= deadline) cheapest = std::min(cheapest, r.number("usd"));
  }
  EXPECT_EQ(rows.front().number("usd"), cheapest);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_LE(rows[i].number("train_days"), deadline);
    if (i > 0) {
      EXPECT_LE(rows[i - 1].number("usd"), rows[i].number("usd"));
    }
  }
  // Sizes that miss the deadline on their fastest layout have no row at all.
  for (const auto& s : sizes) {
    if (s.number("train_days") <= deadline) continue;
    for (const auto& r : rows) {
      EXPECT_FALSE(std::get<std::string>(r.at("gpu")) == std::get<std::string>(s.at("gpu")) &&
                   r.number("gpus") == s.number("gpus"));
    }
  }
  const PlanReport by_time = run({"deadline_days=" + std::to_string(deadline), "rank_by=time"});
  for (size_t i = 1; i < by_time.sections[0].rows.size(); ++i) {
    EXPECT_LE(by_time.sections[0].rows[i - 1].number("train_days"), by_time.sections[0].rows[i].number("train_days"));
  }
}

TEST(PlanTrain, ABudgetKeepsTheCheaperPrefixOfTheRanking) {
  const PlanReport unconstrained = run({});
  const auto& free = unconstrained.sections.at(0).rows;
  ASSERT_GE(free.size(), 10u);
  const double budget = (free[4].number("usd") + free.back().number("usd")) / 2;
  size_t within = 0;
  while (within < free.size() && free[within].number("usd") <= budget) ++within;
  ASSERT_LT(within, free.size());  // the budget rules some rows out
  const PlanReport p = run({"budget_usd=" + std::to_string(budget)});
  const auto& rows = p.sections.at(0).rows;
  ASSERT_GE(rows.size(), within);
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_LE(rows[i].number("usd"), budget);
  for (size_t i = 0; i < within; ++i) {
    EXPECT_EQ(rows[i].number("usd"), free[i].number("usd"));
    EXPECT_EQ(rows[i].number("gpus"), free[i].number("gpus"));
  }
}

TEST(PlanTrain, KeepsTheMemoryHeadroomFreeAndSaysWhatBinds) {
  const double capacity_gib = test::hardware().gpu("a100-sxm-80gb", "test").memory_bytes / 1073741824.0;
  for (double h : {0.0, 0.5}) {
    const PlanReport p = run({"memory_headroom=" + std::to_string(h), "gpus=[a100-sxm-80gb]"});
    ASSERT_FALSE(p.sections[0].rows.empty());
    for (const auto& r : p.sections[0].rows) {
      EXPECT_LE(r.number("memory_gib"), (1 - h) * capacity_gib);
      const double slack = 1 - r.number("memory_gib") / ((1 - h) * capacity_gib);
      EXPECT_EQ(std::get<std::string>(r.at("binding")), slack <= kBindingSlack ? "memory" : "none");
      EXPECT_TRUE(std::isnan(r.number("goodput")));
    }
  }
}

TEST(PlanTrain, RowScenarioRerunGivesTheSameNumbersAsTheSearch) {
  const PlanReport p = run({"gpus=[h100-sxm]", "cluster_sizes=[32]"});
  const PlanRow& row = p.sections.at(0).rows.at(0);
  // Re-run: the row's scenario alone, as `fathom train` runs it.
  const sim::Scenario s = sim::resolve_scenario_text(row.scenario_text, "row", test::hardware(), test::models()).scenario;
  const train::TrainModel tm(s.model, s.gpu, s.cluster, s.precision, s.efficiency, s.collective_algo, s.usd_per_gpu_hour,
                             s.profile);
  const train::TrainResult r = tm.evaluate(*s.train, s.train->tokens);
  ASSERT_TRUE(r.feasible());
  EXPECT_TRUE(same_bits(r.time.step, row.number("step_s")));
  EXPECT_TRUE(same_bits(r.tokens_per_s, row.number("tokens_per_s")));
  EXPECT_TRUE(same_bits(r.mfu, row.number("mfu")));
  EXPECT_TRUE(same_bits(r.train_time_s / 86400, row.number("train_days")));
  EXPECT_TRUE(same_bits(r.usd, row.number("usd")));
  EXPECT_EQ(r.config.gpus(), 32);
  // The search on its own, with 10% of the memory taken away, finds the same best step time.
  hw::GpuSpec gpu = test::hardware().gpu("h100-sxm", "test");
  gpu.memory_bytes *= 0.9;
  // 32 GPUs: 4 nodes of 8, as the plan builds its hardware for a largest size of 32.
  const train::TrainModel reduced(*test::models().find("llama-3.1-8b"), gpu, hw::make_cluster(gpu, 4, 8),
                                  model::Precision{});
  train::TrainConfig base;
  base.seq_len = 4096;
  base.global_batch = 512;
  train::SearchOptions o;
  o.gpu_counts = {32};
  o.top = 1;
  const auto res = train::search(reduced, base, o, 1e12);
  ASSERT_EQ(res.top.size(), 1u);
  EXPECT_TRUE(same_bits(res.top[0].time.step, row.number("step_s")));
}

TEST(PlanTrain, PricesFromTheFlagReplaceTheCatalogs) {
  const PlanReport p = run({"gpus=[h100-sxm]"}, {{"h100", 1.25}});
  for (const auto& r : p.sections[0].rows) EXPECT_DOUBLE_EQ(r.number("usd"), 1.25 * r.number("gpu_hours"));
}

std::string error_of(const std::string& plan_text, const std::vector<std::string>& sets = {}) {
  const std::string path = write_temp("bad", plan_text);
  std::vector<YamlOverride> o;
  for (const auto& s : sets) o.push_back(parse_override(s));
  try {
    plan_train(load_plan_input(path, o), {}, test::hardware(), test::models());
  } catch (const Error& e) {
    const std::string msg = e.what();
    return msg.rfind(path + ":", 0) == 0 ? msg.substr(path.size() + 1) : "NOT NAMING THE FILE: " + msg;
  }
  return "no error";
}

TEST(PlanTrain, ErrorsNameTheFileAndLine) {
  const std::string head = "model: llama-3.1-8b\ntokens: 1T\ngpus: [h100-sxm]\n";
  const std::string tail = "cluster_sizes: 8\ntrain: {seq_len: 4096, global_batch: 64}\n";
  EXPECT_EQ(error_of(head + tail + "deadline: 3\n").substr(0, 2), "6:");  // an unknown key
  EXPECT_EQ(error_of(head + "cluster_sizes: 64-8\ntrain: {seq_len: 4096, global_batch: 64}\n").substr(0, 2), "4:");
  EXPECT_EQ(error_of("model: llama-3.1-8b\ntokens: 1T\ngpus: [h100-sxx]\n" + tail).substr(0, 2), "3:");
  const std::string bad_value = error_of(head + "cluster_sizes: 8\n\ntrain:\n  seq_len: 0\n  global_batch: 64\n");
  EXPECT_EQ(bad_value.substr(0, 2), "7:") << bad_value;  // the seq_len line, under the blank line and train:
  EXPECT_NE(bad_value.find("seq_len"), std::string::npos);
  EXPECT_EQ(error_of(head + tail + "memory_headroom: 1\n").substr(0, 2), "6:");
}

TEST(PlanReport, LoadPricesNamesLinesAndKeepsValues) {
  const auto ok = load_prices(write_temp("prices", "usd_per_gpu_hour:\n  h100-sxm: 2.5\n  b200: 5.25\n"));
  EXPECT_EQ(ok.at("h100-sxm"), 2.5);
  EXPECT_EQ(ok.at("b200"), 5.25);
  const std::string bad = write_temp("prices_bad", "usd_per_gpu_hour:\n  h100-sxm: 2.5\n  b200: free\n");
  try {
    load_prices(bad);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(bad + ":3:", 0), 0u) << e.what();
  }
}

TEST(PlanReport, CsvAndJsonWriteNanAsEmptyAndQuoteText) {
  PlanSection s{"ranked", "t", {}};
  PlanRow r;
  r.cells = {{"gpu", std::string("a,\"b\"")}, {"gpus", 8.0}, {"mfu", 0.1 + 0.2}, {"goodput", std::nan("")}};
  s.rows.push_back(r);
  EXPECT_EQ(section_csv(s), "rank,gpu,gpus,mfu,goodput\n1,\"a,\"\"b\"\"\",8,0.30000000000000004,\n");
  EXPECT_EQ(row_json(r), R"({"gpu":"a,\"b\"","gpus":8,"mfu":0.30000000000000004,"goodput":null})");
  const PlanRow back = row_from_json(row_json(r));
  EXPECT_TRUE(same_bits(back.number("mfu"), 0.1 + 0.2));
  EXPECT_TRUE(std::isnan(back.number("goodput")));
  EXPECT_TRUE(std::isnan(back.number("gpu")));  // text
  EXPECT_THROW(back.at("nope"), std::out_of_range);
}

}  // namespace
}  // namespace fathom::plan
