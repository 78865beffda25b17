// Price callbacks of `plan total --cost usd` backed by `plan serve` and `plan train`
// (plan/total_planners.h).
#include "plan/total_planners.h"

#include <cmath>
#include <variant>

#include <fmt/format.h>

#include "common/error.h"
#include "hw/catalog.h"
#include "plan/plan_serve.h"
#include "plan/plan_train.h"
#include "sim/model/model_catalog.h"
#include "sim/model/params.h"

namespace fathom::plan {

namespace {

std::string text_cell(const PlanRow& r, const std::string& k) {
  const PlanValue& v = r.at(k);
  return std::holds_alternative<std::string>(v) ? std::get<std::string>(v) : fmt::format("{}", std::get<double>(v));
}

// The catalog with `m` in it, so that scenarios can name the sized model.
model::ModelCatalog with_model(const model::ModelCatalog& models, const model::ModelSpec& m) {
  model::ModelCatalog c = models;
  c.add(m);
  return c;
}

}  // namespace

ServingUsdFn serving_usd_by_plan(const std::string& serve_plan, const std::map<std::string, double>& prices,
                                 const hw::HardwareCatalog& hardware, const model::ModelCatalog& models,
                                 const PlanOptions& options) {
  // Read (and check) the plan once, now: its errors name its file and line before any work.
  const PlanInput input = load_plan_input(serve_plan, {});
  ServePlanSpec base = parse_serve_plan(input, serve_plan);
  // $/GPU-hour: the given prices, else the plan's, else the catalog's (as `fathom plan serve`).
  std::map<std::string, double> resolved;
  for (const auto& name : base.gpus) {
    const hw::GpuSpec& g = hardware.gpu(name, serve_plan + ": candidates.gpus");
    double usd = 0;
    const std::map<std::string, double>& plan_prices = base.prices;
    for (const std::map<std::string, double>* m : {&prices, &plan_prices}) {
      for (const auto& [k, v] : *m) {
        const hw::GpuSpec* p = hardware.find_gpu(k);
        if (usd <= 0 && p != nullptr && p->name == g.name) usd = v;
      }
    }
    if (usd <= 0) usd = g.usd_per_gpu_hour;
    if (usd > 0) resolved[g.name] = usd;
  }
  base.prices = resolved;
  return [base, input, serve_plan, &hardware, &models, options](const model::ModelSpec& m) {
    ServePlanSpec spec = base;
    spec.models = {m.name};
    spec.verify = 0;  // the price is the ranking's; whole-fleet checks are plan serve's business
    const model::ModelCatalog catalog = with_model(models, m);
    PlanOptions o = options;
    o.on_progress = nullptr;
    PlanReport rep;
    try {
      rep = plan_serve(spec, input, hardware, catalog, o);
    } catch (const ConfigError& e) {
      throw ConfigError(serve_plan, fmt::format("no fleet of the serving plan serves {} ({:.4g} parameters) at its "
                                                "objectives: {}",
                                                m.name, model::count_params(m).total, e.what()));
    }
    const PlanRow& top = rep.sections.front().rows.front();
    ServingCost c;
    c.usd_per_input_token = top.number("usd_per_m_input_tokens") / 1e6;
    c.usd_per_output_token = top.number("usd_per_m_output_tokens") / 1e6;
    c.gpus = static_cast<int>(top.number("gpus"));
    c.basis = fmt::format("plan serve: {} {} {} ×{} units at {:.4g} requests/s", text_cell(top, "gpu"),
                          text_cell(top, "precision"), text_cell(top, "layout"), text_cell(top, "units"), spec.rate_per_s);
    return c;
  };
}

TrainingUsdFn training_usd_by_plan(const std::string& train_plan, const std::map<std::string, double>& prices,
                                   const hw::HardwareCatalog& hardware, const model::ModelCatalog& models,
                                   const PlanOptions& options) {
  (void)load_plan_input(train_plan, {});  // errors of the file itself, before any work
  return [train_plan, prices, &hardware, &models, options](const model::ModelSpec& m, double tokens) {
    const std::string origin = "plan total (training price of " + m.name + ")";
    const std::vector<YamlOverride> sets = {{"model", m.name, origin},
                                            {"tokens", fmt::format("{}", tokens), origin},
                                            {"deadline_days", "null", origin},
                                            {"budget_usd", "null", origin},
                                            {"rank_by", "cost", origin}};
    const PlanInput input = load_plan_input(train_plan, sets);
    const model::ModelCatalog catalog = with_model(models, m);
    PlanOptions o = options;
    o.on_progress = nullptr;
    const PlanReport rep = plan_train(input, prices, hardware, catalog, o);
    if (rep.sections.empty() || rep.sections.front().rows.empty()) {
      throw ConfigError(train_plan, fmt::format("no layout of the training plan fits {} ({:.4g} parameters){}", m.name,
                                                model::count_params(m).total,
                                                rep.notes.empty() ? std::string() : ": " + rep.notes.front()));
    }
    return rep.sections.front().rows.front().number("usd");
  };
}

namespace {
// prices first, then the plan's usd_per_gpu_hour, then the catalog.
double price_for(const hw::GpuSpec& g, const std::map<std::string, double>& prices, const hw::HardwareCatalog& hwc,
                 double plan_price) {
  for (const auto& [k, v] : prices) {
    const hw::GpuSpec* p = hwc.find_gpu(k);
    if (p != nullptr && p->name == g.name) return v;
  }
  return plan_price > 0 ? plan_price : g.usd_per_gpu_hour;
}
}  // namespace

TotalCostModel total_cost_model(const TotalSpec& spec, TotalCostKind kind, const YamlNode& root,
                                const std::map<std::string, double>& prices, const hw::HardwareCatalog& hardware,
                                const model::ModelCatalog& models, const PlanOptions& options) {
  TotalCostModel cost;
  cost.kind = kind;
  if (kind != TotalCostKind::kUsd) return cost;
  const std::string where = root.has("usd") ? root.at("usd").where() : root.where();
  const hw::GpuSpec& train_gpu = hardware.gpu(spec.gpu, where);
  const hw::GpuSpec& serve_gpu = hardware.gpu(spec.serving_gpu.empty() ? spec.gpu : spec.serving_gpu, where);
  TrainingPriceOptions tp = spec.training;
  tp.usd_per_gpu_hour = price_for(train_gpu, prices, hardware, spec.training.usd_per_gpu_hour);
  ServingPriceOptions sp = spec.serving;
  sp.usd_per_gpu_hour = price_for(serve_gpu, prices, hardware, spec.serving.usd_per_gpu_hour);
  cost.training_usd = default_training_usd(train_gpu, tp);
  cost.serving_usd = default_serving_usd(serve_gpu, sp);
  std::string training_basis =
      fmt::format("training on {} at ${:.2f}/GPU-hour, MFU {:g}", train_gpu.name, tp.usd_per_gpu_hour, tp.mfu);
  std::string serving_basis = fmt::format("serving on {} at ${:.2f}/GPU-hour", serve_gpu.name, sp.usd_per_gpu_hour);
  if (!spec.serving_plan.empty()) {
    cost.serving_usd = serving_usd_by_plan(spec.serving_plan, prices, hardware, models, options);
    serving_basis = "serving priced by plan serve (" + spec.serving_plan + ")";
  }
  if (!spec.training_plan.empty()) {
    cost.training_usd = training_usd_by_plan(spec.training_plan, prices, hardware, models, options);
    training_basis = "training priced by plan train (" + spec.training_plan + ")";
  }
  cost.basis = training_basis + "; " + serving_basis;
  return cost;
}

}  // namespace fathom::plan
