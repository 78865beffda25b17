#pragma once
// The training planner (`fathom plan train`, docs/planning-train.md): for a model and a token
// budget, every layout of every candidate GPU type and cluster size that fits in memory with the
// asked headroom and meets the deadline and the budget, ranked by cost or by time to train, each
// row with the scenario that `fathom train` re-runs to the same numbers.
//
// Method: per GPU type, one base scenario (the plan's model, precision and train defaults on
// hardware {gpu, nodes, gpus_per_node} large enough for the largest count) resolved by
// sim::resolve_scenario_text; train::search over its GPU counts (every layout, microbatch,
// recomputation and ZeRO stage); then the headroom, deadline and budget filters, and one ranking
// across GPU types. The numbers are the search's own (train::TrainModel::evaluate); the row's
// scenario is the base with the layout written into `train`, resolved again, so that running it
// gives the same TrainResult bit for bit.
#include <map>
#include <string>

#include "plan/plan_report.h"

namespace fathom::hw {
class HardwareCatalog;
}
namespace fathom::model {
class ModelCatalog;
}

namespace fathom::plan {

// The columns of the ranked section, in order (units in the names; docs/planning-train.md).
// `goodput` is NaN until the timeline issue adds goodput under failures.
inline constexpr const char* kTrainColumns[] = {
    "gpu", "gpus", "tp", "pp", "dp", "cp", "ep", "virtual_stages", "microbatch", "recompute", "zero", "step_s",
    "tokens_per_s", "mfu", "train_days", "gpu_hours", "usd", "memory_gib", "binding", "goodput"};

// A constraint counts as binding when the row is within this fraction of it (relative slack).
inline constexpr double kBindingSlack = 0.10;

// Plans training for the plan in `input` (its root: the train plan YAML). `prices` ($/GPU-hour
// by GPU name or alias, from --prices) replace the plan's and the catalog's. Errors name the plan
// file and line (or the --set override); a plan with no layout meeting its constraints is a
// report with no rows and notes saying why, not an error.
PlanReport plan_train(const PlanInput& input, const std::map<std::string, double>& prices,
                      const hw::HardwareCatalog& hardware, const model::ModelCatalog& models,
                      const PlanOptions& options = {});

}  // namespace fathom::plan
