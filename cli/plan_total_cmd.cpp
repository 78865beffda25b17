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

namespace {

// --prices first, then the plan's usd.usd_per_gpu_hour, then the catalog.
double price_for(const hw::GpuSpec& g, const std::map<std::string, double>& prices, const hw::HardwareCatalog& hwc,
                 double plan_price) {
  for (const auto& [k, v] : prices) {
    const hw::GpuSpec* p = hwc.find_gpu(k);
    if (p != nullptr && p->name == g.name) return v;
  }
  return plan_price > 0 ? plan_price : g.usd_per_gpu_hour;
}

}  // namespace

int cmd_plan_total(const PlanFlags& flags, const CommonFlags& f) {
  check_plan_flags(flags, f);
  const plan::TotalCostKind kind = plan::parse_total_cost(flags.cost, "--cost");
  const plan::PlanInput input = plan::load_plan_input(flags.plan, plan_overrides(flags));
  plan::TotalSpec spec = plan::parse_total_spec(input.root);

  plan::TotalCostModel cost;
  cost.kind = kind;
  // The catalogs outlive the price callbacks, which use them until plan_total returns.
  hw::HardwareCatalog hwc;
  model::ModelCatalog models;
  if (kind == plan::TotalCostKind::kUsd) {
    std::map<std::string, double> prices;
    if (!flags.prices.empty()) prices = plan::load_prices(flags.prices);
    hwc = hw::HardwareCatalog::load((fs::path(data_dir()) / "hardware").string());
    const std::string where = input.root.has("usd") ? input.root.at("usd").where() : input.root.where();
    const hw::GpuSpec& train_gpu = hwc.gpu(spec.gpu, where);
    const hw::GpuSpec& serve_gpu = hwc.gpu(spec.serving_gpu.empty() ? spec.gpu : spec.serving_gpu, where);
    plan::TrainingPriceOptions tp = spec.training;
    tp.usd_per_gpu_hour = price_for(train_gpu, prices, hwc, spec.training.usd_per_gpu_hour);
    plan::ServingPriceOptions sp = spec.serving;
    sp.usd_per_gpu_hour = price_for(serve_gpu, prices, hwc, spec.serving.usd_per_gpu_hour);
    cost.training_usd = plan::default_training_usd(train_gpu, tp);
    cost.serving_usd = plan::default_serving_usd(serve_gpu, sp);
    std::string training_basis =
        fmt::format("training on {} at ${:.2f}/GPU-hour, MFU {:g}", train_gpu.name, tp.usd_per_gpu_hour, tp.mfu);
    std::string serving_basis = fmt::format("serving on {} at ${:.2f}/GPU-hour", serve_gpu.name, sp.usd_per_gpu_hour);
    // The other planners instead of the defaults, where the plan names their plans.
    if (!spec.serving_plan.empty() || !spec.training_plan.empty()) {
      models = model::ModelCatalog::load((fs::path(data_dir()) / "models").string());
      plan::PlanOptions po;
      po.jobs = static_cast<int>(flags.jobs);
      if (!spec.serving_plan.empty()) {
        cost.serving_usd = plan::serving_usd_by_plan(spec.serving_plan, prices, hwc, models, po);
        serving_basis = "serving priced by plan serve (" + spec.serving_plan + ")";
      }
      if (!spec.training_plan.empty()) {
        cost.training_usd = plan::training_usd_by_plan(spec.training_plan, prices, hwc, models, po);
        training_basis = "training priced by plan train (" + spec.training_plan + ")";
      }
    }
    cost.basis = training_basis + "; " + serving_basis;
  }
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
