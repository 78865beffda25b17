#include "gui/pages/plans_run.h"

#include <map>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"
#include "common/yaml.h"
#include "gui/app/scenario_doc.h"
#include "plan/plan_record.h"
#include "plan/plan_serve.h"
#include "plan/plan_total.h"
#include "plan/plan_train.h"
#include "plan/total_planners.h"
#include "store/plan_store.h"

namespace fathom::gui {

std::string plan_command_line(const PlanRequest& r) {
  std::string line = "fathom plan " + r.kind + " " + shell_quote(r.file);
  if (r.kind == "serve" && r.seed > 0) line += " --set " + shell_quote(fmt::format("search.seed={}", r.seed));
  if (r.kind == "total") line += " --cost " + shell_quote(r.cost);
  if (r.kind == "serve" && r.profile_defaults) line += " --profile defaults";
  if (r.jobs > 0) line += fmt::format(" -j {}", r.jobs);
  if (!r.prices_file.empty()) line += " --prices " + shell_quote(r.prices_file);
  if (!r.database.empty()) line += " --db " + shell_quote(r.database);
  return line;
}

plan::PlanReport run_plan(const PlanRequest& r, hw::HardwareCatalog hardware, const model::ModelCatalog& models,
                          const std::atomic<bool>& cancel, const std::function<void(double, const std::string&)>& progress) {
  std::vector<YamlOverride> sets;
  if (r.kind == "serve" && r.seed > 0) sets.push_back(parse_override(fmt::format("search.seed={}", r.seed), "--set"));
  if (r.kind != "serve" && r.kind != "train" && r.kind != "total") {
    throw FlagError("plan", "expected a planner serve, train or total, found '" + r.kind + "'");
  }
  const plan::TotalCostKind cost = plan::parse_total_cost(r.cost, "--cost");  // a bad word fails before any work
  const plan::PlanInput input = plan::load_plan_input(r.file, sets);
  plan::PlanOptions o;
  o.jobs = r.jobs;
  o.cancel = &cancel;
  if (progress) {
    o.on_progress = [progress](const plan::PlanProgress& p) {
      const double f = p.total > 0 ? static_cast<double>(p.done) / static_cast<double>(p.total) : -1.0;
      progress(f, fmt::format("{}: {}/{} ({:.1f} s)", p.stage, p.done, p.total, p.elapsed_s));
    };
  }
  auto prices = [&] { return r.prices_file.empty() ? std::map<std::string, double>{} : plan::load_prices(r.prices_file); };
  plan::PlanReport report;
  if (r.kind == "serve") {
    plan::ServePlanSpec spec = plan::parse_serve_plan(input, r.file);
    hardware.apply_profile_choice(r.profile_defaults ? "defaults" : "", "--profile");
    spec.profile_defaults = r.profile_defaults;
    spec.prices = plan::serve_plan_prices(spec, prices(), hardware, r.file);
    o.database = r.database;
    report = plan::plan_serve(spec, input, hardware, models, o);
  } else if (r.kind == "train") {
    report = plan::plan_train(input, prices(), hardware, models, o);
  } else {
    const plan::TotalSpec spec = plan::parse_total_spec(input.root);
    plan::PlanOptions po;  // the planners that price each size: threads and cancellation only
    po.jobs = r.jobs;
    po.cancel = &cancel;
    const auto usd_prices = cost == plan::TotalCostKind::kUsd ? prices() : std::map<std::string, double>{};
    const plan::TotalCostModel model = plan::total_cost_model(spec, cost, input.root, usd_prices, hardware, models, po);
    o.database = r.database;
    report = plan::plan_total(spec, model, o);
    report.input_text = input.text;
    report.input_hash = input.hash;
  }
  if (!r.database.empty()) {
    store::PlanStore db = store::PlanStore::open(r.database, true);
    db.add_plan(plan::plan_record(report), plan::plan_row_records(report));
  }
  return report;
}

}  // namespace fathom::gui
