// `fathom plan total PLAN.yaml --cost flops|usd` (docs/planning-total.md): reads the plan, prices
// training and serving (usd: the library's defaults, on the plan's GPU at catalog or --prices
// prices), runs plan::plan_total and hands the report to finish_plan.
#include <fmt/format.h>

#include <filesystem>

#include "cli/plan_cmd.h"
#include "common/error.h"
#include "common/version.h"
#include "common/yaml.h"
#include "hw/catalog.h"
#include "plan/plan_report.h"
#include "plan/plan_total.h"
#include "plan/total_planners.h"
#include "cli/progress.h"
#include "sim/model/model_catalog.h"

namespace fathom::cli {

namespace fs = std::filesystem;

int cmd_plan_total(const PlanFlags& flags, const CommonFlags& f) {
  check_plan_flags(flags, f);
  const plan::TotalCostKind kind = plan::parse_total_cost(flags.cost, "--cost");
  const plan::PlanInput input = plan::load_plan_input(flags.plan, plan_overrides(flags));
  plan::TotalSpec spec = plan::parse_total_spec(input.root);

  // The catalogs outlive the price callbacks, which use them until plan_total returns; each is
  // read only when the cost model needs it.
  hw::HardwareCatalog hwc;
  model::ModelCatalog models;
  std::map<std::string, double> prices;
  plan::PlanOptions po;
  po.jobs = static_cast<int>(flags.jobs);
  if (kind == plan::TotalCostKind::kUsd) {
    if (!flags.prices.empty()) prices = plan::load_prices(flags.prices);
    hwc = hw::HardwareCatalog::load((fs::path(data_dir()) / "hardware").string());
    if (!spec.serving_plan.empty() || !spec.training_plan.empty()) {
      models = model::ModelCatalog::load((fs::path(data_dir()) / "models").string());
    }
  }
  const plan::TotalCostModel cost = plan::total_cost_model(spec, kind, input.root, prices, hwc, models, po);
  ProgressLine line("plan total", "model sizes", parse_progress_mode(flags.progress));
  plan::PlanOptions o;
  o.jobs = static_cast<int>(flags.jobs);
  o.database = flags.db;
  o.on_progress = plan_progress(line);
  plan::PlanReport report = plan::plan_total(spec, cost, o);
  line.finish();
  report.input_text = input.text;
  report.input_hash = input.hash;
  return finish_plan(report, flags, f);
}

}  // namespace fathom::cli
