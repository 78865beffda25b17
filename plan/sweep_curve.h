#pragma once
// Throughput–latency curves from a stored rate sweep (docs/sweeps.md, "Curves"): for each
// combination of the other axes, the latency metric of the points the saturation verdict calls
// stable (or near saturation) is fitted with the latency_load law of fit/ (W = L0 + c·ρ/(1 − ρ),
// ρ = λ/μ); from the fit come the knee (the rate where W reaches twice its no-load floor) and the
// highest rate meeting the SLO, each with a 95% interval (delta method on the fit's covariance),
// and both are capped below the lowest rate the simulator found overloaded.
#include <string>
#include <vector>

#include "store/sweep_store.h"

namespace fathom::plan {

struct CurveOptions {
  std::string metric = "ttft_p99_s";  // any latency metric stored with the points
  double slo_s = 0;                   // the metric's objective; 0: no SLO rate
  std::string rate_axis = "serve.workload.arrival.rate_per_s";
};

struct CurveGroup {
  std::string label;     // the other axes' values, "serve.scheduler.token_budget=512" (empty: none)
  int points = 0;        // stored points of the group
  int fitted = 0;        // stable points used by the fit
  double overloaded_from = 0;  // lowest rate found overloaded (0: none)
  double capacity_req_per_s = 0;  // highest served rate among the overloaded points (0: none)
  bool ok = false;
  std::string message;   // why there is no fit, or notes
  double l0 = 0, c = 0, mu = 0;  // fitted law
  double r2 = 0;
  double knee = 0, knee_lo = 0, knee_hi = 0;       // requests/s
  double slo_rate = 0, slo_lo = 0, slo_hi = 0;     // requests/s (0 with no SLO, or the SLO below L0)
  bool slo_capped = false;  // slo_rate was lowered to the overload bound
};

// Fits every group of the sweep. Throws InputError when the sweep has no rate axis or the metric
// is unknown.
std::vector<CurveGroup> fit_curves(const store::SweepStore& db, const store::SweepInfo& sweep, const CurveOptions& options,
                                   const std::string& db_path);

}  // namespace fathom::plan
