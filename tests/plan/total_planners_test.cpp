// plan total's price callbacks backed by the planners (plan/total_planners.h): each returns what
// the planner itself ranks first for the sized model, and a size nothing can serve is an error
// naming the serving plan.
#include <gtest/gtest.h>

#include "common/error.h"
#include "plan/plan_serve.h"
#include "plan/plan_train.h"
#include "plan/total_planners.h"
#include "sim/model/sized_model.h"
#include "tests/catalog_fixture.h"

namespace fathom::plan {
namespace {

const std::string kServe = std::string(FATHOM_TEST_DATA_DIR) + "/plans/serve_tiny.yaml";
const std::string kTrain = std::string(FATHOM_TEST_DATA_DIR) + "/plans/train_tiny.yaml";

TEST(TotalPlanners, ServingPriceIsTheServePlansTopRow) {
  const model::ModelSpec m = model::sized_model("llama", 8e9);
  PlanOptions o;
  o.jobs = 2;
  const ServingUsdFn fn = serving_usd_by_plan(kServe, {}, test::hardware(), test::models(), o);
  const ServingCost c = fn(m);

  // The same plan run directly on a catalog holding the sized model, catalog prices.
  model::ModelCatalog catalog = test::models();
  catalog.add(m);
  const PlanInput in = load_plan_input(kServe, {{"model", m.name, "test"}});
  ServePlanSpec spec = parse_serve_plan(in, kServe);
  spec.prices["h100-sxm"] = test::hardware().gpu("h100", "test").usd_per_gpu_hour;
  const PlanReport rep = plan_serve(spec, in, test::hardware(), catalog, o);
  const PlanRow& top = rep.sections.front().rows.front();
  EXPECT_DOUBLE_EQ(c.usd_per_input_token, top.number("usd_per_m_input_tokens") / 1e6);
  EXPECT_DOUBLE_EQ(c.usd_per_output_token, top.number("usd_per_m_output_tokens") / 1e6);
  // A model too big for one H100 costs more per request (at the traffic's mean lengths: the
  // fleet's $/hour over its rate) on the same plan.
  const ServingCost big = fn(model::sized_model("llama", 70e9));
  auto per_request = [&](const ServingCost& x) {
    return x.usd_per_input_token * spec.mean_input + x.usd_per_output_token * spec.mean_output;
  };
  EXPECT_GT(per_request(big), 1.5 * per_request(c));
  EXPECT_NEAR(per_request(c), top.number("usd_per_hour") / 3600 / spec.rate_per_s, 1e-12);
}

TEST(TotalPlanners, TrainingPriceIsTheTrainPlansCheapestLayout) {
  const model::ModelSpec m = model::sized_model("llama", 8e9);
  const TrainingUsdFn fn = training_usd_by_plan(kTrain, {}, test::hardware(), test::models(), {});
  const double usd = fn(m, 1e12);
  model::ModelCatalog catalog = test::models();
  catalog.add(m);
  // The deadline (1 day) is dropped when pricing: the plan as written keeps no layout at 1e12.
  const PlanInput in = load_plan_input(kTrain, {{"model", m.name, "t"}, {"tokens", "1e12", "t"}, {"deadline_days", "null", "t"}});
  const PlanReport rep = plan_train(in, {}, test::hardware(), catalog, {});
  EXPECT_DOUBLE_EQ(usd, rep.sections.front().rows.front().number("usd"));
  EXPECT_NEAR(fn(m, 2e12) / usd, 2.0, 1e-9);  // dollars proportional to tokens at a fixed layout
}

TEST(TotalPlanners, UnservableSizeNamesTheServingPlan) {
  const ServingUsdFn fn = serving_usd_by_plan(kServe, {}, test::hardware(), test::models(), {});
  try {
    fn(model::sized_model("llama", 900e9));  // 1.8 TB of bf16 weights: no h100 tp ≤ 2 holds them
    FAIL() << "expected no fleet";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("serve_tiny.yaml"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no fleet"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fathom::plan
