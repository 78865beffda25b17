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
  const plan::TotalCostKind kind = plan::parse_total_cost(flags.cost, "--cost");
  if (flags.jobs < 0 || flags.jobs > 4096)
    throw FlagError("--jobs", "expected 0 (every core) to 4096 threads, found " + std::to_string(flags.jobs));
  std::vector<YamlOverride> sets;
  for (const auto& s : flags.sets) sets.push_back(parse_override(s));
  const plan::PlanInput input = plan::load_plan_input(flags.plan, sets);
  plan::TotalSpec spec = plan::parse_total_spec(input.root);

  plan::TotalCostModel cost;
  cost.kind = kind;
  if (kind == plan::TotalCostKind::kUsd) {
    std::map<std::string, double> prices;
    if (!flags.prices.empty()) prices = plan::load_prices(flags.prices);
    const auto hwc = hw::HardwareCatalog::load((fs::path(data_dir()) / "hardware").string());
    const std::string where = input.root.has("usd") ? input.root.at("usd").where() : input.root.where();
    const hw::GpuSpec& train_gpu = hwc.gpu(spec.gpu, where);
    const hw::GpuSpec& serve_gpu = hwc.gpu(spec.serving_gpu.empty() ? spec.gpu : spec.serving_gpu, where);
    plan::TrainingPriceOptions tp = spec.training;
    tp.usd_per_gpu_hour = price_for(train_gpu, prices, hwc, spec.training.usd_per_gpu_hour);
    plan::ServingPriceOptions sp = spec.serving;
    sp.usd_per_gpu_hour = price_for(serve_gpu, prices, hwc, spec.serving.usd_per_gpu_hour);
    cost.training_usd = plan::default_training_usd(train_gpu, tp);
    cost.serving_usd = plan::default_serving_usd(serve_gpu, sp);
    cost.basis = fmt::format("training on {} at ${:.2f}/GPU-hour, MFU {:g}; serving on {} at ${:.2f}/GPU-hour",
                             train_gpu.name, tp.usd_per_gpu_hour, tp.mfu, serve_gpu.name, sp.usd_per_gpu_hour);
  }
  plan::PlanOptions o;
  o.jobs = static_cast<int>(flags.jobs);
  o.database = flags.db;
  plan::PlanReport report = plan::plan_total(spec, cost, o);
  report.input_text = input.text;
  report.input_hash = input.hash;
  return finish_plan(report, flags, f);
}

}  // namespace fathom::cli
