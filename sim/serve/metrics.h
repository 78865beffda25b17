#pragma once
// The headline figures of a serving run as a flat list of (name, value), for sweep databases and
// tables. Names are snake_case with their unit and stay stable: each is defined in
// docs/metrics.md, "Headline metrics". Interval bounds are NaN where no interval exists.
#include <string>
#include <utility>
#include <vector>

#include "sim/serve/simulator.h"

namespace fathom::serve {

// Values, in this order: the window (throughputs, goodput, latencies, each followed by its
// _ci95_lo and _ci95_hi), cost, saturation, then the window's extent.
std::vector<std::pair<std::string, double>> headline_metrics(const ServeResult& r);

// The verdict as a number: −1 undetermined, 0 stable, 1 near saturation, 2 overloaded.
int saturation_code(const std::string& verdict);

}  // namespace fathom::serve
