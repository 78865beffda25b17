// A plan's report through its stored and JSON forms (plan/plan_record.h), the chart columns of
// a serve report's sections, and the prices and cost models the planners' callers share
// (plan_serve.h serve_plan_prices, total_planners.h total_cost_model).
#include "plan/plan_record.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "common/error.h"
#include "plan/plan_serve.h"
#include "plan/total_planners.h"
#include "store/temp_db.h"
#include "tests/catalog_fixture.h"

namespace fathom::plan {
namespace {

const std::string kTiny = std::string(FATHOM_TEST_DATA_DIR) + "/plans/serve_tiny.yaml";

PlanReport sample(const std::string& name) {
  PlanReport r;
  r.kind = "serve";
  r.name = name;
  r.input_text = "name: " + name + "\n";
  r.input_hash = "abc";
  PlanRow a;
  a.cells = {{"gpu", std::string("h100-sxm")}, {"gpus", 8.0}, {"usd_per_hour", 23.92}, {"ttft_p99_s", 0.1 + 0.2},
             {"note", std::string("a, \"quoted\" one")}, {"goodput", std::numeric_limits<double>::quiet_NaN()}};
  a.scenario_text = "model: x\n";
  a.scenario_hash = "h1";
  a.profile = "documented defaults";
  PlanRow b = a;
  b.cells[1].second = 16.0;
  b.scenario_text.clear();
  b.scenario_hash.clear();
  r.sections = {{"ranked", "Ranked", {a, b}}, {"rejected", "Dropped", {}}};
  r.notes = {"one note"};
  return r;
}

}  // namespace

TEST(PlanRecord, StoredPlanReadsBackAsTheSameReport) {
  const std::string path = store::temp_db("plan_record");
  const PlanReport r = sample("first");
  {
    store::PlanStore db = store::PlanStore::open(path, true);
    db.add_plan(plan_record(r), plan_row_records(r));
    db.add_plan(plan_record(sample("second")), plan_row_records(sample("second")));
    db.add_plan(plan_record(sample("first")), plan_row_records(sample("first")));
  }
  const store::PlanStore db = store::PlanStore::open(path, false);
  EXPECT_EQ(pick_plan(db, "", path).id, 3);        // the latest
  EXPECT_EQ(pick_plan(db, "2", path).name, "second");
  EXPECT_EQ(pick_plan(db, "first", path).id, 3);   // the latest of that name
  try {
    pick_plan(db, "third", path, "--plan");
    ADD_FAILURE() << "no error";
  } catch (const FlagError& e) {
    EXPECT_NE(std::string(e.what()).find("--plan"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("2 'second' (serve)"), std::string::npos) << e.what();
  }
  const PlanReport back = report_from_store(*db.load(1));
  ASSERT_EQ(back.sections.size(), 2u);
  EXPECT_EQ(back.input_text, r.input_text);
  EXPECT_EQ(back.notes, r.notes);
  EXPECT_EQ(section_csv(back.sections[0]), section_csv(r.sections[0]));
  EXPECT_EQ(back.sections[0].rows[0].scenario_text, "model: x\n");
  EXPECT_EQ(back.sections[0].rows[0].profile, "documented defaults");
  EXPECT_TRUE(back.sections[0].rows[1].scenario_text.empty());
  EXPECT_TRUE(back.sections[1].rows.empty());
  std::filesystem::remove(path);
}

TEST(PlanRecord, JsonReadsBackToTheSameSectionsAndBadJsonNamesTheFile) {
  const PlanReport r = sample("j");
  const PlanReport back = report_from_json(report_json(r), "r.json");
  EXPECT_EQ(back.kind, "serve");
  ASSERT_EQ(back.sections.size(), 2u);
  EXPECT_EQ(back.sections[0].title, "Ranked");
  EXPECT_EQ(section_csv(back.sections[0]), section_csv(r.sections[0]));  // rank is not a cell; null reads as NaN
  EXPECT_TRUE(std::isnan(back.sections[0].rows[0].number("goodput")));
  for (const char* bad : {"{", "[1]", "{\"kind\": \"serve\", \"name\": \"x\"}",
                          "{\"kind\": \"serve\", \"name\": \"x\", \"sections\": [{\"name\": \"r\", \"rows\": [{\"a\": [1]}]}]}"}) {
    try {
      report_from_json(bad, "bad.json");
      ADD_FAILURE() << bad;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("bad.json", 0), 0u) << e.what();
    }
  }
}

TEST(PlanRecord, LoadsAReportFromJsonOrADatabaseByItsContent) {
  const std::string json_path = store::temp_db("plan_load") + ".json";  // no .sqlite tells it apart
  const std::string db_path = store::temp_db("plan_load_db") + ".json";
  {
    std::ofstream(json_path) << report_json(sample("from-json"));
    store::PlanStore db = store::PlanStore::open(db_path, true);
    db.add_plan(plan_record(sample("from-db")), plan_row_records(sample("from-db")));
  }
  EXPECT_EQ(load_plan_report(json_path, "").name, "from-json");
  const PlanReport stored = load_plan_report(db_path, "from-db");
  EXPECT_EQ(stored.name, "from-db");
  EXPECT_EQ(stored.sections[0].rows[0].scenario_text, "model: x\n");  // the database keeps scenarios
  EXPECT_THROW(load_plan_report(json_path, "1", "--plan"), FlagError);
  EXPECT_THROW(load_plan_report(db_path, "nope", "--plan"), FlagError);
  EXPECT_THROW(load_plan_report(json_path + ".missing", ""), InputError);
  std::ofstream(json_path) << "name: not json\n";
  EXPECT_THROW(load_plan_report(json_path, ""), InputError);
  std::filesystem::remove(json_path);
  std::filesystem::remove(db_path);
}

TEST(PlanRecord, ServeChartColumnsNameTheFirstObjectiveAndThePrice) {
  // The tiny plan with its objectives in the other order: the front is drawn on TPOT.
  const PlanInput in = load_plan_input(kTiny, {{"slo", "{tpot_p99_s: 0.08, ttft_p99_s: 0.8}", "test"}});
  ServePlanSpec spec = parse_serve_plan(in, kTiny);
  spec.prices = serve_plan_prices(spec, {}, test::hardware(), kTiny);
  PlanOptions o;
  o.jobs = 2;
  const PlanReport r = plan_serve(spec, in, test::hardware(), test::models(), o);
  const PlanSection* front = nullptr;
  const PlanSection* tput = nullptr;
  for (const auto& s : r.sections) {
    if (s.name == "pareto_cost_latency") front = &s;
    if (s.name == "pareto_throughput_interactivity") tput = &s;
  }
  ASSERT_TRUE(front != nullptr && tput != nullptr);
  ASSERT_FALSE(front->rows.empty());
  const ChartColumns c = serve_chart_columns(*front);
  EXPECT_EQ(c.x, "tpot_p99_s");
  EXPECT_EQ(c.y, "usd_per_hour");
  EXPECT_NO_THROW(front->rows[0].at(c.x));
  const ChartColumns t = serve_chart_columns(*tput);
  EXPECT_EQ(t.x, "tokens_per_s_per_user");
  EXPECT_NO_THROW(tput->rows[0].at(t.x));
  EXPECT_NO_THROW(tput->rows[0].at(t.y));
  // Read back from the JSON the CLI writes, the same columns.
  const PlanReport j = report_from_json(report_json(r), "r.json");
  EXPECT_EQ(serve_chart_columns(j.sections[1]).x, "tpot_p99_s");
  EXPECT_TRUE(serve_chart_columns(r.sections[0]).x.empty());  // the ranked table has no such chart
}

TEST(PlanRecord, ServePricesTakeTheFileThenThePlanThenTheCatalog) {
  const PlanInput in = load_plan_input(kTiny, {{"candidates.gpus", "[h100, b200, a100]", "test"},
                                               {"prices", "{b200: 7.5, h100: 1.0}", "test"}});
  const ServePlanSpec spec = parse_serve_plan(in, kTiny);
  const auto p = serve_plan_prices(spec, {{"h100-sxm", 2.25}}, test::hardware(), kTiny);
  EXPECT_EQ(p.at("h100-sxm"), 2.25);  // the prices file, by its catalog name
  EXPECT_EQ(p.at("b200"), 7.5);       // the plan's
  const auto& a100 = test::hardware().gpu("a100", "test");
  ASSERT_GT(a100.usd_per_gpu_hour, 0);  // the catalog prices every GPU
  EXPECT_EQ(p.at(a100.name), a100.usd_per_gpu_hour);  // the catalog's
  const PlanInput bad = load_plan_input(kTiny, {{"candidates.gpus", "[h1000]", "test"}});
  EXPECT_THROW(serve_plan_prices(parse_serve_plan(bad, kTiny), {}, test::hardware(), kTiny), InputError);
}

TEST(PlanRecord, TotalCostModelPricesUsdAtTheGivenPrice) {
  const std::string plan = data_dir() + "/plans/total-usd-llama.yaml";
  const PlanInput in = load_plan_input(plan, {});
  const TotalSpec spec = parse_total_spec(in.root);
  const TotalCostModel flops = total_cost_model(spec, TotalCostKind::kFlops, in.root, {}, test::hardware(), test::models(), {});
  EXPECT_FALSE(flops.training_usd);
  EXPECT_FALSE(flops.serving_usd);
  const TotalCostModel usd =
      total_cost_model(spec, TotalCostKind::kUsd, in.root, {{spec.gpu, 1.25}}, test::hardware(), test::models(), {});
  ASSERT_TRUE(usd.training_usd && usd.serving_usd);
  EXPECT_NE(usd.basis.find("$1.25/GPU-hour"), std::string::npos) << usd.basis;
}

}  // namespace fathom::plan
