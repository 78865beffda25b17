#pragma once
// The metrics a sweep stores for one point of each command, as (name, value) pairs in a fixed
// order; names are snake_case with their unit (docs/sweeps.md lists them).
#include <string>
#include <utility>
#include <vector>

#include "sim/estimate.h"
#include "sim/serve/simulator.h"
#include "sim/train/train.h"

namespace fathom::plan {

using Metrics = std::vector<std::pair<std::string, double>>;

Metrics estimate_metrics(const sim::EstimateResult& r);
Metrics train_metrics(const train::TrainResult& r);
Metrics serve_metrics(const serve::ServeResult& r);

}  // namespace fathom::plan
