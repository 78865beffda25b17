#pragma once
// The price callbacks of `fathom plan total --cost usd` (plan/total_cost.h) backed by the other
// planners, so that the lifetime optimum rests on the same numbers as `plan serve` and
// `plan train` (docs/planning-total.md, "Prices from the planners"):
//   serving: the serve plan with its model replaced by each model size; the cheapest fleet's
//            $/M input and $/M output tokens (the hourly cost split by prefill GPU time) at the
//            plan's traffic and objectives;
//   training: the train plan with its model replaced and its deadline and budget dropped (the
//            token count varies along the search); the cheapest layout's dollars.
#include <map>
#include <string>

#include "common/yaml.h"
#include "plan/plan_report.h"
#include "plan/plan_total.h"
#include "plan/total_cost.h"

namespace fathom::hw {
class HardwareCatalog;
}
namespace fathom::model {
class ModelCatalog;
}

namespace fathom::plan {

// `serve_plan` and `train_plan` are plan files; `prices` ($/GPU-hour by GPU name or alias)
// override the plans' and the catalog's. The catalogs must outlive the callbacks. A model size no
// fleet of the serve plan can serve at its objectives, or no layout of the train plan fits, is a
// ConfigError naming the plan and the size.
ServingUsdFn serving_usd_by_plan(const std::string& serve_plan, const std::map<std::string, double>& prices,
                                 const hw::HardwareCatalog& hardware, const model::ModelCatalog& models,
                                 const PlanOptions& options);
TrainingUsdFn training_usd_by_plan(const std::string& train_plan, const std::map<std::string, double>& prices,
                                   const hw::HardwareCatalog& hardware, const model::ModelCatalog& models,
                                   const PlanOptions& options);

// The cost model of `fathom plan total --cost KIND` for the plan `spec` read from `root`. flops:
// nothing to price. usd: training and serving on the plan's GPUs (usd.gpu, usd.serving_gpu), each
// at `prices` (GPU name or alias, a prices file), else the plan's usd_per_gpu_hour, else the
// catalog's; priced by the library's defaults (plan/total_cost.h), or by the planners above where
// the plan names a serving or training plan (`options` runs them: threads, cancellation). Errors
// name the plan's `usd` entry. `hardware` and `models` must outlive the callbacks (models is read
// only when the plan names a planner's plan).
TotalCostModel total_cost_model(const TotalSpec& spec, TotalCostKind kind, const YamlNode& root,
                                const std::map<std::string, double>& prices, const hw::HardwareCatalog& hardware,
                                const model::ModelCatalog& models, const PlanOptions& options);

}  // namespace fathom::plan
